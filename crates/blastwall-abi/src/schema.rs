//! The declared shapes of the fact documents.
//!
//! Rules are type-checked against these shapes, fact files are validated against them, and
//! `docs/facts.md` is generated from them: this module is the one place they are written down.
//!
//! A field is either *required*, *optional* (`T?`: may be absent, and a rule must say what
//! absence means), or has a *default* that stands in when the field is omitted. A record field
//! may be omitted when every field of that record may be.

/// The shape of a value in a fact document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `true` or `false`.
    Bool,
    /// A signed 64-bit integer.
    Int,
    /// A non-negative 64-bit integer (a count: lines, a line number, a depth): `int` to rules,
    /// and facts with a negative one are refused.
    Count,
    /// A UTF-8 string.
    Str,
    /// A string restricted to the listed values.
    Enum(&'static EnumShape),
    /// A list of values of one shape.
    List(&'static Shape),
    /// A record with declared fields.
    Record(&'static Record),
    /// A value that may be absent.
    Optional(&'static Shape),
}

/// A named set of allowed string values.
#[derive(Debug, PartialEq, Eq)]
pub struct EnumShape {
    /// The name shown in types, e.g. `TriState`.
    pub name: &'static str,
    /// The allowed values, in documentation order.
    pub values: &'static [&'static str],
}

/// A record type: a name and its fields in declaration order.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    /// The type name, e.g. `File`.
    pub name: &'static str,
    /// What one value of this record stands for.
    pub doc: &'static str,
    /// The fields, in declaration (and encoding) order.
    pub fields: &'static [Field],
}

/// One field of a record.
#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    /// The field name as written in rules and fact files.
    pub name: &'static str,
    /// Its shape.
    pub shape: Shape,
    /// What stands in when the field is omitted.
    pub default: Default,
    /// One sentence on what the field means.
    pub doc: &'static str,
}

/// What a field holds when a fact file omits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// The field must be present.
    Required,
    /// The field is optional (`T?`) and absent when omitted.
    Absent,
    /// This boolean.
    Bool(bool),
    /// This integer.
    Int(i64),
    /// This string (or enum value).
    Str(&'static str),
    /// The empty list.
    EmptyList,
    /// The record with every field at its own default.
    Record,
}

/// The root fact documents a rule can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocKind {
    /// A code change: files, commits, approvals, AI provenance, owners.
    Change,
    /// An infrastructure plan: Terraform resource changes or a Kubernetes admission request.
    Plan,
    /// An action a coding agent proposes: a shell command or a tool call.
    Action,
    /// The service graph blast radius is computed over.
    Topology,
    /// The policy's parameters (declared by the policy, not here).
    Config,
}

impl DocKind {
    /// Every document, in the order they appear in fact files and the docs.
    pub const ALL: [DocKind; 5] = [
        DocKind::Change,
        DocKind::Plan,
        DocKind::Action,
        DocKind::Topology,
        DocKind::Config,
    ];

    /// The name rules use for this document.
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Change => "change",
            DocKind::Plan => "plan",
            DocKind::Action => "action",
            DocKind::Topology => "topology",
            DocKind::Config => "config",
        }
    }

    /// The document named `name`, if any.
    pub fn from_name(name: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The record shape of this document; `None` for `config`, whose shape the policy declares.
    pub fn record(self) -> Option<&'static Record> {
        match self {
            DocKind::Change => Some(&CHANGE),
            DocKind::Plan => Some(&PLAN),
            DocKind::Action => Some(&ACTION),
            DocKind::Topology => Some(&TOPOLOGY),
            DocKind::Config => None,
        }
    }
}

