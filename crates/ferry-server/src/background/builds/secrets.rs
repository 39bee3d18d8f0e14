//! Build secrets' values: the app names them (`[build] secrets`), the server holds
//! them — `FERRY_BUILD_SECRET_<NAME>` in its environment, else the file
//! `<data dir>/secrets/<NAME>` — so a value is never in the app's files, its config,
//! the store or a report; builds get them as variables and their logs are masked.
//! A BuildKit image build reads them from private files ([`SecretFiles`]) while its
//! steps run, so they are in no layer of the image.

use crate::data_dir::DataDir;
use ferry_build::BuildSecrets;
use ferry_types::config::read_app_file;
use std::io::Write as _;
use std::path::PathBuf;

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

/// Secrets' values as files of a private directory (owner-only), for BuildKit to read
/// when a step mounts them: removed with this value (start-up removes a crash's, a
/// `.tmp-*` entry of `builds/`).
pub struct SecretFiles {
    dir: PathBuf,
    /// Each secret's name and file.
    pub files: Vec<(String, PathBuf)>,
}

impl SecretFiles {
    /// Writes `secrets` under `dir` (which must not exist). Blocking.
    pub fn write(dir: PathBuf, secrets: &BuildSecrets) -> Result<Self, String> {
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        let failed = |err: std::io::Error| format!("cannot hand the build secrets over: {err}");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(failed)?;
        // From here on the directory goes when this value does, written or not.
        let mut written = Self {
            dir,
            files: Vec::new(),
        };
        for (name, value) in &secrets.values {
            let path = written.dir.join(name);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(failed)?;
            file.write_all(value.as_bytes()).map_err(failed)?;
            written.files.push((name.clone(), path));
        }
        Ok(written)
    }
}

impl Drop for SecretFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
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

    #[test]
    fn secret_files_are_private_and_removed_when_dropped() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = tempfile::tempdir().unwrap();
        let mut secrets = BuildSecrets::default();
        secrets.values.insert("TOKEN".into(), "t0ken".into());
        let dir = root.path().join(".tmp-secrets-x");
        let files = SecretFiles::write(dir.clone(), &secrets).unwrap();
        let (name, path) = &files.files[0];
        assert_eq!(name, "TOKEN");
        assert_eq!(std::fs::read_to_string(path).unwrap(), "t0ken");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(path)), (0o700, 0o600));
        drop(files);
        assert!(!dir.exists());
        // An existing directory is refused, and left alone.
        std::fs::create_dir(&dir).unwrap();
        assert!(SecretFiles::write(dir.clone(), &secrets).is_err());
        assert!(dir.exists());
    }
}
