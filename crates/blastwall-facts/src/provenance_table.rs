//! The built-in table of AI provenance markers, `data/provenance.toml`: one data file, each
//! entry with the source that makes it a marker, compiled in and read once.

use std::sync::OnceLock;

use toml::de::{DeTable, DeValue};

/// What a marker matches (see `data/provenance.toml` for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Email,
    Bot,
    NoreplyUser,
    Footer,
    Trailer,
    Disclosure,
    AssistedBy,
    NameSuffix,
    MessagePrefix,
}

impl Kind {
    fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "email" => Kind::Email,
            "bot" => Kind::Bot,
            "noreply_user" => Kind::NoreplyUser,
            "footer" => Kind::Footer,
            "trailer" => Kind::Trailer,
            "disclosure" => Kind::Disclosure,
            "assisted_by" => Kind::AssistedBy,
            "name_suffix" => Kind::NameSuffix,
            "message_prefix" => Kind::MessagePrefix,
            _ => return None,
        })
    }
}

/// One marker. Values that are compared without case are kept lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub kind: Kind,
    pub value: String,
    pub tool: String,
    pub source: String,
}

/// The whole table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Table {
    pub markers: Vec<Marker>,
    /// Disclosure values that say no AI was used.
    pub negative: Vec<String>,
    /// Disclosure values that say AI was used, naming no tool.
    pub affirmative: Vec<String>,
}

impl Table {
    /// The markers of one kind, in file order.
    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Marker> {
        self.markers.iter().filter(move |m| m.kind == kind)
    }
}

/// The table's text, as shipped.
pub(crate) const SOURCE: &str = include_str!("../data/provenance.toml");

/// The table, parsed on first use.
pub(crate) fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        #[expect(
            clippy::expect_used,
            reason = "the table is compiled in, and `the_shipped_table_parses` reads it in every test run"
        )]
        parse(SOURCE).expect("data/provenance.toml parses")
    })
}

/// Read a table; an error says which entry is wrong and how.
pub(crate) fn parse(text: &str) -> Result<Table, String> {
    let doc = DeTable::parse(text).map_err(|e| e.message().to_string())?;
    let mut table = Table::default();
    for (key, value) in doc.get_ref().iter() {
        match (key.get_ref().as_ref(), value.get_ref()) {
            ("marker", DeValue::Array(entries)) => {
                for (i, entry) in entries.iter().enumerate() {
                    let DeValue::Table(t) = entry.get_ref() else {
                        return Err(format!("marker {i} is not a table"));
                    };
                    let field = |name: &str| -> Result<String, String> {
                        match t.get(name).map(|v| v.get_ref()) {
                            Some(DeValue::String(s)) => Ok(s.to_string()),
                            _ => Err(format!("marker {i} has no string `{name}`")),
                        }
                    };
                    let kind_name = field("kind")?;
                    let kind = Kind::from_name(&kind_name)
                        .ok_or_else(|| format!("marker {i}: unknown kind `{kind_name}`"))?;
                    let value = field("value")?;
                    let source = field("source")?;
                    if value.is_empty() || source.trim().is_empty() {
                        return Err(format!("marker {i} needs a value and a source"));
                    }
                    let value = match kind {
                        // Compared as written (a suffix of a name, the start of a message).
                        Kind::NameSuffix | Kind::MessagePrefix => value,
                        _ => value.to_ascii_lowercase(),
                    };
                    table.markers.push(Marker {
                        kind,
                        value,
                        tool: field("tool")?,
                        source,
                    });
                }
            }
            ("disclosure_values", DeValue::Table(t)) => {
                for (name, list) in t.iter() {
                    let words: Vec<String> = match list.get_ref() {
                        DeValue::Array(items) => items
                            .iter()
                            .filter_map(|w| match w.get_ref() {
                                DeValue::String(s) => Some(s.to_ascii_lowercase()),
                                _ => None,
                            })
                            .collect(),
                        _ => {
                            return Err(format!(
                                "`disclosure_values.{}` is not a list",
                                name.get_ref()
                            ));
                        }
                    };
                    match name.get_ref().as_ref() {
                        "negative" => table.negative = words,
                        "affirmative" => table.affirmative = words,
                        other => return Err(format!("unknown `disclosure_values.{other}`")),
                    }
                }
            }
            (other, _) => return Err(format!("unknown table `{other}`")),
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_shipped_table_parses() {
        let t = parse(SOURCE).unwrap();
        assert!(t.markers.len() >= 20, "{}", t.markers.len());
        for m in &t.markers {
            let names_tool = !matches!(m.kind, Kind::Disclosure | Kind::AssistedBy);
            assert_eq!(names_tool, !m.tool.is_empty(), "{m:?}");
        }
        assert!(t.negative.contains(&"none".to_string()));
        assert!(t.affirmative.contains(&"yes".to_string()));
        assert_eq!(&parse(SOURCE).unwrap(), table());
    }

    #[test]
    fn a_bad_table_is_an_error_naming_the_entry() {
        let bad = "[[marker]]\nkind = \"email\"\nvalue = \"a@b\"\ntool = \"x\"\n";
        assert!(
            parse(bad)
                .unwrap_err()
                .contains("marker 0 has no string `source`")
        );
        let bad = "[[marker]]\nkind = \"smoke\"\nvalue = \"a\"\ntool = \"x\"\nsource = \"y\"\n";
        assert!(parse(bad).unwrap_err().contains("unknown kind `smoke`"));
    }
}
