//! Word-level reading of instruction text as BuildKit does it: blank-separated
//! words that keep quotes and escapes, `--flag=value` prefixes, and unquoting.

use super::Flag;

/// Splits text into blank-separated words, keeping quotes and escapes as written.
/// Returns each word with its byte offset.
pub(crate) fn words(text: &str, escape: char) -> Vec<(String, usize)> {
    words_up_to(text, escape, usize::MAX)
}

/// [`words`], stopping after `limit` words (keeps flag splitting linear).
pub(super) fn words_up_to(text: &str, escape: char, limit: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((idx, c)) = chars.next() {
        if current.is_empty() && quote.is_none() && c.is_whitespace() {
            continue;
        }
        if current.is_empty() {
            start = idx;
        }
        match quote {
            Some(q) if c == q => {
                quote = None;
                current.push(c);
            }
            Some(_) => {
                current.push(c);
                if c == escape && quote == Some('"') {
                    if let Some((_, n)) = chars.next() {
                        current.push(n);
                    }
                }
            }
            None if c.is_whitespace() => {
                out.push((std::mem::take(&mut current), start));
                if out.len() >= limit {
                    return out;
                }
            }
            None => {
                current.push(c);
                if c == '"' || c == '\'' {
                    quote = Some(c);
                } else if c == escape {
                    if let Some((_, n)) = chars.next() {
                        current.push(n);
                    }
                }
            }
        }
    }
    if !current.is_empty() {
        out.push((current, start));
    }
    out
}

/// Removes quotes and escape characters the way BuildKit reads ENV/LABEL words.
pub(crate) fn unquote(word: &str, escape: char) -> String {
    let mut out = String::with_capacity(word.len());
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some('\'') if c == '\'' => quote = None,
            Some('\'') => out.push(c),
            Some(_) if c == '"' => quote = None,
            Some(_) if c == escape => match chars.next() {
                Some(n @ ('"' | '$' | '`')) => out.push(n),
                Some(n) if n == escape => out.push(n),
                Some(n) => {
                    out.push(c);
                    out.push(n);
                }
                None => out.push(c),
            },
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == escape => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// Splits leading `--flag[=value]` words off; returns the flags and the rest.
pub(super) fn split_flags(text: &str, escape: char) -> (Vec<Flag>, &str) {
    let mut flags = Vec::new();
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if !trimmed.starts_with("--") {
            return (flags, trimmed);
        }
        let Some((word, _)) = words_up_to(trimmed, escape, 1).into_iter().next() else {
            return (flags, trimmed);
        };
        let consumed = word_span(trimmed, &word);
        let body = &word[2..];
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_ascii_lowercase(), Some(unquote(v, escape))),
            None => (body.to_ascii_lowercase(), None),
        };
        flags.push(Flag { name, value });
        rest = &trimmed[consumed..];
    }
}

/// Byte length of the first word of `text` (which starts with that word).
fn word_span(text: &str, word: &str) -> usize {
    word.len().min(text.len())
}

/// Byte offset of a quote that is never closed.
pub(super) fn unterminated_quote(text: &str, escape: char) -> Option<usize> {
    let mut open: Option<(char, usize)> = None;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match open {
            Some((q, _)) if c == q => open = None,
            Some(('"', _)) if c == escape => {
                chars.next();
            }
            Some(_) => {}
            None if c == escape => {
                chars.next();
            }
            None if c == '"' || c == '\'' => open = Some((c, i)),
            None => {}
        }
    }
    open.map(|(_, i)| i)
}
