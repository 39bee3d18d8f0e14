//! Git sources end to end, with real git and a real `ferry server` on the process
//! runtime: a service following a branch of a local bare repository (the commit on
//! the revision), `git push` to ferry's smart-HTTP remote building and deploying with
//! the build streamed into the push's output (and a broken push keeping the old
//! revision serving), webhooks verified per forge, the monorepo filter, polling, an
//! unreachable repository creating nothing, `ferry builds` (list, logs, cancel), and a
//! push given up when its hook is interrupted, times out, is killed or its server is.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::*;

/// The app: `python3 -m http.server` serving `index.html`; its build prints a line
/// with the page (so the build log says which version built), fails when a `BREAK`
/// file exists and sleeps when a `SLOW` file exists.
const FERRY_TOML: &str = r#"
[build]
command = "echo \"building $(cat index.html)\" && test ! -e BREAK && if [ -e SLOW ]; then sleep 120; fi"

[run]
command = "python3 -m http.server $PORT --bind 127.0.0.1"

[health_check]
protocol = "http"
path = "/"
"#;

fn git(dir: &Path, args: &[&str]) -> Output {
    git_command(dir, args).output().expect("git is installed")
}

fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "user.name=Ferry Test",
        "-c",
        "user.email=test@example.test",
        "-c",
        "init.defaultBranch=main",
        "-c",
        "advice.detachedHead=false",
    ])
    .args(args)
    .current_dir(dir)
    .env("GIT_TERMINAL_PROMPT", "0")
    .env_remove("GIT_DIR");
    cmd
}

