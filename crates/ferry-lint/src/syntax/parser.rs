//! The Dockerfile parser: physical lines → logical instructions → typed [`Kind`]s.

use super::heredoc::read_heredocs;
use super::words::{split_flags, unquote, unterminated_quote, words};
use super::{
    Arguments, BaseImage, Copy, Dockerfile, Healthcheck, Heredoc, Instruction, Kind, ParseError,
    Port, Run,
};

/// Directive names BuildKit recognises at the top of a file.
const DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

/// Parses a whole Dockerfile.
pub fn parse(source: &str) -> Result<Dockerfile, ParseError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let lines: Vec<&str> = source
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut instructions = Vec::new();
    let mut escape = '\\';
    let mut i = 0;

    // Parser directives: only before any other line, each at most once.
    while i < lines.len() {
        let Some((name, value)) = directive(lines[i]) else {
            break;
        };
        if instructions.iter().any(
            |ins: &Instruction| matches!(&ins.kind, Kind::Directive { name: n, .. } if *n == name),
        ) {
            break;
        }
        if name == "escape" {
            escape = match value.as_str() {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(ParseError {
                        line: i + 1,
                        column: 1,
                        message: format!("invalid escape token '{value}': must be ` or \\"),
                    })
                }
            };
        }
        instructions.push(Instruction {
            line: i + 1,
            end_line: i + 1,
            kind: Kind::Directive { name, value },
        });
        i += 1;
    }

    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            instructions.push(Instruction {
                line: i + 1,
                end_line: i + 1,
                kind: Kind::Comment(comment.to_string()),
            });
            i += 1;
            continue;
        }
        let start = i;
        let indent = line.chars().count() - trimmed.chars().count();
        let mut logical = String::new();
        let mut current = trimmed;
        loop {
            let (content, continues) = strip_continuation(current, escape);
            logical.push_str(content);
            if !continues {
                break;
            }
            i += 1;
            // Comment and blank lines inside a continuation are dropped.
            while i < lines.len() {
                let t = lines[i].trim_start();
                if t.is_empty() || t.starts_with('#') {
                    i += 1;
                } else {
                    break;
                }
            }
            if i >= lines.len() {
                break;
            }
            current = lines[i];
        }
        let logical_end = i.min(lines.len().saturating_sub(1));
        let mut next = logical_end + 1;
        let kind = parse_instruction(
            &logical,
            start + 1,
            indent + 1,
            escape,
            &lines,
            &mut next,
            0,
        )?;
        instructions.push(Instruction {
            line: start + 1,
            end_line: next.max(start + 1),
            kind,
        });
        i = next;
    }

    Ok(Dockerfile {
        instructions,
        escape,
    })
}

/// Reads `# name=value` when it is a known parser directive.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (name, value) = rest.split_once('=')?;
    let name = name.trim().to_ascii_lowercase();
    if !DIRECTIVES.contains(&name.as_str()) {
        return None;
    }
    Some((name, value.trim().to_string()))
}

/// Splits off a trailing escape character (optionally followed by blanks).
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(content) => (content, true),
        None => (line, false),
    }
}

pub(super) fn error(line: usize, column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        column,
        message: message.into(),
    }
}

