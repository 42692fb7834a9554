//! `decide.cedar` through cedar-policy, with the host work Cedar needs: the facts become
//! entities (the topology's `depends_on` as the entity hierarchy, whose transitive closure
//! `Entities::from_entities` computes), the approvals become the set of groups they speak for
//! (Cedar cannot filter a set), and every file, planned resource and service is one
//! authorization request. All of that is per decision: it is what a server answering "may this
//! change land?" with Cedar does for each change. The facts arrive as the typed structs of
//! [`native`](super::native), the cheapest form a server could hold them in.

use std::collections::{HashMap, HashSet};
use std::str::FromStr as _;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression,
};

use super::native::Facts;
use super::{DECIDE_CEDAR, Summary};

/// What one request was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    File(usize),
    Resource(usize),
    Service(usize),
}

pub struct Cedar {
    policies: PolicySet,
    authorizer: Authorizer,
    /// Each `forbid`'s `@id` and `@effect`.
    rules: HashMap<PolicyId, (String, String)>,
    change: EntityUid,
    merge: EntityUid,
    apply: EntityUid,
    affect: EntityUid,
    file: EntityTypeName,
    resource: EntityTypeName,
    service: EntityTypeName,
}

/// The requests that were denied, with the policies that denied them.
pub type Fired = Vec<(Subject, Vec<PolicyId>)>;

fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_string())
}

fn strings<'a>(xs: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(xs.into_iter().map(string))
}

impl Cedar {
    pub fn new() -> Cedar {
        let policies = PolicySet::from_str(DECIDE_CEDAR).unwrap();
        let rules = policies
            .policies()
            .filter_map(|p| {
                Some((
                    p.id().clone(),
                    (
                        p.annotation("id")?.to_string(),
                        p.annotation("effect")?.to_string(),
                    ),
                ))
            })
            .collect();
        let ty = |name: &str| EntityTypeName::from_str(name).unwrap();
        let action = ty("Action");
        Cedar {
            policies,
            authorizer: Authorizer::new(),
            rules,
            change: uid(&ty("Change"), "change"),
            merge: uid(&action, "merge"),
            apply: uid(&action, "apply"),
            affect: uid(&action, "affect"),
            file: ty("File"),
            resource: ty("Resource"),
            service: ty("Service"),
        }
    }

    /// One decision: build the entities and ask every question.
    pub fn decide(&self, facts: &Facts) -> Fired {
        let c = &facts.change;
        let initiator = c.ai.initiator.as_deref().unwrap_or("");
        let mut approved_as: Vec<String> = Vec::new();
        for a in &c.approvals {
            if !a.stale && a.by != c.author && a.by != initiator {
                approved_as.push(a.by.clone());
                approved_as.push(format!("@{}", a.by));
                approved_as.extend(a.teams.iter().cloned());
            }
        }
        let mut entities = Vec::with_capacity(1 + c.files.len() + facts.plan.resources.len());
        entities.push(
            Entity::new(
                self.change.clone(),
                HashMap::from([
                    (
                        "ai_assisted".to_string(),
                        RestrictedExpression::new_bool(c.ai.assisted == "yes"),
                    ),
                    (
                        "approved_as".to_string(),
                        strings(approved_as.iter().map(String::as_str)),
                    ),
                ]),
                HashSet::new(),
            )
            .unwrap(),
        );
        let files: Vec<EntityUid> = c.files.iter().map(|f| uid(&self.file, &f.path)).collect();
        for (f, id) in c.files.iter().zip(&files) {
            let attrs = HashMap::from([
                ("path".to_string(), string(&f.path)),
                (
                    "owners".to_string(),
                    strings(f.owners.iter().map(String::as_str)),
                ),
            ]);
            entities.push(Entity::new(id.clone(), attrs, HashSet::new()).unwrap());
        }
        let resources: Vec<EntityUid> = facts
            .plan
            .resources
            .iter()
            .map(|r| uid(&self.resource, &r.address))
            .collect();
        for (r, id) in facts.plan.resources.iter().zip(&resources) {
            let attrs = HashMap::from([
                ("type".to_string(), string(&r.ty)),
                ("env".to_string(), string(&r.env)),
                ("action".to_string(), string(&r.action)),
            ]);
            entities.push(Entity::new(id.clone(), attrs, HashSet::new()).unwrap());
        }
        let services: Vec<EntityUid> = facts
            .topology
            .nodes
            .iter()
            .map(|n| uid(&self.service, &n.name))
            .collect();
        for (n, id) in facts.topology.nodes.iter().zip(&services) {
            let attrs = HashMap::from([
                ("tier".to_string(), RestrictedExpression::new_long(n.tier)),
                ("owner".to_string(), string(&n.owner)),
            ]);
            let parents = n.depends_on.iter().map(|d| uid(&self.service, d)).collect();
            entities.push(Entity::new(id.clone(), attrs, parents).unwrap());
        }
        let entities = Entities::from_entities(entities, None).unwrap();

        let mut fired = Vec::new();
        let mut ask = |subject, action: &EntityUid, resource: &EntityUid, context: Context| {
            let request = Request::new(
                self.change.clone(),
                action.clone(),
                resource.clone(),
                context,
                None,
            )
            .unwrap();
            let response = self
                .authorizer
                .is_authorized(&request, &self.policies, &entities);
            assert!(response.diagnostics().errors().next().is_none());
            if response.decision() == Decision::Deny {
                fired.push((subject, response.diagnostics().reason().cloned().collect()));
            }
        };
        for (i, id) in files.iter().enumerate() {
            ask(Subject::File(i), &self.merge, id, Context::empty());
        }
        for (i, id) in resources.iter().enumerate() {
            ask(Subject::Resource(i), &self.apply, id, Context::empty());
        }
        if !c.services.is_empty() {
            let changed = RestrictedExpression::new_set(
                c.services
                    .iter()
                    .map(|s| RestrictedExpression::new_entity_uid(uid(&self.service, s))),
            );
            let context = Context::from_pairs([("changed".to_string(), changed)]).unwrap();
            for (i, id) in services.iter().enumerate() {
                ask(Subject::Service(i), &self.affect, id, context.clone());
            }
        }
        fired
    }

    /// The findings the fired policies stand for: a review of a file is asked of each of its
    /// owners, as `require review from o` does in `decide.bw`.
    pub fn summarize(&self, facts: &Facts, fired: &Fired) -> Summary {
        let mut findings = Vec::new();
        let mut outcome = "allow";
        for (subject, ids) in fired {
            for id in ids {
                let (rule, effect) = &self.rules[id];
                if effect == "deny" {
                    outcome = "deny";
                } else if outcome == "allow" {
                    outcome = "review";
                }
                match *subject {
                    Subject::File(i) => {
                        let f = &facts.change.files[i];
                        if rule == "ai_owner_review" {
                            for o in &f.owners {
                                findings.push((rule.as_str(), f.path.as_str(), o.as_str()));
                            }
                        } else {
                            findings.push((rule.as_str(), f.path.as_str(), "@org/security"));
                        }
                    }
                    Subject::Resource(i) => {
                        let r = &facts.plan.resources[i];
                        findings.push((rule.as_str(), r.address.as_str(), ""));
                    }
                    Subject::Service(i) => {
                        let n = &facts.topology.nodes[i];
                        findings.push((rule.as_str(), n.name.as_str(), n.owner.as_str()));
                    }
                }
            }
        }
        Summary::new(outcome, findings)
    }
}
