//! Who a person is: every name that stands for them.
//!
//! A change's author is known from commits by an email; approvals name forge logins; a person
//! may commit under several emails. An approval must never count when it comes from the
//! author (or from the person who started an agent) under *any* of their names, so a person is
//! the set of what names them, found from:
//!
//! - the email itself, and the login a GitHub noreply address stands for
//!   ([`crate::login_of_email`]);
//! - the repository's `.mailmap` ([`Mailmap`]): a line with two emails says both are one
//!   person's (`Proper Name <proper@example.com> <old@example.com>`); a line with one email
//!   only renames, and links nothing;
//! - the `[people]` table of `blastwall.toml`, email → login (and back, login → its emails);
//! - what the caller was told (`--author LOGIN`).
//!
//! Emails and logins compare without ASCII case, as forges and mail systems treat them.

use std::collections::BTreeSet;

/// The email links of a `.mailmap` file (see the gitmailmap documentation of git): each pair
/// is a proper email and a commit email of one person. Names are not kept: they identify no
/// one here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailmap {
    links: Vec<(String, String)>,
}

impl Mailmap {
    /// Read a `.mailmap`. A `#` starts a comment; a line is `Name <email>`, `<proper> <commit>`,
    /// `Name <proper> <commit>` or `Name <proper> Name <commit>`. Lines that are none of these
    /// are skipped, as git skips them.
    pub fn parse(text: &str) -> Mailmap {
        let mut links = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default();
            let mut emails = Vec::new();
            let mut rest = line;
            while let Some(open) = rest.find('<') {
                let after = rest.get(open + 1..).unwrap_or_default();
                let Some(close) = after.find('>') else { break };
                let email = after.get(..close).unwrap_or_default().trim();
                if !email.is_empty() {
                    emails.push(email.to_ascii_lowercase());
                }
                rest = after.get(close + 1..).unwrap_or_default();
            }
            if let [proper, commit] = emails.as_slice()
                && proper != commit
            {
                links.push((proper.clone(), commit.clone()));
            }
        }
        Mailmap { links }
    }

    /// How many email links the file gives.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// Whether it gives none.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

/// Every name of the person `name` (an email or a login) stands for, lower-cased, sorted:
/// itself, the emails `.mailmap` links to it, the logins `[people]` gives those emails (and the
/// emails it gives those logins), and the login of each GitHub noreply address among them.
pub fn names_of(name: &str, mailmap: &Mailmap, people: &[(String, String)]) -> Vec<String> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut todo = vec![name.trim().to_ascii_lowercase()];
    while let Some(n) = todo.pop() {
        if n.is_empty() || !names.insert(n.clone()) {
            continue;
        }
        let mut found: Vec<String> = Vec::new();
        if n.contains('@') {
            found.push(crate::login_of_email(&n).to_ascii_lowercase());
            for (a, b) in &mailmap.links {
                if *a == n {
                    found.push(b.clone());
                } else if *b == n {
                    found.push(a.clone());
                }
            }
            for (email, login) in people {
                if email.eq_ignore_ascii_case(&n) {
                    found.push(login.to_ascii_lowercase());
                }
            }
        } else {
            for (email, login) in people {
                if login.eq_ignore_ascii_case(&n) {
                    found.push(email.to_ascii_lowercase());
                }
            }
        }
        todo.extend(found);
    }
    names.into_iter().collect()
}

/// The login the person known by `email` has: the one `[people]` gives one of their emails
/// (in file order), else the login of a GitHub noreply address among them; `None` when no
/// login is known.
pub fn login_of(email: &str, mailmap: &Mailmap, people: &[(String, String)]) -> Option<String> {
    let names = names_of(email, mailmap, people);
    let by_people = people.iter().find_map(|(e, login)| {
        names
            .contains(&e.trim().to_ascii_lowercase())
            .then(|| login.clone())
    });
    by_people.or_else(|| {
        names.iter().find_map(|n| {
            let login = crate::login_of_email(n);
            (n.contains('@') && !login.contains('@')).then_some(login)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailmap_lines_with_two_emails_link_them() {
        let m = Mailmap::parse(
            "# a comment\n\
             Alice Example <alice@example.com> <Alice@OLD.example>\n\
             <bob@example.com> <bob@laptop.local>\n\
             Carol <carol@example.com>\n\
             Dave <dave@example.com> Dave D <dd@example.com> # trailing comment\n\
             <broken\n",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(
            names_of("alice@old.example", &m, &[]),
            vec!["alice@example.com", "alice@old.example"]
        );
        assert_eq!(
            names_of("DD@example.com", &m, &[]),
            vec!["dave@example.com", "dd@example.com"]
        );
        assert_eq!(
            names_of("carol@example.com", &m, &[]),
            vec!["carol@example.com"]
        );
    }

    #[test]
    fn people_and_noreply_addresses_give_logins_both_ways() {
        let m = Mailmap::parse("<alice@example.com> <alice@laptop.local>\n");
        let people = vec![("Alice@Example.com".to_string(), "alice-gh".to_string())];
        assert_eq!(
            names_of("alice@laptop.local", &m, &people),
            vec!["alice-gh", "alice@example.com", "alice@laptop.local"]
        );
        assert_eq!(
            names_of("ALICE-GH", &m, &people),
            vec!["alice-gh", "alice@example.com", "alice@laptop.local"]
        );
        assert_eq!(
            login_of("alice@laptop.local", &m, &people).as_deref(),
            Some("alice-gh")
        );
        assert_eq!(
            login_of("1234+bob@users.noreply.github.com", &m, &[]).as_deref(),
            Some("bob")
        );
        assert_eq!(login_of("carol@example.com", &m, &people), None);
    }
}
