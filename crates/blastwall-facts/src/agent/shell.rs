//! A POSIX-ish shell lexer and parser that finds the simple commands a command string runs.
//!
//! It does not expand anything: `$VAR` stays `$VAR`, globs stay globs, and a command
//! substitution stays in its word as written. What it does work out is *what runs*:
//!
//! - lists and pipelines: `&&`, `||`, `;`, `|`, `|&`, `&` and newlines separate commands;
//! - subshells `( … )`, brace groups, command substitutions `$( … )` and `` ` … ` ``, and
//!   process substitutions `<( … )`, `>( … )`: the commands inside run too, and are reported
//!   before the command whose word holds them (they run first);
//! - quoting: `'…'`, `"…"` (with `\` escaping `$`, `` ` ``, `"`, `\` and newline), `$'…'`
//!   (ANSI-C escapes), backslash escapes and line continuations; quotes are removed from words;
//! - `NAME=value` prefixes become assignments, not words;
//! - redirections (`>`, `>>`, `<`, `2>&1`, `&>`, `<>`, `>|`, …) are dropped from the words; the
//!   targets of output redirections are kept aside, and a here-document or here-string becomes
//!   the command's standard input text;
//! - `#` at the start of a word starts a comment.
//!
//! Unbalanced quotes, parentheses or backticks are an error: the caller records it and fails
//! closed. The commands parsed before the error (and the one being parsed) are still returned.
//! Nesting (subshells inside substitutions inside …) is bounded by [`MAX_NESTING`], and the input
//! by [`MAX_COMMAND_BYTES`]; past either the parse is an error, never a stack overflow.

/// How deeply subshells and substitutions may nest.
pub(crate) const MAX_NESTING: usize = 32;

/// The longest command string parsed; a longer one is a parse error.
pub(crate) const MAX_COMMAND_BYTES: usize = 1 << 20;

/// A simple command as the shell sees it, before wrappers such as `sudo` are unwrapped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawCommand {
    /// `NAME=value` prefixes, in order.
    pub assigns: Vec<(String, String)>,
    /// The words, quotes removed; the first is the program.
    pub words: Vec<String>,
    /// The text of a here-document or here-string, when the command has one.
    pub stdin_text: Option<String>,
    /// Targets of output redirections (`>`, `>>`, `&>`, …).
    pub out_targets: Vec<String>,
    /// Whether its standard input is the output of the command before it (`a | b`).
    pub piped: bool,
}

/// The result of parsing a command string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The simple commands, in the order they start running.
    pub commands: Vec<RawCommand>,
    /// Why the string could not be parsed in full, when it could not.
    pub error: Option<String>,
}

/// Parse `src` into the simple commands it runs.
pub(crate) fn parse(src: &str) -> Parsed {
    if src.len() > MAX_COMMAND_BYTES {
        return Parsed {
            commands: Vec::new(),
            error: Some(format!(
                "the command is {} bytes long, more than the {} bytes blastwall parses",
                src.len(),
                MAX_COMMAND_BYTES
            )),
        };
    }
    let mut p = Parser::new(src);
    let error = p.parse_list(0, Term::Eof).err();
    Parsed {
        commands: p.out,
        error,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    /// The end of the input.
    Eof,
    /// A `)` closing a subshell or a `$(`.
    Paren,
    /// A `;;` (or `;&`, `;;&`) ending a `case` item, or the `esac` after it.
    CaseItem,
}

/// A word: its text with quotes removed, and the byte offset at which quoted or escaped text
/// first appears (an `=` after that point does not make an assignment).
struct Word {
    text: String,
    quoted_at: Option<usize>,
}

#[derive(Default)]
struct Builder {
    cmd: RawCommand,
    heredocs: Vec<(String, bool)>,
}

impl Builder {
    fn is_empty(&self) -> bool {
        self.cmd.words.is_empty() && self.cmd.assigns.is_empty() && self.cmd.out_targets.is_empty()
    }

    fn push_word(&mut self, w: Word) {
        if self.cmd.words.is_empty()
            && let Some((name, value)) = assignment(&w)
        {
            self.cmd.assigns.push((name, value));
            return;
        }
        self.cmd.words.push(w.text);
    }
}

/// `NAME=value` (or `NAME+=value`) with an unquoted, valid name.
fn assignment(w: &Word) -> Option<(String, String)> {
    let eq = w.text.find('=')?;
    if w.quoted_at.is_some_and(|q| q <= eq) {
        return None;
    }
    let name = w.text.get(..eq)?;
    let name = name.strip_suffix('+').unwrap_or(name);
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    Some((name.to_string(), w.text.get(eq + 1..)?.to_string()))
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    out: Vec<RawCommand>,
    /// Here-documents whose bodies start after the next newline: command index, delimiter,
    /// whether leading tabs are stripped (`<<-`).
    pending_heredocs: Vec<(usize, String, bool)>,
    /// Inside `[[ … ]]`, where `(`, `)`, `|`, `&`, `<` and `>` are part of words.
    dbl_bracket: bool,
}

/// Words after which a command has not started yet: reserved words.
const STARTERS: [&str; 12] = [
    "!", "{", "if", "then", "else", "elif", "do", "while", "until", "time", "in", "coproc",
];

fn is_meta(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'
    )
}

