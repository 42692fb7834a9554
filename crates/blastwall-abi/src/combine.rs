//! From findings to the `Decision`: overrides, merged reviews and the outcome.
//!
//! Every host (the reference interpreter, the wasmtime runtime, the JavaScript binding) ends a
//! decision with this procedure, so it lives here once; `docs/abi.md` ("The result") describes
//! it for hosts in other languages.

use crate::decision::{Decision, Effect, Finding, Level, Outcome, Override, Review};

/// A recorded override of a `soft` rule, as the facts give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideFact {
    /// The rule overridden.
    pub rule: String,
    /// Who.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// What combining needs from the facts besides the findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CombineContext {
    /// Recorded overrides, in the order the facts give them.
    pub overrides: Vec<OverrideFact>,
    /// The approvers who count, distinct, each with their groups, all normalised by
    /// [`identity`]: current approvals by someone other than the change's author and its AI
    /// initiator.
    pub approvers: Vec<(String, Vec<String>)>,
}

/// A login or group name as it compares: without surrounding ASCII whitespace, without one
/// leading `@`, ASCII-lowercased. Forges treat `@Alice`, `alice` and `ALICE` as one account and
/// CODEOWNERS writes people as `@alice`; folding only ASCII keeps every host (Rust, the module,
/// JavaScript) in agreement, since Unicode case mapping differs between their libraries.
pub fn identity(s: &str) -> String {
    unfolded(s).to_ascii_lowercase()
}

/// [`identity`] before the case folding: `s` without surrounding ASCII whitespace and one
/// leading `@`.
fn unfolded(s: &str) -> &str {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    s.strip_prefix('@').unwrap_or(s)
}

impl CombineContext {
    /// The context of a change by `author` (empty when unknown) whose agent `initiator` started
    /// (empty when unknown), with its `approvals` as (by, stale, teams) and the recorded
    /// `overrides`.
    pub fn new(
        author: &str,
        initiator: &str,
        approvals: impl IntoIterator<Item = (String, bool, Vec<String>)>,
        overrides: Vec<OverrideFact>,
    ) -> CombineContext {
        let author = identity(author);
        let initiator = identity(initiator);
        let mut approvers: Vec<(String, Vec<String>)> = Vec::new();
        for (by, stale, teams) in approvals {
            let by = identity(&by);
            if stale || by.is_empty() || by == author || by == initiator {
                continue;
            }
            let teams = teams.iter().map(|t| identity(t));
            // Distinct approvers: one person approving twice counts once.
            match approvers.iter_mut().find(|(p, _)| *p == by) {
                Some((_, t)) => t.extend(teams),
                None => approvers.push((by, teams.collect())),
            }
        }
        CombineContext {
            overrides,
            approvers,
        }
    }

    /// How many approvers count for `group` (`any` counts everyone). A group of several lines
    /// is any one of them ([`review_groups`]): an approver counts once if they are in any.
    pub fn have(&self, group: &str) -> u32 {
        if group.contains(GROUP_SEPARATOR) {
            let groups: Vec<&str> = review_groups(group).collect();
            let n = self
                .approvers
                .iter()
                .filter(|(by, teams)| groups.iter().any(|g| Self::counts(by, teams, g)))
                .count();
            return u32::try_from(n).unwrap_or(u32::MAX);
        }
        self.have_one(group)
    }

    fn counts(by: &str, teams: &[String], group: &str) -> bool {
        let group = unfolded(group);
        !group.is_empty()
            && (group.eq_ignore_ascii_case("any")
                || by.eq_ignore_ascii_case(group)
                || teams.iter().any(|t| t.eq_ignore_ascii_case(group)))
    }

