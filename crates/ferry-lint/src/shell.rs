//! Shell analysis of RUN (and SHELL) text: every simple command with its
//! arguments and flags, found across `&&`, `||`, `;`, pipes, subshells, brace
//! groups, loops, conditionals and command substitutions, using brush-parser's
//! bash AST.
//!
//! Arguments are "simplified" the way Hadolint sees them: quotes removed, and
//! every expansion (`$x`, `${x}`, `$(...)`, backticks, `$((...))`) replaced by
//! the placeholder `${VAR}`.

use brush_parser::ast;

/// One argument word, simplified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Command name as written (path kept), after `command`/`builtin`/`exec`/
    /// `busybox` wrappers.
    pub name: String,
    /// All words after the name (flags included), simplified.
    pub args: Vec<String>,
    /// Flags: (flag name, index in `args` of the word it came from). `--a=b`
    /// gives `a`, `-xyz` gives `x`, `y`, `z`.
    pub flags: Vec<(String, usize)>,
    /// Character offset of the command in the script.
    pub pos: usize,
    /// The exit status is tested (left of `&&`/`||`, an `if`/`while`
    /// condition, or inside such a construct).
    pub checked: bool,
    /// The argument words as written, with their offsets.
    pub words: Vec<Word>,
    /// The command-name word as written.
    pub name_word: Option<Word>,
}

/// A word as written in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub raw: String,
    /// Character offset in the script.
    pub pos: usize,
    /// `NAME=value` (a prefix assignment, or an argument of export/local/...).
    pub assignment: bool,
}

impl Command {
    fn new(name: String, args: Vec<String>) -> Command {
        let mut flags = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if a == "--" || a == "-" {
                continue;
            }
            if let Some(long) = a.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or("");
                flags.push((name.to_string(), i));
            } else if let Some(short) = a.strip_prefix('-') {
                for c in short.chars() {
                    flags.push((c.to_string(), i));
                }
            }
        }
        Command {
            name,
            args,
            flags,
            pos: 0,
            checked: false,
            words: Vec::new(),
            name_word: None,
        }
    }

    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }

    /// `[ ... ]` written with a bare `[`: ShellCheck (and so Hadolint) parses it
    /// as a test expression, not as a command. `"["` or `/usr/bin/[` are commands.
    pub fn is_bracket_test(&self) -> bool {
        self.name_word.as_ref().is_some_and(|w| w.raw == "[")
    }

    /// Hadolint's `cmdHasArgs`: the command is `name` and one argument is in `any`.
    pub fn has_any_arg(&self, name: &str, any: &[&str]) -> bool {
        self.name == name && self.args.iter().any(|a| any.contains(&a.as_str()))
    }

    pub fn has_arg(&self, arg: &str) -> bool {
        self.args.iter().any(|a| a == arg)
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|(f, _)| f == flag)
    }

    pub fn has_any_flag(&self, flags: &[&str]) -> bool {
        self.flags.iter().any(|(f, _)| flags.contains(&f.as_str()))
    }

    fn is_flag_index(&self, i: usize) -> bool {
        self.flags.iter().any(|(_, idx)| *idx == i)
    }

    /// Arguments that are not flags.
    pub fn args_no_flags(&self) -> Vec<&str> {
        self.args
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_flag_index(*i))
            .map(|(_, a)| a.as_str())
            .collect()
    }

    /// Non-flag arguments once the word after each of `value_flags` is dropped
    /// (Hadolint's `dropFlagArg`, which drops the next word even for `--f=v`).
    pub fn args_no_flags_dropping(&self, value_flags: &[&str]) -> Vec<&str> {
        let dropped: Vec<usize> = self
            .flags
            .iter()
            .filter(|(f, _)| value_flags.contains(&f.as_str()))
            .map(|(_, i)| i + 1)
            .collect();
        self.args
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_flag_index(*i) && !dropped.contains(i))
            .map(|(_, a)| a.as_str())
            .collect()
    }

    /// The word following flag `flag` (Hadolint's `getFlagArg`).
    pub fn flag_values(&self, flag: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|(f, _)| f == flag)
            .filter_map(|(_, i)| self.args.get(i + 1).map(String::as_str))
            .collect()
    }

    /// `needle` occurs in the arguments as a contiguous run.
    pub fn has_arg_sequence(&self, needle: &[&str]) -> bool {
        !needle.is_empty()
            && self
                .args
                .windows(needle.len())
                .any(|w| w.iter().zip(needle).all(|(a, b)| a == b))
    }
}

