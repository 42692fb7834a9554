//! `decide.bw` written by hand in Rust over typed structs: the floor. Facts are deserialised
//! once (setup); a decision walks them with no index built in advance, as a service holding
//! these structs would.

use serde::Deserialize;

use super::Summary;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Facts {
    pub change: Change,
    pub plan: Plan,
    pub topology: Topology,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Change {
    pub author: String,
    pub title: String,
    pub ai: Ai,
    pub files: Vec<File>,
    pub approvals: Vec<Approval>,
    pub services: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Ai {
    pub assisted: String,
    pub tools: Vec<String>,
    pub initiator: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct File {
    pub path: String,
    pub status: String,
    pub added: i64,
    pub removed: i64,
    pub owners: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Approval {
    pub by: String,
    pub teams: Vec<String>,
    pub stale: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Plan {
    pub resources: Vec<Resource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Resource {
    pub address: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub action: String,
    pub env: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Topology {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Node {
    pub name: String,
    pub tier: i64,
    pub owner: String,
    pub depends_on: Vec<String>,
}

impl Default for Node {
    fn default() -> Node {
        Node {
            name: String::new(),
            tier: 3,
            owner: String::new(),
            depends_on: Vec::new(),
        }
    }
}

pub fn facts(json: &serde_json::Value) -> Facts {
    serde_json::from_value(json.clone()).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Allow,
    Review,
    Deny,
}

#[derive(Debug)]
pub struct Finding<'a> {
    pub rule: &'static str,
    pub about: &'a str,
    pub from: &'a str,
}

#[derive(Debug)]
pub struct Decision<'a> {
    pub outcome: Outcome,
    pub findings: Vec<Finding<'a>>,
}

const SECURITY: &str = "@org/security";

fn independent(c: &Change, a: &Approval) -> bool {
    !a.stale && a.by != c.author && Some(a.by.as_str()) != c.ai.initiator.as_deref()
}

fn approves_as(a: &Approval, o: &str) -> bool {
    a.by == o || o.strip_prefix('@') == Some(a.by.as_str()) || a.teams.iter().any(|t| t == o)
}

fn group_approved(c: &Change, g: &str) -> bool {
    c.approvals
        .iter()
        .any(|a| independent(c, a) && approves_as(a, g))
}

/// `**/tests/**`, `docs/**`, `*.md`.
fn exempt(p: &str) -> bool {
    p.starts_with("tests/") || p.contains("/tests/") || p.starts_with("docs/") || p.ends_with(".md")
}

/// `**/iam/**`, `.github/workflows/**`.
fn sensitive(p: &str) -> bool {
    p.starts_with("iam/") || p.contains("/iam/") || p.starts_with(".github/workflows/")
}

fn destructive_in_production(r: &Resource) -> bool {
    (r.env == "production" || r.env == "prod") && (r.action == "delete" || r.action == "replace")
}

fn datastore(ty: &str) -> bool {
    matches!(
        ty,
        "aws_db_instance" | "aws_s3_bucket" | "aws_dynamodb_table" | "aws_kms_key"
    ) || ty.starts_with("aws_rds_cluster")
}

/// Nodes that depend on `start`, up to three hops, nearest first: one scan of the nodes per
/// hop, testing each unreached node's dependencies against the previous hop.
fn dependents<'a>(t: &'a Topology, start: &[String]) -> Vec<&'a Node> {
    let mut seen: Vec<&str> = start.iter().map(String::as_str).collect();
    let mut frontier = seen.clone();
    let mut reached = Vec::new();
    for _ in 0..3 {
        let mut next = Vec::new();
        for n in &t.nodes {
            if !seen.contains(&n.name.as_str())
                && n.depends_on.iter().any(|d| frontier.contains(&d.as_str()))
            {
                next.push(n.name.as_str());
                seen.push(n.name.as_str());
                reached.push(n);
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    reached
}

pub fn decide(f: &Facts) -> Decision<'_> {
    let c = &f.change;
    let mut findings = Vec::new();
    if c.ai.assisted == "yes" {
        for file in &c.files {
            if exempt(&file.path) {
                continue;
            }
            let approved = c
                .approvals
                .iter()
                .any(|a| independent(c, a) && file.owners.iter().any(|o| approves_as(a, o)));
            if !approved {
                for o in &file.owners {
                    findings.push(Finding {
                        rule: "ai_owner_review",
                        about: &file.path,
                        from: o,
                    });
                }
            }
        }
    }
    if c.files.iter().any(|f| sensitive(&f.path)) && !group_approved(c, SECURITY) {
        for file in c.files.iter().filter(|f| sensitive(&f.path)) {
            findings.push(Finding {
                rule: "sensitive_path",
                about: &file.path,
                from: SECURITY,
            });
        }
    }
    let destructive = || {
        f.plan
            .resources
            .iter()
            .filter(|r| destructive_in_production(r))
    };
    for r in destructive() {
        findings.push(Finding {
            rule: "no_destructive_prod_plan",
            about: &r.address,
            from: "",
        });
    }
    for r in destructive().filter(|r| datastore(&r.ty)) {
        findings.push(Finding {
            rule: "no_destructive_prod_datastore",
            about: &r.address,
            from: "",
        });
    }
    for n in dependents(&f.topology, &c.services) {
        if n.tier <= 1 && !n.owner.is_empty() && !group_approved(c, &n.owner) {
            findings.push(Finding {
                rule: "tier1_dependent",
                about: &n.name,
                from: &n.owner,
            });
        }
    }
    let outcome = findings
        .iter()
        .map(|f| match f.rule {
            "no_destructive_prod_plan" | "no_destructive_prod_datastore" => Outcome::Deny,
            _ => Outcome::Review,
        })
        .max()
        .unwrap_or(Outcome::Allow);
    Decision { outcome, findings }
}

pub fn summarize(d: &Decision<'_>) -> Summary {
    let outcome = match d.outcome {
        Outcome::Allow => "allow",
        Outcome::Review => "review",
        Outcome::Deny => "deny",
    };
    Summary::new(
        outcome,
        d.findings.iter().map(|f| (f.rule, f.about, f.from)),
    )
}
