//! Word text as Hadolint sees it: quotes removed and expansions replaced.

/// Removes quoting and replaces expansions with `${VAR}`; returns the text and
/// the scripts of command substitutions found, with their character offsets in
/// the word.
pub fn simplify(raw: &str) -> (String, Vec<(String, usize)>) {
    render(raw, None)
}

/// The word as Hadolint 2.15's yum/dnf version checks read it (checked against
/// the real binary): like [`simplify`], but a parameter keeps what is between
/// its braces (`$V` and `${V}` read `${V}`, `${V:-1}` reads `${V:-1}`) and
/// `$(cmd args)` reads `${cmdargs}`, its words run together. Backticks and
/// arithmetic still read `${VAR}`.
pub fn with_names(raw: &str) -> String {
    let mut budget = SUBSTITUTION_PARSES;
    render(raw, Some(&mut budget)).0
}

/// How many `$(...)` one [`with_names`] call parses; past that a substitution
/// reads as its text, so nested substitutions cannot multiply the work.
const SUBSTITUTION_PARSES: usize = 8;

/// `$(...)` in [`with_names`]: the words of the commands inside, run together
/// (the text itself when no command can be read from it).
fn substitution_words(inner: &str, budget: &mut usize) -> String {
    if *budget == 0 {
        return inner.trim().to_string();
    }
    *budget -= 1;
    let parsed = super::parse(inner);
    if parsed.commands.is_empty() {
        return inner.trim().to_string();
    }
    let mut out = String::new();
    // Commands nested in an earlier command's words are part of that word.
    let mut covered = 0;
    for c in &parsed.commands {
        if c.pos < covered {
            continue;
        }
        for w in c.name_word.iter().chain(&c.words) {
            covered = covered.max(w.pos + w.raw.chars().count());
            out.push_str(&render(&w.raw, Some(&mut *budget)).0);
        }
    }
    out
}

/// `budget` is `Some` for [`with_names`], `None` for [`simplify`].
fn render(raw: &str, mut budget: Option<&mut usize>) -> (String, Vec<(String, usize)>) {
    let named = budget.is_some();
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
                    let inner: String = chars[(i + 2).min(chars.len())..end.min(chars.len())]
                        .iter()
                        .collect();
                    if let (Some(budget), false) = (budget.as_deref_mut(), arithmetic) {
                        out.push_str("${");
                        out.push_str(&substitution_words(&inner, budget));
                        out.push('}');
                    } else {
                        out.push_str("${VAR}");
                    }
                    if !arithmetic {
                        nested.push((inner, i + 2));
                    }
                    i = end + 1;
                }
                Some('{') => {
                    let end = find_close_brace(&chars, i + 1);
                    if named {
                        out.push_str("${");
                        out.extend(&chars[(i + 2).min(chars.len())..end.min(chars.len())]);
                        out.push('}');
                    } else {
                        out.push_str("${VAR}");
                    }
                    i = end + 1;
                }
                Some(&n) if n.is_ascii_alphabetic() || n == '_' => {
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                        j += 1;
                    }
                    push_parameter(&mut out, &chars[i + 1..j], named);
                    i = j;
                }
                Some(&n) if n.is_ascii_digit() || "@*#?$!-".contains(n) => {
                    push_parameter(&mut out, &chars[i + 1..i + 2], named);
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

/// `$name`: `${name}` when names are kept, else the placeholder.
fn push_parameter(out: &mut String, name: &[char], named: bool) {
    if named {
        out.push_str("${");
        out.extend(name);
        out.push('}');
    } else {
        out.push_str("${VAR}");
    }
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
    use super::{simplify, with_names};

    #[test]
    fn with_names_keeps_parameter_names() {
        assert_eq!(with_names("\"mysql-$V\""), "mysql-${V}");
        assert_eq!(with_names("mysql-${V}.el8"), "mysql-${V}.el8");
        assert_eq!(with_names("'mysql-$V'"), "mysql-$V");
        assert_eq!(with_names("'mysql-${V}'"), "mysql-${V}");
        assert_eq!(with_names("mysql-\\${V}"), "mysql-${V}");
        assert_eq!(with_names("mysql-${V:-1}"), "mysql-${V:-1}");
        assert_eq!(with_names("a-`echo $V`-$((V+1))"), "a-${VAR}-${VAR}");
        assert_eq!(with_names("a-$(echo $V)"), "a-${echo${V}}");
        assert_eq!(with_names("a-$(x;V)"), "a-${xV}");
        assert_eq!(with_names("a-$(x $(y V))"), "a-${x${yV}}");
        assert_eq!(with_names("a-$(V=1)"), "a-${V=1}");
        // The placeholder form is unchanged.
        assert_eq!(simplify("\"mysql-$V\"-$(date)").0, "mysql-${VAR}-${VAR}");
    }

    #[test]
    fn with_names_survives_hostile_nesting() {
        let deep = format!("{}x{}", "$(".repeat(200), ")".repeat(200));
        assert!(with_names(&deep).starts_with("${"));
        // Each level holds several commands whose words nest further.
        let mut bushy = String::from("x");
        for _ in 0..30 {
            bushy = format!("$(a {bushy}; b {bushy})");
            bushy.truncate(4000);
        }
        let start = std::time::Instant::now();
        let _ = with_names(&bushy);
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(with_names("$(unclosed"), "${unclosed}");
        assert_eq!(with_names("${unclosed"), "${unclosed}");
    }
}
