//! End-to-end, the docker back end of builds: source directories built into images
//! through the Docker Engine's API, pushed into ferry's registry and run on the docker
//! runtime, with each of the engine's builders (BuildKit, the default when the engine
//! has it, and the classic one with `FERRY_BUILDKIT=0`). Base images are made locally
//! (busybox, and a Python copied from this machine), so nothing is pulled. Build
//! secrets reach BuildKit steps and no layer of the image. Without an engine each
//! `needs_docker_*` test says
//! it was not run; with `FERRY_TEST_DOCKER=required` (CI) they fail instead. The last
//! test needs no engine: a server without one refuses docker builds at once.

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use ferry_testenv::Need;
use std::process::{Command, Stdio};
use support::*;

const BUSYBOX: &str = "ferry-e2e-busybox:1";
const PYTHON: &str = "ferry-e2e-python:1";

/// The busybox image of the other docker tests (httpd serving /www), imported once.
fn busybox_base() -> &'static str {
    import_once(BUSYBOX, || {
        import_busybox_image(BUSYBOX, &[("www/index.html", "busybox says hi\n")])
    });
    BUSYBOX
}

/// A Python base image made from this machine's `python3`: the interpreter at its own
/// path, the libraries it and its extension modules link, its standard library
/// (without tests and site-packages) and busybox for `/bin/sh`. Imported once.
fn python_base() -> &'static str {
    import_once(PYTHON, import_python_base);
    PYTHON
}

