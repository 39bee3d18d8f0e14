//! `ferry image-lint`: Dockle's checks on an image, with Dockle's flags, environment
//! variables, `.dockleignore`, output formats and exit codes (`--exit-code N` when a
//! check is at `--exit-level` or above; 0 otherwise; 1 on errors; 2 on usage errors).

use std::ffi::OsString;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use clap::Parser;

use super::ignore::{self, DOCKLE_IGNORE_FILE};
use super::output::{self, Format};
use super::{lint_image, ImageLintOptions, Level};
use crate::image::ImageSource;
use crate::sbom::cli::ImageArgs;

#[derive(Debug, Parser)]
#[command(
    name = "ferry image-lint",
    about = "Check how an image was built: Dockle's checkpoints (CIS-DI, DKL-DI, DKL-LI)"
)]
struct ImageLintArgs {
    /// Image to check: a registry reference (`localhost:7070/shop/web:1.4`), a local
    /// Docker Engine image (`web:1`), a `docker save` tar or an OCI layout directory.
    image: Option<String>,
    /// A `docker save` tar (optionally gzip-compressed).
    #[arg(long, value_name = "TAR", conflicts_with_all = ["image", "oci_layout", "rootfs", "docker"])]
    input: Option<PathBuf>,
    /// An OCI image layout directory, optionally `DIR:REF` to pick a tagged manifest.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["image", "rootfs", "docker"])]
    oci_layout: Option<String>,
    /// A directory used as the image's root filesystem (no config: config checks pass).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["image", "docker"])]
    rootfs: Option<PathBuf>,
    /// An image in the local Docker Engine, by name or id.
    #[arg(long, value_name = "NAME", conflicts_with = "image")]
    docker: Option<String>,
    /// Registry user name (else Docker's config.json credentials are used).
    #[arg(long, env = "FERRY_REGISTRY_USERNAME")]
    username: Option<String>,
    /// Registry password or token.
    #[arg(long, env = "FERRY_REGISTRY_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Talk plain HTTP to the registry (the default for loopback registries).
    #[arg(long)]
    plain_http: bool,
    /// Accept any TLS certificate from the registry.
    #[arg(long)]
    insecure: bool,

    /// Check ids to ignore (repeatable or comma-separated); `.dockleignore` in the
    /// current directory is read too.
    #[arg(
        short = 'i',
        long,
        value_name = "ID",
        env = "DOCKLE_IGNORES",
        value_delimiter = ','
    )]
    ignore: Vec<String>,
    /// CIS-DI-0010: a variable name that is not a secret (e.g. KEYCLOAK_VERSION).
    #[arg(
        long,
        visible_alias = "ak",
        value_name = "KEY",
        env = "DOCKLE_ACCEPT_KEYS",
        value_delimiter = ','
    )]
    accept_key: Vec<String>,
    /// CIS-DI-0010: another word that makes a variable name a secret.
    #[arg(
        long,
        visible_alias = "sw",
        value_name = "WORD",
        env = "DOCKLE_REJECT_KEYS",
        value_delimiter = ','
    )]
    sensitive_word: Vec<String>,
    /// A file name or image path not to look at (e.g. id_rsa, app/config/settings.py).
    #[arg(
        long,
        visible_alias = "af",
        value_name = "NAME",
        env = "DOCKLE_ACCEPT_FILES",
        value_delimiter = ','
    )]
    accept_file: Vec<String>,
    /// CIS-DI-0010: another file name that holds secrets (e.g. .npmrc).
    #[arg(
        long,
        visible_alias = "sf",
        value_name = "NAME",
        env = "DOCKLE_REJECT_FILES",
        value_delimiter = ','
    )]
    sensitive_file: Vec<String>,
    /// A file extension not to look at (e.g. pem).
    #[arg(
        long,
        visible_alias = "ae",
        value_name = "EXT",
        env = "DOCKLE_ACCEPT_FILE_EXTENSIONS",
        value_delimiter = ','
    )]
    accept_file_extension: Vec<String>,
    /// CIS-DI-0010: another file extension that holds secrets (e.g. pfx).
    #[arg(
        long,
        visible_alias = "se",
        value_name = "EXT",
        env = "DOCKLE_REJECT_FILE_EXTENSIONS",
        value_delimiter = ','
    )]
    sensitive_file_extension: Vec<String>,

    /// Output format.
    #[arg(
        short = 'f',
        long,
        value_enum,
        default_value = "list",
        env = "DOCKLE_OUTPUT_FORMAT"
    )]
    format: Format,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE", env = "DOCKLE_OUTPUT_FILE")]
    output: Option<PathBuf>,
    /// Exit with this code when a check is at --exit-level or above.
    #[arg(
        short = 'c',
        long,
        value_name = "N",
        default_value_t = 0,
        env = "DOCKLE_EXIT_CODE"
    )]
    exit_code: i32,
    /// The level --exit-code applies from: info, warn or fatal.
    #[arg(short = 'l', long, value_name = "LEVEL", default_value = "warn", env = "DOCKLE_EXIT_LEVEL", value_parser = parse_exit_level)]
    exit_level: Level,
    /// No colours in the list output (also when NO_COLOR is set).
    #[arg(long)]
    no_color: bool,
    /// Do not print warnings to standard error.
    #[arg(short = 'q', long)]
    quiet: bool,
}

