//! The metadata section: what hosts read about a module before running it.

use blastwall_abi::decision::Effect as OutEffect;
use blastwall_abi::layout::{ABI_VERSION, Layout, Metadata, ParamMeta, ParamType, RuleMeta};
use blastwall_check::ir::{Effect, Policy, TemplatePart};
use blastwall_check::ty::Type;
use blastwall_syntax::LineIndex;
use sha2::{Digest, Sha256};

use crate::reads::Analysis;

pub fn metadata(policy: &Policy, layout: &Layout, analysis: &Analysis) -> Metadata {
    let lines: Vec<LineIndex> = policy
        .sources
        .iter()
        .map(|s| LineIndex::new(&s.text))
        .collect();
    let location = |file: usize, offset: usize| -> String {
        match (policy.sources.get(file), lines.get(file)) {
            (Some(src), Some(ix)) => {
                let (l, c) = ix.line_col(&src.text, offset);
                format!("{}:{l}:{c}", src.path)
            }
            _ => String::from("?"),
        }
    };
    let text = |file: usize, span: blastwall_syntax::Span| -> String {
        policy
            .sources
            .get(file)
            .map(|s| span.text(&s.text).to_string())
            .unwrap_or_default()
    };
    let rules = policy
        .rules
        .iter()
        .map(|r| RuleMeta {
            name: r.name.clone(),
            level: r.level,
            effect: match r.effect {
                Effect::Deny => OutEffect::Deny,
                Effect::Warn => OutEffect::Warn,
                Effect::Review { .. } => OutEffect::Review,
            },
            doc: r.doc.clone(),
            source: location(r.loc.file, r.loc.span.start as usize),
            reads: r.reads.iter().map(|d| d.name().to_string()).collect(),
            message: r
                .message
                .as_ref()
                .map(|t| {
                    t.parts
                        .iter()
                        .map(|p| match p {
                            TemplatePart::Text(s) => s.clone(),
                            TemplatePart::Hole(e) => format!("{{{}}}", text(r.loc.file, e.span)),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let params = policy
        .params
        .iter()
        .map(|p| ParamMeta {
            name: p.name.clone(),
            ty: param_type(&p.ty),
            default: p.default.clone(),
            doc: p.doc.clone(),
            glob: p.glob,
        })
        .collect();
    let mut hash = Sha256::new();
    for s in &policy.sources {
        hash.update((s.path.len() as u64).to_le_bytes());
        hash.update(s.path.as_bytes());
        hash.update((s.text.len() as u64).to_le_bytes());
        hash.update(s.text.as_bytes());
    }
    let digest = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Metadata {
        abi: ABI_VERSION,
        compiler: crate::VERSION.to_string(),
        digest,
        graph: analysis.graph,
        rules,
        params,
        layout: layout.clone(),
    }
}

fn param_type(t: &Type) -> ParamType {
    match t {
        Type::Bool => ParamType::Bool,
        Type::Int => ParamType::Int,
        Type::List(inner) | Type::Set(inner) => ParamType::List(Box::new(param_type(inner))),
        _ => ParamType::Str,
    }
}
