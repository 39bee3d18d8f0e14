//! Credentials for private repositories over HTTP(S) (`ferry git-auth`): one username
//! and password (a forge's access token) per `scheme://host[:port]`, kept in
//! `<data>/git/credentials.json` (0600, replaced atomically), and handed to the git
//! commands that read a remote as an `Authorization` header scoped to that origin
//! (`http.<origin>/.extraHeader`, through `GIT_CONFIG_*` variables: never on a command
//! line, never in a URL ferry stores or shows). No credential helper is involved, so
//! git never rewrites or erases the file after a failed login.

use super::GitError;
use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Origins kept at most; the file is read whole.
const MAX_ENTRIES: usize = 1000;
/// Bytes of the file read at most.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 4096;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Entry {
    origin: String,
    username: String,
    password: String,
}

/// A stored credential as ferry shows it: the password never leaves the store.
pub use ferry_api::GitCredentialView as Stored;

/// The server's credential file. Writers take the lock; readers see either the old or
/// the new file (renamed into place).
pub struct CredentialStore {
    path: PathBuf,
    write: Mutex<()>,
}

/// What a git command that reads a remote gets: the header for the remote's origin,
/// if a credential is stored for it.
#[derive(Clone, Debug, Default)]
pub struct RemoteAuth {
    header: Option<(String, String)>,
}

impl RemoteAuth {
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the header as git configuration in `cmd`'s environment.
    pub(super) fn apply(&self, cmd: &mut tokio::process::Command) {
        if let Some((origin, header)) = &self.header {
            cmd.env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", format!("http.{origin}/.extraHeader"))
                .env("GIT_CONFIG_VALUE_0", header);
        }
    }

    pub fn is_some(&self) -> bool {
        self.header.is_some()
    }
}

