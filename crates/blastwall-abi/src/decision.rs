//! The `Decision`: the one value every host returns and every output format derives from.

use serde::{Deserialize, Serialize};

/// The overall outcome, most severe finding first: `deny` > `review` > `warn` > `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Nothing stands in the way.
    Allow,
    /// Findings worth reading; nothing blocks.
    Warn,
    /// A review requirement is not yet met.
    Review,
    /// The change must not go ahead.
    Deny,
}

impl Outcome {
    /// The lowercase name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Warn => "warn",
            Outcome::Review => "review",
            Outcome::Deny => "deny",
        }
    }

    /// The CLI exit code for this outcome: 0 allow or warn, 1 review, 2 deny.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Allow | Outcome::Warn => 0,
            Outcome::Review => 1,
            Outcome::Deny => 2,
        }
    }
}

/// How strongly a rule is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Never raises the outcome above `warn`.
    Advisory,
    /// Can be overridden by a recorded override naming who and why.
    Soft,
    /// Cannot be overridden.
    Hard,
}

impl Level {
    /// The keyword used in policies and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Advisory => "advisory",
            Level::Soft => "soft",
            Level::Hard => "hard",
        }
    }
}

/// What a finding asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The change must not go ahead.
    Deny,
    /// The change needs approvals.
    Review,
    /// The change deserves attention.
    Warn,
}

impl Effect {
    /// The keyword used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Deny => "deny",
            Effect::Review => "review",
            Effect::Warn => "warn",
        }
    }
}

/// A recorded override of a `soft` finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// Who overrode the finding.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's name.
    pub rule: String,
    /// The rule's level.
    pub level: Level,
    /// What the finding asks for.
    pub effect: Effect,
    /// The rendered message.
    pub message: String,
    /// Where the rule is written: `path:line:col`.
    pub source: String,
    /// The file, resource or command the finding is about, when the rule says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// For a review: the group whose approval is needed (`any` for anyone). A review any one
    /// of several groups can give holds them one per line (`"@org/a\n@org/b"`, see
    /// [`crate::combine::canonical_group`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// For a review: how many distinct approvals the rule asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Set when a recorded override lifted this `soft` finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<Override>,
    /// True when the finding reports an evaluation error of the rule, not a match.
    #[serde(default, skip_serializing_if = "is_false")]
    pub error: bool,
    /// How many further findings of this rule were left out after the cap.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: u32,
}

impl Finding {
    /// The finding of a rule that could not be evaluated: it fails closed — `deny`, or `warn`
    /// for an `advisory` rule — and no override lifts it.
    pub fn error(rule: &str, level: Level, message: String, source: String) -> Finding {
        Finding {
            rule: rule.to_string(),
            level,
            effect: if level == Level::Advisory {
                Effect::Warn
            } else {
                Effect::Deny
            },
            message,
            source,
            about: None,
            from: None,
            count: None,
            overridden: None,
            error: true,
            omitted: 0,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A review requirement after merging every finding that asks the same group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The group (`any` for anyone but the author); several groups, one per line, when any one
    /// of them may give it.
    pub from: String,
    /// Distinct approvals needed: the largest count any finding asked for.
    pub needed: u32,
    /// Distinct, current approvals from the group by people other than the author.
    pub have: u32,
    /// `have >= needed`.
    pub satisfied: bool,
}

/// The result of evaluating a policy on a set of facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The most severe unresolved finding.
    pub outcome: Outcome,
    /// Every finding, in rule order then witness order.
    pub findings: Vec<Finding>,
    /// Review requirements, in order of first appearance.
    pub reviews: Vec<Review>,
}

/// The rule name of the one finding of a decision that stopped at a limit: no rule can be
/// named so, since rule names are identifiers.
pub const LIMIT_RULE: &str = "(limit)";

impl Decision {
    /// The decision of an evaluation that reached one of its limits (time, fuel, steps,
    /// memory): `deny`, with one error finding naming the limit. Whichever rule was running,
    /// nothing the evaluation found counts. The reference interpreter and every host of the
    /// module answer a limit with this decision, so the two evaluators agree under limits
    /// even though each counts its work its own way (docs/abi.md, "Limits").
    pub fn limit_reached(reason: &str) -> Decision {
        let mut d = Decision {
            outcome: Outcome::Deny,
            findings: Vec::new(),
            reviews: Vec::new(),
        };
        d.set_limit_reached(reason);
        d
    }