/// A parsed shell script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedShell {
    /// The script text as given.
    pub original: String,
    /// Simple commands in source order (outer before nested).
    pub commands: Vec<Command>,
    /// A `|` or `|&` pipeline with two or more commands is present.
    pub has_pipes: bool,
    /// The text parsed as shell.
    pub parsed: bool,
    /// Multi-command pipelines, as indices into `commands`.
    pub pipelines: Vec<Vec<usize>>,
    /// Every word outside command arguments (prefix assignments, loop lists,
    /// redirection targets), for checks that look at all words.
    pub other_words: Vec<Word>,
}

impl ParsedShell {
    pub fn any(&self, f: impl Fn(&Command) -> bool) -> bool {
        self.commands.iter().any(f)
    }

    pub fn none(&self, f: impl Fn(&Command) -> bool) -> bool {
        !self.commands.iter().any(f)
    }

    pub fn position(&self, f: impl Fn(&Command) -> bool) -> Option<usize> {
        self.commands.iter().position(f)
    }

    pub fn uses(&self, name: &str) -> bool {
        self.commands.iter().any(|c| c.name == name)
    }
}

/// Nesting limit for command substitutions, so hostile input cannot recurse deeply.
const MAX_DEPTH: usize = 16;

/// Parses `script` as bash. A script that does not parse yields no commands.
pub fn parse(script: &str) -> ParsedShell {
    let mut out = ParsedShell {
        original: script.to_string(),
        ..ParsedShell::default()
    };
    let mut sink = Sink::default();
    out.parsed = collect(script, 0, 0, false, &mut sink);
    out.commands = sink.commands;
    out.has_pipes = sink.has_pipes;
    out.pipelines = sink.pipelines;
    out.other_words = sink.other_words;
    out
}

/// What a walk collects.
#[derive(Default)]
struct Sink {
    commands: Vec<Command>,
    has_pipes: bool,
    pipelines: Vec<Vec<usize>>,
    other_words: Vec<Word>,
}

fn collect(script: &str, depth: usize, base: usize, checked: bool, sink: &mut Sink) -> bool {
    if depth > MAX_DEPTH || script.trim().is_empty() {
        return script.trim().is_empty();
    }
    if !plausible(script) {
        return false;
    }
    let script = shorten_fd_numbers(script);
    let options = brush_parser::ParserOptions::default();
    // brush-parser has `unwrap`s on paths we guard against above; catching a
    // panic keeps "bad input never panics" true should another one exist.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut parser =
            brush_parser::Parser::new(std::io::Cursor::new(script.as_bytes()), &options);
        parser.parse_program()
    }));
    let Ok(Ok(program)) = parsed else {
        return false;
    };
    let mut walker = Walker {
        depth,
        base,
        checked,
        sink,
    };
    for list in &program.complete_commands {
        walker.compound_list(list);
    }
    true
}

