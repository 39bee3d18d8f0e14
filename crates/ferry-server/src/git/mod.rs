//! Git, run as a subprocess (`git` on the PATH): each service's bare repository under
//! `<data dir>/git/<service>.git` (ferry's remote for pushes, and the cache fetches
//! from the followed URL land in), reading a branch head, fetching, exporting a
//! commit's tree (one sub-directory for monorepos) as the `.tar.gz` an upload would
//! be, and whether a directory changed between two commits. Every command runs with a
//! timeout in its own process group (killed on timeout or drop), never prompts
//! (`GIT_TERMINAL_PROMPT=0`), and its output is read up to a bound. `http.rs` serves
//! the repositories over smart HTTP with `git http-backend`.

pub mod credentials;
pub mod http;

use credentials::RemoteAuth;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// How long a fetch or `ls-remote` of a remote repository may take.
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a local command (rev-parse, diff, config) may take.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(60);
/// Output read from a command; the rest is discarded.
const MAX_OUTPUT: usize = 1024 * 1024;
/// Error output kept for messages.
const MAX_STDERR: usize = 16 * 1024;

/// The hook git runs when a push arrives, before any ref moves: it hands the refs to
/// the ferry binary that serves the push (`ferry git-hook`), which builds and rolls
/// out the followed branch's new head while streaming both into the push's output,
/// and exits non-zero (git then rejects the push, the ref stays) when either fails.
/// Without ferry's variables (a push to the directory by other means) it accepts.
const PRE_RECEIVE: &str = "#!/bin/sh\n\
# Written by ferry: builds and deploys what is pushed, streaming the build into\n\
# `git push`'s output (as \"remote:\" lines); a failed build or rollout rejects the push.\n\
[ -n \"$FERRY_HOOK_PROGRAM\" ] || exit 0\n\
exec \"$FERRY_HOOK_PROGRAM\" git-hook\n";

/// The prefix git gives a push's quarantine directory inside `objects/`
/// (`tmp_objdir-incoming-XXXXXX`, see `git help git-receive-pack`).
const QUARANTINE_PREFIX: &str = "tmp_objdir-incoming-";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git (is it installed?): {0}")]
    Spawn(std::io::Error),
    #[error("git {what} timed out after {}s", timeout.as_secs())]
    Timeout { what: String, timeout: Duration },
    #[error("git {what} failed: {stderr}")]
    Failed { what: String, stderr: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a command printed.
struct Output {
    stdout: String,
    success: bool,
    code: Option<i32>,
    stderr: String,
}

/// A git command with ferry's environment: no prompts, no askpass, ssh in batch mode,
/// no pager, its own process group.
fn command(git_dir: Option<&Path>) -> Command {
    let mut cmd = Command::new("git");
    if let Some(dir) = git_dir {
        cmd.arg("--git-dir").arg(dir);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        .env("GIT_PAGER", "cat")
        // Only these transports: never `ext::` (runs commands) or other helpers.
        .env("GIT_ALLOW_PROTOCOL", "https:http:ssh:git:file")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        .env_remove("GIT_QUARANTINE_PATH")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .process_group(0);
    cmd
}

/// Runs `cmd` to its end (or its timeout), reading bounded output.
async fn run(mut cmd: Command, what: &str, timeout: Duration) -> Result<Output, GitError> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(GitError::Spawn)?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let work = async {
        let (out, err) = tokio::join!(
            read_bounded(stdout, MAX_OUTPUT),
            read_bounded(stderr, MAX_STDERR)
        );
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((out, err, status))
    };
    let (stdout, stderr, status) = match tokio::time::timeout(timeout, work).await {
        Ok(result) => result?,
        Err(_) => {
            // The whole group: git's helpers (remote-https, ssh) go with it.
            if let Some(pid) = child.id() {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            return Err(GitError::Timeout {
                what: what.to_string(),
                timeout,
            });
        }
    };
    Ok(Output {
        stdout,
        success: status.success(),
        code: status.code(),
        stderr,
    })
}

/// Reads up to `limit` bytes, then drains (so the child never blocks on a full pipe).
async fn read_bounded<R: tokio::io::AsyncRead + Unpin>(reader: Option<R>, limit: usize) -> String {
    let Some(mut reader) = reader else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

async fn checked(cmd: Command, what: &str, timeout: Duration) -> Result<String, GitError> {
    let output = run(cmd, what, timeout).await?;
    if !output.success {
        return Err(GitError::Failed {
            what: what.to_string(),
            stderr: last_lines(&output.stderr),
        });
    }
    Ok(output.stdout)
}

/// The last few lines of git's error output, without its "fatal: " noise doubled.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(4);
    lines[start..].join("; ")
}

/// A branch name git would accept, that cannot be read as an option.
pub fn check_branch(branch: &str) -> Result<(), GitError> {
    let bad = branch.is_empty()
        || branch.len() > 200
        || branch.starts_with('-')
        || branch.starts_with('/')
        || branch.ends_with('/')
        || branch.ends_with(".lock")
        || branch.contains("..")
        || branch.contains("@{")
        || branch.contains("//")
        || branch
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c));
    if bad {
        return Err(GitError::Invalid(format!(
            "--branch {branch:?} is not a valid branch name"
        )));
    }
    Ok(())
}

