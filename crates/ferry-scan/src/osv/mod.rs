//! The OSV record model (ossf.github.io/osv-schema) and reading records from JSON.
//!
//! Only the fields matching and reports use are modelled; unknown fields are ignored, as
//! the schema allows. A record that breaks the schema where it matters (no `id` or
//! `modified`, an event with two keys, a field of the wrong type) is an [`OsvError`]
//! naming where it came from, the record id when known and the JSON path of the problem.

pub mod ecosystem;
pub mod import;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// One OSV record.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Vulnerability {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    pub id: String,
    /// RFC 3339; of two records with the same id the later `modified` wins.
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the record was withdrawn: it must not be matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub aliases: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub upstream: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub severity: Vec<SeverityScore>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub affected: Vec<Affected>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub references: Vec<Reference>,
    /// Kept for severity labels (GHSA's `severity`, distro urgencies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`…
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Affected {
    /// Absent only in records that describe a GIT range alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<AffectedPackage>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub severity: Vec<SeverityScore>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub ranges: Vec<Range>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct AffectedPackage {
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<Event>,
}

/// `affected[].ranges[].type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeKind {
    Semver,
    Ecosystem,
    Git,
    /// A type this version of the schema does not define; such ranges are skipped.
    Other(String),
}

impl<'de> Deserialize<'de> for RangeKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(match text.as_str() {
            "SEMVER" => RangeKind::Semver,
            "ECOSYSTEM" => RangeKind::Ecosystem,
            "GIT" => RangeKind::Git,
            _ => RangeKind::Other(text),
        })
    }
}

impl Serialize for RangeKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            RangeKind::Semver => "SEMVER",
            RangeKind::Ecosystem => "ECOSYSTEM",
            RangeKind::Git => "GIT",
            RangeKind::Other(other) => other,
        })
    }
}

/// One event of a range's timeline; the schema allows exactly one key per event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }

    fn key(&self) -> &'static str {
        match self {
            Event::Introduced(_) => "introduced",
            Event::Fixed(_) => "fixed",
            Event::LastAffected(_) => "last_affected",
            Event::Limit(_) => "limit",
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            introduced: Option<String>,
            fixed: Option<String>,
            last_affected: Option<String>,
            limit: Option<String>,
        }
        let raw = Raw::deserialize(deserializer)?;
        let mut events = [
            raw.introduced.map(Event::Introduced),
            raw.fixed.map(Event::Fixed),
            raw.last_affected.map(Event::LastAffected),
            raw.limit.map(Event::Limit),
        ]
        .into_iter()
        .flatten();
        match (events.next(), events.next()) {
            (Some(event), None) => Ok(event),
            (None, _) => Err(de::Error::custom(
                "event has none of introduced, fixed, last_affected, limit",
            )),
            (Some(a), Some(b)) => Err(de::Error::custom(format!(
                "event has both {} and {} (only one key is allowed)",
                a.key(),
                b.key()
            ))),
        }
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.key(), self.version())?;
        map.end()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub url: String,
}

/// `null` where a list is expected reads as an empty list (some feeds write it).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A record that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{origin}{}: {reason}", id.as_ref().map(|id| format!(" (record {id})")).unwrap_or_default())]
pub struct OsvError {
    /// File, zip entry or URL the record came from.
    pub origin: String,
    /// The record's id, when it could be read.
    pub id: Option<String>,
    pub reason: String,
}

