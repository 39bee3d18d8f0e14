//! `ferry.toml`: ferry's own app config, read into a [`ServiceConfig`] with every key
//! checked (unknown keys, types, ranges) and errors pointing at `file:line:column`.

use super::tree::{join, Entry, Flavor, LineIndex, Node, Pos, Reader, Result, Value, MAX_DEPTH};
use super::{ConfigError, ConfigFormat, LoadedConfig};
use crate::policy::{LintThreshold, VulnThreshold};
use crate::service::{
    BuildConfig, HealthCheck, HealthProtocol, InstanceSize, RunConfig, Scaling, SecurityConfig,
    ServiceConfig, ServiceName,
};
use crate::RuntimeKind;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

const TOP_KEYS: &[&str] = &[
    "name",
    "request_timeout",
    "drain_timeout",
    "domains",
    "build",
    "run",
    "instance",
    "health_check",
    "scaling",
    "security",
];
const BUILD_KEYS: &[&str] = &["command", "commands", "env", "base", "secrets"];
const RUN_KEYS: &[&str] = &["command", "port", "env", "runtime"];
const INSTANCE_KEYS: &[&str] = &["cpu", "memory"];
const HEALTH_CHECK_KEYS: &[&str] = &[
    "protocol",
    "path",
    "interval",
    "timeout",
    "healthy_threshold",
    "unhealthy_threshold",
];
const SCALING_KEYS: &[&str] = &[
    "min",
    "max",
    "concurrency",
    "target_utilization",
    "stable_window",
    "panic_window",
    "panic_threshold",
    "scale_down_delay",
    "max_scale_up_rate",
    "max_scale_down_rate",
    "scale_to_zero_grace",
    "queue_size",
    "queue_timeout",
];
const SECURITY_KEYS: &[&str] = &[
    "lint_fail_on",
    "fail_on",
    "ignore_unfixed",
    "image_lint_blocks",
    "ignore",
];

/// App Runner's CPU units (1024 per vCPU), accepted for `instance.cpu`.
const CPU_UNITS: [u32; 5] = [256, 512, 1024, 2048, 4096];

/// Parses the text of a ferry.toml; `file` is only used in error messages.
///
/// Missing keys keep [`ServiceConfig::default`]. Unknown keys, wrong types and values
/// out of range are errors naming the key and its line.
pub fn parse_ferry_toml(text: &str, file: &Path) -> std::result::Result<LoadedConfig, ConfigError> {
    let mut reader = Reader::new(file, Flavor::Toml);
    let root = parse_tree(text, &LineIndex::new(text))
        .map_err(|(pos, message)| reader.error(pos, None, message))?;
    let mut config = ServiceConfig::default();
    let mut name = None;
    for entry in reader.entries(&root, "")? {
        let key = entry.key.as_str();
        let value = &entry.value;
        match key {
            "name" => {
                let text = reader.string(value, key)?;
                let parsed =
                    ServiceName::parse(&text).map_err(|err| reader.invalid(value, key, err))?;
                name = Some(parsed);
            }
            "request_timeout" => config.request_timeout = reader.u32(value, key)?,
            "drain_timeout" => config.drain_timeout = reader.u32(value, key)?,
            "domains" => {
                let items = reader.list(value, key)?;
                config.domains = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| reader.string(item, &format!("domains[{i}]")))
                    .collect::<Result<_>>()?;
            }
            "build" => read_build(&mut reader, value, &mut config.build)?,
            "run" => read_run(&mut reader, value, &mut config.run)?,
            "instance" => read_instance(&mut reader, value, &mut config.instance)?,
            "health_check" => read_health_check(&mut reader, value, &mut config.health_check)?,
            "scaling" => read_scaling(&mut reader, value, &mut config.scaling)?,
            "security" => read_security(&mut reader, value, &mut config.security)?,
            _ => return Err(reader.unknown_key(entry, "", TOP_KEYS)),
        }
    }
    reader.check(&config, &[])?;
    Ok(LoadedConfig {
        file: file.to_path_buf(),
        format: ConfigFormat::FerryToml,
        name,
        runtime: None,
        runtime_version: None,
        config,
        warnings: Vec::new(),
    })
}

