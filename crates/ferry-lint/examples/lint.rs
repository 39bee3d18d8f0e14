//! `ferry lint` without the rest of the ferry binary, for quick local runs:
//! `cargo run -p ferry-lint --example lint -- -f json Dockerfile`.

fn main() {
    std::process::exit(ferry_lint::cli::run(std::env::args_os().skip(1).collect()));
}
