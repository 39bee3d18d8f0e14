//! Heredocs on RUN, COPY and ADD: finding the `<<[-]["']WORD["']` markers and
//! reading their bodies from the lines after the instruction.

use super::parser::error;
use super::{Heredoc, ParseError};

/// Finds heredoc markers in the instruction text and reads their bodies from the
/// following lines, in order.
pub(super) fn read_heredocs(
    args: &str,
    line: usize,
    column: usize,
    lines: &[&str],
    next: &mut usize,
) -> Result<Vec<Heredoc>, ParseError> {
    let markers = heredoc_markers(args);
    let mut docs = Vec::with_capacity(markers.len());
    for (delimiter, strip_tabs, quoted, offset) in markers {
        let body_line = *next + 1;
        let mut body = String::new();
        let mut found = false;
        while *next < lines.len() {
            let raw = lines[*next];
            *next += 1;
            let text = if strip_tabs {
                raw.trim_start_matches('\t')
            } else {
                raw
            };
            if text == delimiter {
                found = true;
                break;
            }
            body.push_str(text);
            body.push('\n');
        }
        if !found {
            return Err(error(
                line,
                column + args[..offset.min(args.len())].chars().count(),
                format!("unterminated heredoc: no line `{delimiter}` closes it"),
            ));
        }
        docs.push(Heredoc {
            delimiter,
            body,
            strip_tabs,
            quoted,
            body_line,
        });
    }
    Ok(docs)
}

/// The text with its heredoc markers (`<<-"EOF"`) replaced by blanks, so a
/// shell parser sees the command without a pending heredoc.
pub(crate) fn blank_heredoc_markers(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (word, strip, quoted, start) in heredoc_markers(text) {
        let len = 2 + usize::from(strip) + 2 * usize::from(quoted) + word.len();
        for b in bytes.iter_mut().skip(start).take(len) {
            *b = b' ';
        }
    }
    // Only ASCII marker bytes were replaced by ASCII blanks.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `<<[-]["']WORD["']` markers outside quotes: (delimiter, strip_tabs, quoted, offset).
fn heredoc_markers(text: &str) -> Vec<(String, bool, bool, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            } else if b == b'\\' && q == b'"' {
                i += 1;
            }
            i += 1;
            continue;
        }
        if b == b'\'' || b == b'"' {
            quote = Some(b);
            i += 1;
            continue;
        }
        if b == b'\\' {
            i += 2;
            continue;
        }
        if b == b'<' && bytes.get(i + 1) == Some(&b'<') && bytes.get(i + 2) != Some(&b'<') {
            let start = i;
            let mut j = i + 2;
            let strip_tabs = bytes.get(j) == Some(&b'-');
            if strip_tabs {
                j += 1;
            }
            let q = match bytes.get(j) {
                Some(&c @ (b'"' | b'\'')) => {
                    j += 1;
                    Some(c)
                }
                _ => None,
            };
            let word_start = j;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                j += 1;
            }
            let word = &text[word_start..j];
            let starts_ok = word
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_');
            let closes = match q {
                Some(c) => bytes.get(j) == Some(&c),
                None => true,
            };
            if starts_ok && closes {
                if q.is_some() {
                    j += 1;
                }
                out.push((word.to_string(), strip_tabs, q.is_some(), start));
                i = j;
                continue;
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out
}