fn read_build(reader: &mut Reader, node: &Node, build: &mut BuildConfig) -> Result<()> {
    let mut commands_from: Option<&Entry> = None;
    for entry in reader.entries(node, "build")? {
        let key = join("build", &entry.key);
        match entry.key.as_str() {
            "command" | "commands" => {
                if let Some(first) = commands_from {
                    return Err(reader.error(
                        entry.key_pos,
                        Some(&key),
                        format!(
                            "{key}: use either build.command or build.commands, not both \
                             (build.{} is at line {})",
                            first.key, first.key_pos.line
                        ),
                    ));
                }
                commands_from = Some(entry);
                build.commands = if entry.key == "command" {
                    vec![reader.command(&entry.value, &key)?]
                } else {
                    reader.commands(&entry.value, &key, false)?
                };
            }
            "env" => build.env = reader.env_table(&entry.value, &key)?,
            "base" => build.base = Some(reader.non_empty(&entry.value, &key)?),
            "secrets" => {
                let items = reader.list(&entry.value, &key)?;
                build.secrets = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| reader.non_empty(item, &format!("{key}[{i}]")))
                    .collect::<Result<_>>()?;
                // Problems found by `validate` point at the list.
                reader.record(&key, entry.value.pos);
            }
            _ => return Err(reader.unknown_key(entry, "build", BUILD_KEYS)),
        }
    }
    Ok(())
}

fn read_run(reader: &mut Reader, node: &Node, run: &mut RunConfig) -> Result<()> {
    for entry in reader.entries(node, "run")? {
        let key = join("run", &entry.key);
        match entry.key.as_str() {
            "command" => run.command = Some(reader.command(&entry.value, &key)?),
            "port" => run.port = reader.port(&entry.value, &key)?,
            "env" => run.env = reader.env_table(&entry.value, &key)?,
            "runtime" => {
                run.runtime = Some(
                    match reader
                        .choice(&entry.value, &key, &["docker", "process"])?
                        .as_str()
                    {
                        "docker" => RuntimeKind::Docker,
                        _ => RuntimeKind::Process,
                    },
                )
            }
            _ => return Err(reader.unknown_key(entry, "run", RUN_KEYS)),
        }
    }
    Ok(())
}

fn read_instance(reader: &mut Reader, node: &Node, instance: &mut InstanceSize) -> Result<()> {
    for entry in reader.entries(node, "instance")? {
        let key = join("instance", &entry.key);
        match entry.key.as_str() {
            "cpu" => instance.cpu = read_cpu(reader, &entry.value, &key)?,
            "memory" => instance.memory_mib = read_memory(reader, &entry.value, &key)?,
            _ => return Err(reader.unknown_key(entry, "instance", INSTANCE_KEYS)),
        }
    }
    Ok(())
}

/// vCPU as a number (`0.25`, `1`), or App Runner's strings: `"1 vCPU"` or CPU units
/// (`"1024"`, also as a bare integer since units are never a valid vCPU count).
/// Whether the value is one of the allowed sizes is `validate`'s job.
fn read_cpu(reader: &mut Reader, node: &Node, key: &str) -> Result<f64> {
    let from_units = |units: f64| units / 1024.0;
    let is_units = |n: f64| CPU_UNITS.iter().any(|&u| f64::from(u) == n);
    reader.record(key, node.pos);
    match &node.value {
        Value::Int(n) => {
            // Exact for every integer a user could mean here (|n| < 2^53).
            let n = *n as f64;
            Ok(if is_units(n) { from_units(n) } else { n })
        }
        Value::Float(n) => Ok(*n),
        Value::Str(text) => {
            let lower = text.trim().to_ascii_lowercase();
            let (number, vcpu) = match lower.strip_suffix("vcpu") {
                Some(number) => (number.trim(), true),
                None => (lower.as_str(), false),
            };
            match number.parse::<f64>() {
                Ok(n) if n.is_finite() && vcpu => Ok(n),
                Ok(n) if is_units(n) => Ok(from_units(n)),
                // A bare "0.5" or "2": clearly vCPU, not units.
                Ok(n) if n.is_finite() && n <= 4.0 => Ok(n),
                _ => Err(reader.invalid(
                    node,
                    key,
                    format!(
                        "expected vCPU (0.25, 0.5, 1, 2 or 4), \"1 vCPU\" or CPU units \
                         (\"1024\"), got {text:?}"
                    ),
                )),
            }
        }
        _ => Err(reader.invalid(
            node,
            key,
            "expected a number of vCPU (0.25, 0.5, 1, 2 or 4) or a string such as \"1 vCPU\"",
        )),
    }
}

