//! Diagnostics shared by every stage that reads policy source: the parser and the checker.

use crate::span::{LineIndex, Span};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Reported; does not stop the policy from building.
    Warning,
    /// The policy does not build.
    Error,
}

/// A problem in policy source, with the span it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code, e.g. `syntax`, `unknown-field`.
    pub code: &'static str,
    /// What is wrong: lowercase, no final period, user values in backticks.
    pub message: String,
    /// The offending source.
    pub span: Span,
    /// A few words under the underline.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            help: None,
        }
    }

    /// Attach a label under the underline.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Attach advice.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Whether this diagnostic stops the build.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Render for a terminal:
    ///
    /// ```text
    /// error: expected `when`, `level` or `}`
    ///  --> rules/x.bw:3:5
    ///   |
    /// 3 |     wen change.ai.assisted == "yes"
    ///   |     ^^^ found `wen`
    ///   = help: …
    /// ```
    pub fn render(&self, path: &str, src: &str) -> String {
        let index = LineIndex::new(src);
        self.render_with(path, src, &index)
    }

    /// [`Diagnostic::render`] with a prebuilt line index.
    pub fn render_with(&self, path: &str, src: &str, index: &LineIndex) -> String {
        let (line, col) = index.line_col(src, self.span.start as usize);
        let (end_line, end_col) = index.line_col(src, self.span.end as usize);
        let text = index.line_text(src, line);
        // Long lines (a 1 MB single line) are cut to a window around the column.
        let (shown, shown_col) = window(text, col);
        let width = if end_line == line {
            end_col.saturating_sub(col).max(1)
        } else {
            shown.chars().count().saturating_sub(shown_col - 1).max(1)
        }
        .min(120);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{severity}: {}\n", self.message);
        out.push_str(&format!("{pad}--> {path}:{line}:{col}\n"));
        out.push_str(&format!("{pad} |\n"));
        out.push_str(&format!("{line} | {shown}\n"));
        let caret_pad: String = shown
            .chars()
            .take(shown_col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!("{pad} | {caret_pad}{}", "^".repeat(width)));
        if let Some(label) = &self.label {
            out.push(' ');
            out.push_str(label);
        }
        out.push('\n');
        if let Some(help) = &self.help {
            out.push_str(&format!("{pad} = help: {help}\n"));
        }
        out
    }
}

/// At most 100 characters of `text` around 1-based column `col`, and the column within them.
fn window(text: &str, col: usize) -> (String, usize) {
    const WIDTH: usize = 100;
    let total = text.chars().count();
    if total <= WIDTH {
        return (text.to_string(), col);
    }
    let start = col
        .saturating_sub(WIDTH / 2)
        .min(total.saturating_sub(WIDTH));
    let shown: String = text.chars().skip(start).take(WIDTH).collect();
    (shown, col - start)
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = miette::LabeledSpan::new(
            self.label.clone(),
            self.span.start as usize,
            (self.span.end.saturating_sub(self.span.start)) as usize,
        );
        Some(Box::new(std::iter::once(span)))
    }
}
