//! Inline pragmas in comments: `# hadolint ignore=DL3008,SC2086`,
//! `# hadolint global ignore=...`, `# hadolint stage ignore=...` and
//! `# hadolint shell=...`, with Hadolint's grammar (blanks are spaces or tabs,
//! a trailing `# reason` is allowed).

/// What one comment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pragma {
    /// Ignore these rules on the next line.
    Ignore(Vec<String>),
    /// Ignore these rules everywhere.
    Global(Vec<String>),
    /// Ignore these rules from the next line on (until the next stage pragma).
    Stage(Vec<String>),
    /// Lint RUN scripts as this shell from here on.
    Shell(String),
}

struct Scanner<'a> {
    rest: &'a str,
}

impl<'a> Scanner<'a> {
    fn blanks(&mut self) -> usize {
        let trimmed = self.rest.trim_start_matches([' ', '\t']);
        let n = self.rest.len() - trimmed.len();
        self.rest = trimmed;
        n
    }

    fn word(&mut self, w: &str) -> bool {
        match self.rest.strip_prefix(w) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !f(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    /// Nothing left but blanks and an optional `# comment`.
    fn at_end(&mut self) -> bool {
        self.blanks();
        self.rest.is_empty() || self.rest.starts_with('#')
    }

    /// `= CODE[, CODE]*`.
    fn rule_list(&mut self) -> Option<Vec<String>> {
        self.blanks();
        if !self.word("=") {
            return None;
        }
        self.blanks();
        let mut codes = Vec::new();
        loop {
            let code = self.take_while(|c| "DLSC0123456789".contains(c));
            if code.is_empty() {
                return None;
            }
            codes.push(code.to_string());
            self.blanks();
            if self.word(",") {
                self.blanks();
                continue;
            }
            return self.at_end().then_some(codes);
        }
    }
}

/// Reads a pragma from a comment's text (after the `#`).
pub fn parse(comment: &str) -> Option<Pragma> {
    let mut s = Scanner { rest: comment };
    s.blanks();
    if !s.word("hadolint") || s.blanks() == 0 {
        return None;
    }
    if s.word("global") {
        if s.blanks() == 0 || !s.word("ignore") {
            return None;
        }
        return s.rule_list().map(Pragma::Global);
    }
    if s.word("stage") {
        if s.blanks() == 0 || !s.word("ignore") {
            return None;
        }
        return s.rule_list().map(Pragma::Stage);
    }
    if s.word("ignore") {
        return s.rule_list().map(Pragma::Ignore);
    }
    if s.word("shell") {
        s.blanks();
        if !s.word("=") {
            return None;
        }
        s.blanks();
        let shell = s.take_while(|c| !c.is_whitespace());
        if shell.is_empty() || !s.at_end() {
            return None;
        }
        return Some(Pragma::Shell(shell.to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(
            parse(" hadolint ignore=DL3008, DL3009 # why"),
            Some(Pragma::Ignore(vec!["DL3008".into(), "DL3009".into()]))
        );
        assert_eq!(
            parse("hadolint\tignore = SC2086"),
            Some(Pragma::Ignore(vec!["SC2086".into()]))
        );
        assert_eq!(
            parse(" hadolint global ignore=DL3006"),
            Some(Pragma::Global(vec!["DL3006".into()]))
        );
        assert_eq!(
            parse(" hadolint stage ignore=DL3006"),
            Some(Pragma::Stage(vec!["DL3006".into()]))
        );
        assert_eq!(
            parse(" hadolint shell=powershell"),
            Some(Pragma::Shell("powershell".into()))
        );
        assert_eq!(parse(" hadolintignore=DL3006"), None);
        assert_eq!(parse(" hadolint ignore="), None);
        assert_eq!(parse(" just a comment"), None);
        assert_eq!(parse(" hadolint ignore=DL3008 trailing"), None);
    }
}