/// brush-parser reads a digit word before `<`/`>` as a file descriptor with an
/// unchecked `i32` parse; overlong ones are rewritten with leading zeros (same
/// length, same offsets) so the parse cannot overflow.
fn shorten_fd_numbers(script: &str) -> std::borrow::Cow<'_, str> {
    let bytes = script.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start >= 10 && matches!(bytes.get(i), Some(b'<' | b'>')) {
                spans.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    if spans.is_empty() {
        return std::borrow::Cow::Borrowed(script);
    }
    let mut out = script.as_bytes().to_vec();
    for (start, end) in spans {
        for b in &mut out[start..end - 1] {
            *b = b'0';
        }
        out[end - 1] = b'1';
    }
    // Only ASCII digits were replaced by ASCII digits.
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Unclosed `(` beyond this many make the script a syntax error for bash too;
/// brush-parser's backtracking grows exponentially on them, so they are refused
/// up front.
const MAX_UNCLOSED_PARENS: usize = 5;
/// Deeper nesting than this is refused to bound the parser's recursion.
const MAX_NESTING: usize = 48;

/// A cheap lexical pass (quotes, escapes, comments and heredoc bodies
/// respected) that rejects scripts the real parser would spend exponential time
/// or deep recursion on, or that trip its known panics (an unclosed `(` while a
/// heredoc is pending).
fn plausible(script: &str) -> bool {
    let chars: Vec<char> = script.chars().collect();
    let mut depth = 0usize;
    let mut keyword_depth = 0usize;
    let mut braces = 0usize;
    let mut max_depth = 0usize;
    let mut quote: Option<char> = None;
    let mut at_word_start = true;
    let mut heredocs = false;
    let mut pending: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == '\\' && q == '"' {
                i += 1;
            } else if q == '"' && c == '$' && chars.get(i + 1) == Some(&'(') {
                // Substitutions (and `$((`) inside double quotes are still parsed.
                let opens = if chars.get(i + 2) == Some(&'(') { 2 } else { 1 };
                depth += opens;
                max_depth = max_depth.max(depth + braces);
                i += opens;
            } else if q == '"' && c == '$' && chars.get(i + 1) == Some(&'{') {
                braces += 1;
                max_depth = max_depth.max(depth + braces);
                i += 1;
            } else if q == '"' && c == ')' {
                depth = depth.saturating_sub(1);
            } else if q == '"' && c == '}' {
                braces = braces.saturating_sub(1);
            }
            i += 1;
            continue;
        }
        match c {
            '\\' => i += 1,
            '\'' | '"' => quote = Some(c),
            '#' if at_word_start => {
                while i + 1 < chars.len() && chars[i + 1] != '\n' {
                    i += 1;
                }
            }
            '<' if chars.get(i + 1) == Some(&'<') && chars.get(i + 2) != Some(&'<') => {
                let mut j = i + 2;
                let strip = chars.get(j) == Some(&'-');
                if strip {
                    j += 1;
                }
                let quoted = matches!(chars.get(j), Some('"' | '\''));
                if quoted {
                    j += 1;
                }
                let start = j;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if j > start {
                    heredocs = true;
                    pending.push((chars[start..j].iter().collect(), strip));
                    i = if quoted { j } else { j - 1 };
                } else {
                    i += 1;
                }
            }
            '\n' if !pending.is_empty() => {
                // Skip the bodies of the heredocs started on this line.
                for (delimiter, strip) in std::mem::take(&mut pending) {
                    loop {
                        let line_start = i + 1;
                        if line_start >= chars.len() {
                            break;
                        }
                        let mut line_end = line_start;
                        while line_end < chars.len() && chars[line_end] != '\n' {
                            line_end += 1;
                        }
                        let line: String = chars[line_start..line_end].iter().collect();
                        i = line_end;
                        let line = if strip {
                            line.trim_start_matches('\t')
                        } else {
                            line.as_str()
                        };
                        if line == delimiter {
                            break;
                        }
                    }
                }
            }
            '(' => {
                depth += 1;
                max_depth = max_depth.max(depth + braces);
            }
            ')' => depth = depth.saturating_sub(1),
            '{' => {
                braces += 1;
                max_depth = max_depth.max(depth + braces);
            }
            '}' => braces = braces.saturating_sub(1),
            c if at_word_start && c.is_ascii_lowercase() => {
                // Compound-command keywords nest too (`if if if ...`).
                let mut j = i;
                while j < chars.len() && chars[j].is_ascii_lowercase() {
                    j += 1;
                }
                let ends_word = chars
                    .get(j)
                    .is_none_or(|n| n.is_whitespace() || matches!(n, ';' | '&' | '|' | ')'));
                if ends_word {
                    let word: String = chars[i..j].iter().collect();
                    match word.as_str() {
                        "if" | "case" | "while" | "until" | "for" | "select" => {
                            keyword_depth += 1;
                            max_depth = max_depth.max(keyword_depth);
                        }
                        "fi" | "esac" | "done" => keyword_depth = keyword_depth.saturating_sub(1),
                        _ => {}
                    }
                }
                i = j;
                at_word_start = false;
                continue;
            }
            _ => {}
        }
        at_word_start = c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')');
        i += 1;
    }
    let unclosed_limit = if heredocs { 0 } else { MAX_UNCLOSED_PARENS };
    let unclosed_quote = quote.is_some() && heredocs;
    let unclosed_braces = heredocs && braces > 0;
    depth <= unclosed_limit && max_depth <= MAX_NESTING && !unclosed_quote && !unclosed_braces
}

