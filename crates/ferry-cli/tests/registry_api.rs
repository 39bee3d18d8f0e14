//! Ferry's registry as the server serves it: `/v2/` on the API listener, the admin
//! token from `ferry token` as the Basic password (what `docker login` sends), and the
//! challenge a client without credentials gets. Runs without Docker (curl only).

// Test code: a failed setup step should stop the test with its panic message.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;
use support::*;

/// `curl -i` of `http://<api><path>` with optional `user:password`: (status, headers+body).
fn get(platform: &TestPlatform, path: &str, basic: Option<&str>) -> (u16, String) {
    let mut curl = Command::new("curl");
    curl.args(["-s", "-i", "-w", "\n%{http_code}"]);
    if let Some(user) = basic {
        curl.args(["-u", user]);
    }
    let out = curl
        .arg(format!("http://{}{path}", platform.info.api))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (response, status) = text.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap(), response.to_string())
}

#[test]
fn the_registry_answers_under_v2_with_the_admin_token_that_ferry_token_prints() {
    let platform = TestPlatform::start_with("process");
    let printed = platform.ferry_ok(&["token"]);
    assert_eq!(printed.trim(), platform.token());

    let (status, response) = get(&platform, "/v2/", None);
    assert_eq!(status, 401, "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(
        lower.contains("www-authenticate: bearer realm=\"http://") && lower.contains("/v2/token\""),
        "a client without credentials is told where to get a token: {response}"
    );
    assert!(response.contains("UNAUTHORIZED"), "{response}");

    let (status, response) = get(
        &platform,
        "/v2/",
        Some(&format!("ferry:{}", printed.trim())),
    );
    assert_eq!(status, 200, "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("docker-distribution-api-version: registry/2.0"),
        "{response}"
    );

    let (status, _) = get(&platform, "/v2/", Some("ferry:not-the-token"));
    assert_eq!(status, 401);
    // The API keeps its own check; the registry's routes do not open it.
    let (status, _) = get(&platform, "/api/v1/services", None);
    assert_eq!(status, 401);
    let (status, response) = get(
        &platform,
        "/v2/_catalog",
        Some(&format!("x:{}", printed.trim())),
    );
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("\"repositories\":[]"), "{response}");
}
