//! App Runner's `apprunner.yaml` (version 1.0), accepted as it is: read into ferry's
//! [`ServiceConfig`] with App Runner's keys checked and errors at `file:line:column`.
//! Features ferry does not provide (`secrets`) are accepted and reported as warnings.

use super::tree::{join, Entry, Flavor, Node, Pos, Reader, Result, Value, MAX_DEPTH};
use super::{ConfigError, ConfigFormat, LoadedConfig};
use crate::service::{BuildConfig, RunConfig, ServiceConfig};
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, ScanError, Span, StrInput};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const TOP_KEYS: &[&str] = &["version", "runtime", "build", "run"];
const BUILD_KEYS: &[&str] = &["commands", "env"];
const BUILD_PHASES: &[&str] = &["pre-build", "build", "post-build"];
const RUN_KEYS: &[&str] = &[
    "runtime-version",
    "pre-run",
    "command",
    "network",
    "env",
    "secrets",
];
const NETWORK_KEYS: &[&str] = &["port", "env"];
const ENV_KEYS: &[&str] = &["name", "value"];
const SECRET_KEYS: &[&str] = &["name", "value-from"];

/// App Runner's managed runtimes, original and revised builds. Another name is an error
/// at its line: App Runner refuses it too, and a typo (`python` for `python3`) should
/// not surface later as a build that does the wrong thing.
const KNOWN_RUNTIMES: &[&str] = &[
    "python3",
    "python311",
    "nodejs12",
    "nodejs14",
    "nodejs16",
    "nodejs18",
    "nodejs22",
    "corretto8",
    "corretto11",
    "go1",
    "dotnet6",
    "php81",
    "ruby31",
];

/// Cap on values after YAML alias expansion, so a "billion laughs" file fails fast.
const MAX_NODES: usize = 100_000;

/// Parses the text of an apprunner.yaml; `file` is only used in error messages.
///
/// `version` (1.0) and `runtime` are required, as App Runner requires them. Build
/// commands run in the order pre-build, build, post-build; `run.pre-run` commands are
/// prepended to `run.command` with `&&`. Unknown keys and wrong types are errors naming
/// the key and its line; `secrets` are accepted with a warning, as ferry cannot fetch them.
pub fn parse_apprunner_yaml(
    text: &str,
    file: &Path,
) -> std::result::Result<LoadedConfig, ConfigError> {
    let mut reader = Reader::new(file, Flavor::Yaml);
    let root = parse_tree(text).map_err(|(pos, message)| reader.error(pos, None, message))?;
    let root = root.unwrap_or_else(|| Node::collection(Pos::START, Value::Map(Vec::new())));
    let Value::Map(entries) = &root.value else {
        return Err(reader.error(
            root.pos,
            None,
            "expected a mapping with version, runtime, build and run at the top level".to_string(),
        ));
    };

    let mut loaded = LoadedConfig {
        file: file.to_path_buf(),
        format: ConfigFormat::AppRunnerYaml,
        name: None,
        runtime: None,
        runtime_version: None,
        config: ServiceConfig::default(),
        warnings: Vec::new(),
    };
    let mut version_seen = false;
    for entry in entries {
        let key = entry.key.as_str();
        let value = &entry.value;
        if !TOP_KEYS.contains(&key) {
            return Err(reader.unknown_key(entry, "", TOP_KEYS));
        }
        if value.is_null() {
            continue;
        }
        match key {
            "version" => {
                read_version(&mut reader, value)?;
                version_seen = true;
            }
            "runtime" => {
                let runtime = reader.non_empty(value, key)?;
                if !KNOWN_RUNTIMES.contains(&runtime.as_str()) {
                    return Err(reader.invalid(
                        value,
                        key,
                        format!(
                            "unknown runtime {runtime:?} (one of: {})",
                            KNOWN_RUNTIMES.join(", ")
                        ),
                    ));
                }
                loaded.runtime = Some(runtime);
            }
            "build" => read_build(
                &mut reader,
                value,
                &mut loaded.config.build,
                &mut loaded.warnings,
            )?,
            "run" => {
                let LoadedConfig {
                    config,
                    runtime_version,
                    warnings,
                    ..
                } = &mut loaded;
                read_run(
                    &mut reader,
                    value,
                    &mut config.run,
                    runtime_version,
                    warnings,
                )?
            }
            // Unknown keys were refused above.
            _ => {}
        }
    }
    if !version_seen {
        return Err(reader.error(
            Pos::START,
            Some("version"),
            "version: is required; an App Runner config file starts with `version: 1.0`"
                .to_string(),
        ));
    }
    if loaded.runtime.is_none() {
        return Err(reader.error(
            Pos::START,
            Some("runtime"),
            format!(
                "runtime: is required, for example `runtime: python3` (one of: {})",
                KNOWN_RUNTIMES.join(", ")
            ),
        ));
    }
    reader.check(
        &loaded.config,
        &[
            ("run.port", "run.network.port"),
            ("run.port_env", "run.network.env"),
        ],
    )?;
    Ok(loaded)
}