impl Record {
    /// The field named `name` and its index.
    pub fn field(&self, name: &str) -> Option<(usize, &'static Field)>
    where
        Self: 'static,
    {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }

    /// Whether a value of this record may be omitted entirely.
    pub fn all_defaulted(&self) -> bool {
        self.fields.iter().all(|f| f.default != Default::Required)
    }
}

/// `yes`, `no` or `unknown`: for facts that cannot always be established.
pub static TRI_STATE: EnumShape = EnumShape {
    name: "TriState",
    values: &["yes", "no", "unknown"],
};

/// How a file was changed.
pub static FILE_STATUS: EnumShape = EnumShape {
    name: "FileStatus",
    values: &[
        "added",
        "modified",
        "deleted",
        "renamed",
        "copied",
        "type_changed",
    ],
};

/// The normalised action of a planned resource change.
pub static PLAN_ACTION: EnumShape = EnumShape {
    name: "PlanAction",
    values: &[
        "create", "update", "delete", "replace", "read", "no-op", "forget",
    ],
};

/// For a `replace`: which half happens first.
pub static REPLACE_ORDER: EnumShape = EnumShape {
    name: "ReplaceOrder",
    values: &["delete_first", "create_first", "none"],
};

const STR: Shape = Shape::Str;
const INT: Shape = Shape::Int;
const COUNT: Shape = Shape::Count;
const BOOL: Shape = Shape::Bool;
const OPT_STR: Shape = Shape::Optional(&STR);
const STR_LIST: Shape = Shape::List(&STR);

const fn field(name: &'static str, shape: Shape, default: Default, doc: &'static str) -> Field {
    Field {
        name,
        shape,
        default,
        doc,
    }
}

/// The `change` document.
pub static CHANGE: Record = Record {
    name: "Change",
    doc: "A proposed code change: a git range or a pull request.",
    fields: &[
        field(
            "author",
            STR,
            Default::Str(""),
            "Login or email of the change's author; empty when not known.",
        ),
        field(
            "title",
            STR,
            Default::Str(""),
            "The change's title or first commit subject.",
        ),
        field("base", STR, Default::Str(""), "The base revision."),
        field("head", STR, Default::Str(""), "The head revision."),
        field(
            "ai",
            Shape::Record(&AI),
            Default::Record,
            "Whether AI tools took part in the change.",
        ),
        field(
            "files",
            Shape::List(&Shape::Record(&FILE)),
            Default::EmptyList,
            "Changed files.",
        ),
        field(
            "commits",
            Shape::List(&Shape::Record(&COMMIT)),
            Default::EmptyList,
            "Commits in the range, oldest first.",
        ),
        field(
            "approvals",
            Shape::List(&Shape::Record(&APPROVAL)),
            Default::EmptyList,
            "Approvals already given.",
        ),
        field(
            "services",
            STR_LIST,
            Default::EmptyList,
            "Topology nodes whose paths the change touches.",
        ),
        field(
            "labels",
            STR_LIST,
            Default::EmptyList,
            "Labels on the change.",
        ),
        field(
            "owners",
            Shape::Record(&OWNERS),
            Default::Record,
            "How the code-owner file parsed.",
        ),
    ],
};

/// AI provenance of a change.
pub static AI: Record = Record {
    name: "Ai",
    doc: "AI provenance of a change.",
    fields: &[
        field(
            "assisted",
            Shape::Enum(&TRI_STATE),
            Default::Str("unknown"),
            "`yes` when a marker was found, `no` when the configuration says unmarked means human, else `unknown`.",
        ),
        field(
            "tools",
            STR_LIST,
            Default::EmptyList,
            "Tools found, e.g. `claude-code`, `copilot`.",
        ),
        field(
            "initiator",
            OPT_STR,
            Default::Absent,
            "Who started the agent, when known.",
        ),
        field(
            "evidence",
            Shape::List(&Shape::Record(&EVIDENCE)),
            Default::EmptyList,
            "Where each marker was found.",
        ),
    ],
};

/// One piece of AI-provenance evidence.
pub static EVIDENCE: Record = Record {
    name: "Evidence",
    doc: "A marker of AI assistance and where it was found.",
    fields: &[
        field("tool", STR, Default::Required, "The tool the marker names."),
        field(
            "commit",
            STR,
            Default::Str(""),
            "The commit carrying the marker.",
        ),
        field(
            "marker",
            STR,
            Default::Str(""),
            "The line or identity that matched.",
        ),
    ],
};

/// A changed file.
pub static FILE: Record = Record {
    name: "File",
    doc: "A file the change touches.",
    fields: &[
        field(
            "path",
            STR,
            Default::Required,
            "Repository-relative path, `/`-separated.",
        ),
        field(
            "status",
            Shape::Enum(&FILE_STATUS),
            Default::Str("modified"),
            "How the file changed.",
        ),
        field(
            "previous_path",
            OPT_STR,
            Default::Absent,
            "The path before a rename or copy.",
        ),
        field("added", COUNT, Default::Int(0), "Lines added."),
        field("removed", COUNT, Default::Int(0), "Lines removed."),
        field(
            "binary",
            BOOL,
            Default::Bool(false),
            "Whether the file is binary.",
        ),
        field(
            "owners",
            STR_LIST,
            Default::EmptyList,
            "Code owners of the path (last matching rule).",
        ),
        field(
            "commits",
            STR_LIST,
            Default::EmptyList,
            "The commits of the range that touched the file (shas, oldest first); empty when not known, and rules then fall back to the range's provenance.",
        ),
    ],
};

/// A person or bot identity.
pub static PERSON: Record = Record {
    name: "Person",
    doc: "An author or committer identity.",
    fields: &[
        field("name", STR, Default::Str(""), "Display name."),
        field("email", STR, Default::Str(""), "Email address."),
        field(
            "bot",
            BOOL,
            Default::Bool(false),
            "Whether the identity is a bot account.",
        ),
    ],
};

/// A `Key: value` trailer of a commit message.
pub static TRAILER: Record = Record {
    name: "Trailer",
    doc: "A commit-message trailer such as `Co-Authored-By: …`.",
    fields: &[
        field("key", STR, Default::Required, "The trailer key as written."),
        field("value", STR, Default::Str(""), "The trailer value."),
    ],
};

/// A commit of the change.
pub static COMMIT: Record = Record {
    name: "Commit",
    doc: "A commit in the change's range.",
    fields: &[
        field("sha", STR, Default::Required, "The commit id."),
        field("message", STR, Default::Str(""), "The full message."),
        field(
            "author",
            Shape::Record(&PERSON),
            Default::Record,
            "The author.",
        ),
        field(
            "committer",
            Shape::Record(&PERSON),
            Default::Record,
            "The committer.",
        ),
        field(
            "trailers",
            Shape::List(&Shape::Record(&TRAILER)),
            Default::EmptyList,
            "Trailers of the message.",
        ),
        field(
            "ai",
            Shape::Enum(&TRI_STATE),
            Default::Str("unknown"),
            "AI provenance of this commit.",
        ),
    ],
};

/// An approval of the change.
pub static APPROVAL: Record = Record {
    name: "Approval",
    doc: "An approving review.",
    fields: &[
        field("by", STR, Default::Required, "The approver's login."),
        field(
            "teams",
            STR_LIST,
            Default::EmptyList,
            "Groups the approver belongs to, e.g. `@org/payments`.",
        ),
        field(
            "stale",
            BOOL,
            Default::Bool(false),
            "Whether the approval was given on an older commit.",
        ),
    ],
};

/// How the code-owner file parsed.
pub static OWNERS: Record = Record {
    name: "Owners",
    doc: "The state of the code-owner file.",
    fields: &[
        field(
            "file",
            OPT_STR,
            Default::Absent,
            "The code-owner file used, when one was found.",
        ),
        field(
            "errors",
            Shape::List(&Shape::Record(&OWNERS_ERROR)),
            Default::EmptyList,
            "Lines that did not parse.",
        ),
        field(
            "unowned",
            STR_LIST,
            Default::EmptyList,
            "Changed paths no rule owns.",
        ),
    ],
};

/// A code-owner parse error.
pub static OWNERS_ERROR: Record = Record {
    name: "OwnersError",
    doc: "A line of the code-owner file that did not parse.",
    fields: &[
        field("line", INT, Default::Int(0), "1-based line number."),
        field("message", STR, Default::Required, "What is wrong."),
    ],
};

/// The `plan` document.
pub static PLAN: Record = Record {
    name: "Plan",
    doc: "A proposed infrastructure change: a Terraform plan or a Kubernetes admission request.",
    fields: &[
        field(
            "source",
            STR,
            Default::Str("terraform"),
            "`terraform` or `kubernetes`.",
        ),
        field(
            "format_version",
            STR,
            Default::Str(""),
            "The plan format version.",
        ),
        field(
            "tool_version",
            STR,
            Default::Str(""),
            "The version of the tool that wrote the plan.",
        ),
        field(
            "complete",
            BOOL,
            Default::Bool(true),
            "False when the plan says it is incomplete.",
        ),
        field(
            "errored",
            BOOL,
            Default::Bool(false),
            "True when planning failed part-way.",
        ),
        field(
            "workspace",
            STR,
            Default::Str(""),
            "The workspace or cluster context.",
        ),
        field(
            "resources",
            Shape::List(&Shape::Record(&RESOURCE)),
            Default::EmptyList,
            "Planned resource changes.",
        ),
        field(
            "drift",
            Shape::List(&Shape::Record(&RESOURCE)),
            Default::EmptyList,
            "Changes made outside the tool since the last apply.",
        ),
        field(
            "request",
            Shape::Optional(&Shape::Record(&REQUEST)),
            Default::Absent,
            "The admission request, for Kubernetes.",
        ),
    ],
};

/// A planned change to one resource.
pub static RESOURCE: Record = Record {
    name: "Resource",
    doc: "A planned change to one resource.",
    fields: &[
        field(
            "address",
            STR,
            Default::Required,
            "Full address, e.g. `module.db.aws_db_instance.main[0]`.",
        ),
        field(
            "action",
            Shape::Enum(&PLAN_ACTION),
            Default::Required,
            "The normalised action.",
        ),
        field(
            "replace_order",
            Shape::Enum(&REPLACE_ORDER),
            Default::Str("none"),
            "For `replace`, which half happens first.",
        ),
        field(
            "reason",
            STR,
            Default::Str(""),
            "The tool's reason for the action, e.g. `replace_because_tainted`.",
        ),
        field(
            "type",
            STR,
            Default::Str(""),
            "Resource type, e.g. `aws_db_instance` or a Kubernetes kind.",
        ),
        field("name", STR, Default::Str(""), "Resource name."),
        field(
            "module",
            STR,
            Default::Str(""),
            "Module address; empty for the root module.",
        ),
        field("provider", STR, Default::Str(""), "Provider name."),
        field(
            "namespace",
            STR,
            Default::Str(""),
            "Kubernetes namespace; empty elsewhere.",
        ),
        field(
            "env",
            STR,
            Default::Str("unknown"),
            "Environment from tags, then address and workspace patterns; `unknown` when none matched.",
        ),
        field(
            "previous_address",
            OPT_STR,
            Default::Absent,
            "The address before a `moved` block.",
        ),
        field(
            "tags",
            Shape::List(&Shape::Record(&TAG)),
            Default::EmptyList,
            "Tags or labels.",
        ),
    ],
};

/// A key/value pair.
pub static TAG: Record = Record {
    name: "Tag",
    doc: "A key/value pair: a tag, a label or an argument.",
    fields: &[
        field("key", STR, Default::Required, "The key."),
        field("value", STR, Default::Str(""), "The value."),
    ],
};

/// A Kubernetes admission request.
pub static REQUEST: Record = Record {
    name: "Request",
    doc: "Who asked for a Kubernetes change, and how.",
    fields: &[
        field(
            "operation",
            STR,
            Default::Required,
            "`CREATE`, `UPDATE`, `DELETE` or `CONNECT`.",
        ),
        field("user", STR, Default::Str(""), "The requesting user."),
        field("groups", STR_LIST, Default::EmptyList, "The user's groups."),
        field(
            "dry_run",
            BOOL,
            Default::Bool(false),
            "Whether the request is a dry run.",
        ),
        field("uid", STR, Default::Str(""), "The request id."),
    ],
};

/// The `action` document.
pub static ACTION: Record = Record {
    name: "Action",
    doc: "An action a coding agent proposes: a shell command or a tool call.",
    fields: &[
        field(
            "source",
            STR,
            Default::Str("plain"),
            "`claude-code`, `cursor`, `mcp` or `plain`.",
        ),
        field(
            "tool",
            STR,
            Default::Str(""),
            "The tool name, e.g. `Bash` or `mcp__github__delete_repository`.",
        ),
        field(
            "command",
            STR,
            Default::Str(""),
            "The shell command as given; empty for non-shell tools.",
        ),
        field("cwd", STR, Default::Str(""), "The working directory."),
        field(
            "env",
            STR,
            Default::Str("unknown"),
            "The target environment the command names; `unknown` when none.",
        ),
        field(
            "commands",
            Shape::List(&Shape::Record(&COMMAND)),
            Default::EmptyList,
            "The simple commands the shell string runs.",
        ),
        field(
            "classes",
            STR_LIST,
            Default::EmptyList,
            "Destructive classes of any command, e.g. `recursive_delete`.",
        ),
        field(
            "arguments",
            Shape::List(&Shape::Record(&TAG)),
            Default::EmptyList,
            "A tool call's arguments, flattened to strings.",
        ),
        field(
            "parse_error",
            OPT_STR,
            Default::Absent,
            "Why the command could not be parsed, when it could not.",
        ),
    ],
};

/// One simple command of a shell string.
pub static COMMAND: Record = Record {
    name: "Command",
    doc: "One simple command: a program and its arguments.",
    fields: &[
        field(
            "program",
            STR,
            Default::Required,
            "The program, after unwrapping `sudo`, `env` and the like.",
        ),
        field("args", STR_LIST, Default::EmptyList, "Its arguments."),
        field(
            "classes",
            STR_LIST,
            Default::EmptyList,
            "Destructive classes of this command.",
        ),
        field(
            "env",
            STR,
            Default::Str("unknown"),
            "The environment this command targets.",
        ),
    ],
};

/// The `topology` document.
pub static TOPOLOGY: Record = Record {
    name: "Topology",
    doc: "The service graph that blast radius is computed over.",
    fields: &[field(
        "nodes",
        Shape::List(&Shape::Record(&NODE)),
        Default::EmptyList,
        "Services, packages or crates.",
    )],
};

/// A node of the topology.
pub static NODE: Record = Record {
    name: "Node",
    doc: "A service, package or crate.",
    fields: &[
        field("name", STR, Default::Required, "Unique name."),
        field(
            "kind",
            STR,
            Default::Str("service"),
            "`service`, `crate`, `package`…",
        ),
        field(
            "tier",
            INT,
            Default::Int(3),
            "Criticality: 1 is the most critical.",
        ),
        field("owner", STR, Default::Str(""), "Owning team."),
        field(
            "paths",
            STR_LIST,
            Default::EmptyList,
            "Globs of the paths that belong to the node.",
        ),
        field(
            "depends_on",
            STR_LIST,
            Default::EmptyList,
            "Names of the nodes this node depends on.",
        ),
    ],
};

/// A node reached by `dependents` or `dependencies`.
pub static REACHED: Record = Record {
    name: "Reached",
    doc: "A node reached by a graph walk, with its distance.",
    fields: &[
        field("name", STR, Default::Required, "The node's name."),
        field("kind", STR, Default::Str("service"), "The node's kind."),
        field("tier", INT, Default::Int(3), "The node's tier."),
        field("owner", STR, Default::Str(""), "The node's owner."),
        field(
            "depth",
            INT,
            Default::Int(0),
            "Edges from the nearest start node (1 for a direct neighbour); start nodes are not reached.",
        ),
    ],
};

/// A recorded override of a `soft` rule, given beside the documents.
pub static OVERRIDE: Record = Record {
    name: "Override",
    doc: "A recorded override of a `soft` rule's finding.",
    fields: &[
        field("rule", STR, Default::Required, "The rule overridden."),
        field("by", STR, Default::Required, "Who overrode it."),
        field("reason", STR, Default::Required, "Why."),
    ],
};

/// Every record type, for documentation.
pub static ALL_RECORDS: &[&Record] = &[
    &CHANGE,
    &AI,
    &EVIDENCE,
    &FILE,
    &COMMIT,
    &PERSON,
    &TRAILER,
    &APPROVAL,
    &OWNERS,
    &OWNERS_ERROR,
    &PLAN,
    &RESOURCE,
    &TAG,
    &REQUEST,
    &ACTION,
    &COMMAND,
    &TOPOLOGY,
    &NODE,
    &REACHED,
    &OVERRIDE,
];

/// Every enum type, for documentation.
pub static ALL_ENUMS: &[&EnumShape] = &[&TRI_STATE, &FILE_STATUS, &PLAN_ACTION, &REPLACE_ORDER];

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Bool => f.write_str("bool"),
            Shape::Int => f.write_str("int"),
            Shape::Count => f.write_str("int (≥ 0)"),
            Shape::Str => f.write_str("str"),
            Shape::Enum(e) => f.write_str(e.name),
            Shape::List(s) => write!(f, "[{s}]"),
            Shape::Record(r) => f.write_str(r.name),
            Shape::Optional(s) => write!(f, "{s}?"),
        }
    }
}

/// Render the schema reference as Markdown (the body of `docs/facts.md`).
pub fn render_markdown() -> String {
    let mut out = String::new();
    for record in ALL_RECORDS {
        out.push_str(&format!("### `{}`\n\n{}\n\n", record.name, record.doc));
        out.push_str("| field | type | when omitted | meaning |\n|---|---|---|---|\n");
        for f in record.fields {
            let default = match f.default {
                Default::Required => "required".to_string(),
                Default::Absent => "absent".to_string(),
                Default::Bool(b) => format!("`{b}`"),
                Default::Int(i) => format!("`{i}`"),
                Default::Str(s) => format!("`\"{s}\"`"),
                Default::EmptyList => "`[]`".to_string(),
                Default::Record => "all defaults".to_string(),
            };
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                f.name, f.shape, default, f.doc
            ));
        }
        out.push('\n');
    }
    out.push_str("### Enumerations\n\n| type | values |\n|---|---|\n");
    for e in ALL_ENUMS {
        let values: Vec<String> = e.values.iter().map(|v| format!("`{v}`")).collect();
        out.push_str(&format!("| `{}` | {} |\n", e.name, values.join(", ")));
    }
    out
}
