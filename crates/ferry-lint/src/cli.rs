//! `ferry lint`: Hadolint-compatible command line (arguments after `lint`).

use std::ffi::OsString;

/// Runs `ferry lint` with the arguments that follow `lint`; returns the exit code.
pub fn run(_args: Vec<OsString>) -> i32 {
    eprintln!("ferry lint: not implemented yet");
    2
}
