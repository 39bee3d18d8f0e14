//! A format-neutral tree of config values that remembers where each came from, and the
//! typed readers both loaders share, so ferry.toml and apprunner.yaml report errors
//! (unknown keys, wrong types, ranges) in the same words and at the right line.

use super::{ConfigError, Location};
use crate::service::ServiceConfig;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// 1-based line and column (in characters) of something in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Deepest nesting either loader accepts. Real config files use a handful of levels;
/// the cap keeps the recursive readers far from the stack's end on hostile input.
pub(super) const MAX_DEPTH: usize = 32;

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };
}

#[derive(Clone, Debug)]
pub(super) struct Node {
    pub pos: Pos,
    pub value: Value,
    /// A scalar as written (`3.10` stays `3.10`), for keys that take any scalar as text.
    pub text: String,
}

#[derive(Clone, Debug)]
pub(super) enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// YAML `~`, `null` or nothing after the colon; read as "not set".
    Null,
    /// A TOML date or time, which no ferry key takes.
    Datetime,
    List(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

impl Node {
    pub fn scalar(pos: Pos, value: Value, text: impl Into<String>) -> Self {
        Self {
            pos,
            value,
            text: text.into(),
        }
    }

    pub fn collection(pos: Pos, value: Value) -> Self {
        Self::scalar(pos, value, String::new())
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Nodes in this subtree, to bound the cost of YAML alias expansion.
    pub fn size(&self) -> usize {
        1 + match &self.value {
            Value::List(items) => items.iter().map(Node::size).sum(),
            Value::Map(entries) => entries.iter().map(|e| e.value.size()).sum(),
            _ => 0,
        }
    }
}

/// Which file format is being read; only the wording of messages differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    Toml,
    Yaml,
}

/// Byte offsets to line/column, for parsers that report byte spans (toml).
pub(super) struct LineIndex<'t> {
    text: &'t str,
    line_starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Self { text, line_starts }
    }

    pub fn pos(&self, byte: usize) -> Pos {
        let byte = byte.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= byte);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = match self.text.get(start..byte) {
            Some(prefix) => prefix.chars().count(),
            // Not on a character boundary: count bytes, still pointing at the right line.
            None => byte - start,
        };
        Pos {
            line: line.max(1),
            column: column + 1,
        }
    }
}

/// Reads typed values out of a [`Node`] tree, remembering where each dotted key was so
/// that [`ServiceConfig::validate`] problems can point at their line.
pub(super) struct Reader<'f> {
    file: &'f Path,
    flavor: Flavor,
    positions: HashMap<String, Pos>,
}

pub(super) type Result<T> = std::result::Result<T, ConfigError>;

impl<'f> Reader<'f> {
    pub fn new(file: &'f Path, flavor: Flavor) -> Self {
        Self {
            file,
            flavor,
            positions: HashMap::new(),
        }
    }

    pub fn error(&self, pos: Pos, key: Option<&str>, message: String) -> ConfigError {
        ConfigError::Invalid {
            location: Location {
                file: self.file.to_path_buf(),
                line: pos.line,
                column: pos.column,
            },
            key: key.map(str::to_string),
            message,
        }
    }

    /// `key: message`, at the node.
    pub fn invalid(&self, node: &Node, key: &str, message: impl std::fmt::Display) -> ConfigError {
        self.error(node.pos, Some(key), format!("{key}: {message}"))
    }

    /// A key the schema does not know; `section` is the dotted path of its parent.
    pub fn unknown_key(&self, entry: &Entry, section: &str, expected: &[&str]) -> ConfigError {
        let place = match (section, self.flavor) {
            ("", _) => "at the top level".to_string(),
            (_, Flavor::Toml) => format!("in [{section}]"),
            (_, Flavor::Yaml) => format!("in {section}"),
        };
        self.error(
            entry.key_pos,
            Some(&join(section, &entry.key)),
            format!(
                "unknown key {:?} {place} (expected one of: {})",
                entry.key,
                expected.join(", ")
            ),
        )
    }