struct Walker<'a> {
    depth: usize,
    /// Offset of this (possibly nested) script in the outer script.
    base: usize,
    /// Commands walked now are inside a tested construct.
    checked: bool,
    sink: &'a mut Sink,
}

fn word_pos(w: &ast::Word) -> usize {
    w.loc.as_ref().map_or(0, |l| l.start.index)
}

impl Walker<'_> {
    fn compound_list(&mut self, list: &ast::CompoundList) {
        self.compound_list_with(list, false);
    }

    /// `last_checked`: the list's last command is a condition (if/while).
    fn compound_list_with(&mut self, list: &ast::CompoundList, last_checked: bool) {
        let n = list.0.len();
        for (i, ast::CompoundListItem(and_or, _)) in list.0.iter().enumerate() {
            let outer = self.checked;
            let is_condition = last_checked && i + 1 == n;
            let total = 1 + and_or.additional.len();
            // In `a && b || c` every pipeline but the last is tested.
            self.checked = outer || is_condition || total > 1;
            self.pipeline(&and_or.first);
            for (j, next) in and_or.additional.iter().enumerate() {
                self.checked = outer || is_condition || j + 2 < total;
                match next {
                    ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p),
                }
            }
            self.checked = outer;
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline) {
        let first = self.sink.commands.len();
        let mut heads = Vec::new();
        for cmd in &pipeline.seq {
            heads.push(self.sink.commands.len());
            self.command(cmd);
        }
        if pipeline.seq.len() > 1 {
            self.sink.has_pipes = true;
            let _ = first;
            self.sink.pipelines.push(heads);
        }
    }

    fn command(&mut self, cmd: &ast::Command) {
        match cmd {
            ast::Command::Simple(simple) => self.simple(simple),
            ast::Command::Compound(compound, redirects) => {
                self.compound(compound);
                if let Some(r) = redirects {
                    self.redirects(&r.0);
                }
            }
            ast::Command::Function(def) => {
                self.compound(&def.body.0);
            }
            ast::Command::ExtendedTest(test, _) => self.extended_test(&test.expr),
        }
    }

    fn extended_test(&mut self, expr: &ast::ExtendedTestExpr) {
        match expr {
            ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                self.extended_test(a);
                self.extended_test(b);
            }
            ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => {
                self.extended_test(a)
            }
            ast::ExtendedTestExpr::UnaryTest(_, w) => {
                self.word(&w.value, word_pos(w));
            }
            ast::ExtendedTestExpr::BinaryTest(_, a, b) => {
                self.word(&a.value, word_pos(a));
                self.word(&b.value, word_pos(b));
            }
        }
    }

    fn compound(&mut self, compound: &ast::CompoundCommand) {
        match compound {
            ast::CompoundCommand::Arithmetic(_) | ast::CompoundCommand::ArithmeticForClause(_) => {}
            ast::CompoundCommand::BraceGroup(g) => self.compound_list(&g.list),
            ast::CompoundCommand::Subshell(s) => self.compound_list(&s.list),
            ast::CompoundCommand::ForClause(f) => {
                for w in f.values.iter().flatten() {
                    self.other_word(w, false);
                }
                self.compound_list(&f.body.list);
            }
            ast::CompoundCommand::CaseClause(c) => {
                self.word(&c.value.value, word_pos(&c.value));
                for item in &c.cases {
                    if let Some(list) = &item.cmd {
                        self.compound_list(list);
                    }
                }
            }
            ast::CompoundCommand::IfClause(i) => {
                self.compound_list_with(&i.condition, true);
                self.compound_list(&i.then);
                for e in i.elses.iter().flatten() {
                    if let Some(c) = &e.condition {
                        self.compound_list_with(c, true);
                    }
                    self.compound_list(&e.body);
                }
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.compound_list_with(&w.0, true);
                self.compound_list(&w.1.list);
            }
            ast::CompoundCommand::Coprocess(c) => self.command(&c.body),
        }
    }

    fn redirects(&mut self, redirects: &[ast::IoRedirect]) {
        for r in redirects {
            self.redirect(r);
        }
    }

    fn redirect(&mut self, r: &ast::IoRedirect) {
        match r {
            ast::IoRedirect::File(_, _, target) => match target {
                ast::IoFileRedirectTarget::Filename(w)
                | ast::IoFileRedirectTarget::Duplicate(w) => {
                    self.other_word(w, false);
                }
                ast::IoFileRedirectTarget::ProcessSubstitution(_, sub) => {
                    self.compound_list(&sub.list)
                }
                ast::IoFileRedirectTarget::Fd(_) => {}
            },
            ast::IoRedirect::HereString(_, w) => {
                self.other_word(w, false);
            }
            ast::IoRedirect::HereDocument(_, _) | ast::IoRedirect::OutputAndError(_, _) => {}
        }
    }

    /// Simplifies a word and walks the command substitutions inside it.
    /// `pos` is the word's offset in the script being walked.
    fn word(&mut self, raw: &str, pos: usize) -> String {
        let (text, nested) = simplify(raw);
        for (script, offset) in nested {
            collect(
                &script,
                self.depth + 1,
                self.base + pos + offset,
                self.checked,
                self.sink,
            );
        }
        text
    }

    fn other_word(&mut self, w: &ast::Word, assignment: bool) {
        let pos = word_pos(w);
        self.word(&w.value, pos);
        self.sink.other_words.push(Word {
            raw: w.value.clone(),
            pos: self.base + pos,
            assignment,
        });
    }

    fn simple(&mut self, simple: &ast::SimpleCommand) {
        // Reserve the slot so the command comes before the ones nested in it
        // (ShellCheck walks the tree parent first).
        let slot = self.sink.commands.len();
        self.sink
            .commands
            .push(Command::new(String::new(), Vec::new()));
        let mut words: Vec<Word> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        let mut literal_name = None;
        let mut pos = None;
        let mut name_word = None;
        if let Some(prefix) = &simple.prefix {
            for item in &prefix.0 {
                if pos.is_none() {
                    pos = item_pos(item);
                }
                self.item(item, None);
            }
        }
        if let Some(name) = &simple.word_or_name {
            let is_literal = is_literal_word(&name.value);
            let p = word_pos(name);
            pos.get_or_insert(p);
            name_word = Some(Word {
                raw: name.value.clone(),
                pos: self.base + p,
                assignment: false,
            });
            let text = self.word(&name.value, p);
            if is_literal {
                literal_name = Some(text);
            }
        }
        if let Some(suffix) = &simple.suffix {
            for item in &suffix.0 {
                self.item(item, Some((&mut words, &mut args)));
            }
        }
        let Some(name) = literal_name else {
            self.sink.commands.remove(slot);
            return;
        };
        let effective = effective_name(&name, &args).unwrap_or(name);
        let mut cmd = Command::new(effective, args);
        cmd.pos = self.base + pos.unwrap_or(0);
        cmd.checked = self.checked;
        cmd.words = words;
        cmd.name_word = name_word;
        self.sink.commands[slot] = cmd;
    }

    fn item(
        &mut self,
        item: &ast::CommandPrefixOrSuffixItem,
        args: Option<(&mut Vec<Word>, &mut Vec<String>)>,
    ) {
        match item {
            ast::CommandPrefixOrSuffixItem::IoRedirect(r) => self.redirect(r),
            ast::CommandPrefixOrSuffixItem::Word(w) => {
                let p = word_pos(w);
                let text = self.word(&w.value, p);
                if let Some((words, args)) = args {
                    args.push(text);
                    words.push(Word {
                        raw: w.value.clone(),
                        pos: self.base + p,
                        assignment: false,
                    });
                }
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => match args {
                Some((words, args)) => {
                    let p = word_pos(w);
                    args.push(self.word(&w.value, p));
                    words.push(Word {
                        raw: w.value.clone(),
                        pos: self.base + p,
                        assignment: true,
                    });
                }
                None => self.other_word(w, true),
            },
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub) => {
                self.compound_list(&sub.list);
            }
        }
    }
}