/// A repository URL or path that git cannot take as an option.
pub fn check_url(url: &str) -> Result<(), GitError> {
    let transport_syntax = url
        .split_once("::")
        .is_some_and(|(before, _)| !before.contains('/'));
    if url.trim().is_empty()
        || url.starts_with('-')
        || url.len() > 2048
        || url.contains('\n')
        || transport_syntax
    {
        return Err(GitError::Invalid(format!(
            "--git {url:?} is not a repository URL"
        )));
    }
    if credentials::has_password(url) {
        return Err(GitError::Invalid(format!(
            "--git: the URL carries a password, which ferry would store and show with the \
             service; store it with `ferry git-auth {} --username USER --password-stdin` and \
             deploy the URL without it",
            credentials::origin_without_userinfo(url).unwrap_or_else(|| "URL".into())
        )));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        if !matches!(scheme, "https" | "http" | "ssh" | "git" | "file") {
            return Err(GitError::Invalid(format!(
                "--git {url:?}: unsupported scheme {scheme:?} (https, http, ssh, git or file)"
            )));
        }
    }
    Ok(())
}

/// A sub-directory inside the repository: relative, no `..`, normalised (no leading,
/// trailing or doubled slashes). `None` for the root.
pub fn normalize_subdir(dir: &str) -> Result<Option<String>, GitError> {
    let parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts
        .iter()
        .any(|p| *p == ".." || p.chars().any(char::is_control))
        || dir.len() > 1024
    {
        return Err(GitError::Invalid(format!(
            "--dir {dir:?}: expected a directory inside the repository"
        )));
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// A full commit sha as git prints it.
pub fn is_sha(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// git's message when a remote asked for credentials, with what to do about it.
fn with_auth_hint(stderr: String, url: &str, auth: &RemoteAuth) -> String {
    let asked = [
        "could not read Username",
        "Authentication failed",
        "terminal prompts disabled",
    ]
    .iter()
    .any(|needle| stderr.contains(needle));
    let Ok(origin) = credentials::origin_of(url) else {
        return stderr;
    };
    match (asked, auth.is_some()) {
        (true, false) => format!(
            "{}: the repository needs credentials; store them with `ferry git-auth {origin} \
             --username USER --password-stdin` (a forge access token as the password)",
            stderr.trim_end()
        ),
        (true, true) => format!(
            "{}: the credentials stored for {origin} were refused; replace them with \
             `ferry git-auth {origin} --username USER --password-stdin`",
            stderr.trim_end()
        ),
        _ => stderr,
    }
}

/// One service's bare repository.
#[derive(Clone, Debug)]
pub struct Repo {
    pub path: PathBuf,
    /// A push's quarantine directory: objects are read from it first, then from the
    /// repository (see [`Repo::in_quarantine`]).
    quarantine: Option<PathBuf>,
}

/// Where a service's repository lives (and what `/git/<service>.git` serves).
pub fn repo_path(root: &Path, service: &str) -> PathBuf {
    root.join(format!("{service}.git"))
}

/// The ref a fetch from the followed URL updates (pushes update `refs/heads/…`).
const UPSTREAM_REF: &str = "refs/ferry/upstream";

impl Repo {
    /// Creates the bare repository if needed and (re)writes what ferry relies on:
    /// receive-pack enabled over HTTP, non-fast-forward pushes allowed (a force push
    /// deploys what was pushed), and the pre-receive hook (replacing the post-receive
    /// hook of older repositories).
    pub async fn ensure(path: PathBuf) -> Result<Self, GitError> {
        let repo = Self {
            path,
            quarantine: None,
        };
        if !repo.path.join("HEAD").exists() {
            if let Some(parent) = repo.path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            let mut cmd = command(None);
            cmd.args(["init", "--bare", "--quiet"]).arg(&repo.path);
            checked(cmd, "init", LOCAL_TIMEOUT).await?;
        }
        for (key, value) in [
            ("http.receivepack", "true"),
            ("receive.denyNonFastForwards", "false"),
            ("receive.denyDeletes", "true"),
            ("core.logAllRefUpdates", "false"),
        ] {
            let mut cmd = repo.git();
            cmd.args(["config", key, value]);
            checked(cmd, "config", LOCAL_TIMEOUT).await?;
        }
        let hooks = repo.path.join("hooks");
        tokio::fs::create_dir_all(&hooks).await?;
        // Repositories made before pushes were checked built after the ref moved.
        match tokio::fs::remove_file(hooks.join("post-receive")).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
            _ => {}
        }
        let hook = hooks.join("pre-receive");
        tokio::fs::write(&hook, PRE_RECEIVE).await?;
        {
            use std::os::unix::fs::PermissionsExt;
            tokio::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).await?;
        }
        Ok(repo)
    }

    /// A git command on this repository (reading a push's quarantine first, if any).
    fn git(&self) -> Command {
        let mut cmd = command(Some(&self.path));
        if let Some(quarantine) = &self.quarantine {
            // What git gives a pre-receive hook: new objects from the quarantine, the
            // rest from the repository. Only reads run so (git refuses ref updates
            // from quarantine, and ferry makes none there).
            cmd.env("GIT_OBJECT_DIRECTORY", quarantine).env(
                "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                self.path.join("objects"),
            );
        }
        cmd
    }

    /// This repository seen from inside a push's quarantine (`GIT_QUARANTINE_PATH` of
    /// its `pre-receive` hook), so a commit that is not yet in the repository can be
    /// archived and compared. Only a `tmp_objdir-incoming-*` directory directly under
    /// this repository's `objects/` is accepted: the path comes over the API.
    pub fn in_quarantine(&self, dir: &Path) -> Result<Self, GitError> {
        let invalid = || {
            GitError::Invalid(format!(
                "{} is not a push quarantine of this repository",
                dir.display()
            ))
        };
        let real = std::fs::canonicalize(dir).map_err(|_| invalid())?;
        let objects = std::fs::canonicalize(self.path.join("objects"))?;
        let named = real
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(QUARANTINE_PREFIX));
        if !named || real.parent() != Some(objects.as_path()) || !real.is_dir() {
            return Err(invalid());
        }
        Ok(Self {
            path: self.path.clone(),
            quarantine: Some(real),
        })
    }

    /// Fetches `branch` of `url` (into ferry's upstream ref) and returns its head.
    pub async fn fetch(
        &self,
        url: &str,
        branch: &str,
        auth: &RemoteAuth,
    ) -> Result<String, GitError> {
        check_url(url)?;
        check_branch(branch)?;
        let mut cmd = self.git();
        auth.apply(&mut cmd);
        cmd.args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--",
        ])
        .arg(url)
        .arg(format!("+refs/heads/{branch}:{UPSTREAM_REF}"));
        checked(cmd, "fetch", REMOTE_TIMEOUT)
            .await
            .map_err(|err| match err {
                GitError::Failed { stderr, .. } => GitError::Failed {
                    what: format!("fetch of branch {branch} from {url}"),
                    stderr: with_auth_hint(stderr, url, auth),
                },
                other => other,
            })?;
        self.resolve(UPSTREAM_REF)
            .await?
            .ok_or_else(|| GitError::Invalid(format!("{url} has no branch {branch}")))
    }

    /// The head of `branch` at `url` without fetching (`git ls-remote`): what a poll
    /// compares with the head last acted on before fetching anything.
    pub async fn remote_head(
        url: &str,
        branch: &str,
        auth: &RemoteAuth,
    ) -> Result<Option<String>, GitError> {
        check_url(url)?;
        check_branch(branch)?;
        let mut cmd = command(None);
        auth.apply(&mut cmd);
        cmd.args(["ls-remote", "--heads", "--"])
            .arg(url)
            .arg(format!("refs/heads/{branch}"));
        let out = checked(cmd, &format!("ls-remote of {url}"), REMOTE_TIMEOUT)
            .await
            .map_err(|err| match err {
                GitError::Failed { what, stderr } => GitError::Failed {
                    what,
                    stderr: with_auth_hint(stderr, url, auth),
                },
                other => other,
            })?;
        let wanted = format!("refs/heads/{branch}");
        Ok(out.lines().find_map(|line| {
            let (sha, name) = line.split_once('\t')?;
            (name == wanted && is_sha(sha)).then(|| sha.to_string())
        }))
    }

    /// Makes `branch` the repository's default branch and, if it does not exist yet,
    /// starts it at `head`: ferry's remote then holds the followed branch, so a first
    /// `git push ferry main` is a fast-forward and a clone from it checks it out.
    pub async fn adopt_branch(&self, branch: &str, head: &str) -> Result<(), GitError> {
        check_branch(branch)?;
        let mut cmd = self.git();
        cmd.args(["symbolic-ref", "HEAD"])
            .arg(format!("refs/heads/{branch}"));
        checked(cmd, "symbolic-ref", LOCAL_TIMEOUT).await?;
        if self.branch_head(branch).await?.is_none() && is_sha(head) {
            // The empty old value: only if the branch still does not exist.
            let mut cmd = self.git();
            cmd.args(["update-ref", &format!("refs/heads/{branch}"), head, ""]);
            checked(cmd, "update-ref", LOCAL_TIMEOUT).await?;
        }
        Ok(())
    }

    /// The commit `reference` names, if it exists.
    pub async fn resolve(&self, reference: &str) -> Result<Option<String>, GitError> {
        let mut cmd = self.git();
        cmd.args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(format!("{reference}^{{commit}}"));
        let output = run(cmd, "rev-parse", LOCAL_TIMEOUT).await?;
        let sha = output.stdout.trim();
        Ok((output.success && is_sha(sha)).then(|| sha.to_string()))
    }

    /// The head of `branch` pushed to this repository.
    pub async fn branch_head(&self, branch: &str) -> Result<Option<String>, GitError> {
        check_branch(branch)?;
        self.resolve(&format!("refs/heads/{branch}")).await
    }

    /// Whether anything under `subdir` differs between two commits (`true` when it
    /// cannot tell, e.g. `old` is not in the repository any more).
    pub async fn changed_under(&self, old: &str, new: &str, subdir: &str) -> bool {
        if !is_sha(old) || !is_sha(new) {
            return true;
        }
        let mut cmd = self.git();
        cmd.args(["diff", "--quiet", old, new, "--", subdir]);
        match run(cmd, "diff", LOCAL_TIMEOUT).await {
            Ok(output) => output.code != Some(0),
            Err(_) => true,
        }
    }

    /// Streams the tree of `commit` (only `subdir` when given) as a `.tar.gz`; the
    /// caller stores it like an upload. The child is killed when the stream is dropped.
    pub fn archive(&self, commit: &str, subdir: Option<&str>) -> Result<ArchiveStream, GitError> {
        if !is_sha(commit) {
            return Err(GitError::Invalid(format!("not a commit: {commit:?}")));
        }
        let tree = match subdir {
            Some(dir) => format!("{commit}:{dir}"),
            None => commit.to_string(),
        };
        let mut cmd = self.git();
        cmd.args(["archive", "--format=tar.gz", "--end-of-options", &tree])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(GitError::Spawn)?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| GitError::Invalid("git archive has no output pipe".into()))?;
        let stderr = child.stderr.take();
        Ok(ArchiveStream {
            child,
            stdout,
            stderr: tokio::spawn(read_bounded(stderr, MAX_STDERR)),
        })
    }
}