    fn type_error(&self, node: &Node, key: &str, expected: &str) -> ConfigError {
        self.invalid(
            node,
            key,
            format!("expected {expected}, got {}", self.type_name(node)),
        )
    }

    fn type_name(&self, node: &Node) -> &'static str {
        match (&node.value, self.flavor) {
            (Value::Str(_), _) => "a string",
            (Value::Int(_), _) => "an integer",
            (Value::Float(_), _) => "a float",
            (Value::Bool(_), _) => "a boolean",
            (Value::Null, _) => "an empty value",
            (Value::Datetime, _) => "a date-time",
            (Value::List(_), Flavor::Toml) => "an array",
            (Value::List(_), Flavor::Yaml) => "a list",
            (Value::Map(_), Flavor::Toml) => "a table",
            (Value::Map(_), Flavor::Yaml) => "a mapping",
        }
    }

    fn table_word(&self) -> &'static str {
        match self.flavor {
            Flavor::Toml => "a table",
            Flavor::Yaml => "a mapping",
        }
    }

    fn list_word(&self) -> &'static str {
        match self.flavor {
            Flavor::Toml => "an array",
            Flavor::Yaml => "a list",
        }
    }

    /// Remembers where `key` was set, for [`Reader::check`].
    pub fn record(&mut self, key: &str, pos: Pos) {
        self.positions.entry(key.to_string()).or_insert(pos);
    }

    /// The entries of a table/mapping, in file order.
    pub fn entries<'n>(&mut self, node: &'n Node, key: &str) -> Result<&'n [Entry]> {
        self.record(key, node.pos);
        match &node.value {
            Value::Map(entries) => Ok(entries),
            _ => Err(self.type_error(node, key, self.table_word())),
        }
    }

    pub fn list<'n>(&mut self, node: &'n Node, key: &str) -> Result<&'n [Node]> {
        self.record(key, node.pos);
        match &node.value {
            Value::List(items) => Ok(items),
            _ => Err(self.type_error(node, key, self.list_word())),
        }
    }

    /// A string. In YAML any scalar is read as the text it was written as, since YAML
    /// users write `value: 8080` or `runtime-version: 3.10` and mean text.
    pub fn string(&mut self, node: &Node, key: &str) -> Result<String> {
        self.record(key, node.pos);
        match (&node.value, self.flavor) {
            (Value::Str(text), _) => Ok(text.clone()),
            (Value::Int(_) | Value::Float(_) | Value::Bool(_), Flavor::Yaml) => {
                Ok(node.text.clone())
            }
            _ => Err(self.type_error(node, key, "a string")),
        }
    }

    /// A string that must not be blank (a shell command, a name).
    pub fn non_empty(&mut self, node: &Node, key: &str) -> Result<String> {
        let text = self.string(node, key)?;
        if text.trim().is_empty() {
            return Err(self.invalid(node, key, "must not be empty"));
        }
        Ok(text)
    }

    /// A shell command: not blank, without the trailing newline a YAML `|` block leaves.
    pub fn command(&mut self, node: &Node, key: &str) -> Result<String> {
        Ok(self.non_empty(node, key)?.trim_end().to_string())
    }

    /// A list of commands; a single string counts as a list of one when `single_ok`.
    pub fn commands(&mut self, node: &Node, key: &str, single_ok: bool) -> Result<Vec<String>> {
        if single_ok && !matches!(node.value, Value::List(_)) {
            if matches!(node.value, Value::Map(_)) {
                return Err(self.type_error(node, key, "a list of commands"));
            }
            return Ok(vec![self.command(node, key)?]);
        }
        let items = self.list(node, key)?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.command(item, &format!("{key}[{i}]")))
            .collect()
    }

    pub fn boolean(&mut self, node: &Node, key: &str) -> Result<bool> {
        self.record(key, node.pos);
        match node.value {
            Value::Bool(value) => Ok(value),
            _ => Err(self.type_error(node, key, "a boolean (true or false)")),
        }
    }

    pub fn integer(&mut self, node: &Node, key: &str) -> Result<i64> {
        self.record(key, node.pos);
        match node.value {
            Value::Int(value) => Ok(value),
            _ => Err(self.type_error(node, key, "an integer")),
        }
    }

    /// A count or a number of seconds; its real range is checked by `validate`.
    pub fn u32(&mut self, node: &Node, key: &str) -> Result<u32> {
        let value = self.integer(node, key)?;
        if value < 0 {
            return Err(self.invalid(node, key, format!("must not be negative, got {value}")));
        }
        u32::try_from(value).map_err(|_| {
            self.invalid(
                node,
                key,
                format!("must be at most {}, got {value}", u32::MAX),
            )
        })
    }

    pub fn port(&mut self, node: &Node, key: &str) -> Result<u16> {
        let value = self.integer(node, key)?;
        match u16::try_from(value) {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(self.invalid(
                node,
                key,
                format!("must be between 1 and 65535, got {value}"),
            )),
        }
    }

    /// One of `choices`, compared case-insensitively; returned in lowercase.
    pub fn choice(&mut self, node: &Node, key: &str, choices: &[&str]) -> Result<String> {
        let text = self.string(node, key)?.to_ascii_lowercase();
        if choices.contains(&text.as_str()) {
            return Ok(text);
        }
        Err(self.invalid(
            node,
            key,
            format!("must be one of: {}; got {:?}", choices.join(", "), text),
        ))
    }

    /// An environment value: any scalar, as written (`1`, `true`, `"x"`).
    pub fn env_value(&mut self, node: &Node, key: &str) -> Result<String> {
        self.record(key, node.pos);
        match &node.value {
            Value::Str(text) => Ok(text.clone()),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(node.text.clone()),
            _ => Err(self.type_error(node, key, "a string")),
        }
    }

    /// `{ NAME = "value", ... }` (the ferry.toml form).
    pub fn env_table(&mut self, node: &Node, key: &str) -> Result<BTreeMap<String, String>> {
        let mut env = BTreeMap::new();
        for entry in self.entries(node, key)? {
            let name_key = join(key, &entry.key);
            self.record(&name_key, entry.key_pos);
            let value = self.env_value(&entry.value, &name_key)?;
            env.insert(entry.key.clone(), value);
        }
        Ok(env)
    }

    /// Runs [`ServiceConfig::validate`] and turns its first problem (in file order) into
    /// an error at the line of its key. `renames` maps model keys to the keys this
    /// format spells differently (`run.port_env` is `run.network.env` in apprunner.yaml).
    pub fn check(&self, config: &ServiceConfig, renames: &[(&str, &str)]) -> Result<()> {
        let mut first: Option<(Pos, String, String)> = None;
        for (model_key, message) in config.validate() {
            let key = renames
                .iter()
                .find(|(model, _)| *model == model_key)
                .map_or(model_key, |(_, file_key)| (*file_key).to_string());
            let pos = self.position_of(&key);
            if first.as_ref().is_none_or(|(best, _, _)| pos < *best) {
                first = Some((pos, key, message));
            }
        }
        match first {
            Some((pos, key, message)) => {
                let text = format!("{key}: {message}");
                Err(self.error(pos, Some(&key), text))
            }
            None => Ok(()),
        }
    }

    /// Where `key` was set, else where its closest parent was, else the file's start
    /// (a problem with a default value, e.g. `scaling.max` below a raised `min`).
    fn position_of(&self, key: &str) -> Pos {
        let mut key = key;
        loop {
            if let Some(pos) = self.positions.get(key) {
                return *pos;
            }
            match key.rfind('.') {
                Some(dot) => key = &key[..dot],
                None => return Pos::START,
            }
        }
    }
}

/// `section.key`, or `key` at the top level.
pub(super) fn join(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_become_lines_and_character_columns() {
        let index = LineIndex::new("ab\nçd = 1\n");
        assert_eq!(index.pos(0), Pos { line: 1, column: 1 });
        assert_eq!(index.pos(3), Pos { line: 2, column: 1 });
        // 'ç' is two bytes but one column.
        assert_eq!(index.pos(5), Pos { line: 2, column: 2 });
        assert_eq!(index.pos(999), Pos { line: 3, column: 1 });
    }
}
