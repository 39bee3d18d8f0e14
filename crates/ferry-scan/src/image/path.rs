//! Path rules for the merged view: every path is absolute, `/`-separated, has no `.`
//! or `..` components, and never leaves the image root.

/// Normalises a tar member name into an absolute in-image path (`/usr/bin/env`).
/// Returns `Err` with a reason when the name climbs above the root or is empty.
pub fn normalize_entry(name: &str) -> Result<String, &'static str> {
    if name.contains('\0') {
        return Err("contains a NUL byte");
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("climbs above the image root");
                }
            }
            p => parts.push(p),
        }
    }
    Ok(join(&parts))
}

/// Joins components into an absolute path (`/` for none).
pub fn join(parts: &[&str]) -> String {
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for p in parts {
        s.push('/');
        s.push_str(p);
    }
    s
}

/// Parent directory of an absolute normalised path (`/` for `/x` and `/`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Last component (`env` for `/usr/bin/env`).
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `dir/name` for an absolute normalised `dir`.
pub fn child(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The prefix every descendant of `dir` starts with.
pub fn subtree_prefix(dir: &str) -> String {
    if dir == "/" {
        "/".to_string()
    } else {
        format!("{dir}/")
    }
}

/// Whether a relative symlink target, read from `link`'s directory, climbs above the
/// root lexically (`/etc/x -> ../../../host`). Absolute targets are resolved inside the
/// root, as a container sees them, so they never climb.
pub fn relative_target_escapes(link: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth = parent(link).split('/').filter(|p| !p.is_empty()).count();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects_escapes() {
        assert_eq!(
            normalize_entry("./usr/bin/../lib/x").as_deref(),
            Ok("/usr/lib/x")
        );
        assert_eq!(
            normalize_entry("/etc//passwd").as_deref(),
            Ok("/etc/passwd")
        );
        assert_eq!(normalize_entry("./").as_deref(), Ok("/"));
        assert!(normalize_entry("../../etc/x").is_err());
        assert!(normalize_entry("a/../../x").is_err());
        assert!(normalize_entry("a\0b").is_err());
    }

    #[test]
    fn parents_and_escapes() {
        assert_eq!(parent("/usr/bin"), "/usr");
        assert_eq!(parent("/usr"), "/");
        assert_eq!(file_name("/usr/bin/env"), "env");
        assert!(relative_target_escapes("/etc/x", "../../host"));
        assert!(!relative_target_escapes("/etc/x", "../usr/x"));
        assert!(!relative_target_escapes("/etc/x", "/etc/shadow"));
    }
}