/// Parses one logical instruction. `next` is the index of the line after the
/// instruction; heredoc bodies advance it.
fn parse_instruction(
    logical: &str,
    line: usize,
    column: usize,
    escape: char,
    lines: &[&str],
    next: &mut usize,
    depth: usize,
) -> Result<Kind, ParseError> {
    let keyword_end = logical
        .find(|c: char| c.is_whitespace())
        .unwrap_or(logical.len());
    let keyword = logical[..keyword_end].to_ascii_uppercase();
    let rest = &logical[keyword_end..];
    let args = rest.trim_start();
    let args_column = column + logical[..logical.len() - args.len()].chars().count();
    let known = matches!(
        keyword.as_str(),
        "FROM"
            | "RUN"
            | "CMD"
            | "ENTRYPOINT"
            | "SHELL"
            | "COPY"
            | "ADD"
            | "ENV"
            | "ARG"
            | "LABEL"
            | "EXPOSE"
            | "USER"
            | "WORKDIR"
            | "VOLUME"
            | "STOPSIGNAL"
            | "MAINTAINER"
            | "HEALTHCHECK"
            | "ONBUILD"
    );
    if !known {
        return Err(error(
            line,
            column,
            format!("unknown instruction: {}", &logical[..keyword_end]),
        ));
    }
    // Where the instruction's last line ends: Hadolint reports there what it
    // only notices once the instruction is over (no argument, an unclosed
    // quote, a key without a value).
    let end_index = next.saturating_sub(1);
    let end = Position {
        line: end_index + 1,
        column: lines.get(end_index).map_or(1, |l| l.chars().count() + 1),
    };
    if args.trim().is_empty() {
        // Hadolint takes `EXPOSE ` (a blank, no port) as an empty list.
        if keyword == "EXPOSE" && !rest.is_empty() {
            return Ok(Kind::Expose(Vec::new()));
        }
        return Err(end.error(format!("{keyword} requires at least one argument")));
    }
    let args = args.trim_end();
    let heredocs = if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
        read_heredocs(args, line, args_column, lines, next)?
    } else {
        Vec::new()
    };

    Ok(match keyword.as_str() {
        "FROM" => Kind::From(parse_from(args, line, args_column, escape)?),
        "RUN" => {
            let (flags, body) = split_flags(args, escape);
            let body_column = args_column + args[..args.len() - body.len()].chars().count();
            Kind::Run(Run {
                flags,
                args: checked_arguments(body, line, body_column)?,
                heredocs,
            })
        }
        "CMD" => Kind::Cmd(checked_arguments(args, line, args_column)?),
        "ENTRYPOINT" => Kind::Entrypoint(checked_arguments(args, line, args_column)?),
        "SHELL" => Kind::Shell(checked_arguments(args, line, args_column)?),
        "COPY" | "ADD" => {
            let copy = parse_copy(args, line, args_column, escape, heredocs)?;
            if keyword == "COPY" {
                Kind::Copy(copy)
            } else {
                Kind::Add(copy)
            }
        }
        "ENV" => Kind::Env(parse_pairs(args, escape, true, end)?),
        "LABEL" => Kind::Label(parse_pairs(args, escape, false, end)?),
        "ARG" => Kind::Arg(
            words(args, escape)
                .into_iter()
                .map(|(w, _)| match w.split_once('=') {
                    Some((k, v)) => (unquote(k, escape), Some(unquote(v, escape))),
                    None => (unquote(&w, escape), None),
                })
                .collect(),
        ),
        "EXPOSE" => Kind::Expose(parse_expose(args, line, args_column, escape)?),
        "USER" => Kind::User(args.to_string()),
        "WORKDIR" => Kind::Workdir(args.to_string()),
        "VOLUME" => Kind::Volume(args.to_string()),
        "STOPSIGNAL" => Kind::Stopsignal(args.to_string()),
        "MAINTAINER" => Kind::Maintainer(args.to_string()),
        "HEALTHCHECK" => {
            let (flags, body) = split_flags(args, escape);
            let body = body.trim_start();
            let word_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
            match body[..word_end].to_ascii_uppercase().as_str() {
                "NONE" if flags.is_empty() => Kind::Healthcheck(None),
                "CMD" if !body[word_end..].trim().is_empty() => {
                    Kind::Healthcheck(Some(Healthcheck {
                        flags,
                        args: arguments(body[word_end..].trim_start()),
                    }))
                }
                _ => {
                    let offset = args.len() - body.len();
                    return Err(error(
                        line,
                        args_column + args[..offset].chars().count(),
                        "HEALTHCHECK expects NONE or CMD followed by a command",
                    ));
                }
            }
        }
        "ONBUILD" => {
            // `ONBUILD ONBUILD` parses (DL3043 reports it); deeper nesting is
            // refused so the recursion stays bounded.
            if depth >= 2 {
                return Err(error(line, args_column, "ONBUILD nested too deeply"));
            }
            let mut inner_next = *next;
            let inner = parse_instruction(
                args,
                line,
                args_column,
                escape,
                lines,
                &mut inner_next,
                depth + 1,
            )?;
            *next = inner_next;
            Kind::Onbuild(Box::new(inner))
        }
        _ => {
            return Err(error(
                line,
                column,
                format!("unknown instruction: {keyword}"),
            ))
        }
    })
}

