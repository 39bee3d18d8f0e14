//! Go module versions: SemVer with a `v` prefix. Pseudo-versions
//! (`v0.0.0-20210101000000-abcdef123456`, `vX.Y.Z-pre.0.yyyymmddhhmmss-hash`,
//! `vX.Y.(Z+1)-0.yyyymmddhhmmss-hash`) are SemVer pre-releases built so that plain SemVer
//! precedence orders them correctly; `+incompatible` is build metadata and is ignored.
//! Go toolchain versions (`go1.21.0`, `go1.21rc2`, `go1.21`), which Go binaries record for
//! the standard library, are read as `1.21.0`, `1.21.0-rc.2`, `1.21.0`.

use super::semver::SemVersion;

pub fn parse(input: &str) -> Result<SemVersion, String> {
    let s = input.trim();
    if let Some(toolchain) = s.strip_prefix("go") {
        return SemVersion::parse(&toolchain_to_semver(toolchain));
    }
    if !s.starts_with('v') && s.starts_with(|c: char| c.is_ascii_digit()) {
        // OSV's Go ranges are SEMVER without the `v`; accept both spellings.
        return SemVersion::parse(s).or_else(|_| SemVersion::parse(&toolchain_to_semver(s)));
    }
    SemVersion::parse(s)
}

/// `1.21rc2` → `1.21.0-rc.2`, `1.21` → `1.21.0`, `1.20.3` unchanged.
fn toolchain_to_semver(v: &str) -> String {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (numbers, pre) = v.split_at(split);
    let mut parts: Vec<&str> = numbers.split('.').collect();
    while parts.len() < 3 {
        parts.push("0");
    }
    let core = parts.join(".");
    if pre.is_empty() {
        return core;
    }
    let digits_at = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
    let (word, n) = pre.split_at(digits_at);
    if n.is_empty() {
        format!("{core}-{word}")
    } else {
        format!("{core}-{word}.{n}")
    }
}

#[cfg(test)]
mod tests {
    use crate::version::Scheme;
    use std::cmp::Ordering::{self, *};

    fn cmp(a: &str, b: &str) -> Ordering {
        Scheme::Go.compare(a, b).unwrap()
    }

    #[test]
    fn pseudo_versions() {
        let chain = [
            "v0.0.0-20190101000000-aaaaaaaaaaaa",
            "v0.0.0-20210101000000-abcdef123456",
            "v0.0.0-20210102000000-000000000000",
            "v0.0.1",
            "v1.2.3",
            "v1.2.4-0.20210101000000-abcdef123456", // after v1.2.3, before v1.2.4
            "v1.2.4-pre",
            "v1.2.4-pre.0.20210101000000-abcdef123456", // after v1.2.4-pre
            "v1.2.4",
            "v2.0.0+incompatible",
            "v2.1.0",
        ];
        for (i, a) in chain.iter().enumerate() {
            for b in &chain[i + 1..] {
                assert_eq!(cmp(a, b), Less, "{a} < {b}");
                assert_eq!(cmp(b, a), Greater, "{b} > {a}");
            }
        }
    }

    #[test]
    fn spellings() {
        let equal = [
            ("v2.0.0+incompatible", "v2.0.0"),
            ("v1.2.3", "1.2.3"),
            ("go1.21.0", "1.21.0"),
            ("go1.21", "v1.21.0"),
            ("go1.21rc2", "1.21.0-rc.2"),
        ];
        for (a, b) in equal {
            assert_eq!(cmp(a, b), Equal, "{a} == {b}");
        }
        assert_eq!(cmp("go1.21rc2", "go1.21.0"), Less);
        assert_eq!(cmp("go1.20.14", "go1.21rc1"), Less);
        assert_eq!(cmp("go1.22.1", "1.22.0"), Greater);
    }

    #[test]
    fn invalid() {
        for bad in ["vx", "v1.2.3.4", "go", "master"] {
            assert!(Scheme::Go.parse(bad).is_err(), "{bad}");
        }
    }
}
