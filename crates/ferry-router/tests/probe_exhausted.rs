//! A health probe that fails because this process is out of file descriptors is
//! inconclusive, not a verdict on the instance. Its own test binary: it lowers the
//! process's open-files limit and fills it, which would disturb other tests.

// Tests unwrap freely: a failure should stop the test at the line that failed.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ferry_router::{probe, ProbeError, ProbeSpec};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use tokio::net::TcpListener;

#[tokio::test]
async fn a_probe_without_a_free_descriptor_is_inconclusive() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _accepting = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let spec = ProbeSpec::tcp(Duration::from_secs(5));
    probe(addr, &spec).await.unwrap();

    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, 256.min(soft), hard).unwrap();
    let mut hog = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        hog.push(file);
        assert!(hog.len() < 1024, "the lowered limit was not applied");
    }
    let tcp = probe(addr, &spec).await.unwrap_err();
    let http = probe(addr, &ProbeSpec::http("/", Duration::from_secs(5)))
        .await
        .unwrap_err();
    drop(hog);
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();

    for err in [tcp, http] {
        assert!(matches!(err, ProbeError::LocalResources(_)), "{err:?}");
        assert!(err.is_inconclusive());
    }
    // A conclusive failure stays one.
    assert!(!ProbeError::ConnectionRefused.is_inconclusive());
    probe(addr, &spec).await.unwrap();
}
