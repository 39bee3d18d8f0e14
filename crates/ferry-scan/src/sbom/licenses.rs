//! License strings as packages declare them → SPDX license expressions where they are
//! recognisable, so SBOM validators accept them; anything else becomes a
//! `LicenseRef-` with the original text kept.

/// Common SPDX license ids (canonical spelling). Not the whole list: an id missing
/// here is still kept, as a `LicenseRef-` carrying its text.
const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AFL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "APSL-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "BSL-1.0",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "curl",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.2",
    "FTL",
    "GFDL-1.2-only",
    "GFDL-1.2-or-later",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0-only",
    "GPL-1.0-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ICU",
    "IJG",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "libtiff",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "MS-PL",
    "NCSA",
    "OFL-1.1",
    "OpenSSL",
    "PHP-3.01",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "TCL",
    "Unicode-DFS-2016",
    "Unicode-3.0",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
];

/// Exceptions usable after `WITH`.
const SPDX_EXCEPTIONS: &[&str] = &[
    "Autoconf-exception-2.0",
    "Autoconf-exception-3.0",
    "Bison-exception-2.2",
    "Classpath-exception-2.0",
    "GCC-exception-2.0",
    "GCC-exception-3.1",
    "LLVM-exception",
    "OpenSSL-exception",
];

/// Names people write for common licenses.
const ALIASES: &[(&str, &str)] = &[
    ("apache 2.0", "Apache-2.0"),
    ("apache-2", "Apache-2.0"),
    ("apache license 2.0", "Apache-2.0"),
    ("apache license, version 2.0", "Apache-2.0"),
    ("apache software license", "Apache-2.0"),
    ("asl 2.0", "Apache-2.0"),
    ("mit license", "MIT"),
    ("the mit license", "MIT"),
    ("isc license", "ISC"),
    ("isc license (iscl)", "ISC"),
    ("bsd-3", "BSD-3-Clause"),
    ("new bsd license", "BSD-3-Clause"),
    ("mozilla public license 2.0 (mpl 2.0)", "MPL-2.0"),
    ("python software foundation license", "PSF-2.0"),
    ("gpl-2", "GPL-2.0-only"),
    ("gpl-2+", "GPL-2.0-or-later"),
    ("gpl-3", "GPL-3.0-only"),
    ("gpl-3+", "GPL-3.0-or-later"),
    ("lgpl-2.1", "LGPL-2.1-only"),
    ("lgpl-2.1+", "LGPL-2.1-or-later"),
    ("gpl-2.0", "GPL-2.0-only"),
    ("gpl-3.0", "GPL-3.0-only"),
    ("gpl-2.0+", "GPL-2.0-or-later"),
    ("gpl-3.0+", "GPL-3.0-or-later"),
    ("public domain", "LicenseRef-Public-Domain"),
];

fn canonical_id(token: &str) -> Option<&'static str> {
    let (base, plus) = match token.strip_suffix('+') {
        Some(b) => (b, true),
        None => (token, false),
    };
    let id = SPDX_IDS.iter().find(|id| id.eq_ignore_ascii_case(base))?;
    // `GPL-2.0+` style: the `+` operator only makes sense on bare ids.
    (!plus || !id.ends_with("-only") && !id.ends_with("-or-later")).then_some(*id)
}

/// The SPDX expression for a declared license, if it can be written as one.
pub fn to_spdx_expression(declared: &str) -> Option<String> {
    let text = declared.trim();
    if text.is_empty() {
        return None;
    }
    if let Some((_, id)) = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(text))
    {
        return Some((*id).to_string());
    }
    // Tokenise `(MIT OR Apache-2.0) AND GPL-2.0-only WITH Classpath-exception-2.0`.
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let mut out = Vec::new();
    let mut expect_operand = true;
    let mut after_with = false;
    let mut depth = 0i32;
    for token in spaced.split_whitespace() {
        match token {
            "(" if expect_operand => {
                depth += 1;
                out.push("(".to_string());
            }
            ")" if !expect_operand && depth > 0 => {
                depth -= 1;
                out.push(")".to_string());
            }
            t if !expect_operand
                && ["AND", "OR", "WITH"]
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(t)) =>
            {
                after_with = t.eq_ignore_ascii_case("WITH");
                expect_operand = true;
                out.push(t.to_ascii_uppercase());
            }
            t if expect_operand => {
                let id = if after_with {
                    SPDX_EXCEPTIONS
                        .iter()
                        .find(|e| e.eq_ignore_ascii_case(t))
                        .map(|e| e.to_string())
                } else if t.starts_with("LicenseRef-")
                    && t[11..]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                {
                    Some(t.to_string())
                } else {
                    canonical_id(t).map(|id| {
                        if t.ends_with('+') {
                            format!("{id}+")
                        } else {
                            id.to_string()
                        }
                    })
                };
                out.push(id?);
                expect_operand = false;
                after_with = false;
            }
            _ => return None,
        }
    }
    (!expect_operand && depth == 0).then(|| out.join(" ").replace("( ", "(").replace(" )", ")"))
}

/// `LicenseRef-<text>` with the characters SPDX allows.
pub fn license_ref(declared: &str) -> String {
    let cleaned: String = declared
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('-');
    format!(
        "LicenseRef-{}",
        if cleaned.is_empty() {
            "unknown"
        } else {
            cleaned
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_expressions() {
        assert_eq!(to_spdx_expression("MIT").as_deref(), Some("MIT"));
        assert_eq!(
            to_spdx_expression("apache-2.0").as_deref(),
            Some("Apache-2.0")
        );
        assert_eq!(
            to_spdx_expression("Apache 2.0").as_deref(),
            Some("Apache-2.0")
        );
        assert_eq!(
            to_spdx_expression("(MIT OR Apache-2.0) AND Zlib").as_deref(),
            Some("(MIT OR Apache-2.0) AND Zlib")
        );
        assert_eq!(
            to_spdx_expression("GPL-2.0-only WITH Classpath-exception-2.0").as_deref(),
            Some("GPL-2.0-only WITH Classpath-exception-2.0")
        );
        assert_eq!(
            to_spdx_expression("GPL-2+").as_deref(),
            Some("GPL-2.0-or-later")
        );
        assert_eq!(to_spdx_expression("Some Custom License"), None);
        assert_eq!(to_spdx_expression("MIT OR"), None);
        assert_eq!(license_ref("BSD License"), "LicenseRef-BSD-License");
    }
}
