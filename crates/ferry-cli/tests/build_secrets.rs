//! Build secrets end to end (process back end): values held by the server — one in its
//! environment, one in `<data dir>/secrets/` — reach the build commands, and a build
//! that prints them leaves only `***` in its log, its failure reason and the revision.

#![allow(clippy::unwrap_used)]

mod support;

use support::*;

const FROM_ENV: &str = "env-s3cret-value-1234";
const FROM_FILE: &str = "file-s3cret-value-5678";

#[test]
fn build_secrets_reach_the_build_and_are_masked_everywhere() {
    let platform =
        TestPlatform::start_with_env("process", &[("FERRY_BUILD_SECRET_API_TOKEN", FROM_ENV)]);
    std::fs::create_dir_all(platform.data.path().join("secrets")).unwrap();
    std::fs::write(
        platform.data.path().join("secrets/INDEX_PASSWORD"),
        format!("{FROM_FILE}\n"),
    )
    .unwrap();
    let app = copy_app("hello");
    let config = |build: &str| {
        format!(
            "name = \"hello\"\n[build]\ncommands = [{build}]\nsecrets = [\"API_TOKEN\", \"INDEX_PASSWORD\"]\n\
             [run]\ncommand = \"echo instance sees [$FERRY_BUILD_SECRET_API_TOKEN]; exec python3 app.py\"\n"
        )
    };
    // Printed whole, in part, and split over two writes (so the masker sees a value
    // across reads of the pipe); the values are compared with what the test expects.
    std::fs::write(
        app.path().join("build.sh"),
        "echo \"token=$API_TOKEN\"\n\
         echo \"$INDEX_PASSWORD\" | cut -c1-8\n\
         printf 'pw: %s' \"$(echo \"$INDEX_PASSWORD\" | cut -c1-10)\"; sleep 0.3\n\
         echo \"$INDEX_PASSWORD\" | cut -c11-\n\
         [ \"$API_TOKEN\" = \"$(cat expected-token)\" ] && echo token-matches\n\
         echo \"server variable: [$FERRY_BUILD_SECRET_API_TOKEN]\"\n",
    )
    .unwrap();
    std::fs::write(app.path().join("expected-token"), FROM_ENV).unwrap();
    write_config(app.path(), &config("\"sh build.sh\""));
    let dir = app.path().to_str().unwrap();
    let out = platform.ferry_ok(&["deploy", dir]);
    assert!(out.contains("http://hello.localhost:"), "{out}");
    assert_eq!(platform.curl("hello.localhost", "/").0, 200);
    let logs = platform.ferry_ok(&["logs", "hello", "--tail", "200"]);
    assert!(logs.contains("[build-1] token=***"), "{logs}");
    assert!(logs.contains("[build-1] pw: ***"), "{logs}");
    assert!(
        !logs.contains(FROM_ENV) && !logs.contains(FROM_FILE),
        "{logs}"
    );
    assert!(logs.contains("[build-1] token-matches"), "{logs}");
    // The server's own variables reach neither the build nor the instance.
    assert!(logs.contains("[build-1] server variable: []"), "{logs}");
    assert!(logs.contains("] instance sees []"), "{logs}");
    // Part of a value alone is not the secret: shown as it is.
    assert!(
        logs.contains(&format!("[build-1] {}\n", &FROM_FILE[..8])),
        "{logs}"
    );

    // A failing build: its reason (with the log's tail) is masked too.
    write_config(
        app.path(),
        &config("\"echo failing with $API_TOKEN; exit 7\""),
    );
    let err = platform.ferry_fails(&["deploy", dir]);
    assert!(err.contains("failing with ***"), "{err}");
    assert!(!err.contains(FROM_ENV), "{err}");
    let revisions = platform.ferry_ok(&["revisions", "hello", "--json"]);
    assert!(!revisions.contains(FROM_ENV) && !revisions.contains(FROM_FILE));
    assert!(
        revisions.contains("API_TOKEN"),
        "the names are kept: {revisions}"
    );

    // A secret the server does not hold fails the build, saying where to put it.
    let mut text = config("\"true\"");
    text = text.replace("\"INDEX_PASSWORD\"]", "\"INDEX_PASSWORD\", \"MISSING\"]");
    write_config(app.path(), &text);
    let err = platform.ferry_fails(&["deploy", dir]);
    assert!(
        err.contains("build secret MISSING is not set on the server"),
        "{err}"
    );
    assert!(err.contains("FERRY_BUILD_SECRET_MISSING"), "{err}");
    assert_eq!(platform.curl("hello.localhost", "/").0, 200);
}
