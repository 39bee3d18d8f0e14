//! `ferry scan`, `ferry sbom`, `ferry image-lint`, `ferry vulndb`: the standalone commands.
//!
//! Each command parses the arguments that follow its name with clap and returns an exit
//! code: 0 success, 1 failure (Trivy's code for errors), 2 usage errors; `ferry scan`
//! returns `--exit-code N` when vulnerabilities remain after the filters, as Trivy does.

mod scan;
mod vulndb;

use std::ffi::OsString;
use std::path::PathBuf;

/// Which standalone command to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Scan,
    Sbom,
    ImageLint,
    Vulndb,
}

/// Runs one of the scan commands with the arguments that follow its name; returns the
/// exit code. Synchronous: it builds its own async runtime if it needs one.
pub fn run(command: Command, args: Vec<OsString>) -> i32 {
    match command {
        Command::Scan => scan::run(args),
        Command::Vulndb => vulndb::run(args),
        Command::Sbom => crate::sbom::cli::run(args),
        Command::ImageLint => crate::imagelint::cli::run(args),
    }
}

/// Parses `args` for the command named `name`; on `--help`/`--version` or a usage
/// error, prints clap's message and returns the exit code to use.
fn parse<T: clap::Parser>(name: &str, args: Vec<OsString>) -> Result<T, i32> {
    T::try_parse_from(std::iter::once(OsString::from(name)).chain(args)).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            2
        } else {
            0
        }
    })
}

/// `--db PATH`, else the default location; an error when no location can be worked out.
fn db_path(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    flag.or_else(crate::vulndb::paths::default_db_path).ok_or_else(|| {
        "cannot work out where the vulnerability database lives: set FERRY_DATA_DIR, XDG_DATA_HOME or HOME, or pass --db".to_string()
    })
}

/// The message of an error and all its sources, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
