//! Matching installed packages to OSV records: the schema's range evaluation with the
//! right comparator per ecosystem, and the scan pipeline from a package list to a
//! [`ScanReport`] (and, for the deploy gate, a [`GateDecision`]).
//!
//! Range semantics (OSV schema, "Evaluation"): a version is affected if it is listed in
//! `versions` or lies in any range. Within a range, events are sorted by version
//! (`introduced: "0"` first) and walked: `introduced ≤ v` opens, `fixed ≤ v` closes,
//! `last_affected < v` closes; `limit` events bound the range from above (`v < limit`
//! for some limit, or no limits at all). `GIT` ranges need the repository's commit graph
//! and are skipped (noted once per scan); ranges of a type the schema does not define are
//! skipped too. The fixed version reported is the first `fixed` event above the installed
//! version in each range that matched; a range closed only by `last_affected` (or not at
//! all) has no fix and the finding's status is `affected`.

mod scan;

pub use scan::{gate_packages, scan_packages, GateOutcome, Policy, ScanOptions};

use std::cmp::Ordering;

use crate::osv::{Affected, Event, Range, RangeKind};
use crate::version::{Scheme, Version, VersionError};

/// How a package version relates to one `affected` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeMatch {
    NotAffected,
    /// Affected; `fixed` lists versions that fix it (empty: no fix known).
    Affected {
        fixed: Vec<String>,
    },
}

/// Things worth telling the user about one evaluation (bad versions in a record…).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchNotes {
    pub git_ranges_skipped: usize,
    pub problems: Vec<String>,
}

/// One event with its version parsed (`None` for `introduced: "0"`).
struct ParsedEvent<'a> {
    event: &'a Event,
    version: Option<Version>,
}

fn cmp_opt(a: &Option<Version>, b: &Option<Version>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => a.cmp(b),
    }
}

/// Evaluates one range for `installed`; `Err` when a version in it cannot be parsed.
fn evaluate_range(
    range: &Range,
    scheme: Scheme,
    installed: &Version,
) -> Result<RangeMatch, VersionError> {
    let mut events = Vec::with_capacity(range.events.len());
    for event in &range.events {
        let version = match event {
            Event::Introduced(v) if v.trim() == "0" => None,
            Event::Limit(v) if v.trim() == "*" => None,
            _ => Some(scheme.parse(event.version())?),
        };
        events.push(ParsedEvent { event, version });
    }
    // Limits: affected only below some limit (an explicit "*" or none means unbounded).
    let limits: Vec<&ParsedEvent<'_>> = events
        .iter()
        .filter(|e| matches!(e.event, Event::Limit(_)))
        .collect();
    if !limits.is_empty() {
        let below_some = limits.iter().any(|l| match &l.version {
            None => true, // "*"
            Some(limit) => installed < limit,
        });
        if !below_some {
            return Ok(RangeMatch::NotAffected);
        }
    }
    // Stable sort: events at the same version keep the record's order.
    events.sort_by(|a, b| cmp_opt(&a.version, &b.version));
    let mut vulnerable = false;
    for e in &events {
        let at_or_below = |v: &Option<Version>| v.as_ref().is_none_or(|v| v <= installed);
        match e.event {
            Event::Introduced(_) if at_or_below(&e.version) => vulnerable = true,
            Event::Fixed(_) if at_or_below(&e.version) => vulnerable = false,
            Event::LastAffected(_) if e.version.as_ref().is_some_and(|v| v < installed) => {
                vulnerable = false
            }
            _ => {}
        }
    }
    if !vulnerable {
        return Ok(RangeMatch::NotAffected);
    }
    // The interval that holds `installed` ends at the next fixed or last_affected event.
    let closing = events.iter().find(|e| {
        matches!(e.event, Event::Fixed(_) | Event::LastAffected(_))
            && e.version.as_ref().is_some_and(|v| v > installed)
    });
    let fixed = match closing.map(|e| e.event) {
        Some(Event::Fixed(v)) => vec![v.trim().to_string()],
        _ => Vec::new(),
    };
    Ok(RangeMatch::Affected { fixed })
}