/// MiB as an integer, or App Runner's strings: `"2 GB"`, `"512 MB"`, `"2048"` (App
/// Runner's GB are GiB: `"0.5 GB"` is 512 MiB).
fn read_memory(reader: &mut Reader, node: &Node, key: &str) -> Result<u32> {
    reader.record(key, node.pos);
    let bad = |reader: &Reader, got: String| {
        reader.invalid(
            node,
            key,
            format!("expected MiB (2048) or a size such as \"2 GB\" or \"512 MB\", got {got}"),
        )
    };
    let mib = match &node.value {
        Value::Int(_) => return reader.u32(node, key),
        Value::Str(text) => {
            let lower = text.trim().to_ascii_lowercase();
            let (number, factor) = if let Some(n) = strip_any(&lower, &["gib", "gb", "g"]) {
                (n, 1024.0)
            } else if let Some(n) = strip_any(&lower, &["mib", "mb", "m"]) {
                (n, 1.0)
            } else {
                (lower.as_str(), 1.0)
            };
            match number.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => n * factor,
                _ => return Err(bad(reader, format!("{text:?}"))),
            }
        }
        _ => return Err(bad(reader, "something else".to_string())),
    };
    if mib.fract() != 0.0 || mib > f64::from(u32::MAX) {
        return Err(reader.invalid(
            node,
            key,
            format!("must be a whole number of MiB, got {mib} MiB"),
        ));
    }
    // In range and whole, checked just above.
    Ok(mib as u32)
}

fn strip_any<'t>(text: &'t str, suffixes: &[&str]) -> Option<&'t str> {
    suffixes.iter().find_map(|suffix| text.strip_suffix(suffix))
}

fn read_health_check(reader: &mut Reader, node: &Node, check: &mut HealthCheck) -> Result<()> {
    for entry in reader.entries(node, "health_check")? {
        let key = join("health_check", &entry.key);
        let value = &entry.value;
        match entry.key.as_str() {
            "protocol" => {
                check.protocol = match reader.choice(value, &key, &["tcp", "http"])?.as_str() {
                    "http" => HealthProtocol::Http,
                    _ => HealthProtocol::Tcp,
                }
            }
            "path" => check.path = reader.string(value, &key)?,
            "interval" => check.interval = reader.u32(value, &key)?,
            "timeout" => check.timeout = reader.u32(value, &key)?,
            "healthy_threshold" => check.healthy_threshold = reader.u32(value, &key)?,
            "unhealthy_threshold" => check.unhealthy_threshold = reader.u32(value, &key)?,
            _ => return Err(reader.unknown_key(entry, "health_check", HEALTH_CHECK_KEYS)),
        }
    }
    Ok(())
}

fn read_scaling(reader: &mut Reader, node: &Node, scaling: &mut Scaling) -> Result<()> {
    for entry in reader.entries(node, "scaling")? {
        let key = join("scaling", &entry.key);
        if !SCALING_KEYS.contains(&entry.key.as_str()) {
            return Err(reader.unknown_key(entry, "scaling", SCALING_KEYS));
        }
        let value = reader.u32(&entry.value, &key)?;
        if let Some(slot) = scaling.get_mut(&entry.key) {
            *slot = value;
        }
    }
    Ok(())
}