impl Parser {
    fn new(src: &str) -> Self {
        Parser {
            chars: src.chars().collect(),
            pos: 0,
            out: Vec::new(),
            pending_heredocs: Vec::new(),
            dbl_bracket: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn raw(&self, from: usize, to: usize) -> String {
        self.chars
            .get(from..to)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    }

    fn skip_blanks(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(' ' | '\t' | '\r'), _) => self.pos += 1,
                (Some('\\'), Some('\n')) => self.pos += 2,
                _ => return,
            }
        }
    }

    fn finish(&mut self, b: &mut Builder) {
        let done = std::mem::take(b);
        if done.is_empty() {
            return;
        }
        let index = self.out.len();
        self.out.push(done.cmd);
        for (delim, strip) in done.heredocs {
            self.pending_heredocs.push((index, delim, strip));
        }
    }

    /// Parse commands until `term`. On error, the command being built is still recorded.
    fn parse_list(&mut self, depth: usize, term: Term) -> Result<(), String> {
        if depth > MAX_NESTING {
            return Err(format!(
                "subshells and substitutions nest deeper than {MAX_NESTING} levels"
            ));
        }
        let mut b = Builder::default();
        let saved = std::mem::replace(&mut self.dbl_bracket, false);
        let result = self.parse_list_into(depth, term, &mut b);
        self.dbl_bracket = saved;
        self.finish(&mut b);
        result
    }

    fn parse_list_into(&mut self, depth: usize, term: Term, b: &mut Builder) -> Result<(), String> {
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                if self.dbl_bracket {
                    return Err("unclosed `[[`".to_string());
                }
                return match term {
                    Term::Eof => Ok(()),
                    Term::Paren => Err("unbalanced parentheses: a `(` is never closed".to_string()),
                    Term::CaseItem => Err("a `case` without `esac`".to_string()),
                };
            };
            let at_start = b.cmd.assigns.is_empty()
                && b.cmd.words.iter().all(|w| STARTERS.contains(&w.as_str()));
            if term == Term::CaseItem && at_start && self.at_keyword("esac") {
                return Ok(());
            }
            if term == Term::CaseItem && c == ';' && matches!(self.peek_at(1), Some(';' | '&')) {
                self.finish(b);
                self.pos += 2;
                if self.peek() == Some('&') {
                    self.pos += 1;
                }
                return Ok(());
            }
            if self.dbl_bracket && matches!(c, '(' | ')' | '|' | '&' | '<' | '>') {
                let w = self.parse_word(depth)?;
                b.push_word(w);
                continue;
            }
            if at_start && self.at_keyword("case") {
                self.pos += 4;
                self.parse_case(depth)?;
                continue;
            }
            if c == '('
                && self.peek_at(1) == Some('(')
                && (at_start || b.cmd.words.last().is_some_and(|w| w == "for"))
            {
                // An arithmetic command `(( … ))` or a `for (( … ))` head: no command runs,
                // except substitutions inside it.
                let from = self.pos;
                self.skip_balanced('(', ')')
                    .ok_or("unclosed arithmetic command `((`")?;
                let inner = self.raw(from, self.pos);
                self.scan_substitutions(&inner, depth + 1)?;
                if b.cmd.words.last().is_some_and(|w| w == "for") {
                    b.cmd.words.clear();
                }
                continue;
            }
            match c {
                '\n' => {
                    self.finish(b);
                    self.pos += 1;
                    self.read_heredocs();
                }
                ';' => {
                    self.finish(b);
                    self.pos += 1;
                }
                '&' if self.peek_at(1) == Some('>') => self.parse_redirect(b, depth)?,
                '&' => {
                    self.finish(b);
                    self.pos += 1;
                    if self.peek() == Some('&') {
                        self.pos += 1;
                    }
                }
                '|' => {
                    self.finish(b);
                    self.pos += 1;
                    match self.peek() {
                        Some('|') => self.pos += 1,
                        Some('&') => {
                            self.pos += 1;
                            b.cmd.piped = true;
                        }
                        _ => b.cmd.piped = true,
                    }
                }
                '(' => {
                    if b.cmd.words.is_empty() {
                        // A subshell (or the `((` of an arithmetic command, whose words are
                        // harmless when read as a command).
                        self.finish(b);
                        self.pos += 1;
                        self.parse_list(depth + 1, Term::Paren)?;
                    } else if self.peek_at(1) == Some(')') {
                        // `name() { …; }` defines a function: the name does not run. It is
                        // recorded as `function name`, so that later calls are known.
                        self.pos += 2;
                        let name = b.cmd.words.pop().unwrap_or_default();
                        b.cmd.words = vec!["function".to_string(), name];
                        self.finish(b);
                    } else {
                        return Err("unexpected `(` in the middle of a command".to_string());
                    }
                }
                ')' => {
                    return match term {
                        Term::Paren => {
                            self.pos += 1;
                            Ok(())
                        }
                        Term::Eof | Term::CaseItem => {
                            Err("unbalanced parentheses: a `)` has no matching `(`".to_string())
                        }
                    };
                }
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '<' | '>' if self.peek_at(1) != Some('(') => self.parse_redirect(b, depth)?,
                d if d.is_ascii_digit() && self.fd_redirect_ahead() => {
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    self.parse_redirect(b, depth)?;
                }
                _ => {
                    let w = self.parse_word(depth)?;
                    if w.quoted_at.is_none() && at_start && w.text == "[[" {
                        self.dbl_bracket = true;
                    } else if self.dbl_bracket && w.quoted_at.is_none() && w.text == "]]" {
                        self.dbl_bracket = false;
                    }
                    b.push_word(w);
                }
            }
        }
    }

    /// Whether the digits at the cursor are a file descriptor prefixing a redirection (`2>`).
    fn fd_redirect_ahead(&self) -> bool {
        let mut i = self.pos;
        while self.chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
        matches!(self.chars.get(i), Some('<' | '>'))
    }

    /// A redirection operator at the cursor and its target.
    fn parse_redirect(&mut self, b: &mut Builder, depth: usize) -> Result<(), String> {
        let start = self.pos;
        let op: &'static str = match (self.peek(), self.peek_at(1), self.peek_at(2)) {
            (Some('&'), Some('>'), Some('>')) => "&>>",
            (Some('&'), Some('>'), _) => "&>",
            (Some('<'), Some('<'), Some('<')) => "<<<",
            (Some('<'), Some('<'), Some('-')) => "<<-",
            (Some('<'), Some('<'), _) => "<<",
            (Some('<'), Some('&'), _) => "<&",
            (Some('<'), Some('>'), _) => "<>",
            (Some('<'), _, _) => "<",
            (Some('>'), Some('>'), _) => ">>",
            (Some('>'), Some('&'), _) => ">&",
            (Some('>'), Some('|'), _) => ">|",
            (Some('>'), _, _) => ">",
            _ => return Err("internal: not a redirection".to_string()),
        };
        self.pos = start + op.chars().count();
        if matches!(op, "<&" | ">&") {
            // `2>&1`, `>&-`: a descriptor, not a file.
            let fd_start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '-') {
                self.pos += 1;
            }
            if self.pos > fd_start && self.peek().is_none_or(is_meta) {
                return Ok(());
            }
            self.pos = fd_start;
        }
        self.skip_blanks();
        match self.peek() {
            Some(c) if !is_meta(c) => {}
            _ => return Err(format!("the redirection `{op}` has no target")),
        }
        let target = self.parse_word(depth)?;
        match op {
            "<<" | "<<-" => b.heredocs.push((target.text, op == "<<-")),
            "<<<" => b.cmd.stdin_text = Some(target.text),
            "<" | "<&" => {}
            _ => b.cmd.out_targets.push(target.text),
        }
        Ok(())
    }

    /// After a newline: the bodies of the here-documents opened on the line just ended.
    fn read_heredocs(&mut self) {
        for (index, delim, strip) in std::mem::take(&mut self.pending_heredocs) {
            let mut body = String::new();
            while self.peek().is_some() {
                let line_start = self.pos;
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
                let line = self.raw(line_start, self.pos);
                if self.peek() == Some('\n') {
                    self.pos += 1;
                }
                let cmp = if strip {
                    line.trim_start_matches('\t')
                } else {
                    line.as_str()
                };
                if cmp == delim {
                    break;
                }
                body.push_str(&line);
                body.push('\n');
            }
            if let Some(cmd) = self.out.get_mut(index) {
                cmd.stdin_text = Some(body);
            }
        }
    }

    fn parse_word(&mut self, depth: usize) -> Result<Word, String> {
        let start = self.pos;
        let mut text = String::new();
        let mut quoted_at: Option<usize> = None;
        while let Some(c) = self.peek() {
            match c {
                '<' | '>' if self.pos == start && self.peek_at(1) == Some('(') => {
                    // Process substitution: the command inside runs.
                    self.pos += 2;
                    self.parse_list(depth + 1, Term::Paren)?;
                    text.push_str(&self.raw(start, self.pos));
                }
                '(' if quoted_at.is_none()
                    && text.ends_with('=')
                    && assignment(&Word {
                        text: text.clone(),
                        quoted_at: None,
                    })
                    .is_some() =>
                {
                    // An array assignment `a=(x y)`: its elements are data.
                    let from = self.pos;
                    self.skip_balanced('(', ')')
                        .ok_or("unbalanced parentheses in an array assignment")?;
                    text.push_str(&self.raw(from, self.pos));
                }
                c if is_meta(c)
                    && !(self.dbl_bracket && matches!(c, '(' | ')' | '|' | '&' | '<' | '>')) =>
                {
                    break;
                }
                '\'' => {
                    quoted_at.get_or_insert(text.len());
                    self.pos += 1;
                    loop {
                        match self.peek() {
                            None => return Err("unclosed single quote".to_string()),
                            Some('\'') => {
                                self.pos += 1;
                                break;
                            }
                            Some(ch) => {
                                text.push(ch);
                                self.pos += 1;
                            }
                        }
                    }
                }
                '"' => {
                    quoted_at.get_or_insert(text.len());
                    self.pos += 1;
                    self.parse_double_quoted(&mut text, depth)?;
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(ch) => {
                            quoted_at.get_or_insert(text.len());
                            text.push(ch);
                            self.pos += 1;
                        }
                        None => text.push('\\'),
                    }
                }
                '$' => self.parse_dollar(&mut text, &mut quoted_at, depth, false)?,
                '`' => self.parse_backtick(&mut text, depth)?,
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        Ok(Word { text, quoted_at })
    }

    /// The inside of `"…"`, the opening quote consumed.
    fn parse_double_quoted(&mut self, text: &mut String, depth: usize) -> Result<(), String> {
        loop {
            match self.peek() {
                None => return Err("unclosed double quote".to_string()),
                Some('"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('$' | '`' | '"' | '\\')) => {
                            text.push(c);
                            self.pos += 1;
                        }
                        Some('\n') => self.pos += 1,
                        Some(_) => text.push('\\'),
                        None => return Err("unclosed double quote".to_string()),
                    }
                }
                Some('$') => {
                    let mut ignored = None;
                    self.parse_dollar(text, &mut ignored, depth, true)?;
                }
                Some('`') => self.parse_backtick(text, depth)?,
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `$…` at the cursor: a substitution, an expansion kept as written, or a literal `$`.
    fn parse_dollar(
        &mut self,
        text: &mut String,
        quoted_at: &mut Option<usize>,
        depth: usize,
        in_double_quotes: bool,
    ) -> Result<(), String> {
        let start = self.pos;
        match self.peek_at(1) {
            Some('(') if self.peek_at(2) == Some('(') => {
                // Arithmetic expansion: no command runs, but substitutions inside it do.
                self.pos += 1;
                self.skip_balanced('(', ')')
                    .ok_or("unclosed arithmetic expansion `$((`")?;
                let inner = self.raw(start + 1, self.pos);
                self.scan_substitutions(&inner, depth + 1)?;
                text.push_str(&self.raw(start, self.pos));
            }
            Some('(') => {
                self.pos += 2;
                self.parse_list(depth + 1, Term::Paren).map_err(|e| {
                    if e.starts_with("unbalanced parentheses: a `(`") {
                        "unclosed command substitution `$(`".to_string()
                    } else {
                        e
                    }
                })?;
                text.push_str(&self.raw(start, self.pos));
            }
            Some('{') => {
                self.pos += 1;
                self.skip_balanced('{', '}')
                    .ok_or("unclosed parameter expansion `${`")?;
                text.push_str(&self.raw(start, self.pos));
            }
            Some('\'') if !in_double_quotes => {
                quoted_at.get_or_insert(text.len());
                self.pos += 2;
                loop {
                    match self.peek() {
                        None => return Err("unclosed `$'` string".to_string()),
                        Some('\'') => {
                            self.pos += 1;
                            break;
                        }
                        Some('\\') => {
                            let escaped = self.peek_at(1);
                            self.pos += 2;
                            match escaped {
                                Some('n') => text.push('\n'),
                                Some('t') => text.push('\t'),
                                Some('r') => text.push('\r'),
                                Some('a') => text.push('\u{7}'),
                                Some('b') => text.push('\u{8}'),
                                Some('e' | 'E') => text.push('\u{1b}'),
                                Some('f') => text.push('\u{c}'),
                                Some('v') => text.push('\u{b}'),
                                Some(c @ ('\\' | '\'' | '"' | '?')) => text.push(c),
                                Some('x') => self.push_code(text, 16, 2),
                                Some('u') => self.push_code(text, 16, 4),
                                Some('U') => self.push_code(text, 16, 8),
                                Some('0'..='7') => {
                                    // Up to three octal digits, this one included.
                                    self.pos -= 1;
                                    self.push_code(text, 8, 3);
                                }
                                Some('c') => {
                                    if let Some(ch) = self.peek() {
                                        self.pos += 1;
                                        text.push(char::from((ch as u32 & 0x1f) as u8));
                                    }
                                }
                                Some(c) => {
                                    text.push('\\');
                                    text.push(c);
                                }
                                None => return Err("unclosed `$'` string".to_string()),
                            }
                        }
                        Some(c) => {
                            text.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some('"') if !in_double_quotes => {
                quoted_at.get_or_insert(text.len());
                self.pos += 2;
                self.parse_double_quoted(text, depth)?;
            }
            _ => {
                text.push('$');
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// `` `…` `` at the cursor: the text inside, unescaped, is parsed as a command list.
    fn parse_backtick(&mut self, text: &mut String, depth: usize) -> Result<(), String> {
        let start = self.pos;
        self.pos += 1;
        let mut inner = String::new();
        loop {
            match self.peek() {
                None => return Err("unclosed backtick".to_string()),
                Some('`') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => match self.peek_at(1) {
                    Some(c @ ('`' | '\\' | '$')) => {
                        inner.push(c);
                        self.pos += 2;
                    }
                    _ => {
                        inner.push('\\');
                        self.pos += 1;
                    }
                },
                Some(c) => {
                    inner.push(c);
                    self.pos += 1;
                }
            }
        }
        let mut sub = Parser::new(&inner);
        let result = sub.parse_list(depth + 1, Term::Eof);
        self.out.append(&mut sub.out);
        result?;
        text.push_str(&self.raw(start, self.pos));
        Ok(())
    }

    /// Up to `max` digits in `radix` at the cursor, as one character (`\x72` is `r`); an
    /// escape without digits or naming no character is kept as written.
    fn push_code(&mut self, text: &mut String, radix: u32, max: usize) {
        let mut value: u32 = 0;
        let mut n = 0;
        while n < max {
            match self.peek().and_then(|c| c.to_digit(radix)) {
                Some(d) => {
                    value = value.saturating_mul(radix).saturating_add(d);
                    self.pos += 1;
                    n += 1;
                }
                None => break,
            }
        }
        match char::from_u32(value).filter(|_| n > 0) {
            Some(c) => text.push(c),
            None => text.push('\u{fffd}'),
        }
    }

    /// The commands inside `$( … )` and backticks of `text` (the inside of an arithmetic
    /// expression), which run even there.
    fn scan_substitutions(&mut self, text: &str, depth: usize) -> Result<(), String> {
        if depth > MAX_NESTING {
            return Err(format!(
                "subshells and substitutions nest deeper than {MAX_NESTING} levels"
            ));
        }
        if !text.contains("$(") && !text.contains('`') {
            return Ok(());
        }
        let mut sub = Parser::new(text);
        let mut scratch = String::new();
        let mut result = Ok(());
        while let Some(c) = sub.peek() {
            let step = match c {
                '$' if sub.peek_at(1) == Some('(') => {
                    let mut q = None;
                    sub.parse_dollar(&mut scratch, &mut q, depth + 1, false)
                }
                '`' => sub.parse_backtick(&mut scratch, depth + 1),
                _ => {
                    sub.pos += 1;
                    Ok(())
                }
            };
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }
        self.out.append(&mut sub.out);
        result
    }

    /// Whether the word at the cursor is the reserved word `kw`.
    fn at_keyword(&self, kw: &str) -> bool {
        let n = kw.chars().count();
        kw.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
            && self.peek_at(n).is_none_or(is_meta)
    }

    /// `case WORD in [(]pattern) list ;; … esac`, the `case` consumed: the subject's and the
    /// items' commands run; the patterns are data.
    fn parse_case(&mut self, depth: usize) -> Result<(), String> {
        self.skip_blanks();
        self.parse_word(depth)?;
        loop {
            self.skip_blanks();
            match self.peek() {
                Some('\n') => self.pos += 1,
                _ => break,
            }
        }
        if !self.at_keyword("in") {
            return Err("a `case` without `in`".to_string());
        }
        self.pos += 2;
        loop {
            loop {
                self.skip_blanks();
                match self.peek() {
                    Some('\n' | ';') => self.pos += 1,
                    Some('#') => {
                        while self.peek().is_some_and(|c| c != '\n') {
                            self.pos += 1;
                        }
                    }
                    _ => break,
                }
            }
            if self.at_keyword("esac") {
                self.pos += 4;
                return Ok(());
            }
            if self.peek().is_none() {
                return Err("a `case` without `esac`".to_string());
            }
            if self.peek() == Some('(') {
                self.pos += 1;
            }
            // The pattern, up to its unquoted `)`.
            loop {
                match self.peek() {
                    None => return Err("a `case` pattern without `)`".to_string()),
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    Some('\\') => self.pos += 2,
                    Some(q @ ('\'' | '"')) => {
                        self.pos += 1;
                        while self.peek().is_some_and(|c| c != q) {
                            self.pos += 1;
                        }
                        if self.peek().is_none() {
                            return Err("unclosed quote in a `case` pattern".to_string());
                        }
                        self.pos += 1;
                    }
                    Some(_) => self.pos += 1,
                }
            }
            self.parse_list(depth + 1, Term::CaseItem)?;
        }
    }

    /// From an `open` at the cursor, skip to just after its matching `close`, ignoring
    /// brackets inside quotes; `None` when it is never closed.
    fn skip_balanced(&mut self, open: char, close: char) -> Option<()> {
        let mut level = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => self.pos += 1,
                (Some(_), _) => {}
                (None, '\\') => self.pos += 1,
                (None, '\'' | '"') => quote = Some(c),
                (None, c) if c == open => level += 1,
                (None, c) if c == close => {
                    level = level.saturating_sub(1);
                    if level == 0 {
                        return Some(());
                    }
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn words(src: &str) -> Vec<Vec<String>> {
        let p = parse(src);
        assert_eq!(p.error, None, "{src}");
        p.commands.into_iter().map(|c| c.words).collect()
    }

    fn w(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|c| c.iter().map(|s| (*s).to_string()).collect())
            .collect()
    }

    #[test]
    fn lists_and_pipes() {
        assert_eq!(
            words("a 1 && b 2 || c; d | e |& f & g\nh"),
            w(&[
                &["a", "1"],
                &["b", "2"],
                &["c"],
                &["d"],
                &["e"],
                &["f"],
                &["g"],
                &["h"]
            ])
        );
    }

    #[test]
    fn quotes() {
        assert_eq!(words(r#"echo "rm -rf /""#), w(&[&["echo", "rm -rf /"]]));
        assert_eq!(words(r"echo 'a b'\ c"), w(&[&["echo", "a b c"]]));
        assert_eq!(
            words(r#"echo "a \"b\" \$x \q""#),
            w(&[&["echo", r#"a "b" $x \q"#]])
        );
        assert_eq!(words(r"echo $'a\tb\'c'"), w(&[&["echo", "a\tb'c"]]));
        assert_eq!(words("echo ''"), w(&[&["echo", ""]]));
        assert_eq!(words("echo a\\\nb"), w(&[&["echo", "ab"]]));
    }

    #[test]
    fn substitutions_run_first() {
        assert_eq!(
            words("rm -rf $(pwd)/x"),
            w(&[&["pwd"], &["rm", "-rf", "$(pwd)/x"]])
        );
        assert_eq!(
            words("echo `whoami`"),
            w(&[&["whoami"], &["echo", "`whoami`"]])
        );
        assert_eq!(
            words(r#"echo "$(cat "f g")""#),
            w(&[&["cat", "f g"], &["echo", r#"$(cat "f g")"#]])
        );
        assert_eq!(
            words("echo $((1 + 2)) ${x:-y}"),
            w(&[&["echo", "$((1 + 2))", "${x:-y}"]])
        );
        assert_eq!(
            words("diff <(ls a) b"),
            w(&[&["ls", "a"], &["diff", "<(ls a)", "b"]])
        );
        assert_eq!(
            words("(cd x && rm -r y)"),
            w(&[&["cd", "x"], &["rm", "-r", "y"]])
        );
    }

    #[test]
    fn assignments_and_redirects() {
        let p = parse("FOO=1 BAR='x y' cmd a=b > out 2>&1 < in");
        assert_eq!(p.error, None);
        let c = &p.commands[0];
        assert_eq!(
            c.assigns,
            vec![
                ("FOO".to_string(), "1".to_string()),
                ("BAR".to_string(), "x y".to_string())
            ]
        );
        assert_eq!(c.words, vec!["cmd", "a=b"]);
        assert_eq!(c.out_targets, vec!["out"]);
        assert_eq!(words("\"A=1\" cmd"), w(&[&["A=1", "cmd"]]));
        assert_eq!(words("cmd &> log; x >> y"), w(&[&["cmd"], &["x"]]));
        let p = parse("a | b |& c || d");
        let piped: Vec<bool> = p.commands.iter().map(|c| c.piped).collect();
        assert_eq!(piped, vec![false, true, true, false]);
    }

    #[test]
    fn heredoc_body_is_stdin() {
        let p = parse("psql <<EOF\nDROP TABLE x;\nEOF\necho done");
        assert_eq!(p.error, None);
        assert_eq!(p.commands[0].stdin_text.as_deref(), Some("DROP TABLE x;\n"));
        assert_eq!(p.commands[1].words, vec!["echo", "done"]);
        let p = parse("cat <<< 'hi there'");
        assert_eq!(p.commands[0].stdin_text.as_deref(), Some("hi there"));
    }

    #[test]
    fn comments_and_functions() {
        assert_eq!(words("ls # rm -rf /"), w(&[&["ls"]]));
        assert_eq!(words("echo a#b"), w(&[&["echo", "a#b"]]));
        assert_eq!(
            words("f() { rm -r x; }"),
            w(&[&["function", "f"], &["{", "rm", "-r", "x"], &["}"]])
        );
        assert_eq!(words("a=(x y) b"), w(&[&["b"]]));
    }

    #[test]
    fn errors() {
        for (src, msg) in [
            ("echo 'abc", "unclosed single quote"),
            ("echo \"abc", "unclosed double quote"),
            ("echo `abc", "unclosed backtick"),
            ("echo $(abc", "unclosed command substitution `$(`"),
            ("(ls", "unbalanced parentheses: a `(` is never closed"),
            ("ls)", "unbalanced parentheses: a `)` has no matching `(`"),
            ("ls >", "the redirection `>` has no target"),
            ("echo ${x", "unclosed parameter expansion `${`"),
        ] {
            assert_eq!(parse(src).error.as_deref(), Some(msg), "{src}");
        }
        // The command being parsed when the error struck is kept.
        let p = parse("rm -rf / 'oops");
        assert_eq!(p.commands[0].words, vec!["rm", "-rf", "/"]);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}x{}", "( ".repeat(200), ")".repeat(200));
        assert!(parse(&deep).error.unwrap().contains("nest deeper"));
        let deep = format!("{}1{}", "$((".repeat(200), "))".repeat(200));
        assert!(parse(&deep).error.unwrap().contains("nest deeper"));
        let deep = format!("{}x{}", "$(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).error.unwrap().contains("nest deeper"));
        let ok = format!("{}x{}", "( ".repeat(10), ")".repeat(10));
        assert_eq!(words(&ok), w(&[&["x"]]));
    }

    #[test]
    fn test_brackets_case_and_arithmetic() {
        assert_eq!(
            words("[[ $b =~ ^(main|master)$ ]] && git push"),
            w(&[
                &["[[", "$b", "=~", "^(main|master)$", "]]"],
                &["git", "push"]
            ])
        );
        assert_eq!(
            words("if [[ -n $x && $y == a ]]; then rm -r z; fi"),
            w(&[
                &["if", "[[", "-n", "$x", "&&", "$y", "==", "a", "]]"],
                &["then", "rm", "-r", "z"],
                &["fi"]
            ])
        );
        assert_eq!(
            words("[[ $(rm -rf /) ]]"),
            w(&[&["rm", "-rf", "/"], &["[[", "$(rm -rf /)", "]]"]])
        );
        assert_eq!(
            words("case $1 in\n  a|b) echo ab ;;\n  (c) rm -rf c;;\n  *) ls ;&\nesac; pwd"),
            w(&[&["echo", "ab"], &["rm", "-rf", "c"], &["ls"], &["pwd"]])
        );
        assert_eq!(words("case x in esac"), w(&[]));
        assert_eq!(
            words("(( i++ )); echo $(( i + $(wc -l < f) ))"),
            w(&[&["wc", "-l"], &["echo", "$(( i + $(wc -l < f) ))"]])
        );
        assert_eq!(
            words("for ((i=0; i<3; i++)); do rm -r $i; done"),
            w(&[&["do", "rm", "-r", "$i"], &["done"]])
        );
        assert_eq!(words("(( $(rm -rf x) ))"), w(&[&["rm", "-rf", "x"]]));
        assert!(parse("case x in a) ls").error.unwrap().contains("esac"));
    }

    #[test]
    fn ansi_c_quoting() {
        assert_eq!(words(r"$'\x72\x6d' -rf /"), w(&[&["rm", "-rf", "/"]]));
        assert_eq!(words(r"$'\162\155' x"), w(&[&["rm", "x"]]));
        assert_eq!(words(r"$'\u0072m' x"), w(&[&["rm", "x"]]));
    }
}