impl Vulnerability {
    /// Parses one record from JSON text. `origin` names the source in errors.
    pub fn from_json(text: &[u8], origin: &str) -> Result<Vulnerability, OsvError> {
        let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| OsvError {
            origin: origin.to_string(),
            id: None,
            reason: format!("invalid JSON: {e}"),
        })?;
        Vulnerability::from_value(value, origin)
    }

    /// Parses one record from a JSON value and checks what matching relies on.
    pub fn from_value(value: serde_json::Value, origin: &str) -> Result<Vulnerability, OsvError> {
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let error = |reason: String| OsvError {
            origin: origin.to_string(),
            id: id.clone(),
            reason,
        };
        if !value.is_object() {
            return Err(error("a record must be a JSON object".into()));
        }
        let record: Vulnerability = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                error(inner.to_string())
            } else {
                error(format!("at {path}: {inner}"))
            }
        })?;
        if record.id.trim().is_empty() {
            return Err(error("empty id".into()));
        }
        parse_timestamp(&record.modified).map_err(|e| {
            error(format!(
                "modified {:?} is not an RFC 3339 time: {e}",
                record.modified
            ))
        })?;
        for (i, affected) in record.affected.iter().enumerate() {
            for (j, range) in affected.ranges.iter().enumerate() {
                if range.events.is_empty() {
                    return Err(error(format!("at affected[{i}].ranges[{j}]: no events")));
                }
                if !range
                    .events
                    .iter()
                    .any(|e| matches!(e, Event::Introduced(_)))
                {
                    return Err(error(format!(
                        "at affected[{i}].ranges[{j}]: no introduced event"
                    )));
                }
            }
        }
        Ok(record)
    }

    pub fn modified_at(&self) -> Option<OffsetDateTime> {
        parse_timestamp(&self.modified).ok()
    }

    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
    }

    /// A one-line title: the summary, else the first line of the details.
    pub fn title(&self) -> String {
        let text = self
            .summary
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                self.details
                    .as_deref()
                    .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
            })
            .unwrap_or("");
        text.trim().to_string()
    }

    /// The advisory's own page if it lists one, else its first reference.
    pub fn primary_url(&self) -> Option<&str> {
        self.references
            .iter()
            .find(|r| r.kind == "ADVISORY")
            .or_else(|| self.references.first())
            .map(|r| r.url.as_str())
    }
}

/// Parses an RFC 3339 time as OSV writes it (`2024-01-02T03:04:05Z`, fractional seconds
/// allowed).
pub fn parse_timestamp(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "schema_version": "1.6.0",
        "id": "GHSA-jfh8-c2jp-5v3q",
        "modified": "2024-02-01T12:00:00.123Z",
        "aliases": ["CVE-2021-44228"],
        "summary": "Remote code injection in Log4j",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}]}],
            "versions": null,
            "database_specific": {"anything": [1, 2]}
        }],
        "references": [{"type": "WEB", "url": "https://example.org/a"}, {"type": "ADVISORY", "url": "https://example.org/b"}],
        "unknown_field": true
    }"#;

    #[test]
    fn reads_a_record() {
        let v = Vulnerability::from_json(GOOD.as_bytes(), "test.json").unwrap();
        assert_eq!(v.id, "GHSA-jfh8-c2jp-5v3q");
        assert_eq!(
            v.affected[0].ranges[0].events[1],
            Event::Fixed("2.15.0".into())
        );
        assert_eq!(v.primary_url(), Some("https://example.org/b"));
        assert_eq!(v.title(), "Remote code injection in Log4j");
        assert!(v.modified_at().is_some());
        // Round trip through our own serialisation (what the database stores).
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(Vulnerability::from_json(text.as_bytes(), "x").unwrap(), v);
    }

    #[test]
    fn malformed_records_are_clear_errors() {
        let cases = [
            ("[1]", "must be a JSON object"),
            ("{", "invalid JSON"),
            (
                r#"{"modified": "2024-01-01T00:00:00Z"}"#,
                "missing field `id`",
            ),
            (r#"{"id": "X-1"}"#, "missing field `modified`"),
            (
                r#"{"id": "X-1", "modified": "yesterday"}"#,
                "not an RFC 3339 time",
            ),
            (
                r#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}]}]}"#,
                "both introduced and fixed",
            ),
            (
                r#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"ranges": [{"type": "SEMVER", "events": [{"fixed": "1.0.0"}]}]}]}"#,
                "no introduced event",
            ),
            (
                r#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"versions": "1.0"}]}"#,
                "affected[0].versions",
            ),
            (
                r#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"name": "x"}}]}"#,
                "ecosystem",
            ),
        ];
        for (text, want) in cases {
            let err = Vulnerability::from_json(text.as_bytes(), "dump.zip:X-1.json").unwrap_err();
            let message = err.to_string();
            assert!(message.contains(want), "{message} should mention {want}");
            assert!(message.starts_with("dump.zip:X-1.json"), "{message}");
        }
    }

    #[test]
    fn unknown_range_types_are_kept() {
        let text = r#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"ranges": [{"type": "NEWTYPE", "events": [{"introduced": "0"}]}]}]}"#;
        let v = Vulnerability::from_json(text.as_bytes(), "x").unwrap();
        assert_eq!(
            v.affected[0].ranges[0].kind,
            RangeKind::Other("NEWTYPE".into())
        );
    }
}