fn read_security(reader: &mut Reader, node: &Node, security: &mut SecurityConfig) -> Result<()> {
    for entry in reader.entries(node, "security")? {
        let key = join("security", &entry.key);
        let value = &entry.value;
        match entry.key.as_str() {
            "lint_fail_on" => {
                let word = reader.choice(value, &key, &LintThreshold::NAMES)?;
                security.lint_fail_on = LintThreshold::parse(&word);
            }
            "fail_on" => {
                let word = reader.choice(value, &key, &VulnThreshold::NAMES)?;
                security.fail_on = VulnThreshold::parse(&word);
            }
            "ignore_unfixed" => security.ignore_unfixed = reader.boolean(value, &key)?,
            "image_lint_blocks" => security.image_lint_blocks = reader.boolean(value, &key)?,
            "ignore" => {
                let items = reader.list(value, &key)?;
                security.ignore = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| reader.non_empty(item, &format!("{key}[{i}]")))
                    .collect::<Result<_>>()?;
            }
            _ => return Err(reader.unknown_key(entry, "security", SECURITY_KEYS)),
        }
    }
    Ok(())
}

/// Parses TOML into a [`Node`] tree; a syntax error is its position and message.
fn parse_tree(text: &str, index: &LineIndex) -> std::result::Result<Node, (Pos, String)> {
    let table = DeTable::parse(text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        let mut message = err.message().trim().replace('\n', "; ");
        // toml says only "duplicate key"; name it.
        if message == "duplicate key" {
            if let Some(key) = text.get(span.clone()) {
                message = format!("duplicate key {key:?}");
            }
        }
        (index.pos(span.start), message)
    })?;
    let span = table.span();
    convert(
        &Spanned::new(span, DeValue::Table(table.into_inner())),
        index,
        0,
    )
}

fn convert(
    value: &Spanned<DeValue>,
    index: &LineIndex,
    depth: usize,
) -> std::result::Result<Node, (Pos, String)> {
    let pos = index.pos(value.span().start);
    if depth > MAX_DEPTH {
        return Err((pos, format!("nested deeper than {MAX_DEPTH} levels")));
    }
    Ok(match value.get_ref() {
        DeValue::String(text) => Node::scalar(pos, Value::Str(text.to_string()), text.as_ref()),
        DeValue::Integer(int) => {
            let parsed = i64::from_str_radix(int.as_str(), int.radix())
                .map_err(|_| (pos, format!("integer {int} does not fit in 64 bits")))?;
            Node::scalar(pos, Value::Int(parsed), parsed.to_string())
        }
        DeValue::Float(float) => {
            let parsed: f64 = float
                .as_str()
                .parse()
                .map_err(|_| (pos, format!("invalid float {float}")))?;
            Node::scalar(pos, Value::Float(parsed), float.as_str())
        }
        DeValue::Boolean(value) => Node::scalar(pos, Value::Bool(*value), value.to_string()),
        DeValue::Datetime(datetime) => Node::scalar(pos, Value::Datetime, datetime.to_string()),
        DeValue::Array(items) => Node::collection(
            pos,
            Value::List(
                items
                    .iter()
                    .map(|item| convert(item, index, depth + 1))
                    .collect::<std::result::Result<_, _>>()?,
            ),
        ),
        DeValue::Table(table) => {
            let mut entries = table
                .iter()
                .map(|(key, value)| {
                    Ok(Entry {
                        key: key.get_ref().to_string(),
                        key_pos: index.pos(key.span().start),
                        value: convert(value, index, depth + 1)?,
                    })
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            // toml keeps tables sorted by key; read them in file order instead, so the
            // first problem reported is the first one in the file.
            entries.sort_by_key(|entry| entry.key_pos);
            Node::collection(pos, Value::Map(entries))
        }
    })
}
