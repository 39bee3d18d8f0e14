//! The `ferry` command: parses arguments and hands each subcommand to `commands/<verb>.rs`.

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Deploy, route, scale and check web services on your own machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint Dockerfiles with Hadolint's rules, config and output formats
    #[command(disable_help_flag = true)]
    Lint {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Scan an image for vulnerabilities (Trivy-style)
    #[command(disable_help_flag = true)]
    Scan {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Write an SBOM (CycloneDX or SPDX) of an image
    #[command(disable_help_flag = true)]
    Sbom {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Check how an image was built (Dockle's checks)
    #[command(name = "image-lint", disable_help_flag = true)]
    ImageLint {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Manage the local vulnerability database (OSV data)
    #[command(disable_help_flag = true)]
    Vulndb {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Lint { args } => ferry_lint::cli::run(args),
        Command::Scan { args } => ferry_scan::cli::run(ferry_scan::cli::Command::Scan, args),
        Command::Sbom { args } => ferry_scan::cli::run(ferry_scan::cli::Command::Sbom, args),
        Command::ImageLint { args } => {
            ferry_scan::cli::run(ferry_scan::cli::Command::ImageLint, args)
        }
        Command::Vulndb { args } => ferry_scan::cli::run(ferry_scan::cli::Command::Vulndb, args),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
