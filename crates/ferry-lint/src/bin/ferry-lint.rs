//! `ferry-lint`: `ferry lint` as a binary of its own, for CI loops that start a linter
//! once per Dockerfile the way they start `hadolint`. It takes the same arguments and
//! exits the same way; being small, it starts in about half the time of `ferry`, which
//! carries the whole platform.

fn main() {
    let code = ferry_lint::cli::run(std::env::args_os().skip(1).collect());
    std::process::exit(code);
}
