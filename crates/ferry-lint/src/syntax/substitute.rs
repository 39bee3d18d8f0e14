//! ARG/ENV variable substitution as BuildKit performs it on instruction words:
//! `$var`, `${var}`, `${var:-default}`, `${var-default}`, `${var:+alt}`,
//! `${var+alt}`, `${var:?msg}`, `${var?msg}`, with the escape character
//! protecting a `$`. Unknown variables expand to the empty string.

use std::collections::HashMap;

use super::{Dockerfile, Kind};

/// Variables in scope at one point of a Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    vars: HashMap<String, String>,
}

impl Scope {
    pub fn new() -> Scope {
        Scope::default()
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Expands variable references in `word`.
    pub fn expand(&self, word: &str, escape: char) -> String {
        let chars: Vec<char> = word.chars().collect();
        let mut out = String::with_capacity(word.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == escape && chars.get(i + 1) == Some(&'$') {
                out.push('$');
                i += 2;
                continue;
            }
            if c != '$' {
                out.push(c);
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
                Some('{') => {
                    // Find the matching close brace, allowing nesting in defaults.
                    let mut depth = 0usize;
                    let mut j = i + 1;
                    let mut close = None;
                    while j < chars.len() {
                        match chars[j] {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    close = Some(j);
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    let Some(close) = close else {
                        // Unclosed: keep the rest as written.
                        out.extend(&chars[i..]);
                        break;
                    };
                    let inner: String = chars[i + 2..close].iter().collect();
                    out.push_str(&self.expand_braced(&inner, escape));
                    i = close + 1;
                }
                Some(&n) if n.is_ascii_alphabetic() || n == '_' => {
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                        j += 1;
                    }
                    let name: String = chars[i + 1..j].iter().collect();
                    out.push_str(self.get(&name).unwrap_or(""));
                    i = j;
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        }
        out
    }

    fn expand_braced(&self, inner: &str, escape: char) -> String {
        let name_end = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        let name = &inner[..name_end];
        let rest = &inner[name_end..];
        let value = self.get(name);
        let (colon, op_rest) = match rest.strip_prefix(':') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        // With a colon an empty value counts as unset.
        let set = match value {
            Some(v) => !(colon && v.is_empty()),
            None => false,
        };
        let mut ops = op_rest.chars();
        match ops.next() {
            None => value.unwrap_or("").to_string(),
            Some('-') if set => value.unwrap_or("").to_string(),
            Some('-') => self.expand(ops.as_str(), escape),
            Some('+') if set => self.expand(ops.as_str(), escape),
            Some('+') => String::new(),
            // `?` fails the build when unset; linting keeps going with empty.
            Some('?') => value.unwrap_or("").to_string(),
            Some(_) => value.unwrap_or("").to_string(),
        }
    }
}

impl Dockerfile {
    /// The ARG/ENV scope in force just before instruction `index`: global ARGs
    /// (before the first FROM) are visible to FROM lines; each stage starts with
    /// the global ARGs it redeclares plus its own ARG and ENV values.
    pub fn scope_at(&self, index: usize) -> Scope {
        let mut global = Scope::new();
        let mut stage = Scope::new();
        let mut in_stage = false;
        for ins in self.instructions.iter().take(index) {
            match &ins.kind {
                Kind::From(_) => {
                    in_stage = true;
                    stage = Scope::new();
                }
                Kind::Arg(args) => {
                    for (name, default) in args {
                        let target = if in_stage { &mut stage } else { &mut global };
                        let value = match default {
                            Some(d) => target.expand(d, self.escape),
                            None if in_stage => global.get(name).unwrap_or("").to_string(),
                            None => String::new(),
                        };
                        let target = if in_stage { &mut stage } else { &mut global };
                        target.set(name, &value);
                    }
                }
                Kind::Env(pairs) if in_stage => {
                    for (name, value) in pairs {
                        let v = stage.expand(value, self.escape);
                        stage.set(name, &v);
                    }
                }
                _ => {}
            }
        }
        if in_stage {
            stage
        } else {
            global
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_forms() {
        let mut s = Scope::new();
        s.set("A", "x");
        s.set("E", "");
        assert_eq!(s.expand("$A-${A}/${B:-def}", '\\'), "x-x/def");
        assert_eq!(
            s.expand("${E:-d}|${E-d}|${A:+alt}|${B:+alt}", '\\'),
            "d||alt|"
        );
        assert_eq!(s.expand("\\$A ${B:-${A}z}", '\\'), "$A xz");
        assert_eq!(s.expand("${unclosed", '\\'), "${unclosed");
        assert_eq!(s.expand("cost $5", '\\'), "cost $5");
    }

    #[test]
    fn scope_follows_stages() {
        let df = super::super::parse(
            "ARG BASE=debian\nARG TAG=12\nFROM ${BASE}:${TAG}\nARG TAG\nENV HOME=/h PATH=$HOME/bin\nRUN true\n",
        )
        .expect("parses");
        let global = df.scope_at(2);
        assert_eq!(global.expand("${BASE}:${TAG}", '\\'), "debian:12");
        let stage = df.scope_at(5);
        assert_eq!(stage.get("TAG"), Some("12"));
        assert_eq!(stage.get("BASE"), None);
        assert_eq!(stage.get("PATH"), Some("/h/bin"));
    }
}