fn import_python_base() {
    let script = r#"set -e
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
eval "$(python3 -c 'import sys,os,sysconfig; print("py=%s stdlib=%s" % (os.path.realpath(sys.executable), sysconfig.get_paths()["stdlib"]))')"
mkdir -p "$root$(dirname "$py")" "$root/usr/bin" "$root/bin" "$root/tmp"
cp "$py" "$root$py"
ln -s "$py" "$root/usr/bin/python3"
for lib in $( (ldd "$py"; for so in "$stdlib"/lib-dynload/*.so; do ldd "$so"; done) 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
tar -C / --exclude=__pycache__ --exclude="${stdlib#/}/test" --exclude="${stdlib#/}/site-packages" \
  --exclude="${stdlib#/}/idlelib" --exclude="${stdlib#/}/tkinter" -c "${stdlib#/}" | tar -C "$root" -x
if [ -d /usr/share/python-wheels ]; then tar -C / -c usr/share/python-wheels | tar -C "$root" -x; fi
mkdir -p "$root$stdlib/site-packages"
cp /bin/busybox "$root/bin/busybox"
for applet in sh echo cat ls mkdir rm env; do ln -s busybox "$root/bin/$applet"; done
tar -C "$root" -c . | docker import - "$1" >/dev/null
"#;
    let status = Command::new("sh")
        .args(["-c", script, "sh", PYTHON])
        .status()
        .unwrap();
    assert!(status.success(), "making the Python base image failed");
}

/// The layers (diff ids) of an image, base first.
fn layers(image: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            image,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{image}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The engine's builder a test server uses, and what its build log looks like.
#[derive(Clone, Copy, Debug)]
enum Builder {
    BuildKit,
    Classic,
}

impl Builder {
    /// The server's `FERRY_BUILDKIT`.
    fn setting(self) -> &'static str {
        match self {
            Builder::BuildKit => "1",
            Builder::Classic => "0",
        }
    }

    /// How the build's event names it.
    fn named(self) -> &'static str {
        match self {
            Builder::BuildKit => ", with BuildKit",
            Builder::Classic => ", with the classic builder",
        }
    }

    /// The start of the log's first step.
    fn first_step(self) -> &'static str {
        match self {
            Builder::BuildKit => "#1 [internal] load remote build context",
            Builder::Classic => "Step 1/",
        }
    }

    fn exit_code(self, code: u8) -> String {
        match self {
            Builder::BuildKit => format!("exit code: {code}"),
            Builder::Classic => format!("non-zero code: {code}"),
        }
    }

    /// A step the build cache answered.
    fn cache_hit(self) -> &'static str {
        match self {
            Builder::BuildKit => " CACHED",
            Builder::Classic => " ---> Using cache",
        }
    }
}

fn revision_image(platform: &TestPlatform, name: &str, number: u64) -> String {
    let revisions = platform.ferry_json(&["revisions", name]);
    let revision = revisions
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == number)
        .unwrap_or_else(|| panic!("no revision {number}: {revisions}"));
    revision["source"]["image"]
        .as_str()
        .unwrap_or_else(|| panic!("revision {number} is not pinned to an image: {revision}"))
        .to_string()
}

#[test]
fn needs_docker_a_dockerfile_app_is_built_pushed_and_served() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    dockerfile_app(Builder::BuildKit);
}

#[test]
fn needs_docker_a_dockerfile_app_on_the_classic_builder() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let platform = dockerfile_app(Builder::Classic);
    // Secrets are refused there, before anything is built: no secret mounts.
    let app = copy_app("hello");
    write_config(
        app.path(),
        "name = \"sec\"\n[build]\ncommands = [\"true\"]\nsecrets = [\"TOKEN\"]\n",
    );
    let dir = app.path().to_str().unwrap();
    let err = platform.ferry_fails(&["deploy", dir, "--runtime", "docker"]);
    assert!(
        err.contains("build secrets need BuildKit's secret mounts"),
        "{err}"
    );
    assert!(err.contains("FERRY_BUILDKIT is off"), "{err}");
}

/// Deploys the Dockerfile example, a failing change to it, and a static site on
/// `builder`; returns the platform.
fn dockerfile_app(builder: Builder) -> TestPlatform {
    let base = busybox_base();
    let app = copy_app("dockerfile-app");
    let dockerfile = std::fs::read_to_string(app.path().join("Dockerfile")).unwrap();
    std::fs::write(
        app.path().join("Dockerfile"),
        dockerfile.replace("FROM busybox:1.36", &format!("FROM {base}")),
    )
    .unwrap();
    let platform = TestPlatform::start_with_env(
        "docker",
        &[
            ("FERRY_BASE_STATIC", base),
            ("FERRY_BUILDKIT", builder.setting()),
        ],
    );
    let dir = app.path().to_str().unwrap();
    // No ferry.toml and no --runtime: the Dockerfile decides.
    let out = platform.ferry(&["deploy", dir, "--name", "boxed"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{stderr}\nserver log:\n{}",
        tail(&platform.server_log(), 40)
    );
    assert!(stderr.contains("Dockerfile lint"), "{stderr}");
    assert!(
        stderr.contains(&format!("from the app's Dockerfile{}", builder.named())),
        "{stderr}"
    );
    // The engine's output is streamed to the CLI with the operation.
    assert!(stderr.contains(builder.first_step()), "{stderr}");
    let (status, body) = platform.curl("boxed.localhost", "/");
    assert_eq!(
        (status, body.as_str()),
        (200, "Hello from a Dockerfile app\n")
    );
    let status = platform.ferry_json(&["status", "boxed"]);
    assert_eq!(status["runtime"]["instances"][0]["runtime"], "docker");

    // The image is in ferry's registry, and the revision is pinned to its digest.
    let port = platform.info.api.rsplit(':').next().unwrap().to_string();
    let image = revision_image(&platform, "boxed", 1);
    assert!(
        image.starts_with(&format!("127.0.0.1:{port}/builds/boxed@sha256:")),
        "{image}"
    );
    let images = platform.ferry_ok(&["images", "ls"]);
    assert!(images.contains("builds/boxed"), "{images}");
    // Built by the engine (the builder's steps), logged as the revision's build.
    let logs = platform.ferry_ok(&["logs", "boxed", "--tail", "200"]);
    assert!(
        logs.contains(&format!("[build-1] {}", builder.first_step())),
        "{logs}"
    );

    // A failing build fails the deploy with the log's tail; revision 1 keeps serving.
    std::fs::write(
        app.path().join("Dockerfile"),
        format!("FROM {base}\nRUN echo about to fail && exit 3\n"),
    )
    .unwrap();
    let err = platform.ferry_fails(&["deploy", dir, "--name", "boxed"]);
    assert!(err.contains("image build failed"), "{err}");
    assert!(err.contains("about to fail"), "{err}");
    assert!(err.contains(&builder.exit_code(3)), "{err}");
    assert_eq!(
        platform.curl("boxed.localhost", "/"),
        (200, "Hello from a Dockerfile app\n".to_string())
    );
    platform.ferry_ok(&["delete", "boxed"]);

    // A detected static site asked to run on Docker: served by the router from its
    // files all the same, with a warning — no image is built, no container runs.
    let site = example("static-site");
    let output = platform.ferry(&["deploy", site.to_str().unwrap(), "--runtime", "docker"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("the docker runtime is not used"),
        "{stderr}"
    );
    let (status, body) = platform.curl("static-site.localhost", "/");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Hello from a detected static site"), "{body}");
    assert_eq!(platform.instance_counts("static-site"), (0, 0));
    let revisions = platform.ferry_json(&["revisions", "static-site"]);
    assert!(revisions[0]["source"]["image"].is_null(), "{revisions}");
    platform
}

#[test]
fn needs_docker_a_python_app_gets_a_generated_dockerfile_and_keeps_its_dependency_layer() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    python_app(Builder::BuildKit);
}

#[test]
fn needs_docker_a_python_app_keeps_its_dependency_layer_on_the_classic_builder() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    python_app(Builder::Classic);
}

/// A generated Dockerfile for a Python app on `builder`: its install layer survives a
/// code-only change.
fn python_app(builder: Builder) {
    let base = python_base();
    let app = tempfile::tempdir().unwrap();
    // pip with --no-index: a real install step (a virtualenv, pip resolving the
    // requirement) that needs no network. The comment makes this run's manifest new to
    // the engine's cache, so the first build installs and only the second reuses.
    let nonce = format!("{:?}", std::time::SystemTime::now());
    std::fs::write(
        app.path().join("requirements.txt"),
        format!("# {nonce}\n--no-index\npip\n"),
    )
    .unwrap();
    let main = |greeting: &str| {
        format!(
            "import os\nfrom http.server import BaseHTTPRequestHandler, HTTPServer\n\n\
             class H(BaseHTTPRequestHandler):\n    def do_GET(self):\n        \
             body = b\"{greeting}\\n\"\n        self.send_response(200)\n        \
             self.send_header(\"Content-Length\", str(len(body)))\n        \
             self.end_headers()\n        self.wfile.write(body)\n\n\
             HTTPServer((\"0.0.0.0\", int(os.environ[\"PORT\"])), H).serve_forever()\n"
        )
    };
    std::fs::write(app.path().join("main.py"), main("first")).unwrap();
    let platform = TestPlatform::start_with_env(
        "docker",
        &[
            ("FERRY_BASE_PYTHON", base),
            ("FERRY_BUILDKIT", builder.setting()),
        ],
    );
    let dir = app.path().to_str().unwrap();
    let deploy = || {
        let out = platform.ferry(&["deploy", dir, "--name", "py", "--runtime", "docker"]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "{stderr}\nserver log:\n{}",
            tail(&platform.server_log(), 40)
        );
        stderr
    };
    let stderr = deploy();
    assert!(
        stderr.contains(&format!(
            "from a generated Dockerfile on {base}{}",
            builder.named()
        )),
        "{stderr}"
    );
    // The generated Dockerfile went through the lint gate before the build.
    let lint = stderr.find("Dockerfile lint").expect("lint gate ran");
    assert!(
        lint < stderr.find("Building revision 1").unwrap(),
        "{stderr}"
    );
    let report = platform.ferry_json(&["report", "py"]);
    assert!(
        report["reports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "dockerfile-lint" && r["body"]["file"] == ".ferry.Dockerfile"),
        "{report}"
    );
    assert_eq!(platform.curl("py.localhost", "/"), (200, "first\n".into()));

    // A code-only change: the dependency layers are the engine's cache hits.
    std::fs::write(app.path().join("main.py"), main("second")).unwrap();
    deploy();
    assert_eq!(platform.curl("py.localhost", "/"), (200, "second\n".into()));
    let (first, second) = (
        layers(&revision_image(&platform, "py", 1)),
        layers(&revision_image(&platform, "py", 2)),
    );
    let base_layers = layers(base).len();
    let shared = first
        .iter()
        .zip(&second)
        .take_while(|(a, b)| a == b)
        .count();
    // Base, WORKDIR, COPY requirements.txt and the install RUN are shared; only the
    // app's own files (`COPY . .`, the last layer) differ.
    assert!(
        shared >= base_layers + 2,
        "only {shared} shared layers (base has {base_layers}):\n{first:?}\n{second:?}"
    );
    assert_eq!(first.len(), second.len());
    assert_eq!(shared, first.len() - 1, "{first:?}\n{second:?}");
    let logs = platform.ferry_ok(&["logs", "py", "--tail", "400"]);
    let build = |n: u32| -> String {
        let prefix = format!("[build-{n}] ");
        logs.lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        build(1).contains("Requirement already satisfied: pip"),
        "{logs}"
    );
    let second = build(2);
    assert!(!second.contains("Requirement already satisfied"), "{logs}");
    assert!(second.contains(builder.cache_hit()), "{logs}");
    // On BuildKit the install step mounts pip's download cache.
    let mounted = build(1).contains("--mount=type=cache,id=ferry-pip,target=/root/.cache/pip");
    assert_eq!(mounted, matches!(builder, Builder::BuildKit), "{logs}");
    platform.ferry_ok(&["delete", "py"]);
}

const TOKEN: &str = "bk-s3cret-token-4242";
const PASSWORD: &str = "bk-file-password-7878";

/// The bytes of `image` as the engine exports it (`docker save`: every layer, and the
/// config with its history and environment, uncompressed).
fn saved_image(image: &str) -> Vec<u8> {
    let out = Command::new("docker")
        .args(["save", image])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "docker save {image}: {out:?}");
    out.stdout
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn needs_docker_build_secrets_reach_buildkit_steps_and_no_layer_log_or_report() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let base = busybox_base();
    let platform = TestPlatform::start_with_env(
        "docker",
        &[
            ("FERRY_BASE_DEFAULT", base),
            ("FERRY_BUILDKIT", "1"),
            ("FERRY_BUILD_SECRET_API_TOKEN", TOKEN),
        ],
    );
    std::fs::create_dir_all(platform.data.path().join("secrets")).unwrap();
    std::fs::write(
        platform.data.path().join("secrets/INDEX_PASSWORD"),
        format!("{PASSWORD}\n"),
    )
    .unwrap();
    let app = tempfile::tempdir().unwrap();
    // Not index.html: that would make it a static site on the static base.
    std::fs::write(app.path().join("hello.txt"), "secret app\n").unwrap();
    // New to the engine's cache (which does not key steps on secret values), so the
    // steps run rather than being answered from an earlier run's layers.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::fs::write(app.path().join("nonce.txt"), nonce.to_string()).unwrap();
    // Printed whole (masked), in part (shown: proof the value got there), and kept in
    // a variable of the step only; the app's files get nothing from it.
    let config = |build: &str| {
        format!(
            "name = \"sec\"\n[build]\ncommands = [{build}]\n\
             secrets = [\"API_TOKEN\", \"INDEX_PASSWORD\"]\n\
             [run]\ncommand = \"exec httpd -f -p $PORT -h /app\"\n"
        )
    };
    write_config(
        app.path(),
        &config(
            "\"echo token=$API_TOKEN\", \"echo tail=${API_TOKEN#bk-s3cret-}\", \
             \"echo pw=$INDEX_PASSWORD from $(ls /run/secrets)\"",
        ),
    );
    let dir = app.path().to_str().unwrap();
    let out = platform.ferry(&["deploy", dir, "--runtime", "docker"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{stderr}\nserver log:\n{}",
        tail(&platform.server_log(), 40)
    );
    assert!(stderr.contains(", with BuildKit"), "{stderr}");
    assert_eq!(
        platform.curl("sec.localhost", "/hello.txt"),
        (200, "secret app\n".to_string())
    );
    let logs = platform.ferry_ok(&["logs", "sec", "--tail", "300"]);
    assert!(logs.contains("token=***"), "{logs}");
    assert!(logs.contains("tail=token-4242"), "{logs}");
    assert!(logs.contains("pw=*** from"), "{logs}");
    assert!(!logs.contains(TOKEN) && !logs.contains(PASSWORD), "{logs}");
    assert!(!stderr.contains(TOKEN), "{stderr}");

    // In no layer, nor the image's config (its history quotes the steps).
    let image = revision_image(&platform, "sec", 1);
    let tag = format!("{}:r1", image.split('@').next().unwrap());
    let saved = saved_image(&tag);
    assert!(
        contains(&saved, "secret app"),
        "the save has the app's files"
    );
    assert!(contains(&saved, "/run/secrets/API_TOKEN"), "and the steps");
    assert!(!contains(&saved, TOKEN), "the token is in {tag}");
    assert!(!contains(&saved, PASSWORD), "the password is in {tag}");
    // Nor a report, the revisions, or a file left by the build.
    for args in [["report", "sec"], ["revisions", "sec"]] {
        let text = platform.ferry_json(&args).to_string();
        assert!(!text.contains(TOKEN) && !text.contains(PASSWORD), "{text}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(platform.data.path().join("builds"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The app's own Dockerfile mounts a secret by its name.
    std::fs::write(
        app.path().join("Dockerfile"),
        format!(
            "FROM {base}\nRUN --mount=type=secret,id=API_TOKEN \
             echo \"own {nonce}: ${{API_TOKEN:-no variable}} $(cat /run/secrets/API_TOKEN)\"\n\
             COPY hello.txt /app/hello.txt\n"
        ),
    )
    .unwrap();
    platform.ferry_ok(&["deploy", dir, "--runtime", "docker"]);
    let logs = platform.ferry_ok(&["logs", "sec", "--tail", "300"]);
    assert!(logs.contains("[build-2] #"), "{logs}");
    assert!(
        logs.contains(&format!("own {nonce}: no variable ***")),
        "{logs}"
    );
    assert!(!logs.contains(TOKEN), "{logs}");
    std::fs::remove_file(app.path().join("Dockerfile")).unwrap();

    // A failing step: its reason, with the log's tail, is masked too.
    write_config(
        app.path(),
        &config("\"echo failing with $API_TOKEN; exit 7\""),
    );
    let err = platform.ferry_fails(&["deploy", dir, "--runtime", "docker"]);
    assert!(err.contains("failing with ***"), "{err}");
    assert!(err.contains("exit code: 7"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
}

/// Waits (bounded) until `done`.
fn wait_until(what: &str, platform: &TestPlatform, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}\nserver log:\n{}",
            tail(&platform.server_log(), 40)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Whether a process on this machine (a build step's included) has `marker` in its
/// command line.
fn process_with(marker: &str) -> bool {
    let out = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.contains(marker) && !l.contains("ps -eo"))
}

#[test]
fn needs_docker_a_cancelled_buildkit_build_stops_in_the_engine() {
    ferry_testenv::require!(Need::DockerEngine, Need::StaticBusybox);
    let base = busybox_base();
    let platform = TestPlatform::start_with_env(
        "docker",
        &[("FERRY_BASE_DEFAULT", base), ("FERRY_BUILDKIT", "1")],
    );
    let app = tempfile::tempdir().unwrap();
    // A sleep of its own length: the process the engine runs for the step.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let marker = format!("sleep {}", 600_000 + nanos % 100_000);
    write_config(
        app.path(),
        &format!(
            "name = \"slow\"\n[build]\ncommand = \"echo slow; {marker}\"\n\
             [run]\ncommand = \"exec httpd -f -p $PORT -h /app\"\n"
        ),
    );
    let dir = app.path().to_str().unwrap();
    platform.ferry_ok(&["deploy", dir, "--runtime", "docker", "--detach"]);
    wait_until("the step to run in the engine", &platform, || {
        process_with(&marker)
    });
    platform.ferry_ok(&["builds", "cancel", "slow", "1"]);
    // Dropping the solve closes its session: the engine stops the step.
    wait_until("the engine to stop the step", &platform, || {
        !process_with(&marker)
    });
    let builds = platform.ferry_json(&["builds", "slow"]);
    assert_eq!(builds[0]["state"], "cancelled", "{builds}");
}

#[test]
fn a_docker_build_on_a_server_without_docker_is_refused_at_once() {
    // No engine needed: the process-only server refuses before anything is built.
    let platform = TestPlatform::start_with("process");
    let own = example("dockerfile-app");
    let err = platform.ferry_fails(&["deploy", own.to_str().unwrap()]);
    assert!(err.contains("no container runtime"), "{err}");
    let python = example("python-hello");
    let err = platform.ferry_fails(&["deploy", python.to_str().unwrap(), "--runtime", "docker"]);
    assert!(err.contains("no container runtime"), "{err}");
    // A Dockerfile app asked to run as a process is told how.
    let err = platform.ferry_fails(&["deploy", own.to_str().unwrap(), "--runtime", "process"]);
    assert!(err.contains("add a ferry.toml"), "{err}");
    assert_eq!(
        platform.ferry_json(&["ls"]).as_array().map(Vec::len),
        Some(0)
    );
}
