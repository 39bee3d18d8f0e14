//! Where the vulnerability database lives by default:
//! `$FERRY_DATA_DIR/vulndb/osv.db`, else `$XDG_DATA_HOME/ferry/vulndb/osv.db`, else
//! `~/.local/share/ferry/vulndb/osv.db`.

use std::path::PathBuf;

/// The default database path from the process environment; `None` when no variable
/// gives a home for it.
pub fn default_db_path() -> Option<PathBuf> {
    default_db_path_from(|name| std::env::var_os(name).map(PathBuf::from))
}

/// [`default_db_path`] with the environment passed in (for tests).
pub fn default_db_path_from(env: impl Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|p| !p.as_os_str().is_empty());
    if let Some(data) = set("FERRY_DATA_DIR") {
        return Some(data.join("vulndb").join("osv.db"));
    }
    if let Some(xdg) = set("XDG_DATA_HOME") {
        return Some(xdg.join("ferry").join("vulndb").join("osv.db"));
    }
    set("HOME").map(|home| home.join(".local/share/ferry/vulndb/osv.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<PathBuf> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| PathBuf::from(v))
        }
    }

    #[test]
    fn precedence() {
        let all = [
            ("FERRY_DATA_DIR", "/data"),
            ("XDG_DATA_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            default_db_path_from(env(&all)).unwrap(),
            PathBuf::from("/data/vulndb/osv.db")
        );
        assert_eq!(
            default_db_path_from(env(&all[1..])).unwrap(),
            PathBuf::from("/xdg/ferry/vulndb/osv.db")
        );
        assert_eq!(
            default_db_path_from(env(&[("FERRY_DATA_DIR", ""), ("HOME", "/home/u")])).unwrap(),
            PathBuf::from("/home/u/.local/share/ferry/vulndb/osv.db")
        );
        assert_eq!(default_db_path_from(env(&[])), None);
    }
}