/// Exec form when the text is a JSON array of strings, shell form otherwise.
fn arguments(text: &str) -> Arguments {
    let trimmed = text.trim();
    if trimmed.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(trimmed) {
            return Arguments::List(list);
        }
    }
    Arguments::Text(text.to_string())
}

/// Like [`arguments`], but a complete JSON array followed by more text is an
/// error (Hadolint rejects it; BuildKit would silently run it as shell form).
fn checked_arguments(text: &str, line: usize, column: usize) -> Result<Arguments, ParseError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let mut stream = serde_json::Deserializer::from_str(trimmed).into_iter::<Vec<String>>();
        if let Some(Ok(_)) = stream.next() {
            let consumed = stream.byte_offset();
            if !trimmed[consumed..].trim().is_empty() {
                let rest = &trimmed[consumed..];
                let offset =
                    text.len() - trimmed.len() + consumed + (rest.len() - rest.trim_start().len());
                return Err(error(
                    line,
                    column + text[..offset].chars().count(),
                    "unexpected text after the JSON array of an exec-form instruction",
                ));
            }
        }
    }
    Ok(arguments(text))
}

fn parse_from(
    args: &str,
    line: usize,
    column: usize,
    escape: char,
) -> Result<BaseImage, ParseError> {
    let (flags, body) = split_flags(args, escape);
    let offset = args.len() - body.len();
    let parts = words(body, escape);
    let col_of = |i: usize| {
        column
            + args[..(offset + parts[i].1).min(args.len())]
                .chars()
                .count()
    };
    let image = match parts.len() {
        1 => BaseImage::from_reference(&parts[0].0),
        3 if parts[1].0.eq_ignore_ascii_case("as") => {
            let mut image = BaseImage::from_reference(&parts[0].0);
            image.alias = Some(parts[2].0.clone());
            image
        }
        0 => return Err(error(line, column, "FROM requires an image")),
        n => {
            let at = if n == 2 || !parts[1].0.eq_ignore_ascii_case("as") {
                1
            } else {
                3
            };
            return Err(error(
                line,
                col_of(at.min(n - 1)),
                "FROM expects `image [AS name]`",
            ));
        }
    };
    let platform = flags
        .iter()
        .rev()
        .find(|f| f.name == "platform")
        .map(|f| f.value.clone().unwrap_or_default());
    Ok(BaseImage {
        platform,
        flags,
        ..image
    })
}

fn parse_copy(
    args: &str,
    line: usize,
    column: usize,
    escape: char,
    heredocs: Vec<Heredoc>,
) -> Result<Copy, ParseError> {
    let (flags, body) = split_flags(args, escape);
    let mut paths: Vec<String> = match arguments(body) {
        Arguments::List(list) => list,
        Arguments::Text(text) => words(&text, escape).into_iter().map(|(w, _)| w).collect(),
    };
    if paths.len() < 2 {
        let offset = args.len() - body.len();
        return Err(error(
            line,
            column + args[..offset].chars().count() + body.chars().count(),
            "COPY and ADD need a source and a destination",
        ));
    }
    let dest = paths.pop().unwrap_or_default();
    Ok(Copy {
        flags,
        sources: paths,
        dest,
        heredocs,
    })
}