/// The file format version: App Runner only has 1.0 (written `1.0` or `"1.0"`).
fn read_version(reader: &mut Reader, node: &Node) -> Result<()> {
    let text = reader.string(node, "version")?;
    if text.trim().parse::<f64>() == Ok(1.0) {
        return Ok(());
    }
    Err(reader.invalid(node, "version", format!("must be 1.0, got {text}")))
}

fn read_build(
    reader: &mut Reader,
    node: &Node,
    build: &mut BuildConfig,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for entry in reader.entries(node, "build")? {
        let key = join("build", &entry.key);
        if !BUILD_KEYS.contains(&entry.key.as_str()) {
            return Err(reader.unknown_key(entry, "build", BUILD_KEYS));
        }
        if entry.value.is_null() {
            continue;
        }
        if entry.key == "env" {
            build.env = read_env_list(reader, &entry.value, &key)?;
            continue;
        }
        // A plain list under `commands` is undocumented but common in real files, and
        // its intent is plain: the build step.
        if matches!(entry.value.value, Value::List(_)) {
            build.commands = reader.commands(&entry.value, &key, false)?;
            warnings.push(format!(
                "build.commands (line {}) is a plain list: read as the build step; the \
                 documented form is `build.commands.build:` with the list under it",
                entry.key_pos.line
            ));
            continue;
        }
        // `commands`: phases run in App Runner's order whatever order the file uses.
        let mut phases: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for phase in reader.entries(&entry.value, &key)? {
            let Some(order) = BUILD_PHASES.iter().position(|p| *p == phase.key) else {
                return Err(reader.unknown_key(phase, &key, BUILD_PHASES));
            };
            if phase.value.is_null() {
                continue;
            }
            let phase_key = join(&key, &phase.key);
            phases.insert(order, reader.commands(&phase.value, &phase_key, true)?);
        }
        build.commands = phases.into_values().flatten().collect();
    }
    Ok(())
}

fn read_run(
    reader: &mut Reader,
    node: &Node,
    run: &mut RunConfig,
    runtime_version: &mut Option<String>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut pre_run: Option<(Vec<String>, &Node)> = None;
    for entry in reader.entries(node, "run")? {
        let key = join("run", &entry.key);
        let value = &entry.value;
        if !RUN_KEYS.contains(&entry.key.as_str()) {
            return Err(reader.unknown_key(entry, "run", RUN_KEYS));
        }
        if value.is_null() {
            continue;
        }
        match entry.key.as_str() {
            "runtime-version" => *runtime_version = Some(reader.non_empty(value, &key)?),
            "pre-run" => pre_run = Some((reader.commands(value, &key, true)?, value)),
            "command" => run.command = Some(reader.command(value, &key)?),
            "network" => read_network(reader, value, run)?,
            "env" => run.env = read_env_list(reader, value, &key)?,
            "secrets" => {
                let names = read_secrets(reader, value, &key)?;
                if !names.is_empty() {
                    warnings.push(format!(
                        "run.secrets (line {}): ferry cannot fetch secrets from AWS Secrets \
                         Manager or SSM Parameter Store, so {} will not be set; set them \
                         another way (for example in run.env)",
                        entry.key_pos.line,
                        names.join(", ")
                    ));
                }
            }
            // Unknown keys were refused above.
            _ => {}
        }
    }
    if let Some((commands, node)) = pre_run.filter(|(commands, _)| !commands.is_empty()) {
        let Some(command) = &run.command else {
            return Err(reader.invalid(node, "run.pre-run", "needs run.command to run after it"));
        };
        run.command = Some(format!("{} && {command}", commands.join(" && ")));
    }
    Ok(())
}