/// `scheme://host[:port]` of an `http`/`https` URL, lower-cased, without a path; an
/// error names what is wrong. A URL carrying a password is refused: it would be stored
/// and shown with the service.
pub fn origin_of(url: &str) -> Result<String, GitError> {
    let invalid = |why: &str| GitError::Invalid(format!("{url:?}: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("expected http://host or https://host"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(invalid(
            "credentials apply to http:// and https:// remotes (ssh uses the server's keys)",
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid(
            "put the user name and password in `ferry git-auth`, not in the URL",
        ));
    }
    let valid_host = !authority.is_empty()
        && authority.len() <= 300
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b));
    if !valid_host {
        return Err(invalid("expected a host name, with an optional :port"));
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Whether `url` carries a password in its authority (`https://user:pass@host/…`).
pub fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// The origin of a URL whose authority carries a user (and maybe a password), with
/// them left out: for messages that must not repeat the password.
pub fn origin_without_userinfo(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    origin_of(&format!("{scheme}://{host}")).ok()
}

impl CredentialStore {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            write: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Vec<Entry>, GitError> {
        use std::io::Read as _;
        let file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err.into()),
        };
        let mut text = String::new();
        file.take(MAX_FILE_BYTES).read_to_string(&mut text)?;
        serde_json::from_str(&text).map_err(|err| {
            GitError::Invalid(format!(
                "the git credentials file {} is not valid ({err}); remove it and store them again",
                self.path.display()
            ))
        })
    }

    fn write_all(&self, entries: &[Entry]) -> Result<(), GitError> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        let text = serde_json::to_vec_pretty(entries)
            .map_err(|err| GitError::Invalid(format!("cannot encode credentials: {err}")))?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    /// Every stored origin with its user name.
    pub fn list(&self) -> Result<Vec<Stored>, GitError> {
        Ok(self
            .read()?
            .into_iter()
            .map(|e| Stored {
                origin: e.origin,
                username: e.username,
            })
            .collect())
    }

    /// Stores (or replaces) the credential of `url`'s origin.
    pub fn set(&self, url: &str, username: &str, password: &str) -> Result<Stored, GitError> {
        let origin = origin_of(url)?;
        let bad =
            |s: &str, max: usize| s.is_empty() || s.len() > max || s.chars().any(char::is_control);
        if bad(username, MAX_USERNAME) || username.contains(':') {
            return Err(GitError::Invalid(format!(
                "the user name must be 1 to {MAX_USERNAME} printable characters without ':'"
            )));
        }
        if bad(password, MAX_PASSWORD) {
            return Err(GitError::Invalid(format!(
                "the password must be 1 to {MAX_PASSWORD} printable characters"
            )));
        }
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = self.read()?;
        entries.retain(|e| e.origin != origin);
        if entries.len() >= MAX_ENTRIES {
            return Err(GitError::Invalid(format!(
                "at most {MAX_ENTRIES} git credentials are stored; remove one first"
            )));
        }
        entries.push(Entry {
            origin: origin.clone(),
            username: username.to_string(),
            password: password.to_string(),
        });
        entries.sort_by(|a, b| a.origin.cmp(&b.origin));
        self.write_all(&entries)?;
        Ok(Stored {
            origin,
            username: username.to_string(),
        })
    }

    /// Removes the credential of `url`'s origin; whether there was one.
    pub fn remove(&self, url: &str) -> Result<bool, GitError> {
        let origin = origin_of(url)?;
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = self.read()?;
        let before = entries.len();
        entries.retain(|e| e.origin != origin);
        if entries.len() == before {
            return Ok(false);
        }
        self.write_all(&entries)?;
        Ok(true)
    }

    /// What git needs to read `url`: its origin's credential as a Basic header, or
    /// nothing (not http(s), or nothing stored).
    pub fn auth_for(&self, url: &str) -> Result<RemoteAuth, GitError> {
        let Ok(origin) = origin_of(url) else {
            return Ok(RemoteAuth::none());
        };
        let entry = self.read()?.into_iter().find(|e| e.origin == origin);
        Ok(RemoteAuth {
            header: entry.map(|e| {
                let pair = format!("{}:{}", e.username, e.password);
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                (origin, format!("Authorization: Basic {encoded}"))
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert_eq!(
            origin_of("https://Git.Example.test/acme/shop.git").unwrap(),
            "https://git.example.test"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:7070").unwrap(),
            "http://127.0.0.1:7070"
        );
        for bad in [
            "ssh://git@host/x",
            "git.example.test",
            "https://user:pw@host/x",
            "https:///x",
            "https://ho st/",
        ] {
            assert!(origin_of(bad).is_err(), "{bad}");
        }
        assert!(has_password("https://user:tok@host/x.git"));
        assert!(!has_password("ssh://git@host/x.git"));
        assert!(!has_password("https://host/x@y"));
        assert_eq!(
            origin_without_userinfo("https://user:tok@Host.test/x.git").as_deref(),
            Some("https://host.test")
        );
    }

    #[test]
    fn credentials_round_trip_without_showing_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::new(dir.path().join("git/credentials.json"));
        assert!(store.list().unwrap().is_empty());
        assert!(!store.auth_for("https://h.test/x.git").unwrap().is_some());
        store
            .set("https://h.test/anything", "bot", "s3cret")
            .unwrap();
        store.set("https://h.test", "bot2", "other").unwrap();
        assert_eq!(
            store.list().unwrap(),
            [Stored {
                origin: "https://h.test".into(),
                username: "bot2".into()
            }]
        );
        let auth = store.auth_for("https://H.test/acme/shop.git").unwrap();
        let (origin, header) = auth.header.unwrap();
        assert_eq!(origin, "https://h.test");
        // base64("bot2:other")
        assert_eq!(header, "Authorization: Basic Ym90MjpvdGhlcg==");
        // Another origin (scheme or port) gets nothing.
        assert!(!store.auth_for("http://h.test/x").unwrap().is_some());
        assert!(!store.auth_for("https://h.test:8443/x").unwrap().is_some());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(store.remove("https://h.test").unwrap());
        assert!(!store.remove("https://h.test").unwrap());
        assert!(store.set("https://h.test", "a:b", "x").is_err());
        assert!(store.set("https://h.test", "a", "x\ny").is_err());
    }
}
