//! CVSS base scores from vector strings.
//!
//! - v3.0 / v3.1: the specification's base-score formula exactly, including each
//!   version's round-up function.
//! - v2: the specification's base equation.
//! - v4.0: an APPROXIMATION. The real v4.0 score comes from a table of macro-vector scores
//!   plus an interpolation step that is too long to carry here; instead ferry applies the
//!   v3.1 equations to v4.0's base metrics (AT folded into exploitability, UI:P/A mapped to
//!   graded weights, the subsequent-system impact treated like a scope change when it
//!   exceeds the vulnerable system's). The score is marked approximate; on the vectors
//!   checked in the tests it lands in the same severity band as the official calculator.

use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CvssVersion {
    V2,
    V3_0,
    V3_1,
    V4_0,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CvssScore {
    pub version: CvssVersion,
    pub vector: String,
    /// Base score, 0.0–10.0.
    pub score: f64,
    /// True for CVSS v4.0, whose score here is an approximation (see the module docs).
    pub approximate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CVSS vector {vector:?}: {reason}")]
pub struct CvssError {
    pub vector: String,
    pub reason: String,
}

fn metrics<'a>(body: &'a str, vector: &str) -> Result<HashMap<&'a str, &'a str>, CvssError> {
    let mut map = HashMap::new();
    for part in body.split('/').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(|| CvssError {
            vector: vector.to_string(),
            reason: format!("{part:?} is not METRIC:VALUE"),
        })?;
        if map.insert(key, value).is_some() {
            return Err(CvssError {
                vector: vector.to_string(),
                reason: format!("{key} given twice"),
            });
        }
    }
    Ok(map)
}

struct Lookup<'a> {
    map: HashMap<&'a str, &'a str>,
    vector: &'a str,
}

impl Lookup<'_> {
    fn weight(&self, key: &str, table: &[(&str, f64)]) -> Result<f64, CvssError> {
        let value = self.map.get(key).ok_or_else(|| CvssError {
            vector: self.vector.to_string(),
            reason: format!("missing metric {key}"),
        })?;
        table
            .iter()
            .find(|(v, _)| v == value)
            .map(|(_, w)| *w)
            .ok_or_else(|| CvssError {
                vector: self.vector.to_string(),
                reason: format!("{key}:{value} is not a valid value"),
            })
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.map.get(key).copied()
    }
}

/// Scores a vector string of any supported version (`CVSS:3.1/…`, `CVSS:4.0/…`, or a bare
/// v2 vector `AV:N/AC:L/Au:N/…`).
pub fn score(vector: &str) -> Result<CvssScore, CvssError> {
    let vector = vector.trim();
    let error = |reason: &str| CvssError {
        vector: vector.to_string(),
        reason: reason.to_string(),
    };
    let (version, body) = if let Some(body) = vector.strip_prefix("CVSS:3.1/") {
        (CvssVersion::V3_1, body)
    } else if let Some(body) = vector.strip_prefix("CVSS:3.0/") {
        (CvssVersion::V3_0, body)
    } else if let Some(body) = vector.strip_prefix("CVSS:4.0/") {
        (CvssVersion::V4_0, body)
    } else if vector.starts_with("CVSS:") {
        return Err(error("unsupported CVSS version"));
    } else {
        // v2 vectors have no prefix (some feeds wrap them in parentheses).
        (
            CvssVersion::V2,
            vector.trim_start_matches('(').trim_end_matches(')'),
        )
    };
    let lookup = Lookup {
        map: metrics(body, vector)?,
        vector,
    };
    let score = match version {
        CvssVersion::V2 => v2(&lookup)?,
        CvssVersion::V3_0 | CvssVersion::V3_1 => v3(&lookup, version)?,
        CvssVersion::V4_0 => v4_approximation(&lookup)?,
    };
    Ok(CvssScore {
        version,
        vector: vector.to_string(),
        score,
        approximate: version == CvssVersion::V4_0,
    })
}