    fn have_one(&self, group: &str) -> u32 {
        // `identity(group)` compared with names already folded, without building it: the
        // approvers' names and teams hold no ASCII upper-case letter.
        let group = unfolded(group);
        let any = group.eq_ignore_ascii_case("any");
        let n = self
            .approvers
            .iter()
            .filter(|(by, teams)| {
                any || by.eq_ignore_ascii_case(group)
                    || teams.iter().any(|t| t.eq_ignore_ascii_case(group))
            })
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// What separates the groups of a review any one of several groups can give: a rule's
/// `require review from LIST` reaches the host as the list joined by this character, which no
/// login, team or CODEOWNERS owner holds.
pub const GROUP_SEPARATOR: char = '\n';

/// The groups of a review's `from`, each trimmed of ASCII whitespace, blank ones left out: the
/// one group, or each line of an "any of" group.
pub fn review_groups(from: &str) -> impl Iterator<Item = &str> {
    from.split(GROUP_SEPARATOR)
        .map(|g| g.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|g| !g.is_empty())
}

/// The one spelling of an "any of" group, so that two rules asking any of the same owners, in
/// any order or case, ask one review: the [`identity`] of each of its groups
/// ([`review_groups`]), written `@name` unless it is `any` or an email, without repeats,
/// sorted, joined by [`GROUP_SEPARATOR`]. No group at all is the empty string, which nobody can
/// give.
pub fn canonical_group(from: &str) -> String {
    let mut groups: Vec<String> = review_groups(from)
        .map(identity)
        .filter(|g| !g.is_empty())
        .map(|g| {
            if g == "any" || g.contains('@') {
                g
            } else {
                format!("@{g}")
            }
        })
        .collect();
    groups.sort();
    groups.dedup();
    groups.join(&GROUP_SEPARATOR.to_string())
}

/// Apply overrides, merge reviews and decide the outcome.
pub fn combine(findings: Vec<Finding>, ctx: &CombineContext) -> Decision {
    let mut decision = Decision {
        outcome: Outcome::Allow,
        findings,
        reviews: Vec::new(),
    };
    combine_in_place(&mut decision, ctx);
    decision
}

/// [`combine`] on `decision.findings`, just decoded: sets their overrides, replaces
/// `decision.reviews` (reusing the strings of the reviews already there) and sets the outcome.
pub fn combine_in_place(decision: &mut Decision, ctx: &CombineContext) {
    for f in &mut decision.findings {
        if let Some(from) = f.from.as_mut()
            && from.contains(GROUP_SEPARATOR)
        {
            *from = canonical_group(from);
        }
        if f.level == Level::Soft
            && !f.error
            && let Some(o) = ctx.overrides.iter().find(|o| o.rule == f.rule)
        {
            f.overridden = Some(Override {
                by: o.by.clone(),
                reason: o.reason.clone(),
            });
        }
    }
    let reviews = &mut decision.reviews;
    let mut merged = 0;
    for f in decision
        .findings
        .iter()
        .filter(|f| f.effect == Effect::Review && f.overridden.is_none() && !f.error)
    {
        let from = f.from.as_deref().unwrap_or("any");
        let needed = f.count.unwrap_or(1);
        match reviews
            .get_mut(..merged)
            .and_then(|done| done.iter_mut().find(|r| r.from == from))
        {
            Some(r) => r.needed = r.needed.max(needed),
            None => {
                let have = ctx.have(from);
                match reviews.get_mut(merged) {
                    Some(r) => {
                        r.from.clear();
                        r.from.push_str(from);
                        r.needed = needed;
                        r.have = have;
                    }
                    None => reviews.push(Review {
                        from: from.to_string(),
                        needed,
                        have,
                        satisfied: false,
                    }),
                }
                merged += 1;
            }
        }
    }
    reviews.truncate(merged);
    for r in reviews.iter_mut() {
        r.satisfied = r.have >= r.needed;
    }
    decision.settle_outcome();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn finding(rule: &str, level: Level, effect: Effect, from: Option<&str>, n: u32) -> Finding {
        Finding {
            rule: rule.into(),
            level,
            effect,
            message: "m".into(),
            source: "p.bw:1:1".into(),
            about: None,
            from: from.map(String::from),
            count: from.map(|_| n),
            overridden: None,
            error: false,
            omitted: 0,
        }
    }

    fn approval(by: &str, stale: bool, teams: &[&str]) -> (String, bool, Vec<String>) {
        (
            by.into(),
            stale,
            teams.iter().map(|t| t.to_string()).collect(),
        )
    }

    #[test]
    fn identity_folds_ascii_only() {
        assert_eq!(identity("  @Alice\t"), "alice");
        assert_eq!(identity("@@bob"), "@bob");
        assert_eq!(identity("org/PAYMENTS"), "org/payments");
        // Non-ASCII letters and whitespace are left as they are.
        assert_eq!(identity("\u{a0}Émile"), "\u{a0}Émile");
    }

    #[test]
    fn approvers_exclude_stale_author_and_initiator_and_merge_teams() {
        let ctx = CombineContext::new(
            "Alice",
            "@Bot",
            vec![
                approval("alice", false, &["@org/x"]),
                approval("bot", false, &[]),
                approval("carol", true, &["@org/x"]),
                approval("@Dave", false, &["@Org/X"]),
                approval("dave", false, &["org/y"]),
                approval("  ", false, &["org/z"]),
            ],
            Vec::new(),
        );
        assert_eq!(
            ctx.approvers,
            vec![("dave".to_string(), vec!["org/x".into(), "org/y".into()])]
        );
        assert_eq!(ctx.have("any"), 1);
        assert_eq!(ctx.have("@ORG/Y"), 1);
        assert_eq!(ctx.have("Dave"), 1);
        assert_eq!(ctx.have("org/z"), 0);
        assert_eq!(ctx.have("carol"), 0);
        // `have` folds the group as `identity` does.
        for group in [
            "  ANY\t", "@Any", "@@dave", "org/x ", "ORG/", "dävé", "", "@",
        ] {
            let folded = identity(group);
            let expected = ctx
                .approvers
                .iter()
                .filter(|(by, teams)| folded == "any" || *by == folded || teams.contains(&folded))
                .count() as u32;
            assert_eq!(ctx.have(group), expected, "{group:?}");
        }
        assert_eq!(ctx.have("  ANY\t"), 1);
        assert_eq!(ctx.have("@@dave"), 0);
    }

    #[test]
    fn a_review_from_several_groups_is_one_any_of_them_can_give() {
        assert_eq!(
            canonical_group(" @Org/B \n@carol\n\n@org/b"),
            "@carol\n@org/b"
        );
        assert_eq!(
            canonical_group("x@example.com\nany\nBob"),
            "@bob\nany\nx@example.com"
        );
        assert_eq!(canonical_group("\n \n"), "");
        let ctx = CombineContext::new(
            "alice",
            "",
            vec![
                approval("alice", false, &["@org/a"]),
                approval("bob", false, &["@org/b"]),
                approval("carol", false, &["@org/a", "@org/b"]),
            ],
            Vec::new(),
        );
        // Carol is in both groups and counts once; the author never.
        assert_eq!(ctx.have("@org/a\n@org/b"), 2);
        assert_eq!(ctx.have("@org/a\n@nobody"), 1);
        assert_eq!(ctx.have("@nobody\n@dave"), 0);
        assert_eq!(ctx.have(""), 0);
        // Two files whose owners are the same in another order and case ask one review.
        let findings = vec![
            finding("r", Level::Hard, Effect::Review, Some("@org/a\n@org/b"), 1),
            finding("r", Level::Hard, Effect::Review, Some("@Org/B\n@org/a"), 1),
            finding("r", Level::Hard, Effect::Review, Some("@nobody\n@dave"), 1),
        ];
        let d = combine(findings, &ctx);
        assert_eq!(d.reviews.len(), 2);
        assert_eq!(d.reviews[0].from, "@org/a\n@org/b");
        assert!(d.reviews[0].satisfied);
        assert!(!d.reviews[1].satisfied);
        assert_eq!(d.outcome, Outcome::Review);
        assert_eq!(
            Decision::group_name(&d.reviews[1].from),
            "any one of `@dave`, `@nobody`"
        );
    }

    #[test]
    fn reviews_merge_and_overrides_apply_to_soft_findings_only() {
        let ctx = CombineContext::new(
            "",
            "",
            vec![approval("bob", false, &["@team"])],
            vec![
                OverrideFact {
                    rule: "soft".into(),
                    by: "ann".into(),
                    reason: "first".into(),
                },
                OverrideFact {
                    rule: "soft".into(),
                    by: "zed".into(),
                    reason: "second".into(),
                },
                OverrideFact {
                    rule: "hard".into(),
                    by: "ann".into(),
                    reason: "no effect".into(),
                },
            ],
        );
        let findings = vec![
            finding("soft", Level::Soft, Effect::Deny, None, 0),
            finding("hard", Level::Hard, Effect::Warn, None, 0),
            finding("r1", Level::Hard, Effect::Review, Some("@team"), 1),
            finding("r2", Level::Hard, Effect::Review, Some("@team"), 2),
            finding("r3", Level::Soft, Effect::Review, Some("any"), 1),
        ];
        let d = combine(findings, &ctx);
        let first = d.findings.first().and_then(|f| f.overridden.clone());
        assert_eq!(
            first,
            Some(Override {
                by: "ann".into(),
                reason: "first".into()
            })
        );
        assert!(d.findings.iter().skip(1).all(|f| f.overridden.is_none()));
        assert_eq!(
            d.reviews,
            vec![
                Review {
                    from: "@team".into(),
                    needed: 2,
                    have: 1,
                    satisfied: false
                },
                Review {
                    from: "any".into(),
                    needed: 1,
                    have: 1,
                    satisfied: true
                },
            ]
        );
        assert_eq!(d.outcome, Outcome::Review);
    }

    #[test]
    fn combining_in_place_replaces_the_reviews_held_before() {
        let ctx = CombineContext::new("", "", vec![approval("bob", false, &["@b"])], Vec::new());
        let findings = vec![
            finding("r1", Level::Hard, Effect::Review, Some("@a"), 1),
            finding("r2", Level::Hard, Effect::Review, Some("@b"), 1),
            finding("r3", Level::Hard, Effect::Review, Some("@a"), 3),
        ];
        let expected = combine(findings.clone(), &ctx);
        let stale = |from: &str| Review {
            from: from.into(),
            needed: 9,
            have: 9,
            satisfied: true,
        };
        for held in [
            Vec::new(),
            vec![stale("@b")],
            vec![
                stale("@z"),
                stale("@a"),
                stale("@b"),
                stale("a much longer group name"),
            ],
        ] {
            let mut d = Decision {
                outcome: Outcome::Deny,
                findings: findings.clone(),
                reviews: held,
            };
            combine_in_place(&mut d, &ctx);
            assert_eq!(d, expected);
        }
        assert_eq!(expected.reviews.len(), 2);
        assert_eq!(expected.outcome, Outcome::Review);
    }

    #[test]
    fn errors_and_advisory_findings() {
        let ctx = CombineContext::default();
        let mut err = finding("e", Level::Soft, Effect::Deny, None, 0);
        err.error = true;
        let ctx2 = CombineContext {
            overrides: vec![OverrideFact {
                rule: "e".into(),
                by: "a".into(),
                reason: "b".into(),
            }],
            approvers: Vec::new(),
        };
        // An error is never overridden.
        let d = combine(vec![err], &ctx2);
        assert_eq!(d.outcome, Outcome::Deny);
        let adv = finding("a", Level::Advisory, Effect::Deny, None, 0);
        assert_eq!(combine(vec![adv], &ctx).outcome, Outcome::Warn);
        assert_eq!(combine(Vec::new(), &ctx).outcome, Outcome::Allow);
        // An error of a review rule does not ask for a review.
        let mut rev = finding("r", Level::Hard, Effect::Review, Some("any"), 1);
        rev.error = true;
        rev.effect = Effect::Deny;
        let d = combine(vec![rev], &ctx);
        assert!(d.reviews.is_empty());
    }
}
