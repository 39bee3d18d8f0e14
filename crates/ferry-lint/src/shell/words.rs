//! Word text as Hadolint sees it: quotes removed and expansions replaced.

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
