//! Dockerfile syntax: the typed instruction model and the parser that builds it.
//!
//! The parser follows BuildKit's reading of a Dockerfile: parser directives at the
//! top (`# syntax`, `# escape`, `# check`), line continuations with the escape
//! character, comment and empty lines inside continuations dropped, exec (JSON) and
//! shell forms, heredocs (`<<EOF`, `<<-EOF`, quoted delimiters, several per
//! instruction), `--flags`, and multi-stage names. It never panics: anything it
//! cannot read is a [`ParseError`] with a 1-based line and column.

mod heredoc;
mod parser;
pub mod substitute;
mod words;

pub(crate) use heredoc::blank_heredoc_markers;
pub use parser::parse;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Instructions and comments in source order.
    pub instructions: Vec<Instruction>,
    /// The escape character in force (`\` unless `# escape=` says otherwise).
    pub escape: char,
}

/// One instruction (or comment) with the lines it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// 1-based last line (heredoc bodies and continuations included).
    pub end_line: usize,
    pub kind: Kind,
}

/// What an instruction says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A `#` comment line (text after the `#`).
    Comment(String),
    /// A parser directive at the top of the file (`# escape=\``): name lowercased.
    Directive {
        name: String,
        value: String,
    },
    From(BaseImage),
    Run(Run),
    Cmd(Arguments),
    Entrypoint(Arguments),
    Shell(Arguments),
    Copy(Copy),
    Add(Copy),
    Env(Vec<(String, String)>),
    /// `ARG name[=default]` (BuildKit allows several per line).
    Arg(Vec<(String, Option<String>)>),
    Label(Vec<(String, String)>),
    Expose(Vec<Port>),
    User(String),
    Workdir(String),
    Volume(String),
    Stopsignal(String),
    Maintainer(String),
    /// `HEALTHCHECK NONE` is `None`.
    Healthcheck(Option<Healthcheck>),
    Onbuild(Box<Kind>),
}

impl Kind {
    /// The instruction keyword in upper case (`"#"` for comments and directives).
    pub fn keyword(&self) -> &'static str {
        match self {
            Kind::Comment(_) | Kind::Directive { .. } => "#",
            Kind::From(_) => "FROM",
            Kind::Run(_) => "RUN",
            Kind::Cmd(_) => "CMD",
            Kind::Entrypoint(_) => "ENTRYPOINT",
            Kind::Shell(_) => "SHELL",
            Kind::Copy(_) => "COPY",
            Kind::Add(_) => "ADD",
            Kind::Env(_) => "ENV",
            Kind::Arg(_) => "ARG",
            Kind::Label(_) => "LABEL",
            Kind::Expose(_) => "EXPOSE",
            Kind::User(_) => "USER",
            Kind::Workdir(_) => "WORKDIR",
            Kind::Volume(_) => "VOLUME",
            Kind::Stopsignal(_) => "STOPSIGNAL",
            Kind::Maintainer(_) => "MAINTAINER",
            Kind::Healthcheck(_) => "HEALTHCHECK",
            Kind::Onbuild(_) => "ONBUILD",
        }
    }
}

/// A `--name[=value]` instruction flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

/// Looks a flag up by name (last one wins, as in BuildKit).
pub fn flag<'a>(flags: &'a [Flag], name: &str) -> Option<&'a Flag> {
    flags.iter().rev().find(|f| f.name == name)
}

/// Shell form (text handed to the shell) or exec form (JSON array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arguments {
    Text(String),
    List(Vec<String>),
}

impl Arguments {
    /// The arguments as one text: shell form as is, exec form joined with spaces.
    pub fn joined(&self) -> String {
        match self {
            Arguments::Text(t) => t.clone(),
            Arguments::List(l) => l.join(" "),
        }
    }
}

/// A heredoc attached to RUN, COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// Delimiter word without quotes.
    pub delimiter: String,
    /// Body lines joined with `\n` (tabs stripped for `<<-`), final newline kept.
    pub body: String,
    /// `<<-`: leading tabs are stripped.
    pub strip_tabs: bool,
    /// The delimiter was quoted: no expansion in the body.
    pub quoted: bool,
    /// 1-based line of the first body line.
    pub body_line: usize,
}

/// `RUN [flags] command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub flags: Vec<Flag>,
    pub args: Arguments,
    pub heredocs: Vec<Heredoc>,
}

impl Run {
    /// The cache mount targets of `--mount=type=cache,target=...` flags.
    pub fn cache_mount_targets(&self) -> Vec<String> {
        let mut targets = Vec::new();
        for f in self.flags.iter().filter(|f| f.name == "mount") {
            let Some(value) = &f.value else { continue };
            let mut is_cache = false;
            let mut target = None;
            for part in value.split(',') {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                match k.trim() {
                    "type" => is_cache = v.trim() == "cache",
                    "target" | "dst" | "destination" => target = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            if let (true, Some(t)) = (is_cache, target) {
                targets.push(t);
            }
        }
        targets
    }
}

/// `COPY`/`ADD [flags] src... dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub flags: Vec<Flag>,
    /// Sources as written (quotes kept in shell form).
    pub sources: Vec<String>,
    pub dest: String,
    pub heredocs: Vec<Heredoc>,
}

impl Copy {
    /// The `--from` value, if any.
    pub fn from(&self) -> Option<&str> {
        flag(&self.flags, "from").and_then(|f| f.value.as_deref())
    }
}

/// `FROM [--platform=p] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// Registry host when the reference names one (`my.reg:5000`).
    pub registry: Option<String>,
    /// Repository path without registry, tag or digest.
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub alias: Option<String>,
    pub platform: Option<String>,
    pub flags: Vec<Flag>,
}

impl BaseImage {
    /// Splits an image reference into registry, name, tag and digest.
    pub fn from_reference(reference: &str) -> BaseImage {
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (reference, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, remainder))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), remainder)
            }
            _ => (None, rest),
        };
        let last_slash = path.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match path[last_slash..].rfind(':') {
            Some(i) => (
                path[..last_slash + i].to_string(),
                Some(path[last_slash + i + 1..].to_string()),
            ),
            None => (path.to_string(), None),
        };
        BaseImage {
            registry,
            name,
            tag,
            digest,
            alias: None,
            platform: None,
            flags: Vec::new(),
        }
    }
}

/// One `EXPOSE` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Port {
    Single {
        port: u64,
        protocol: Option<String>,
    },
    Range {
        from: u64,
        to: u64,
        protocol: Option<String>,
    },
    /// A `$VAR` reference, left to build time.
    Variable(String),
}

/// `HEALTHCHECK [options] CMD command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    pub flags: Vec<Flag>,
    pub args: Arguments,
}

/// A syntax error: DL1000 with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column} {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Removes one layer of matching quotes around a word (Hadolint's `dropQuotes`
/// drops any run of `"` and `'` at both ends).
pub fn drop_quotes(s: &str) -> &str {
    s.trim_matches(|c| c == '"' || c == '\'')
}