fn read_network(reader: &mut Reader, node: &Node, run: &mut RunConfig) -> Result<()> {
    for entry in reader.entries(node, "run.network")? {
        let key = join("run.network", &entry.key);
        if !NETWORK_KEYS.contains(&entry.key.as_str()) {
            return Err(reader.unknown_key(entry, "run.network", NETWORK_KEYS));
        }
        if entry.value.is_null() {
            continue;
        }
        if entry.key == "port" {
            run.port = reader.port(&entry.value, &key)?;
        } else {
            run.port_env = Some(reader.non_empty(&entry.value, &key)?);
        }
    }
    Ok(())
}

/// App Runner's `- name: KEY` / `value: v` list. Each name is recorded as `<key>.<NAME>`,
/// the key `validate` uses for a bad variable name.
fn read_env_list(reader: &mut Reader, node: &Node, key: &str) -> Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    let mut lines: HashMap<String, usize> = HashMap::new();
    for (i, item) in reader.list(node, key)?.iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        let fields = read_pair(reader, item, &item_key, ENV_KEYS)?;
        let (name, name_node) = fields.name;
        if let Some(line) = lines.get(&name) {
            return Err(reader.invalid(
                name_node,
                &format!("{item_key}.name"),
                format!("{name:?} is already set at line {line}"),
            ));
        }
        lines.insert(name.clone(), name_node.pos.line);
        reader.record(&join(key, &name), name_node.pos);
        env.insert(name, fields.value);
    }
    Ok(env)
}

/// Names of the `- name: KEY` / `value-from: arn` list.
fn read_secrets(reader: &mut Reader, node: &Node, key: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (i, item) in reader.list(node, key)?.iter().enumerate() {
        let fields = read_pair(reader, item, &format!("{key}[{i}]"), SECRET_KEYS)?;
        names.push(fields.name.0);
    }
    Ok(names)
}

struct Pair<'n> {
    name: (String, &'n Node),
    value: String,
}

/// One `{name, <value key>}` item of an env or secrets list; `keys` is `[name, <value key>]`.
fn read_pair<'n>(
    reader: &mut Reader,
    item: &'n Node,
    item_key: &str,
    keys: &[&str],
) -> Result<Pair<'n>> {
    let mut name = None;
    let mut value = None;
    for entry in reader.entries(item, item_key)? {
        let key = join(item_key, &entry.key);
        match keys.iter().position(|k| *k == entry.key) {
            Some(0) => name = Some((reader.non_empty(&entry.value, &key)?, &entry.value)),
            Some(_) => value = Some(reader.env_value(&entry.value, &key)?),
            None => return Err(reader.unknown_key(entry, item_key, keys)),
        }
    }
    let missing = |field: &str| reader.invalid(item, item_key, format!("missing key {field:?}"));
    Ok(Pair {
        name: name.ok_or_else(|| missing(keys[0]))?,
        value: value.ok_or_else(|| missing(keys[1]))?,
    })
}

/// Parses a single YAML document into a [`Node`] tree (None for an empty file); a
/// syntax error is its position and message.
fn parse_tree(text: &str) -> std::result::Result<Option<Node>, (Pos, String)> {
    let mut options = Options::default();
    options.set_emit_comments(false);
    let mut builder = TreeBuilder {
        parser: Parser::new_from_str_with_options(text, options),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut document = None;
    while let Some((event, span)) = builder.next()? {
        match event {
            Event::DocumentStart(..) if document.is_some() => {
                return Err((
                    pos(&span),
                    "only one YAML document is allowed in apprunner.yaml".to_string(),
                ));
            }
            Event::DocumentStart(..) => {
                let (first, first_span) = builder.expect_next(&span)?;
                document = Some(builder.node(first, first_span, 0)?);
            }
            // Stream start/end, document end and presentation-only events.
            _ => {}
        }
    }
    Ok(document)
}

struct TreeBuilder<'t> {
    parser: Parser<'t, StrInput<'t>>,
    /// Anchored nodes by the parser's anchor id, for aliases.
    anchors: HashMap<usize, Node>,
    /// Values built so far, aliases counted at their expanded size.
    nodes: usize,
}

