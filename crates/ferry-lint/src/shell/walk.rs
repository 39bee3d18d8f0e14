//! Walks brush-parser's bash AST and collects every simple command (with its
//! words, flags and whether its status is tested), pipelines, and the words
//! outside command arguments.

use brush_parser::ast;

use super::guard::{plausible, shorten_fd_numbers};
use super::words::simplify;
use super::{Command, Word};

/// Nesting limit for command substitutions, so hostile input cannot recurse deeply.
const MAX_DEPTH: usize = 16;

/// What a walk collects.
#[derive(Default)]
pub(super) struct Sink {
    pub(super) commands: Vec<Command>,
    pub(super) has_pipes: bool,
    pub(super) pipelines: Vec<Vec<usize>>,
    pub(super) other_words: Vec<Word>,
}

pub(super) fn collect(
    script: &str,
    depth: usize,
    base: usize,
    checked: bool,
    sink: &mut Sink,
) -> bool {
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
