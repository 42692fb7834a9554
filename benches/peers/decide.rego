# The policy of benches/peers/decide.bw in Rego, as an OPA user would write it: the facts are
# `input` (the same JSON blastwall reads), the answer is `decision` with the outcome and one
# finding per rule and witness. regorus compiles it to its RVM with `decision` as the entry
# point. (Two spellings an OPA user might reach for first are avoided because regorus 0.14's
# RVM compiles them wrongly, where its tree-walking interpreter is right: a multi-value rule
# with a key, `deps[d] contains n.name if …`, which the RVM flattens into one set, and
# `outcome := … if … else := … if …` chains, which it answered `allow` for.) Globs use the `/` delimiter, where `*` stays within a path segment; `**/*.md` is the
# Rego spelling of blastwall's "`*.md` at any depth".
package blastwall.decide

import rego.v1

sensitive_paths := ["**/iam/**", ".github/workflows/**"]

exempt_paths := ["**/tests/**", "docs/**", "**/*.md"]

security_team := "@org/security"

production_envs := {"production", "prod"}

datastore_types := ["aws_db_instance", "aws_rds_cluster*", "aws_s3_bucket", "aws_dynamodb_table", "aws_kms_key"]

change := object.get(input, "change", {})

approvals := object.get(change, "approvals", [])

initiator := object.get(object.get(change, "ai", {}), "initiator", "")

# A current approval by neither the author nor the person who started the agent.
independent(a) if {
	not object.get(a, "stale", false)
	a.by != object.get(change, "author", "")
	a.by != initiator
}

# Whether approval `a` speaks for `o`: the login itself, `@login`, or one of its teams.
approves_as(a, o) if a.by == o

approves_as(a, o) if concat("", ["@", a.by]) == o

approves_as(a, o) if o in object.get(a, "teams", [])

owner_approved(f) if {
	some a in approvals
	independent(a)
	some o in f.owners
	approves_as(a, o)
}

group_approved(g) if {
	some a in approvals
	independent(a)
	approves_as(a, g)
}

exempt(path) if {
	some p in exempt_paths
	glob.match(p, ["/"], path)
}

sensitive(path) if {
	some p in sensitive_paths
	glob.match(p, ["/"], path)
}

destructive_in_production(r) if {
	object.get(r, "env", "unknown") in production_envs
	r.action in {"delete", "replace"}
}

datastore(r) if {
	some t in datastore_types
	glob.match(t, [], object.get(r, "type", ""))
}

findings contains {"rule": "ai_owner_review", "effect": "review", "about": f.path, "from": o} if {
	change.ai.assisted == "yes"
	some f in change.files
	not exempt(f.path)
	not owner_approved(f)
	some o in f.owners
}

findings contains {"rule": "sensitive_path", "effect": "review", "about": f.path, "from": security_team} if {
	some f in change.files
	sensitive(f.path)
	not group_approved(security_team)
}

findings contains {"rule": "no_destructive_prod_plan", "effect": "deny", "about": r.address, "from": ""} if {
	some r in input.plan.resources
	destructive_in_production(r)
}

findings contains {"rule": "no_destructive_prod_datastore", "effect": "deny", "about": r.address, "from": ""} if {
	some r in input.plan.resources
	destructive_in_production(r)
	datastore(r)
}

# The blast radius: who depends on the changed services, breadth first to three hops.
nodes := object.get(object.get(input, "topology", {}), "nodes", [])

node_named[n.name] := n if some n in nodes

# The nodes with a dependency in `names`: one scan of the nodes per hop.
depend_on(names) := {n.name | some n in nodes; some d in object.get(n, "depends_on", []); d in names}

start := {s | some s in object.get(change, "services", [])}

hop1 := depend_on(start) - start

hop2 := (depend_on(hop1) - start) - hop1

hop3 := ((depend_on(hop2) - start) - hop1) - hop2

reached := (hop1 | hop2) | hop3

findings contains {"rule": "tier1_dependent", "effect": "review", "about": name, "from": n.owner} if {
	some name in reached
	n := node_named[name]
	object.get(n, "tier", 3) <= 1
	n.owner != ""
	not group_approved(n.owner)
}

denied if {
	some f in findings
	f.effect == "deny"
}

held if {
	some f in findings
	f.effect == "review"
}

default outcome := "allow"

outcome := "deny" if denied

outcome := "review" if {
	not denied
	held
}

decision := {"outcome": outcome, "findings": findings}