type BuildResult<T> = std::result::Result<T, (Pos, String)>;

impl<'t> TreeBuilder<'t> {
    fn next(&mut self) -> BuildResult<Option<(Event<'t>, Span)>> {
        match self.parser.next_event() {
            None => Ok(None),
            Some(Ok(event)) => Ok(Some(event)),
            Some(Err(err)) => Err(syntax_error(&err)),
        }
    }

    fn expect_next(&mut self, after: &Span) -> BuildResult<(Event<'t>, Span)> {
        self.next()?
            .ok_or_else(|| (pos(after), "unexpected end of YAML".to_string()))
    }

    fn count(&mut self, at: &Span, nodes: usize) -> BuildResult<()> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err((
                pos(at),
                format!("too many values (more than {MAX_NODES}, counting alias expansions)"),
            ));
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'t>, span: Span, depth: usize) -> BuildResult<Node> {
        self.count(&span, 1)?;
        let at = pos(&span);
        if depth > MAX_DEPTH {
            return Err((at, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let explicit_string = tag.is_some_and(|tag| tag.is_yaml_core_schema_tag("str"));
                let value = if style == ScalarStyle::Plain && !explicit_string {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.to_string())
                };
                (Node::scalar(at, value, text), anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.expect_next(&span)?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span, depth + 1)?);
                }
                (Node::collection(at, Value::List(items)), anchor)
            }
            Event::MappingStart(_, anchor, _) => {
                let mut entries: Vec<Entry> = Vec::new();
                loop {
                    let (event, key_span) = self.expect_next(&span)?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(event, key_span, depth + 1)?;
                    let key_text = match key.value {
                        Value::List(_) | Value::Map(_) => {
                            return Err((key.pos, "a key must be a plain string".to_string()));
                        }
                        _ => key.text,
                    };
                    if let Some(first) = entries.iter().find(|e| e.key == key_text) {
                        return Err((
                            key.pos,
                            format!(
                                "duplicate key {key_text:?} (first set at line {})",
                                first.key_pos.line
                            ),
                        ));
                    }
                    let (event, value_span) = self.expect_next(&span)?;
                    let value = self.node(event, value_span, depth + 1)?;
                    entries.push(Entry {
                        key: key_text,
                        key_pos: key.pos,
                        value,
                    });
                }
                (Node::collection(at, Value::Map(entries)), anchor)
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err((at, "alias to an unknown anchor".to_string()));
                };
                let mut copy = target.clone();
                // The 1 already counted stands for the alias itself.
                self.count(&span, copy.size().saturating_sub(1))?;
                copy.pos = at;
                return Ok(copy);
            }
            other => return Err((at, format!("unexpected YAML {other:?}"))),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

fn pos(span: &Span) -> Pos {
    Pos {
        line: span.start.line().max(1),
        column: span.start.col() + 1,
    }
}

fn syntax_error(err: &ScanError) -> (Pos, String) {
    let marker = err.marker();
    let message = err.info();
    let message = if message.is_empty() {
        "invalid YAML".to_string()
    } else {
        format!("invalid YAML: {}", message.replace('\n', "; "))
    };
    (
        Pos {
            line: marker.line().max(1),
            column: marker.col() + 1,
        },
        message,
    )
}

/// Types a plain scalar as YAML 1.2's core schema does (what App Runner's parser
/// would see); the text itself is kept on the node.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(int) = parse_core_int(text) {
        return Value::Int(int);
    }
    if let Some(float) = parse_core_float(text) {
        return Value::Float(float);
    }
    // Includes integers too large for 64 bits, which stay usable as text.
    Value::Str(text.to_string())
}

fn parse_core_int(text: &str) -> Option<i64> {
    if let Some(octal) = text.strip_prefix("0o") {
        return i64::from_str_radix(octal, 8)
            .ok()
            .filter(|_| !octal.starts_with(['+', '-']));
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .ok()
            .filter(|_| !hex.starts_with(['+', '-']));
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_core_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    match unsigned {
        ".inf" | ".Inf" | ".INF" => {
            return Some(if text.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        ".nan" | ".NaN" | ".NAN" if unsigned == text => return Some(f64::NAN),
        _ => {}
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    if mantissa_ok && exponent_ok {
        text.parse().ok()
    } else {
        None
    }
}