fn item_pos(item: &ast::CommandPrefixOrSuffixItem) -> Option<usize> {
    match item {
        ast::CommandPrefixOrSuffixItem::Word(w)
        | ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => Some(word_pos(w)),
        _ => None,
    }
}

/// ShellCheck's view of wrappers: `command x`, `builtin x`, `busybox x` and
/// `exec x` run `x`.
fn effective_name(name: &str, args: &[String]) -> Option<String> {
    match name {
        "busybox" | "builtin" | "command" | "run" => {
            args.first().filter(|a| !a.starts_with('-')).cloned()
        }
        "exec" => args.iter().find(|a| !a.starts_with('-')).cloned(),
        _ => None,
    }
}

/// A word with no expansion: only literal text, quotes and escapes.
fn is_literal_word(raw: &str) -> bool {
    let mut in_single = false;
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\'' => in_single = !in_single,
            '\\' if !in_single => escaped = true,
            '$' | '`' if !in_single => return false,
            _ => {}
        }
    }
    true
}

/// Removes quoting and replaces expansions with `${VAR}`; returns the text and
/// the scripts of command substitutions found, with their character offsets in
/// the word.
pub fn simplify(raw: &str) -> (String, Vec<(String, usize)>) {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    let mut nested = Vec::new();
    let mut i = 0;
    let mut in_double = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some(&n) if in_double && !matches!(n, '$' | '`' | '"' | '\\') => {
                        out.push('\\');
                        out.push(n);
                    }
                    Some(&n) => out.push(n),
                    None => out.push('\\'),
                }
                i += 2;
            }
            '"' => {
                in_double = !in_double;
                i += 1;
            }
            '\'' if !in_double => {
                let end = find_char(&chars, i + 1, '\'').unwrap_or(chars.len());
                out.extend(&chars[i + 1..end]);
                i = end + 1;
            }
            '`' => {
                let end = find_backtick_end(&chars, i + 1);
                let inner: String = chars[i + 1..end.min(chars.len())].iter().collect();
                nested.push((inner.replace("\\`", "`"), i + 1));
                out.push_str("${VAR}");
                i = end + 1;
            }
            '$' => match chars.get(i + 1) {
                Some('\'') if !in_double => {
                    let end = find_char(&chars, i + 2, '\'').unwrap_or(chars.len());
                    out.extend(&chars[i + 2..end]);
                    i = end + 1;
                }
                Some('(') => {
                    let arithmetic = chars.get(i + 2) == Some(&'(');
                    let end = find_close_paren(&chars, i + 1);
                    if !arithmetic {
                        let inner: String = chars[i + 2..end.min(chars.len())].iter().collect();
                        nested.push((inner, i + 2));
                    }
                    out.push_str("${VAR}");
                    i = end + 1;
                }
                Some('{') => {
                    let end = find_close_brace(&chars, i + 1);
                    out.push_str("${VAR}");
                    i = end + 1;
                }
                Some(&n) if n.is_ascii_alphabetic() || n == '_' => {
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                        j += 1;
                    }
                    out.push_str("${VAR}");
                    i = j;
                }
                Some(&n) if n.is_ascii_digit() || "@*#?$!-".contains(n) => {
                    out.push_str("${VAR}");
                    i += 2;
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            },
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    (out, nested)
}

