//! Build secrets' values: the app names them (`[build] secrets`), the server holds
//! them — `FERRY_BUILD_SECRET_<NAME>` in its environment, else the file
//! `<data dir>/secrets/<NAME>` — so a value is never in the app's files, its config,
//! the store or a report; builds get them as variables and their logs are masked.

use crate::data_dir::DataDir;
use ferry_build::BuildSecrets;
use ferry_types::config::read_app_file;

use ferry_types::BUILD_SECRET_ENV_PREFIX as ENV_PREFIX;
/// Largest secret file read.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// The values of `names`, or why one is missing.
pub fn resolve(data: &DataDir, names: &[String]) -> Result<BuildSecrets, String> {
    resolve_with(data, names, |name| std::env::var(name).ok())
}

fn resolve_with(
    data: &DataDir,
    names: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> Result<BuildSecrets, String> {
    let mut secrets = BuildSecrets::default();
    let dir = data.root().join("secrets");
    for name in names {
        let value = match env(&format!("{ENV_PREFIX}{name}")) {
            Some(value) => value,
            // Read like an app file: a regular file inside the directory, bounded.
            None => match read_app_file(&dir, name, MAX_SECRET_BYTES) {
                Ok(Some(bytes)) => String::from_utf8(bytes)
                    .map_err(|_| format!("build secret {name}: the file is not UTF-8"))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
                Ok(None) => {
                    return Err(format!(
                        "build secret {name} is not set on the server: set {ENV_PREFIX}{name} \
                         in ferry server's environment or write it to <data dir>/secrets/{name}"
                    ))
                }
                Err(err) => return Err(format!("build secret {name}: {err}")),
            },
        };
        if value.is_empty() {
            return Err(format!("build secret {name} is empty"));
        }
        secrets.values.insert(name.clone(), value);
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_first_then_the_file_else_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let data = DataDir::new(root.path());
        std::fs::create_dir_all(root.path().join("secrets")).unwrap();
        std::fs::write(root.path().join("secrets/FROM_FILE"), "file-value\n").unwrap();
        let env = |name: &str| (name == "FERRY_BUILD_SECRET_FROM_ENV").then(|| "env-value".into());
        let names = vec!["FROM_ENV".to_string(), "FROM_FILE".to_string()];
        let secrets = resolve_with(&data, &names, env).unwrap();
        assert_eq!(secrets.values["FROM_ENV"], "env-value");
        assert_eq!(secrets.values["FROM_FILE"], "file-value");
        let err = resolve_with(&data, &["MISSING".to_string()], env).unwrap_err();
        assert!(err.contains("FERRY_BUILD_SECRET_MISSING"), "{err}");
        assert!(!err.contains(&root.path().display().to_string()), "{err}");
    }
}
