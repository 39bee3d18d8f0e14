//! The operating system: `/etc/os-release` (or `/usr/lib/os-release`), with the older
//! family files as fallbacks (`alpine-release`, `debian_version`, `redhat-release`).

use crate::image::ImageFs;
use crate::package::OsInfo;

/// Detects the OS of an image; `None` for scratch or distroless-without-os-release.
pub fn detect_os(fs: &ImageFs, warnings: &mut Vec<String>) -> Option<OsInfo> {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if fs.stat(path).is_none() {
            continue;
        }
        match fs.read_limited(path, 64 * 1024) {
            Ok(bytes) => {
                if let Some(os) = parse_os_release(&String::from_utf8_lossy(&bytes)) {
                    return Some(os);
                }
                warnings.push(format!("{path}: no ID= line"));
            }
            Err(e) => warnings.push(e.to_string()),
        }
    }
    let small = |p: &str| -> Option<String> {
        fs.stat(p)?;
        fs.read_limited(p, 64 * 1024)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
    };
    if let Some(v) = small("/etc/alpine-release") {
        return Some(OsInfo {
            id: "alpine".into(),
            version_id: v,
            pretty_name: None,
        });
    }
    if let Some(text) = small("/etc/redhat-release").or_else(|| small("/etc/centos-release")) {
        return Some(parse_redhat_release(&text));
    }
    if let Some(v) = small("/etc/debian_version") {
        let version_id = match v.split('.').next() {
            Some(major) if major.chars().all(|c| c.is_ascii_digit()) && !major.is_empty() => {
                major.to_string()
            }
            _ => v,
        };
        return Some(OsInfo {
            id: "debian".into(),
            version_id,
            pretty_name: None,
        });
    }
    None
}

/// Parses `KEY=value` lines (values optionally quoted).
pub fn parse_os_release(text: &str) -> Option<OsInfo> {
    let mut id = None;
    let mut version_id = String::new();
    let mut pretty = None;
    for line in text.lines() {
        let Some((k, v)) = line.trim().split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        match k.trim() {
            "ID" => id = Some(v.to_ascii_lowercase()),
            "VERSION_ID" => version_id = v,
            "PRETTY_NAME" => pretty = Some(v),
            _ => {}
        }
    }
    Some(OsInfo {
        id: id.filter(|i| !i.is_empty())?,
        version_id,
        pretty_name: pretty,
    })
}

fn unquote(v: &str) -> String {
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v);
    v.replace("\\\"", "\"")
        .replace("\\$", "$")
        .replace("\\\\", "\\")
}

/// `Red Hat Enterprise Linux release 9.3 (Plow)` → rhel 9.3.
fn parse_redhat_release(text: &str) -> OsInfo {
    let lower = text.to_ascii_lowercase();
    let id = if lower.starts_with("red hat") {
        "rhel"
    } else if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("fedora") {
        "fedora"
    } else if lower.starts_with("rocky") {
        "rocky"
    } else if lower.starts_with("almalinux") {
        "almalinux"
    } else {
        "rhel"
    };
    let version_id = text
        .split_whitespace()
        .skip_while(|w| *w != "release")
        .nth(1)
        .unwrap_or("")
        .to_string();
    OsInfo {
        id: id.into(),
        version_id,
        pretty_name: Some(text.lines().next().unwrap_or("").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_release_and_family_files() {
        let os = parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        )
        .unwrap();
        assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
        assert_eq!(
            os.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert!(parse_os_release("NAME=x\n").is_none());
        let rh = parse_redhat_release("Red Hat Enterprise Linux release 9.3 (Plow)");
        assert_eq!((rh.id.as_str(), rh.version_id.as_str()), ("rhel", "9.3"));
        let c = parse_redhat_release("CentOS Linux release 7.9.2009 (Core)");
        assert_eq!(
            (c.id.as_str(), c.version_id.as_str()),
            ("centos", "7.9.2009")
        );
    }
}
