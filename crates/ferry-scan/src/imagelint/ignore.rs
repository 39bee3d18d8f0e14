//! `.dockleignore`: one check id per line; blank lines and `#` comments skipped.

use std::path::Path;

/// The file Dockle reads from the current directory.
pub const DOCKLE_IGNORE_FILE: &str = ".dockleignore";

/// The ids an ignore file lists, and warnings (naming `file:line`) for lines that
/// name no known check; those ids are kept, as Dockle keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreList {
    pub ids: Vec<String>,
    pub warnings: Vec<String>,
}

/// Parses the text of an ignore file; `file` names it in warnings. Text after the id
/// on the same line (`CIS-DI-0001  # why`) is treated as a comment.
pub fn parse(text: &str, file: &str) -> IgnoreList {
    let mut list = IgnoreList::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id = line.split_whitespace().next().unwrap_or(line);
        if super::check(id).is_none() {
            list.warnings.push(format!(
                "{file}:{}: {id:?} is not an image-lint check id",
                index + 1
            ));
        }
        list.ids.push(id.to_string());
    }
    list
}

/// Reads an ignore file; `Ok(None)` when it does not exist.
pub fn load(path: &Path) -> Result<Option<IgnoreList>, std::io::Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(parse(
            &String::from_utf8_lossy(&bytes),
            &path.display().to_string(),
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_comments_and_unknown_lines() {
        let list = parse(
            "# run nginx as root\nCIS-DI-0001\n\n  DKL-DI-0006   # pinned elsewhere\nNOT-A-CHECK\n",
            ".dockleignore",
        );
        assert_eq!(list.ids, vec!["CIS-DI-0001", "DKL-DI-0006", "NOT-A-CHECK"]);
        assert_eq!(list.warnings.len(), 1);
        assert!(
            list.warnings[0].starts_with(".dockleignore:5:"),
            "{:?}",
            list.warnings
        );
    }

    #[test]
    fn missing_file_is_none() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(load(&tmp.path().join(DOCKLE_IGNORE_FILE)).unwrap(), None);
        std::fs::write(tmp.path().join(DOCKLE_IGNORE_FILE), b"CIS-DI-0005\n\xff\n").unwrap();
        let list = load(&tmp.path().join(DOCKLE_IGNORE_FILE)).unwrap().unwrap();
        assert_eq!(list.ids[0], "CIS-DI-0005");
    }
}
