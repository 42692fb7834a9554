//! Reading TOML with line numbers, through `toml`'s span-keeping `DeTable` parser.
//!
//! `DeTable` keeps the byte span of every key and value, so an error can name its line without a
//! second parse. Its map order depends on a cargo feature another crate may switch on, so nothing
//! here relies on the order of keys.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::topo_error::{Loc, TopologyError};

/// A TOML value with its span.
pub(crate) type Item<'i> = Spanned<DeValue<'i>>;

/// A TOML text and the file it came from, for locating errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Src<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl<'a> Src<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Src<'a> {
        Src { file, text }
    }

    /// The location of byte `offset`.
    pub fn loc(&self, offset: usize) -> Loc {
        let before = self.text.get(..offset).unwrap_or(self.text);
        Loc {
            file: self.file.to_string(),
            line: 1 + before.bytes().filter(|b| *b == b'\n').count(),
        }
    }

    /// The location of `item`.
    pub fn at<T>(&self, item: &Spanned<T>) -> Loc {
        self.loc(item.span().start)
    }

    /// Parse the text; on failure, where and why.
    pub fn parse_raw(&self) -> Result<DeTable<'a>, (Loc, String)> {
        match DeTable::parse(self.text) {
            Ok(doc) => Ok(doc.into_inner()),
            Err(e) => {
                let at = match e.span() {
                    Some(span) => self.loc(span.start),
                    None => Loc::in_file(self.file),
                };
                Err((at, e.message().trim_end().to_string()))
            }
        }
    }

    /// Parse the text.
    pub fn parse(&self) -> Result<DeTable<'a>, TopologyError> {
        self.parse_raw()
            .map_err(|(at, message)| TopologyError::Toml { at, message })
    }

    fn wrong<T>(
        &self,
        item: &Item<'_>,
        path: &str,
        expected: &'static str,
    ) -> Result<T, TopologyError> {
        Err(TopologyError::WrongType {
            at: self.at(item),
            path: path.to_string(),
            expected,
            found: kind(item.get_ref()),
        })
    }

    /// `item` as a table.
    pub fn table<'t, 'i>(
        &self,
        item: &'t Item<'i>,
        path: &str,
    ) -> Result<&'t DeTable<'i>, TopologyError> {
        match item.get_ref() {
            DeValue::Table(t) => Ok(t),
            _ => self.wrong(item, path, "a table"),
        }
    }

    /// `item` as a string.
    pub fn string<'t>(&self, item: &'t Item<'_>, path: &str) -> Result<&'t str, TopologyError> {
        match item.get_ref() {
            DeValue::String(s) => Ok(s),
            _ => self.wrong(item, path, "a string"),
        }
    }

    /// `item` as a boolean.
    pub fn bool(&self, item: &Item<'_>, path: &str) -> Result<bool, TopologyError> {
        match item.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => self.wrong(item, path, "a boolean"),
        }
    }

    /// `item` as an integer: `Ok(None)` for an integer too large for `i64`.
    pub fn int(&self, item: &Item<'_>, path: &str) -> Result<Option<i64>, TopologyError> {
        match item.get_ref() {
            DeValue::Integer(i) => Ok(i64::from_str_radix(i.as_str(), i.radix()).ok()),
            _ => self.wrong(item, path, "an integer"),
        }
    }

    /// `item` as a list of strings, each with its location.
    pub fn str_list(
        &self,
        item: &Item<'_>,
        path: &str,
    ) -> Result<Vec<(String, Loc)>, TopologyError> {
        let DeValue::Array(items) = item.get_ref() else {
            return self.wrong(item, path, "a list of strings");
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let s = self.string(v, &format!("{path}[{i}]"))?;
                Ok((s.to_string(), self.at(v)))
            })
            .collect()
    }
}

/// A phrase naming the TOML type of `v`, for error messages.
pub(crate) fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// `key` written as a TOML key: bare when it can be, quoted otherwise.
pub(crate) fn key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// `parent.key`, with `key` quoted when it has to be.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        key(child)
    } else {
        format!("{parent}.{}", key(child))
    }
}