fn git_ok(dir: &Path, args: &[&str]) -> String {
    let output = git(dir, args);
    assert!(
        output.status.success(),
        "git {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// An upstream bare repository (`shop.git`) and a clone to commit in (`work`), with
/// the app under `services/api` and something else under `docs/`.
struct Upstream {
    _dir: tempfile::TempDir,
    bare: PathBuf,
    work: PathBuf,
}

impl Upstream {
    fn new(page: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("shop.git");
        let work = dir.path().join("work");
        git_ok(
            dir.path(),
            &["init", "--bare", "-q", bare.to_str().unwrap()],
        );
        git_ok(dir.path(), &["init", "-q", work.to_str().unwrap()]);
        let api = work.join("services/api");
        std::fs::create_dir_all(&api).unwrap();
        std::fs::create_dir_all(work.join("docs")).unwrap();
        std::fs::write(api.join("ferry.toml"), FERRY_TOML).unwrap();
        std::fs::write(api.join("index.html"), page).unwrap();
        std::fs::write(work.join("docs/README.md"), "docs\n").unwrap();
        git_ok(&work, &["add", "-A"]);
        git_ok(&work, &["commit", "-q", "-m", "first"]);
        git_ok(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
        git_ok(&work, &["push", "-q", "origin", "main"]);
        Self {
            _dir: dir,
            bare,
            work,
        }
    }

    /// Writes `path` (relative to the work tree), commits; returns the new head.
    fn commit(&self, path: &str, text: &str) -> String {
        let file = self.work.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        git_ok(&self.work, &["add", "-A"]);
        git_ok(
            &self.work,
            &["commit", "-q", "-m", &format!("change {path}")],
        );
        git_ok(&self.work, &["rev-parse", "HEAD"])
    }

    fn remove(&self, path: &str) -> String {
        git_ok(&self.work, &["rm", "-q", path]);
        git_ok(
            &self.work,
            &["commit", "-q", "-m", &format!("remove {path}")],
        );
        git_ok(&self.work, &["rev-parse", "HEAD"])
    }

    fn push_origin(&self) {
        git_ok(&self.work, &["push", "-q", "origin", "main"]);
    }

    fn head(&self) -> String {
        git_ok(&self.work, &["rev-parse", "HEAD"])
    }

    fn url(&self) -> &str {
        self.bare.to_str().unwrap()
    }
}

fn api_port(platform: &TestPlatform) -> u16 {
    platform
        .info
        .api
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// `git push ferry main` with the admin token in the remote's URL: (success, output).
fn push_to_ferry(platform: &TestPlatform, upstream: &Upstream, service: &str) -> (bool, String) {
    let url = format!(
        "http://ferry:{}@127.0.0.1:{}/git/{service}.git",
        platform.token(),
        api_port(platform)
    );
    let output = git(&upstream.work, &["push", &url, "main"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Ferry's remote for `service`, with the admin token in the URL.
fn remote_url(platform: &TestPlatform, service: &str) -> String {
    format!(
        "http://ferry:{}@127.0.0.1:{}/git/{service}.git",
        platform.token(),
        api_port(platform)
    )
}

/// The commit `branch` names on ferry's remote (`git ls-remote`); empty if none.
fn remote_head(platform: &TestPlatform, service: &str, branch: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let refs = git_ok(
        dir.path(),
        &[
            "ls-remote",
            &remote_url(platform, service),
            &format!("refs/heads/{branch}"),
        ],
    );
    refs.split_whitespace().next().unwrap_or("").to_string()
}

fn deploy_git(platform: &TestPlatform, upstream: &Upstream, name: &str, extra: &[&str]) {
    let mut args = vec![
        "deploy",
        "--git",
        upstream.url(),
        "--branch",
        "main",
        "--dir",
        "services/api",
        "--name",
        name,
    ];
    args.extend_from_slice(extra);
    platform.ferry_ok(&args);
}

fn builds(platform: &TestPlatform, name: &str) -> Vec<serde_json::Value> {
    platform
        .ferry_json(&["builds", name])
        .as_array()
        .unwrap()
        .clone()
}

fn detail(platform: &TestPlatform, name: &str) -> serde_json::Value {
    platform.ferry_json(&["status", name])
}

/// POST a webhook delivery; returns the status code.
fn webhook(platform: &TestPlatform, name: &str, headers: &[(&str, String)], body: &str) -> u16 {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "10",
    ]);
    cmd.args(["-X", "POST", "-H", "Content-Type: application/json"]);
    for (name, value) in headers {
        cmd.args(["-H", &format!("{name}: {value}")]);
    }
    cmd.args(["--data-binary", body]);
    cmd.arg(format!("http://{}/hooks/git/{name}", platform.info.api));
    let output = cmd.output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

fn hmac_hex(key: &str, body: &str) -> String {
    let output = Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())",
            key,
            body,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn wait_until(what: &str, platform: &TestPlatform, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\nserver log:\n{}",
            tail(&platform.server_log(), 40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_followed_branch_deploys_and_pushes_to_ferry_build_stream_and_fail_safely() {
    let platform = TestPlatform::start();
    let upstream = Upstream::new("version one\n");
    let host = "api.localhost";
    deploy_git(&platform, &upstream, "api", &[]);
    platform.wait_for_body(host, "version one", Duration::from_secs(30));
    // The revision records the commit, shown by `ferry status`.
    let first = upstream.head();
    assert_eq!(detail(&platform, "api")["active_commit"], first.as_str());
    let status = platform.ferry_ok(&["status", "api"]);
    assert!(status.contains(&format!("commit     {first}")), "{status}");

    // A push to ferry's remote builds and deploys, the build log in the push output.
    let second = upstream.commit("services/api/index.html", "version two\n");
    let (ok, output) = push_to_ferry(&platform, &upstream, "api");
    assert!(ok, "{output}");
    assert!(output.contains("remote:"), "{output}");
    assert!(output.contains("building version two"), "{output}");
    assert!(output.contains("revision 2 is live"), "{output}");
    // Ferry's remote already held the followed branch: the push was a fast-forward.
    assert!(!output.contains("[new branch]"), "{output}");
    assert_eq!(platform.curl(host, "/").1, "version two\n");
    assert_eq!(detail(&platform, "api")["active_commit"], second.as_str());

    assert_eq!(remote_head(&platform, "api", "main"), second);

    // A push that breaks the build is rejected: `git push` fails, ferry's branch stays
    // at the old commit, the operation failed and the old revision keeps serving.
    let broken = upstream.commit("services/api/BREAK", "x\n");
    let (ok, output) = push_to_ferry(&platform, &upstream, "api");
    assert!(!ok, "{output}");
    assert!(output.contains("building version two"), "{output}");
    assert!(output.contains("build failed"), "{output}");
    assert!(output.contains("push rejected"), "{output}");
    assert!(output.contains("[remote rejected]"), "{output}");
    assert_eq!(remote_head(&platform, "api", "main"), second);
    assert_eq!(platform.curl(host, "/").1, "version two\n");
    let ops = platform.ferry_json(&["ops", "api"]);
    assert_eq!(ops[0]["status"], "FAILED", "{ops}");
    assert_eq!(detail(&platform, "api")["active_commit"], second.as_str());

    // A branch ferry does not follow is accepted as it is, without a build.
    let url = remote_url(&platform, "api");
    let output = git(&upstream.work, &["push", &url, "HEAD:refs/heads/feature"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(remote_head(&platform, "api", "feature"), broken);
    assert_eq!(builds(&platform, "api").len(), 3);

    // `ferry builds`: each build with its commit and state; logs per build.
    let list = builds(&platform, "api");
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["commit"], broken.as_str());
    assert_eq!(list[0]["state"], "failed");
    assert_eq!(list[1]["commit"], second.as_str());
    assert_eq!(list[1]["state"], "built");
    assert!(list[1]["duration_ms"].is_u64(), "{list:?}");
    let table = platform.ferry_ok(&["builds", "api"]);
    assert!(table.contains(&second[..12]), "{table}");
    let log = platform.ferry_ok(&["builds", "logs", "api", "2"]);
    assert!(log.contains("building version two"), "{log}");
    let log = platform.ferry_ok(&["builds", "logs", "api", "1"]);
    assert!(log.contains("building version one"), "{log}");

    // Fixing it deploys again; a wrong token is refused with a Basic challenge.
    upstream.remove("services/api/BREAK");
    upstream.commit("services/api/index.html", "version three\n");
    let (ok, output) = push_to_ferry(&platform, &upstream, "api");
    assert!(ok && output.contains("revision 4 is live"), "{output}");
    assert_eq!(platform.curl(host, "/").1, "version three\n");
    assert_eq!(remote_head(&platform, "api", "main"), upstream.head());

    // A commit that builds but whose instances never come up fails the rollout: the
    // push is rejected the same way.
    let served = upstream.head();
    upstream.commit(
        "services/api/ferry.toml",
        &FERRY_TOML.replace("python3 -m http.server $PORT", "sh -c 'exit 3' $PORT"),
    );
    let (ok, output) = push_to_ferry(&platform, &upstream, "api");
    assert!(!ok, "{output}");
    assert!(output.contains("[remote rejected]"), "{output}");
    assert_eq!(remote_head(&platform, "api", "main"), served);
    assert_eq!(platform.curl(host, "/").1, "version three\n");
    let ops = platform.ferry_json(&["ops", "api"]);
    assert_eq!(ops[0]["status"], "FAILED", "{ops}");
    upstream.commit("services/api/ferry.toml", FERRY_TOML);
    let wrong = format!(
        "http://ferry:wrong@127.0.0.1:{}/git/api.git",
        api_port(&platform)
    );
    let output = git(&upstream.work, &["push", &wrong, "main"]);
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("401") || text.contains("Authentication failed"),
        "{text}"
    );

    // Deploying an upload replaces the branch: pushes no longer build the service.
    let dir = upstream.work.join("services/api");
    platform.ferry_ok(&["deploy", dir.to_str().unwrap(), "--name", "api"]);
    assert!(detail(&platform, "api")["git"].is_null());
    upstream.commit("services/api/index.html", "version four\n");
    let (ok, output) = push_to_ferry(&platform, &upstream, "api");
    assert!(!ok, "{output}");
    assert_eq!(platform.curl(host, "/").1, "version three\n");
}

#[test]
fn webhooks_are_verified_and_a_monorepo_push_outside_the_directory_builds_nothing() {
    let platform = TestPlatform::start();
    let upstream = Upstream::new("hooked one\n");
    let host = "shop.localhost";
    deploy_git(&platform, &upstream, "shop", &[]);
    platform.wait_for_body(host, "hooked one", Duration::from_secs(30));
    let secret = detail(&platform, "shop")["git"]["webhook_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let head = upstream.commit("services/api/index.html", "hooked two\n");
    upstream.push_origin();
    let body = format!(r#"{{"ref":"refs/heads/main","after":"{head}"}}"#);

    // Missing or wrong signatures: 401, and nothing is built.
    assert_eq!(webhook(&platform, "shop", &[], &body), 401);
    let wrong = hmac_hex("not-the-secret", &body);
    assert_eq!(
        webhook(
            &platform,
            "shop",
            &[("X-Hub-Signature-256", format!("sha256={wrong}"))],
            &body
        ),
        401
    );
    assert_eq!(
        webhook(&platform, "shop", &[("X-Gitea-Signature", wrong)], &body),
        401
    );
    assert_eq!(
        webhook(
            &platform,
            "shop",
            &[("X-Gitlab-Token", "nope".into())],
            &body
        ),
        401
    );
    assert_eq!(webhook(&platform, "nosuch", &[], &body), 401);
    // Bodies are bounded (1 MiB).
    let big = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(big.path(), vec![b' '; 2 * 1024 * 1024]).unwrap();
    let at_file = format!("@{}", big.path().display());
    assert_eq!(webhook(&platform, "shop", &[], &at_file), 413);
    assert_eq!(builds(&platform, "shop").len(), 1);
    assert_eq!(
        detail(&platform, "shop")["git"]["upstream_commit"],
        builds(&platform, "shop")[0]["commit"]
    );

    // A GitHub delivery signed with the service's secret builds the pushed head.
    let good = hmac_hex(&secret, &body);
    assert_eq!(
        webhook(
            &platform,
            "shop",
            &[("X-Hub-Signature-256", format!("sha256={good}"))],
            &body
        ),
        202
    );
    platform.wait_for_body(host, "hooked two", Duration::from_secs(60));
    assert_eq!(detail(&platform, "shop")["active_commit"], head.as_str());

    // Monorepo: a push that only changes files outside services/api builds nothing.
    let outside = upstream.commit("docs/README.md", "more docs\n");
    upstream.push_origin();
    let body = format!(r#"{{"ref":"refs/heads/main","after":"{outside}"}}"#);
    assert_eq!(
        webhook(
            &platform,
            "shop",
            &[("X-Gitlab-Token", secret.clone())],
            &body
        ),
        202
    );
    wait_until("the trigger to read the new head", &platform, || {
        detail(&platform, "shop")["git"]["upstream_commit"] == outside.as_str()
    });
    assert_eq!(builds(&platform, "shop").len(), 2);
    // The same through ferry's remote: the push says so and builds nothing.
    let (ok, output) = push_to_ferry(&platform, &upstream, "shop");
    assert!(ok, "{output}");
    assert!(
        output.contains("nothing changed under services/api"),
        "{output}"
    );
    assert_eq!(builds(&platform, "shop").len(), 2);
    assert_eq!(remote_head(&platform, "shop", "main"), outside);

    // A change under the directory, announced the Gitea way, builds again.
    let inside = upstream.commit("services/api/index.html", "hooked three\n");
    upstream.push_origin();
    let body = format!(r#"{{"ref":"refs/heads/main","after":"{inside}"}}"#);
    let signature = hmac_hex(&secret, &body);
    assert_eq!(
        webhook(
            &platform,
            "shop",
            &[("X-Gitea-Signature", signature)],
            &body
        ),
        202
    );
    platform.wait_for_body(host, "hooked three", Duration::from_secs(60));
    assert_eq!(builds(&platform, "shop").len(), 3);
}

#[test]
fn polling_builds_new_heads_of_the_branch() {
    let platform = TestPlatform::start();
    let upstream = Upstream::new("polled one\n");
    deploy_git(&platform, &upstream, "poller", &["--poll", "1s"]);
    platform.wait_for_body("poller.localhost", "polled one", Duration::from_secs(30));
    let head = upstream.commit("services/api/index.html", "polled two\n");
    upstream.push_origin();
    platform.wait_for_body("poller.localhost", "polled two", Duration::from_secs(60));
    assert_eq!(detail(&platform, "poller")["active_commit"], head.as_str());
}

#[test]
fn an_unreachable_repository_is_a_clear_error_and_creates_nothing() {
    let platform = TestPlatform::start();
    let missing = tempfile::tempdir().unwrap();
    let url = format!("file://{}/nothing.git", missing.path().display());
    let err = platform.ferry_fails(&[
        "deploy", "--git", &url, "--branch", "main", "--name", "ghost",
    ]);
    assert!(err.contains("cannot read branch main of"), "{err}");
    let services = platform.ferry_json(&["ls"]);
    assert_eq!(services.as_array().unwrap().len(), 0, "{services}");
    assert!(!platform.data.path().join("git/ghost.git").exists());
    // A branch that does not exist is as clear.
    let upstream = Upstream::new("x\n");
    let err = platform.ferry_fails(&[
        "deploy",
        "--git",
        upstream.url(),
        "--branch",
        "nope",
        "--name",
        "ghost",
    ]);
    assert!(err.contains("cannot read branch nope"), "{err}");
    // So is a directory the commit does not have.
    let err = platform.ferry_fails(&[
        "deploy",
        "--git",
        upstream.url(),
        "--dir",
        "services/web",
        "--name",
        "ghost",
    ]);
    assert!(err.contains("no directory \"services/web\""), "{err}");
    assert_eq!(platform.ferry_json(&["ls"]).as_array().unwrap().len(), 0);
}

#[test]
fn a_running_build_can_be_cancelled_and_the_old_revision_keeps_serving() {
    let platform = TestPlatform::start();
    let upstream = Upstream::new("steady\n");
    deploy_git(&platform, &upstream, "slow", &[]);
    platform.wait_for_body("slow.localhost", "steady", Duration::from_secs(30));
    upstream.commit("services/api/SLOW", "x\n");
    upstream.commit("services/api/index.html", "never\n");
    let url = format!(
        "http://ferry:{}@127.0.0.1:{}/git/slow.git",
        platform.token(),
        api_port(&platform)
    );
    // The push waits for its build: run it aside.
    let work = upstream.work.clone();
    let push = std::thread::spawn(move || git(&work, &["push", &url, "main"]));
    wait_until("the build to run", &platform, || {
        builds(&platform, "slow")
            .first()
            .is_some_and(|b| b["revision"] == 2 && b["state"] == "running")
    });
    let before = remote_head(&platform, "slow", "main");
    platform.ferry_ok(&["builds", "cancel", "slow", "2"]);
    let output = push.join().unwrap();
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        text.contains("cancelled by `ferry builds cancel`"),
        "{text}"
    );
    assert!(!output.status.success(), "{text}");
    assert_eq!(remote_head(&platform, "slow", "main"), before);
    let list = builds(&platform, "slow");
    assert_eq!(list[0]["state"], "cancelled", "{list:?}");
    assert_eq!(platform.curl("slow.localhost", "/").1, "steady\n");
    let err = platform.ferry_fails(&["builds", "cancel", "slow", "1"]);
    assert!(err.contains("only a pending or running build"), "{err}");

    // A newer push supersedes a build in progress: the first push says so, the
    // second deploys.
    upstream.commit("services/api/index.html", "slow again\n");
    let url = format!(
        "http://ferry:{}@127.0.0.1:{}/git/slow.git",
        platform.token(),
        api_port(&platform)
    );
    let (work, first_url) = (upstream.work.clone(), url.clone());
    let first = std::thread::spawn(move || git(&work, &["push", &first_url, "main"]));
    wait_until("the slow build to run", &platform, || {
        builds(&platform, "slow")
            .first()
            .is_some_and(|b| b["revision"] == 3 && b["state"] == "running")
    });
    upstream.remove("services/api/SLOW");
    upstream.commit("services/api/index.html", "fast\n");
    let output = git(&upstream.work, &["push", &url, "main"]);
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(text.contains("revision 4 is live"), "{text}");
    assert!(output.status.success(), "{text}");
    let first = first.join().unwrap();
    let text = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(text.contains("superseded"), "{text}");
    assert!(!first.status.success(), "{text}");
    assert_eq!(platform.curl("slow.localhost", "/").1, "fast\n");
    assert_eq!(remote_head(&platform, "slow", "main"), upstream.head());
    let list = builds(&platform, "slow");
    assert_eq!(list[1]["state"], "cancelled", "{list:?}");
    assert_eq!(list[0]["state"], "built", "{list:?}");

    // Ctrl-C on `git push` while its build runs: the server sees the client leave,
    // the hook gives the deployment up, the branch stays and the old body is served.
    let served = upstream.head();
    upstream.commit("services/api/SLOW", "x\n");
    upstream.commit("services/api/index.html", "interrupted\n");
    let mut push = git_command(&upstream.work, &["push", &url, "main"]);
    push.process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = push.spawn().unwrap();
    wait_until("the interrupted push's build to run", &platform, || {
        builds(&platform, "slow")
            .first()
            .is_some_and(|b| b["revision"] == 5 && b["state"] == "running")
    });
    // What a terminal's Ctrl-C does: SIGINT to git's whole process group.
    let group = format!("-{}", child.id());
    let killed = Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(!child.wait().unwrap().success());
    wait_until(
        "the interrupted push's build to be given up",
        &platform,
        || {
            builds(&platform, "slow")
                .first()
                .is_some_and(|b| b["revision"] == 5 && b["state"] == "cancelled")
        },
    );
    let ops = platform.ferry_json(&["ops", "slow"]);
    wait_until(
        "the interrupted push's operation to fail",
        &platform,
        || platform.ferry_json(&["ops", "slow"])[0]["status"] == "FAILED",
    );
    let op = &platform.ferry_json(&["ops", "slow"])[0];
    assert!(
        op["error"]
            .as_str()
            .is_some_and(|e| e.contains("git push rejected: git push ended")),
        "{op} {ops}"
    );
    assert_eq!(remote_head(&platform, "slow", "main"), served);
    assert_eq!(platform.curl("slow.localhost", "/").1, "fast\n");
}

#[test]
fn a_push_waits_at_most_the_push_timeout_then_is_rejected_and_its_build_given_up() {
    let platform = TestPlatform::start_with_args("process", &["--git-push-timeout", "3s"]);
    let upstream = Upstream::new("patient\n");
    deploy_git(&platform, &upstream, "late", &[]);
    platform.wait_for_body("late.localhost", "patient", Duration::from_secs(30));
    let before = remote_head(&platform, "late", "main");
    upstream.commit("services/api/SLOW", "x\n");
    upstream.commit("services/api/index.html", "too late\n");
    let (ok, output) = push_to_ferry(&platform, &upstream, "late");
    assert!(!ok, "{output}");
    assert!(
        output.contains("did not finish within 3s (`ferry server --git-push-timeout`)"),
        "{output}"
    );
    assert_eq!(remote_head(&platform, "late", "main"), before);
    wait_until("the late build to be given up", &platform, || {
        builds(&platform, "late")
            .first()
            .is_some_and(|b| b["revision"] == 2 && b["state"] == "cancelled")
    });
    wait_until("the late push's operation to fail", &platform, || {
        platform.ferry_json(&["ops", "late"])[0]["status"] == "FAILED"
    });
    assert_eq!(platform.curl("late.localhost", "/").1, "patient\n");
}

#[test]
fn a_server_killed_while_a_push_waits_gives_that_deployment_up_when_it_starts_again() {
    let mut platform = TestPlatform::start();
    let upstream = Upstream::new("survivor\n");
    deploy_git(&platform, &upstream, "phoenix", &[]);
    platform.wait_for_body("phoenix.localhost", "survivor", Duration::from_secs(30));
    let before = remote_head(&platform, "phoenix", "main");
    upstream.commit("services/api/SLOW", "x\n");
    upstream.commit("services/api/index.html", "half done\n");
    let url = remote_url(&platform, "phoenix");
    let work = upstream.work.clone();
    let push = std::thread::spawn(move || git(&work, &["push", &url, "main"]));
    wait_until("the pushed build to run", &platform, || {
        builds(&platform, "phoenix")
            .first()
            .is_some_and(|b| b["revision"] == 2 && b["state"] == "running")
    });
    platform.kill9();
    assert!(!push.join().unwrap().status.success());
    platform.boot();
    // The push is gone, so is its deployment: the old revision serves again, the
    // branch still names it, and the operation says why.
    let list = builds(&platform, "phoenix");
    assert_eq!(list[0]["revision"], 2, "{list:?}");
    assert_eq!(list[0]["state"], "cancelled", "{list:?}");
    wait_until("the given-up operation to fail", &platform, || {
        platform.ferry_json(&["ops", "phoenix"])[0]["status"] == "FAILED"
    });
    let op = &platform.ferry_json(&["ops", "phoenix"])[0];
    assert!(
        op["error"]
            .as_str()
            .is_some_and(|e| e.contains("server stopped while the push waited")),
        "{op}"
    );
    platform.wait_for_body("phoenix.localhost", "survivor", Duration::from_secs(30));
    assert_eq!(remote_head(&platform, "phoenix", "main"), before);
}

/// Pids of `ferry git-hook` processes run for `service`'s pushes (found by the
/// service named in their environment, so other tests' hooks are left alone).
fn hook_pids(service: &str) -> Vec<i32> {
    let wanted = format!("FERRY_HOOK_SERVICE={service}");
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let is_hook = cmdline.split(|b| *b == 0).any(|arg| arg == b"git-hook");
        if is_hook && environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn a_push_whose_hook_is_killed_outright_gives_its_deployment_up() {
    let platform = TestPlatform::start();
    let upstream = Upstream::new("kept\n");
    deploy_git(&platform, &upstream, "orphan", &[]);
    platform.wait_for_body("orphan.localhost", "kept", Duration::from_secs(30));
    let before = remote_head(&platform, "orphan", "main");
    upstream.commit("services/api/SLOW", "x\n");
    upstream.commit("services/api/index.html", "unanswered\n");
    let url = remote_url(&platform, "orphan");
    let work = upstream.work.clone();
    let push = std::thread::spawn(move || git(&work, &["push", &url, "main"]));
    wait_until("the pushed build to run", &platform, || {
        builds(&platform, "orphan")
            .first()
            .is_some_and(|b| b["revision"] == 2 && b["state"] == "running")
    });
    // SIGKILL: the hook says nothing to the server, it just is gone, and git
    // rejects the push.
    let hooks = hook_pids("orphan");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let killed = Command::new("kill")
        .args(["-KILL", &hooks[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = push.join().unwrap();
    assert!(
        !output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The request's end gives the deployment up: the build stops, the operation
    // says why, the old revision keeps serving and the branch still names it.
    wait_until("the orphaned build to be given up", &platform, || {
        builds(&platform, "orphan")
            .first()
            .is_some_and(|b| b["revision"] == 2 && b["state"] == "cancelled")
    });
    wait_until("the orphaned push's operation to fail", &platform, || {
        platform.ferry_json(&["ops", "orphan"])[0]["status"] == "FAILED"
    });
    let op = &platform.ferry_json(&["ops", "orphan"])[0];
    assert!(
        op["error"]
            .as_str()
            .is_some_and(|e| e.contains("hook ended without answering")),
        "{op}"
    );
    assert_eq!(remote_head(&platform, "orphan", "main"), before);
    assert_eq!(platform.curl("orphan.localhost", "/").1, "kept\n");
}
