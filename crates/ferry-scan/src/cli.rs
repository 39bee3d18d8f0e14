//! `ferry scan`, `ferry sbom`, `ferry image-lint`, `ferry vulndb`: the standalone commands.

use std::ffi::OsString;

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
pub fn run(command: Command, _args: Vec<OsString>) -> i32 {
    eprintln!("ferry {command:?}: not implemented yet");
    2
}
