//! Cheap checks and rewrites before brush-parser sees a script, so hostile
//! input cannot make it take exponential time, recurse deeply or panic.

/// brush-parser reads a digit word before `<`/`>` as a file descriptor with an
/// unchecked `i32` parse; overlong ones are rewritten with leading zeros (same
/// length, same offsets) so the parse cannot overflow.
pub(super) fn shorten_fd_numbers(script: &str) -> std::borrow::Cow<'_, str> {
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
pub(super) fn plausible(script: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::super::parse;

    fn names(script: &str) -> Vec<String> {
        parse(script).commands.into_iter().map(|c| c.name).collect()
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
}
