//! Fuzz target: any bytes, read as a Dockerfile, lint without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let config = ferry_lint::LintConfig::default();
    let _ = ferry_lint::lint_str(&text, "Dockerfile", &config);
});