    /// [`Decision::limit_reached`] into `self`, replacing what it held.
    pub fn set_limit_reached(&mut self, reason: &str) {
        self.findings.clear();
        self.reviews.clear();
        self.outcome = Outcome::Deny;
        self.findings.push(Finding::error(
            LIMIT_RULE,
            Level::Hard,
            format!("no decision within the limits, so the change is denied: {reason}"),
            String::new(),
        ));
    }

    /// Set the outcome from the findings and the merged reviews: the most any finding raises
    /// it ([`Decision::raised_by`]), `allow` when there are none.
    pub fn settle_outcome(&mut self) {
        self.outcome = self
            .findings
            .iter()
            .map(|f| self.raised_by(f))
            .max()
            .unwrap_or(Outcome::Allow);
    }

    /// True when this is the decision of an evaluation that reached a limit.
    pub fn is_limit_reached(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.error && f.rule == LIMIT_RULE)
    }

    /// A review group in words: `any` is anyone but the author, a group its name in backticks.
    pub fn group_name(from: &str) -> String {
        if from == "any" {
            "anyone but the author".to_string()
        } else if from.contains(crate::combine::GROUP_SEPARATOR) {
            let groups: Vec<String> = crate::combine::review_groups(from)
                .map(|g| format!("`{g}`"))
                .collect();
            format!("any one of {}", groups.join(", "))
        } else if from.is_empty() {
            "a group the rule left empty (nobody can give it)".to_string()
        } else {
            format!("`{from}`")
        }
    }

    /// What would let the change go ahead despite `f`, in words: the approvals still missing,
    /// the override a `soft` finding takes, or why nothing lifts it. `None` when nothing is
    /// needed (an advisory finding, a review already satisfied).
    pub fn remedy(&self, f: &Finding) -> Option<String> {
        let override_hint = format!(
            "record an override naming who and why: `check --override {0} --reason …`, or in the facts `overrides: [{{\"rule\": \"{0}\", \"by\": \"…\", \"reason\": \"…\"}}]`",
            f.rule
        );
        if f.error && f.rule == LIMIT_RULE {
            return Some("the evaluation reached a limit: split the change, or raise the limit where the host allows it (errors cannot be overridden)".into());
        }
        if f.error {
            return Some("the rule could not be evaluated; fix the facts or the rule (errors cannot be overridden)".into());
        }
        match (f.effect, f.level) {
            (Effect::Deny, Level::Hard) => {
                Some("a hard rule: change what it is about; it cannot be overridden".into())
            }
            (Effect::Deny, Level::Soft) => Some(override_hint),
            (Effect::Review, level) => {
                let from = f.from.as_deref().unwrap_or("any");
                let r = self.reviews.iter().find(|r| r.from == from)?;
                if r.satisfied {
                    return None;
                }
                let missing = r.needed - r.have.min(r.needed);
                let mut hint = format!(
                    "needs {missing} more approval{} from {}",
                    if missing == 1 { "" } else { "s" },
                    Decision::group_name(from)
                );
                if level == Level::Soft {
                    hint.push_str(", or ");
                    hint.push_str(&override_hint);
                }
                Some(hint)
            }
            _ => None,
        }
    }

    /// How far one finding raises the outcome: an overridden finding not at all, a review only
    /// while its group's requirement is unmet, an advisory finding to `warn` at most. The
    /// outcome is the largest of these over all findings (`allow` when there are none).
    pub fn raised_by(&self, f: &Finding) -> Outcome {
        if f.overridden.is_some() {
            return Outcome::Allow;
        }
        let raised = match f.effect {
            Effect::Deny => Outcome::Deny,
            Effect::Warn => Outcome::Warn,
            Effect::Review => {
                let from = f.from.as_deref().unwrap_or("any");
                if self.reviews.iter().any(|r| r.from == from && r.satisfied) {
                    Outcome::Allow
                } else {
                    Outcome::Review
                }
            }
        };
        if f.level == Level::Advisory {
            raised.min(Outcome::Warn)
        } else {
            raised
        }
    }

    /// The decision JSON: stable field order, so equal decisions print byte-identically.
    pub fn to_json_pretty(&self) -> String {
        // Serialising plain structs of strings and integers cannot fail; an empty object is
        // still a safe answer because callers treat missing fields as an error.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| String::from("{}"))
    }
}