fn parse_exit_level(text: &str) -> Result<Level, String> {
    match text.parse::<Level>()? {
        level @ (Level::Info | Level::Warn | Level::Fatal) => Ok(level),
        _ => Err(format!("{text:?}: expected info, warn or fatal")),
    }
}

/// Runs `ferry image-lint ARGS…`; returns the exit code. Synchronous: it builds its
/// own async runtime to reach the Docker Engine or a registry.
pub fn run(args: Vec<OsString>) -> i32 {
    let parsed = match ImageLintArgs::try_parse_from(
        std::iter::once(OsString::from("ferry image-lint")).chain(args),
    ) {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run_parsed(&parsed) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ferry image-lint: {message}");
            1
        }
    }
}

fn run_parsed(args: &ImageLintArgs) -> Result<i32, String> {
    let mut ignore_ids = args.ignore.clone();
    let ignore_file = ignore::load(Path::new(DOCKLE_IGNORE_FILE))
        .map_err(|e| format!("{DOCKLE_IGNORE_FILE}: {e}"))?;
    if let Some(list) = ignore_file {
        if !args.quiet {
            for warning in &list.warnings {
                eprintln!("warning: {warning}");
            }
        }
        ignore_ids.extend(list.ids);
    }

    let image_args = ImageArgs {
        image: args.image.clone(),
        input: args.input.clone(),
        oci_layout: args.oci_layout.clone(),
        rootfs: args.rootfs.clone(),
        docker: args.docker.clone(),
        source: None,
        username: args.username.clone(),
        password: args.password.clone(),
        plain_http: args.plain_http,
        insecure: args.insecure,
    };
    // Dockle checks the tag of images named by reference, not of files.
    let reference = match image_args.source()?.0 {
        ImageSource::Docker(name) | ImageSource::Registry(name) => Some(name),
        _ => None,
    };
    let (fs, _) = image_args.open()?;
    if !args.quiet {
        for warning in fs.warnings() {
            eprintln!("warning: {warning}");
        }
    }

    let options = ImageLintOptions {
        ignore: ignore_ids,
        accept_keys: args.accept_key.clone(),
        sensitive_words: args.sensitive_word.clone(),
        accept_files: args.accept_file.clone(),
        sensitive_files: args.sensitive_file.clone(),
        accept_file_extensions: args.accept_file_extension.clone(),
        sensitive_file_extensions: args.sensitive_file_extension.clone(),
        content_trust: ImageLintOptions::content_trust_from_env(),
        reference,
    };
    let report = lint_image(&fs, &options);
    if !args.quiet {
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    }

    let color = args.format == Format::List
        && !args.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && args.output.is_none()
        && std::io::stdout().is_terminal();
    let text = output::render(&report, args.format, color);
    write_output(args.output.as_deref(), &text)?;
    Ok(report.exit_code(args.exit_code, args.exit_level))
}

fn write_output(path: Option<&Path>, text: &str) -> Result<(), String> {
    let mut text = text.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    match path {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| format!("standard output: {e}")),
    }
}