/// A running `git archive`: read `stdout`, then [`ArchiveStream::finish`].
pub struct ArchiveStream {
    child: tokio::process::Child,
    pub stdout: tokio::process::ChildStdout,
    stderr: tokio::task::JoinHandle<String>,
}

impl ArchiveStream {
    /// Waits for git and says whether the archive is complete.
    pub async fn finish(mut self) -> Result<(), GitError> {
        let status = tokio::time::timeout(LOCAL_TIMEOUT, self.child.wait())
            .await
            .map_err(|_| GitError::Timeout {
                what: "archive".into(),
                timeout: LOCAL_TIMEOUT,
            })??;
        let stderr = self.stderr.await.unwrap_or_default();
        if !status.success() {
            return Err(GitError::Failed {
                what: "archive".into(),
                stderr: last_lines(&stderr),
            });
        }
        Ok(())
    }
}

/// HMAC-SHA256 of `body` with `key`, as lowercase hex (GitHub's and Gitea's webhook
/// signatures).
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_urls_and_dirs_are_checked() {
        assert!(check_branch("main").is_ok());
        assert!(check_branch("release/1.2").is_ok());
        for bad in ["", "-x", "a..b", "a b", "x.lock", "a:b", "/a"] {
            assert!(check_branch(bad).is_err(), "{bad}");
        }
        assert!(check_url("https://git.example.test/acme/shop.git").is_ok());
        assert!(check_url("/srv/git/shop.git").is_ok());
        assert!(check_url("--upload-pack=evil").is_err());
        assert!(check_url("ext::sh -c evil").is_err());
        assert!(check_url("ftp://x/y").is_err());
        let with_password = check_url("https://bot:s3cret@git.example.test/acme/shop.git")
            .unwrap_err()
            .to_string();
        assert!(
            with_password.contains("ferry git-auth https://git.example.test"),
            "{with_password}"
        );
        assert!(!with_password.contains("s3cret"), "{with_password}");
        assert!(check_url("ssh://git@git.example.test/acme/shop.git").is_ok());
        assert_eq!(
            normalize_subdir("services/api/").unwrap().as_deref(),
            Some("services/api")
        );
        assert_eq!(normalize_subdir("./").unwrap(), None);
        assert!(normalize_subdir("../etc").is_err());
    }

    #[test]
    fn only_a_quarantine_of_the_repository_itself_is_read() {
        let root = tempfile::tempdir().unwrap();
        let repo = Repo {
            path: root.path().join("api.git"),
            quarantine: None,
        };
        let objects = repo.path.join("objects");
        let incoming = objects.join("tmp_objdir-incoming-Ab12Cd");
        std::fs::create_dir_all(&incoming).unwrap();
        std::fs::create_dir_all(objects.join("pack")).unwrap();
        let other = root.path().join("other.git/objects/tmp_objdir-incoming-Zz");
        std::fs::create_dir_all(&other).unwrap();
        let seen = repo.in_quarantine(&incoming).unwrap();
        assert_eq!(
            seen.quarantine,
            Some(std::fs::canonicalize(&incoming).unwrap())
        );
        for bad in [
            objects.join("pack"),
            objects.clone(),
            other,
            incoming.join("../../../other.git/objects/tmp_objdir-incoming-Zz"),
            objects.join("tmp_objdir-incoming-missing"),
            std::path::PathBuf::from("/tmp"),
        ] {
            assert!(repo.in_quarantine(&bad).is_err(), "{}", bad.display());
        }
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