fn find_char(chars: &[char], from: usize, target: char) -> Option<usize> {
    (from..chars.len()).find(|&j| chars[j] == target)
}

fn find_backtick_end(chars: &[char], from: usize) -> usize {
    let mut j = from;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '`' => return j,
            _ => j += 1,
        }
    }
    chars.len()
}

/// Index of the `)` closing the `(` at `open`, skipping quotes (or the end).
fn find_close_paren(chars: &[char], open: usize) -> usize {
    find_close(chars, open, '(', ')')
}

fn find_close_brace(chars: &[char], open: usize) -> usize {
    find_close(chars, open, '{', '}')
}

fn find_close(chars: &[char], open: usize, o: char, c: char) -> usize {
    let mut depth = 0usize;
    let mut j = open;
    let mut quote: Option<char> = None;
    while j < chars.len() {
        let ch = chars[j];
        match quote {
            Some(q) => {
                if ch == '\\' && q == '"' {
                    j += 1;
                } else if ch == q {
                    quote = None;
                }
            }
            None => {
                if ch == '\\' {
                    j += 1;
                } else if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                } else if ch == o {
                    depth += 1;
                } else if ch == c {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return j;
                    }
                }
            }
        }
        j += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(script: &str) -> Vec<String> {
        parse(script).commands.into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn commands_across_operators_and_nesting() {
        assert_eq!(
            names("apt-get update && (cd /x; make) | tee log || { echo no; }"),
            vec!["apt-get", "cd", "make", "tee", "echo"]
        );
        assert_eq!(
            names("if [ -f x ]; then rm x; fi; for f in $(ls); do cat $f; done"),
            vec!["[", "rm", "ls", "cat"]
        );
        assert_eq!(names("V=$(curl -s x) wget y"), vec!["wget", "curl"]);
        assert_eq!(names("echo `date`"), vec!["echo", "date"]);
        assert_eq!(names("FOO=1"), Vec::<String>::new());
        assert_eq!(names("$CMD arg"), Vec::<String>::new());
        assert_eq!(
            names("command -v x; busybox wget y"),
            vec!["command", "wget"]
        );
    }

    #[test]
    fn pipes_detected() {
        assert!(parse("curl x | sh").has_pipes);
        assert!(!parse("a || b && c").has_pipes);
        assert!(parse("(a | b)").has_pipes);
    }

    #[test]
    fn args_simplified_and_flags() {
        let p = parse("apt-get install -y --no-install-recommends \"foo\"=1.0 'bar' baz=$V");
        let c = &p.commands[0];
        assert_eq!(
            c.args,
            vec![
                "install",
                "-y",
                "--no-install-recommends",
                "foo=1.0",
                "bar",
                "baz=${VAR}"
            ]
        );
        assert!(c.has_flag("y") && c.has_flag("no-install-recommends"));
        assert_eq!(
            c.args_no_flags(),
            vec!["install", "foo=1.0", "bar", "baz=${VAR}"]
        );
        let p = parse("pip install -t /x --index-url=u foo bar");
        // Like Hadolint, `--f=v` still drops the word after it.
        assert_eq!(
            p.commands[0].args_no_flags_dropping(&["t", "index-url"]),
            vec!["install", "bar"]
        );
        let p = parse("useradd -u 100000 bob");
        assert_eq!(p.commands[0].flag_values("u"), vec!["100000"]);
    }

    #[test]
    fn heredoc_in_script_is_data() {
        assert_eq!(
            names("cat <<EOF > /x\napt-get install foo\nEOF\n"),
            vec!["cat"]
        );
    }

    #[test]
    fn pathological_nesting_is_refused_quickly() {
        let unclosed = format!("{}x", "(".repeat(40));
        assert!(!parse(&unclosed).parsed);
        let deep = format!("{}x{}", "(".repeat(200), ")".repeat(200));
        assert!(!parse(&deep).parsed);
        let fine = format!("{}x;{}", "{ ".repeat(10), " };".repeat(10));
        assert_eq!(names(&fine), vec!["x"]);
        // Parentheses in quotes and comments do not count.
        assert_eq!(
            names("echo '((((((((' \"((((((((\" # ((((((((\ntrue"),
            vec!["echo", "true"]
        );
    }

    #[test]
    fn unclosed_construct_with_pending_heredoc_is_refused() {
        // brush-parser panics on this shape (found by cargo-fuzz).
        assert!(!parse("a <<X $((1<<2)# x\nbody\nX\n").parsed);
        assert!(!parse("a <<-\"X\" b \" c $((1<<2)# x\nbody\n\tX\n").parsed);
        assert!(!parse("a <<-\"X\" bash*echo $((2<<2)) ${a:ip)/\nnpm\n\tX\n").parsed);
        assert!(!parse("a <<-\"X\" b \" b $((2<<2)# F\nx\n\tX\n\"").parsed);
        // Parentheses inside heredoc bodies are data.
        assert_eq!(
            names("cat <<EOF > /x\n(((((((((\nEOF\ntrue"),
            vec!["cat", "true"]
        );
    }

    #[test]
    fn deep_keyword_nesting_is_refused() {
        let deep = format!("{}x{}", "if a; then ".repeat(100), "; fi".repeat(100));
        assert!(!parse(&deep).parsed);
        let flat = "if a; then b; fi; ".repeat(100);
        assert!(parse(&flat).parsed);
    }

    #[test]
    fn overlong_fd_numbers_do_not_panic() {
        assert_eq!(
            names("echo 99999999999999999999>x && true"),
            vec!["echo", "true"]
        );
    }

    #[test]
    fn bad_script_has_no_commands() {
        let p = parse("if then fi (");
        assert!(!p.parsed);
        assert!(p.commands.is_empty());
    }
}