/// The scheme for one range of an entry in `ecosystem`: `SEMVER` ranges use SemVer (Go's
/// flavour for the Go ecosystem), `ECOSYSTEM` ranges the ecosystem's own ordering.
fn range_scheme(range: &Range, ecosystem: &str) -> Option<Scheme> {
    let ecosystem_scheme = crate::osv::ecosystem::scheme(ecosystem);
    match range.kind {
        RangeKind::Semver => Some(if ecosystem_scheme == Some(Scheme::Go) {
            Scheme::Go
        } else {
            Scheme::Semver
        }),
        RangeKind::Ecosystem => ecosystem_scheme,
        RangeKind::Git | RangeKind::Other(_) => None,
    }
}

/// Decides whether `installed` is affected by one `affected` entry of record `record_id`.
/// Problems (unparseable versions in the record, unknown range types) are added to
/// `notes` and the range concerned is skipped; the installed version itself not parsing
/// is an error for the caller to report once per package.
pub fn match_affected(
    record_id: &str,
    affected: &Affected,
    installed: &str,
    installed_scheme: Scheme,
    notes: &mut MatchNotes,
) -> Result<RangeMatch, VersionError> {
    let ecosystem = affected
        .package
        .as_ref()
        .map(|p| p.ecosystem.as_str())
        .unwrap_or("");
    let installed_parsed = installed_scheme.parse(installed)?;
    let mut hit = false;
    let mut fixed: Vec<String> = Vec::new();
    let mut parsed_by_scheme: Vec<(Scheme, Version)> =
        vec![(installed_scheme, installed_parsed.clone())];

    for range in &affected.ranges {
        let Some(scheme) = range_scheme(range, ecosystem) else {
            match &range.kind {
                RangeKind::Git => notes.git_ranges_skipped += 1,
                RangeKind::Other(kind) => notes.problems.push(format!("{record_id}: range type {kind:?} is not supported; skipped")),
                _ => notes.problems.push(format!(
                    "{record_id}: no version ordering for ecosystem {ecosystem:?}; its ECOSYSTEM ranges are skipped"
                )),
            }
            continue;
        };
        let installed_here = match parsed_by_scheme.iter().find(|(s, _)| *s == scheme) {
            Some((_, v)) => v.clone(),
            None => match scheme.parse(installed) {
                Ok(v) => {
                    parsed_by_scheme.push((scheme, v.clone()));
                    v
                }
                Err(e) => {
                    notes
                        .problems
                        .push(format!("{record_id}: installed version: {e}"));
                    continue;
                }
            },
        };
        match evaluate_range(range, scheme, &installed_here) {
            Ok(RangeMatch::Affected { fixed: f }) => {
                hit = true;
                fixed.extend(f);
            }
            Ok(RangeMatch::NotAffected) => {}
            Err(e) => notes
                .problems
                .push(format!("{record_id}: {e}; range skipped")),
        }
    }

    if !hit {
        let listed = affected.versions.iter().any(|v| {
            v.trim() == installed.trim()
                || installed_scheme
                    .parse(v)
                    .is_ok_and(|v| v == installed_parsed)
        });
        if !listed {
            return Ok(RangeMatch::NotAffected);
        }
        // Listed explicitly: take the lowest fix above the installed version, if any.
        let mut candidates: Vec<(Version, &str)> = affected
            .ranges
            .iter()
            .filter(|r| range_scheme(r, ecosystem) == Some(installed_scheme))
            .flat_map(|r| r.events.iter())
            .filter_map(|e| match e {
                Event::Fixed(v) => installed_scheme
                    .parse(v)
                    .ok()
                    .filter(|p| *p > installed_parsed)
                    .map(|p| (p, v.as_str())),
                _ => None,
            })
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(RangeMatch::Affected {
            fixed: candidates
                .first()
                .map(|(_, v)| v.trim().to_string())
                .into_iter()
                .collect(),
        });
    }
    fixed.dedup();
    // Several branches: list each fix once, lowest first.
    let mut with_versions: Vec<(Option<Version>, String)> = fixed
        .into_iter()
        .map(|f| (installed_scheme.parse(&f).ok(), f))
        .collect();
    with_versions.sort_by(|a, b| cmp_opt(&a.0, &b.0).then_with(|| a.1.cmp(&b.1)));
    with_versions.dedup_by(|a, b| a.1 == b.1);
    Ok(RangeMatch::Affected {
        fixed: with_versions.into_iter().map(|(_, f)| f).collect(),
    })
}

#[cfg(test)]
mod tests;