/// ENV and LABEL: `k=v k2="v 2"` pairs, then at most one legacy `key value...`
/// pair whose value is the rest of the instruction. As in Hadolint, a word
/// without `=` starts that legacy pair (`LABEL a=b c d e` is a=b and c="d e"),
/// quotes in its value are not checked, and `=x` is a pair with an empty key.
fn parse_pairs(
    args: &str,
    escape: char,
    is_env: bool,
    end: Position,
) -> Result<Vec<(String, String)>, ParseError> {
    let mut pairs = Vec::new();
    for (word, offset) in words(args, escape) {
        if let Some((k, v)) = word.split_once('=') {
            // An unclosed quote runs to the end of the text, so it is in this word.
            if unterminated_quote(&word, escape).is_some() {
                return Err(end.error("unterminated quote"));
            }
            pairs.push((unquote(k, escape), unquote(v, escape)));
            continue;
        }
        let value = args[(offset + word.len()).min(args.len())..].trim();
        if value.is_empty() {
            let what = if is_env { "ENV" } else { "LABEL" };
            return Err(end.error(format!("{what} {word} needs a value")));
        }
        pairs.push((unquote(&word, escape), unquote(value, escape)));
        break;
    }
    Ok(pairs)
}

/// A place in the file, 1-based.
#[derive(Debug, Clone, Copy)]
struct Position {
    line: usize,
    column: usize,
}

impl Position {
    fn error(self, message: impl Into<String>) -> ParseError {
        error(self.line, self.column, message)
    }
}

