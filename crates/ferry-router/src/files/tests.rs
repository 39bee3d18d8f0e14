//! The file handler as a client sees it: statuses, headers and bodies for a site on
//! disk, through [`serve`].

use super::*;
use http_body_util::BodyExt;

struct Site {
    dir: tempfile::TempDir,
    site: Arc<StaticSite>,
}

fn site(files: &[(&str, &[u8])]) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("public");
    std::fs::create_dir_all(&root).unwrap();
    for (name, content) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let site = Arc::new(StaticSite::open(&root, dir.path()).unwrap());
    Site { dir, site }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(&name).map_or("", |v| v.to_str().unwrap())
    }
}

async fn request(
    site: &Site,
    method: Method,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> Answer {
    let uri: Uri = path.parse().unwrap();
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    let response = serve(&site.site, &method, &uri, &map).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(site: &Site, path: &str) -> Answer {
    request(site, Method::GET, path, &[]).await
}

#[tokio::test]
async fn index_files_content_types_and_redirects() {
    let s = site(&[
        ("index.html", b"<p>home</p>"),
        ("docs/index.html", b"<p>docs</p>"),
        ("app.css", b"body{}"),
        ("logo.svg", b"<svg/>"),
    ]);
    let home = get(&s, "/").await;
    assert_eq!(
        (home.status, home.text().as_str()),
        (StatusCode::OK, "<p>home</p>")
    );
    assert_eq!(
        home.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(home.header(header::CONTENT_LENGTH), "11");
    assert_eq!(home.header(header::ACCEPT_RANGES), "bytes");
    assert_eq!(get(&s, "/docs/").await.text(), "<p>docs</p>");
    assert_eq!(get(&s, "/docs/?q=1").await.text(), "<p>docs</p>");
    assert_eq!(
        get(&s, "/app.css").await.header(header::CONTENT_TYPE),
        "text/css; charset=utf-8"
    );
    assert_eq!(
        get(&s, "/logo.svg").await.header(header::CONTENT_TYPE),
        "image/svg+xml"
    );

    let moved = get(&s, "/docs?x=1").await;
    assert_eq!(moved.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(moved.header(header::LOCATION), "/docs/?x=1");
    // Never a protocol-relative redirect to another host.
    assert_eq!(get(&s, "//docs").await.header(header::LOCATION), "/docs/");
}

#[tokio::test]
async fn missing_files_get_the_sites_404_page_or_ferrys() {
    let s = site(&[("index.html", b"home")]);
    let missing = get(&s, "/nope.html").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.text().contains("404 Not Found"),
        "{}",
        missing.text()
    );

    std::fs::write(s.dir.path().join("public/404.html"), "lost").unwrap();
    let missing = get(&s, "/nope.html").await;
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (StatusCode::NOT_FOUND, "lost")
    );
    // A conditional request never turns the 404 page into a 304.
    let etag = get(&s, "/404.html").await.header(header::ETAG).to_string();
    let again = request(
        &s,
        Method::GET,
        "/nope.html",
        &[(header::IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // A directory without an index is not listed.
    std::fs::create_dir(s.dir.path().join("public/empty")).unwrap();
    assert_eq!(get(&s, "/empty/").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn traversal_and_links_out_never_reach_the_file() {
    let s = site(&[("index.html", b"home")]);
    std::fs::write(s.dir.path().join("secret.txt"), "SECRET").unwrap();
    let root = s.dir.path().join("public");
    std::os::unix::fs::symlink("/etc/passwd", root.join("passwd")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", root.join("secret.txt")).unwrap();
    std::os::unix::fs::symlink("/", root.join("slash")).unwrap();
    std::fs::write(root.join(".env"), "TOKEN=1").unwrap();
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2f..%2fetc/passwd",
        "/passwd",
        "/secret.txt",
        "/slash/etc/passwd",
        "/slash/",
        "/.env",
    ] {
        let answer = get(&s, path).await;
        assert!(
            matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{path}: {}",
            answer.status
        );
        assert!(!answer.text().contains("root:"), "{path}");
        assert!(!answer.text().contains("SECRET"), "{path}");
        assert!(!answer.text().contains("TOKEN"), "{path}");
    }
}

#[tokio::test]
async fn a_root_linked_out_of_the_revision_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/etc", dir.path().join("public")).unwrap();
    let err = StaticSite::open(&dir.path().join("public"), dir.path()).unwrap_err();
    assert!(matches!(err, SiteError::Outside { .. }), "{err}");
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let err = StaticSite::open(&dir.path().join("file"), dir.path()).unwrap_err();
    assert!(matches!(err, SiteError::NotADirectory { .. }), "{err}");
}

#[tokio::test]
async fn conditional_requests() {
    let s = site(&[("index.html", b"home")]);
    let first = get(&s, "/").await;
    let etag = first.header(header::ETAG).to_string();
    let modified = first.header(header::LAST_MODIFIED).to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(modified.ends_with(" GMT"), "{modified}");

    let same = request(&s, Method::GET, "/", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert!(same.body.is_empty());
    assert_eq!(same.header(header::ETAG), etag);
    let other = request(
        &s,
        Method::GET,
        "/",
        &[(header::IF_NONE_MATCH, "\"other\"")],
    )
    .await;
    assert_eq!(
        (other.status, other.text().as_str()),
        (StatusCode::OK, "home")
    );
    let since = request(
        &s,
        Method::GET,
        "/",
        &[(header::IF_MODIFIED_SINCE, &modified)],
    )
    .await;
    assert_eq!(since.status, StatusCode::NOT_MODIFIED);
    let head = request(&s, Method::HEAD, "/", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(head.status, StatusCode::NOT_MODIFIED);
    let failed = request(&s, Method::GET, "/", &[(header::IF_MATCH, "\"other\"")]).await;
    assert_eq!(failed.status, StatusCode::PRECONDITION_FAILED);

    // New content (a new file, as a new revision has) gets a new ETag.
    let t = site(&[("index.html", b"HOME")]);
    assert_ne!(get(&t, "/").await.header(header::ETAG), etag);
}

#[tokio::test]
async fn ranges_of_small_and_streamed_files() {
    let big: Vec<u8> = (0..(body::CHUNK * 2 + 7))
        .map(|i| (i % 253) as u8)
        .collect();
    let s = site(&[("small.txt", b"0123456789"), ("big.bin", &big)]);
    let range = |value: &'static str| [(header::RANGE, value)];

    let part = request(&s, Method::GET, "/small.txt", &range("bytes=2-4")).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.text(), "234");
    assert_eq!(part.header(header::CONTENT_RANGE), "bytes 2-4/10");
    assert_eq!(part.header(header::CONTENT_LENGTH), "3");
    let tail = request(&s, Method::GET, "/small.txt", &range("bytes=-3")).await;
    assert_eq!(tail.text(), "789");
    let none = request(&s, Method::GET, "/small.txt", &range("bytes=10-")).await;
    assert_eq!(none.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(none.header(header::CONTENT_RANGE), "bytes */10");
    let multi = request(&s, Method::GET, "/small.txt", &range("bytes=0-1,4-5")).await;
    assert_eq!(
        (multi.status, multi.text().as_str()),
        (StatusCode::OK, "0123456789")
    );

    // Past one chunk: streamed, and still exact.
    let whole = get(&s, "/big.bin").await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.body, big);
    let start = body::CHUNK - 3;
    let end = body::CHUNK * 2 + 1;
    let value = format!("bytes={start}-{end}");
    let across = request(&s, Method::GET, "/big.bin", &[(header::RANGE, &value)]).await;
    assert_eq!(across.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(across.body, &big[start as usize..=end as usize]);

    // A range for an older version of the file is answered whole.
    let stale = request(
        &s,
        Method::GET,
        "/small.txt",
        &[(header::RANGE, "bytes=0-1"), (header::IF_RANGE, "\"old\"")],
    )
    .await;
    assert_eq!(
        (stale.status, stale.text().as_str()),
        (StatusCode::OK, "0123456789")
    );
}

#[tokio::test]
async fn head_and_other_methods() {
    let s = site(&[("index.html", b"home")]);
    let head = request(&s, Method::HEAD, "/", &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header(header::CONTENT_LENGTH), "4");
    let post = request(&s, Method::POST, "/", &[]).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header(header::ALLOW), "GET, HEAD");
}

#[tokio::test]
async fn small_files_are_answered_from_memory_once_read() {
    let big = vec![b'b'; (cache::MAX_FILE_BYTES + 1) as usize];
    let s = site(&[("small.txt", b"kept"), ("big.bin", &big)]);
    assert_eq!(get(&s, "/small.txt").await.text(), "kept");
    assert_eq!(get(&s, "/big.bin").await.body.len(), big.len());
    let root = s.dir.path().join("public");
    std::fs::remove_file(root.join("small.txt")).unwrap();
    std::fs::remove_file(root.join("big.bin")).unwrap();
    // The small file no longer touches the disk; its validators and ranges still hold.
    let again = get(&s, "/small.txt").await;
    assert_eq!(
        (again.status, again.text().as_str()),
        (StatusCode::OK, "kept")
    );
    let etag = again.header(header::ETAG).to_string();
    let same = request(
        &s,
        Method::GET,
        "/small.txt",
        &[(header::IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    let part = request(
        &s,
        Method::GET,
        "/small.txt",
        &[(header::RANGE, "bytes=1-2")],
    )
    .await;
    assert_eq!(
        (part.status, part.text().as_str()),
        (StatusCode::PARTIAL_CONTENT, "ep")
    );
    // The large one is read from disk each time.
    assert_eq!(get(&s, "/big.bin").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn withheld_names_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "home").unwrap();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "[run]\nenv = { KEY = \"v\" }\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/ferry.toml"), "docs").unwrap();
    let site = StaticSite::open(dir.path(), dir.path())
        .unwrap()
        .withholding(&["ferry.toml"]);
    let s = Site {
        dir,
        site: Arc::new(site),
    };
    assert_eq!(get(&s, "/ferry.toml").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&s, "/%66erry.toml").await.status, StatusCode::NOT_FOUND);
    // Only at the top: a page of that name deeper in the site is content.
    assert_eq!(get(&s, "/docs/ferry.toml").await.text(), "docs");
    assert_eq!(get(&s, "/").await.text(), "home");
}