/// CVSS v3.1 `Roundup`: the smallest one-decimal number ≥ the input, computed on integers
/// to avoid floating-point surprises (v3.1 spec, Appendix A).
fn roundup_v31(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// CVSS v3.0 round-up: plain ceiling to one decimal.
fn roundup_v30(x: f64) -> f64 {
    (x * 10.0).ceil() / 10.0
}

fn v3(m: &Lookup<'_>, version: CvssVersion) -> Result<f64, CvssError> {
    let changed = match m.value("S") {
        Some("U") => false,
        Some("C") => true,
        _ => {
            return Err(CvssError {
                vector: m.vector.to_string(),
                reason: "missing or invalid S".into(),
            })
        }
    };
    let av = m.weight("AV", &[("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)])?;
    let ac = m.weight("AC", &[("L", 0.77), ("H", 0.44)])?;
    let pr = if changed {
        m.weight("PR", &[("N", 0.85), ("L", 0.68), ("H", 0.5)])?
    } else {
        m.weight("PR", &[("N", 0.85), ("L", 0.62), ("H", 0.27)])?
    };
    let ui = m.weight("UI", &[("N", 0.85), ("R", 0.62)])?;
    let cia = [("H", 0.56), ("L", 0.22), ("N", 0.0)];
    let (c, i, a) = (
        m.weight("C", &cia)?,
        m.weight("I", &cia)?,
        m.weight("A", &cia)?,
    );
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let roundup = if version == CvssVersion::V3_0 {
        roundup_v30
    } else {
        roundup_v31
    };
    Ok(if changed {
        roundup((1.08 * (impact + exploitability)).min(10.0))
    } else {
        roundup((impact + exploitability).min(10.0))
    })
}

fn v2(m: &Lookup<'_>) -> Result<f64, CvssError> {
    let av = m.weight("AV", &[("L", 0.395), ("A", 0.646), ("N", 1.0)])?;
    let ac = m.weight("AC", &[("H", 0.35), ("M", 0.61), ("L", 0.71)])?;
    let au = m.weight("Au", &[("M", 0.45), ("S", 0.56), ("N", 0.704)])?;
    let cia = [("N", 0.0), ("P", 0.275), ("C", 0.660)];
    let (c, i, a) = (
        m.weight("C", &cia)?,
        m.weight("I", &cia)?,
        m.weight("A", &cia)?,
    );
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let exploitability = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    let base = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f;
    Ok(((base * 10.0).round() / 10.0).max(0.0))
}

fn v4_approximation(m: &Lookup<'_>) -> Result<f64, CvssError> {
    let av = m.weight("AV", &[("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)])?;
    let ac = m.weight("AC", &[("L", 0.77), ("H", 0.44)])?;
    let at = m.weight("AT", &[("N", 1.0), ("P", 0.8)])?;
    let pr = m.weight("PR", &[("N", 0.85), ("L", 0.62), ("H", 0.27)])?;
    let ui = m.weight("UI", &[("N", 0.85), ("P", 0.7), ("A", 0.55)])?;
    let cia = [("H", 0.56), ("L", 0.22), ("N", 0.0)];
    let vulnerable = 1.0
        - (1.0 - m.weight("VC", &cia)?)
            * (1.0 - m.weight("VI", &cia)?)
            * (1.0 - m.weight("VA", &cia)?);
    let subsequent = 1.0
        - (1.0 - m.weight("SC", &cia)?)
            * (1.0 - m.weight("SI", &cia)?)
            * (1.0 - m.weight("SA", &cia)?);
    let exploitability = 8.22 * av * ac * at * pr * ui;
    let (impact, changed) = if subsequent > vulnerable {
        (
            7.52 * (subsequent - 0.029) - 3.25 * (subsequent - 0.02).powi(15),
            true,
        )
    } else {
        (6.42 * vulnerable, false)
    };
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let raw = if changed {
        1.08 * (impact + exploitability)
    } else {
        impact + exploitability
    };
    Ok(roundup_v31(raw.min(10.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v31_scores_match_the_specification() {
        // Scores as published by NVD / the FIRST calculator for these vectors.
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0), // Log4Shell
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5), // Heartbleed (v3)
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1), // typical XSS
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N", 2.5),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:N", 3.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L/E:P/RL:O", 7.3), // temporal ignored
        ];
        for (vector, want) in cases {
            let s = score(vector).unwrap();
            assert!(
                (s.score - want).abs() < 1e-9,
                "{vector}: {} != {want}",
                s.score
            );
            assert!(!s.approximate);
        }
    }

    #[test]
    fn v2_scores() {
        let cases = [
            ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
            ("AV:N/AC:M/Au:N/C:P/I:N/A:N", 4.3),
            ("AV:L/AC:L/Au:N/C:N/I:N/A:N", 0.0),
            ("(AV:N/AC:L/Au:N/C:P/I:N/A:N)", 5.0),
        ];
        for (vector, want) in cases {
            let s = score(vector).unwrap();
            assert!(
                (s.score - want).abs() < 1e-9,
                "{vector}: {} != {want}",
                s.score
            );
        }
    }

    #[test]
    fn v4_approximation_lands_in_the_official_band() {
        // (vector, official FIRST v4.0 score)
        let cases = [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
                8.7,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
                6.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.1,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
        ];
        let band = |s: f64| crate::severity::Severity::from_cvss(s);
        for (vector, official) in cases {
            let s = score(vector).unwrap();
            assert!(s.approximate);
            assert_eq!(
                band(s.score),
                band(official),
                "{vector}: approx {} vs {official}",
                s.score
            );
        }
    }

    #[test]
    fn bad_vectors() {
        for bad in [
            "CVSS:3.1/AV:N/AC:L",
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:9.9/AV:N",
            "garbage",
            "",
        ] {
            assert!(score(bad).is_err(), "{bad}");
        }
    }
}