fn parse_expose(
    args: &str,
    line: usize,
    column: usize,
    escape: char,
) -> Result<Vec<Port>, ParseError> {
    let mut ports = Vec::new();
    for (word, offset) in words(args, escape) {
        let word_col = column + args[..offset.min(args.len())].chars().count();
        if word.starts_with('$') {
            ports.push(Port::Variable(word));
            continue;
        }
        let (spec, protocol) = match word.split_once('/') {
            Some((s, p)) => (s, Some(p.to_ascii_lowercase())),
            None => (word.as_str(), None),
        };
        if let Some(p) = &protocol {
            if !matches!(p.as_str(), "tcp" | "udp" | "sctp") {
                return Err(error(
                    line,
                    word_col,
                    format!("invalid protocol in `{word}`"),
                ));
            }
        }
        let number = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Saturate absurdly long numbers: they are out of range either way.
            Some(s.parse::<u64>().unwrap_or(u64::MAX))
        };
        let port = match spec.split_once('-') {
            Some((a, b)) => match (number(a), number(b)) {
                (Some(from), Some(to)) => Port::Range { from, to, protocol },
                _ => return Err(error(line, word_col, format!("invalid port `{word}`"))),
            },
            None => match number(spec) {
                Some(port) => Port::Single { port, protocol },
                None => {
                    return Err(error(line, word_col, format!("invalid port `{word}`")));
                }
            },
        };
        ports.push(port);
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Kind> {
        parse(src)
            .expect("parses")
            .instructions
            .into_iter()
            .map(|i| i.kind)
            .collect()
    }

    #[test]
    fn continuation_with_comments_and_blank_lines() {
        let df = parse(
            "FROM a:1\nRUN apt-get update \\\n# a comment\n\n  && apt-get install -y x\nUSER me\n",
        )
        .expect("parses");
        let run = &df.instructions[1];
        assert_eq!((run.line, run.end_line), (2, 5));
        assert_eq!(
            run.kind,
            Kind::Run(Run {
                flags: vec![],
                args: Arguments::Text("apt-get update   && apt-get install -y x".into()),
                heredocs: vec![]
            })
        );
        assert_eq!(df.instructions[2].line, 6);
    }

    #[test]
    fn backtick_escape_directive() {
        let df = parse("# escape=`\nFROM mcr.microsoft.com/windows:ltsc2022\nRUN dir `\n  C:\\ \nWORKDIR C:\\app\n")
            .expect("parses");
        assert_eq!(df.escape, '`');
        assert_eq!(
            df.instructions[2].kind,
            Kind::Run(Run {
                flags: vec![],
                args: Arguments::Text("dir   C:\\ ".trim_end().into()),
                heredocs: vec![]
            })
        );
        assert_eq!(df.instructions[3].kind, Kind::Workdir("C:\\app".into()));
    }

    #[test]
    fn exec_and_shell_forms() {
        let k = kinds("CMD [\"a\", \"b c\"]\nENTRYPOINT echo hi\nRUN [\"broken\"\n");
        assert_eq!(
            k[0],
            Kind::Cmd(Arguments::List(vec!["a".into(), "b c".into()]))
        );
        assert_eq!(k[1], Kind::Entrypoint(Arguments::Text("echo hi".into())));
        assert!(matches!(&k[2], Kind::Run(r) if r.args == Arguments::Text("[\"broken\"".into())));
    }

    #[test]
    fn heredocs_several_and_quoted_and_dash() {
        let df = parse(
            "FROM a:1\nRUN <<EOF <<-'END' bash\necho one\nEOF\n\techo two\n\tEND\nCOPY <<\"X\" /dst\n$HOME\nX\nUSER u\n",
        )
        .expect("parses");
        let Kind::Run(run) = &df.instructions[1].kind else {
            panic!("run")
        };
        assert_eq!(run.heredocs.len(), 2);
        assert_eq!(run.heredocs[0].body, "echo one\n");
        assert!(!run.heredocs[0].quoted && !run.heredocs[0].strip_tabs);
        assert_eq!(run.heredocs[1].body, "echo two\n");
        assert!(run.heredocs[1].quoted && run.heredocs[1].strip_tabs);
        assert_eq!(df.instructions[1].end_line, 6);
        let Kind::Copy(copy) = &df.instructions[2].kind else {
            panic!("copy")
        };
        assert_eq!(copy.sources, vec!["<<\"X\"".to_string()]);
        assert_eq!(copy.dest, "/dst");
        assert_eq!(copy.heredocs[0].body, "$HOME\n");
        assert_eq!(df.instructions[3].line, 10);
    }

    #[test]
    fn unterminated_heredoc_is_an_error() {
        let err = parse("FROM a:1\nRUN <<EOF\necho\n").expect_err("error");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn from_with_platform_and_alias() {
        let k =
            kinds("FROM --platform=$BUILDPLATFORM my.reg:5000/team/app:1.2@sha256:ab AS build\n");
        let Kind::From(b) = &k[0] else { panic!("from") };
        assert_eq!(b.registry.as_deref(), Some("my.reg:5000"));
        assert_eq!(b.name, "team/app");
        assert_eq!(b.tag.as_deref(), Some("1.2"));
        assert_eq!(b.digest.as_deref(), Some("sha256:ab"));
        assert_eq!(b.alias.as_deref(), Some("build"));
        assert_eq!(b.platform.as_deref(), Some("$BUILDPLATFORM"));
    }

    #[test]
    fn env_label_arg_forms() {
        let k = kinds("ENV A=1 B=\"two words\" C=a\\ b\nENV OLD value with spaces\nLABEL \"x.y\"='z'\nARG V=1 W\n");
        assert_eq!(
            k[0],
            Kind::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "a b".into())
            ])
        );
        assert_eq!(
            k[1],
            Kind::Env(vec![("OLD".into(), "value with spaces".into())])
        );
        assert_eq!(k[2], Kind::Label(vec![("x.y".into(), "z".into())]));
        assert_eq!(
            k[3],
            Kind::Arg(vec![("V".into(), Some("1".into())), ("W".into(), None)])
        );
    }

    #[test]
    fn flags_on_copy_and_run() {
        let k = kinds("COPY --from=build --chown=1:1 --link a b /d/\nRUN --mount=type=cache,target=/var/cache/apt --network=none make\n");
        let Kind::Copy(c) = &k[0] else { panic!("copy") };
        assert_eq!(c.from(), Some("build"));
        assert_eq!(c.flags.len(), 3);
        assert_eq!(c.sources, vec!["a".to_string(), "b".to_string()]);
        let Kind::Run(r) = &k[1] else { panic!("run") };
        assert_eq!(r.cache_mount_targets(), vec!["/var/cache/apt".to_string()]);
        assert_eq!(r.args, Arguments::Text("make".into()));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse("FROM a:1\nFOO bar\n").expect_err("unknown");
        assert_eq!((e.line, e.column), (2, 1));
        let e = parse("FROM a:1\nCOPY\n").expect_err("no args");
        assert_eq!((e.line, e.column), (2, 5));
        let e = parse("FROM a:1\nEXPOSE abc\n").expect_err("port");
        assert_eq!((e.line, e.column), (2, 8));
        let e = parse("\n\nFROM debian:12 AS\n").expect_err("alias");
        assert_eq!((e.line, e.column), (3, 16));
    }

    #[test]
    fn stricter_forms_are_errors() {
        assert!(parse("HEALTHCHECK --interval=5s NONE\n").is_err());
        let e = parse("CMD [\"a\"] x\n").expect_err("trailing text");
        assert_eq!((e.line, e.column), (1, 11));
        assert!(parse("ENV A=\"unterminated\n").is_err());
        assert!(parse("RUN [\"unclosed\"\n").is_ok());
    }

    #[test]
    fn errors_noticed_at_the_end_are_reported_there() {
        // Positions Hadolint 2.15.1 gives: the end of the instruction's last line.
        let at = |src: &str| {
            let e = parse(src).expect_err("error");
            (e.line, e.column)
        };
        let openshift = "FROM a:1\nLABEL io.openshift.expose-services=\"24284:tcp \\\n    a=\"b\" \\\n    c=\"d\"\nRUN true\n";
        assert_eq!(at(openshift), (4, 10));
        assert_eq!(at("FROM a:1\nLABEL a=\"b\nRUN true\n"), (2, 11));
        assert_eq!(at("FROM a:1\nLABEL a=\"b"), (2, 11));
        assert_eq!(
            at("FROM a:1\nLABEL a=\"b \\\n  c=d \\\n\nRUN true\nRUN x\n"),
            (5, 9)
        );
        assert_eq!(at("FROM a:1\nLABEL a=\"b \\\n  c=d \\\n"), (4, 1));
        assert_eq!(at("FROM a:1\nLABEL a=\"b \\\n  c=d \\"), (3, 8));
        assert_eq!(
            at("FROM a:1\nLABEL a=\"b \\\n# comment\n  c=d\nRUN true\n"),
            (4, 6)
        );
        assert_eq!(at("FROM a:1\nENV a=\"b\\\"\n"), (2, 11));
        assert_eq!(at("FROM a:1\nLABEL a=b \\\n  c   \nRUN x\n"), (3, 7));
        assert_eq!(at("FROM a:1\nENV a   \nRUN x\n"), (2, 9));
        assert_eq!(at("FROM a:1\nCOPY   \nRUN x\n"), (2, 8));
        assert_eq!(at("FROM a:1\nEXPOSE\nRUN x\n"), (2, 7));
    }

    #[test]
    fn pairs_then_one_legacy_pair() {
        let k = kinds("LABEL a=b c D=e\nENV a=b c \"d\nLABEL a \"b \\\n  c=d\nLABEL =x\nEXPOSE \n");
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(k[0], Kind::Label(pairs(&[("a", "b"), ("c", "D=e")])));
        assert_eq!(k[1], Kind::Env(pairs(&[("a", "b"), ("c", "d")])));
        assert_eq!(k[2], Kind::Label(pairs(&[("a", "b   c=d")])));
        assert_eq!(k[3], Kind::Label(pairs(&[("", "x")])));
        assert_eq!(k[4], Kind::Expose(Vec::new()));
    }

    #[test]
    fn onbuild_and_healthcheck() {
        let k = kinds("ONBUILD RUN make\nHEALTHCHECK --interval=5s CMD curl -f http://localhost/\nHEALTHCHECK NONE\n");
        assert!(matches!(&k[0], Kind::Onbuild(inner) if matches!(**inner, Kind::Run(_))));
        assert!(matches!(&k[1], Kind::Healthcheck(Some(h)) if h.flags.len() == 1));
        assert_eq!(k[2], Kind::Healthcheck(None));
    }
}
