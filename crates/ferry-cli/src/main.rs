//! The `ferry` command: parses arguments and hands each subcommand to `commands/<verb>.rs`.

mod client;
mod commands;
mod output;

use anyhow::Result;
use clap::{Parser, Subcommand};
use client::{Client, Connection};
use commands::deploy::DeployArgs;
use commands::lifecycle::Action;
use commands::server::ServerArgs;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Deploy, route, scale and check web services on your own machine",
    propagate_version = true
)]
struct Cli {
    /// Server to talk to (default: the local server found in the data dir, else http://127.0.0.1:7070)
    #[arg(long, global = true, env = "FERRY_SERVER")]
    server: Option<String>,
    /// Admin token (default: the `token` file in the data dir)
    #[arg(long, global = true, env = "FERRY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Data directory (default: $XDG_DATA_HOME/ferry)
    #[arg(long, global = true, env = "FERRY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of tables (read commands and operation results)
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: API on 127.0.0.1:7070, router on :8080
    Server(ServerArgs),
    /// Start the platform, deploy DIR, print its URL, keep serving until Ctrl-C
    Up {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        deploy: DeployArgs,
    },
    /// Deploy a directory (ferry.toml / apprunner.yaml, or detected) or a local image
    Deploy {
        #[command(flatten)]
        args: DeployArgs,
        #[command(flatten)]
        runtime: commands::deploy::RuntimeArg,
    },
    /// Show how a directory would be built and run (detected, then the config file
    /// over it), without building; needs no server
    Plan {
        /// App directory
        #[arg(default_value = ".")]
        dir: std::path::PathBuf,
    },
    /// List services
    #[command(alias = "list")]
    Ls,
    /// Show the server, or one service with its instances
    Status { name: Option<String> },
    /// Show a service's logs (`-f` to follow)
    Logs {
        name: String,
        /// Keep streaming new lines
        #[arg(short, long)]
        follow: bool,
        /// Lines to show from the end
        #[arg(long, default_value_t = 100)]
        tail: usize,
    },
    /// List operations of a service (or all), or show one with --id
    Ops {
        name: Option<String>,
        /// Show this operation's timeline
        #[arg(long)]
        id: Option<String>,
    },
    /// List revisions of a service
    Revisions { name: String },
    /// List a service's builds; `logs NAME N` prints one's log, `cancel NAME N` stops it
    #[command(args_conflicts_with_subcommands = true)]
    Builds {
        name: Option<String>,
        #[command(subcommand)]
        command: Option<commands::builds::BuildsCommand>,
    },
    /// Run by the pre-receive hook of ferry's git remote (not for direct use)
    #[command(name = "git-hook", hide = true)]
    GitHook,
    /// Shared-responsibility view: what ferry runs, what you own, what the checks found
    Report { name: String },
    /// Re-activate an earlier revision (default: the previous one)
    Rollback {
        name: String,
        revision: Option<u32>,
        #[arg(long)]
        detach: bool,
    },
    /// Set a service's scaling (instances, concurrency, autoscaler knobs) without a new
    /// revision
    Scale(commands::scale::ScaleArgs),
    /// Stop all instances; the router answers 503 until resumed
    Pause {
        name: String,
        #[arg(long)]
        detach: bool,
    },
    /// Start a paused service again
    Resume {
        name: String,
        #[arg(long)]
        detach: bool,
    },
    /// Delete a service, its instances and its revisions
    Delete {
        name: String,
        #[arg(long)]
        detach: bool,
    },
    /// Print the admin token (for `ferry token | docker login HOST -u ferry --password-stdin`)
    Token,
    /// Scoped tokens for ferry's registry: create, ls, revoke
    Tokens {
        #[command(subcommand)]
        command: commands::tokens::TokensCommand,
    },
    /// Credentials for private http(s) git remotes: store (`URL --username U
    /// --password-stdin`), list (no URL), remove (`URL --remove`)
    GitAuth(commands::git_auth::GitAuthArgs),
    /// Images in ferry's registry: ls, rm
    Images {
        #[command(subcommand)]
        command: commands::images::ImagesCommand,
    },
    /// Ferry's registry: gc
    Registry {
        #[command(subcommand)]
        command: commands::images::RegistryCommand,
    },
    /// Print a shell completion script
    Completions { shell: clap_complete::Shell },
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
    // `ferry lint` runs once per file in CI loops, like hadolint: hand it its arguments
    // before building the whole CLI's parser, which costs more than linting a file.
    let mut raw = std::env::args_os();
    if raw.nth(1).is_some_and(|verb| verb == "lint") {
        let code = ferry_lint::cli::run(raw.collect());
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    // reqwest's rustls needs a process-wide crypto provider; an error only means one is
    // already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    // The analysis commands are synchronous and own their exit codes (Hadolint's and
    // Trivy's), so they run before any async runtime exists.
    let code = match cli.command {
        Command::Lint { args } => ferry_lint::cli::run(args),
        Command::Scan { args } => ferry_scan::cli::run(ferry_scan::cli::Command::Scan, args),
        Command::Sbom { args } => ferry_scan::cli::run(ferry_scan::cli::Command::Sbom, args),
        Command::ImageLint { args } => {
            ferry_scan::cli::run(ferry_scan::cli::Command::ImageLint, args)
        }
        Command::Vulndb { args } => ferry_scan::cli::run(ferry_scan::cli::Command::Vulndb, args),
        Command::Completions { shell } => {
            commands::completions::run::<Cli>(shell);
            0
        }
        Command::Plan { dir } => match commands::plan::run(&dir, cli.json) {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("error: {}", chain(&err));
                1
            }
        },
        command => {
            let is_server = matches!(command, Command::Server(_) | Command::Up { .. });
            init_tracing(is_server);
            let global = Global {
                server: cli.server,
                token: cli.token,
                data_dir: cli.data_dir,
                json: cli.json,
            };
            match run_async(global, command) {
                Ok(()) => 0,
                Err(err) => {
                    eprintln!("error: {}", chain(&err));
                    1
                }
            }
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

struct Global {
    server: Option<String>,
    token: Option<String>,
    data_dir: Option<PathBuf>,
    json: bool,
}

fn init_tracing(server: bool) {
    let default = if server { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// The error and its causes on one line, each once.
fn chain(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn run_async(global: Global, command: Command) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let json = global.json;
        match command {
            Command::Server(args) => return commands::server::run(args, global.data_dir).await,
            Command::Up { server, deploy } => {
                return commands::up::run(server, deploy, global.data_dir).await
            }
            _ => {}
        }
        if let Command::GitHook = command {
            return commands::git_hook::run().await;
        }
        let connection = Connection::resolve(global.server, global.token, global.data_dir);
        if let Command::Token = command {
            return commands::token::print(&connection);
        }
        let client = Client::new(connection)?;
        match command {
            Command::Deploy { mut args, runtime } => {
                args.runtime = runtime.runtime;
                commands::deploy::run(&client, args, json).await
            }
            Command::Ls => commands::status::list(&client, json).await,
            Command::Status { name } => {
                commands::status::show(&client, name.as_deref(), json).await
            }
            Command::Logs { name, follow, tail } => {
                commands::logs::run(&client, &name, follow, tail, json).await
            }
            Command::Ops { name, id } => {
                commands::ops::run(&client, name.as_deref(), id.as_deref(), json).await
            }
            Command::Revisions { name } => commands::status::revisions(&client, &name, json).await,
            Command::Builds { name, command } => {
                commands::builds::run(&client, name, command, json).await
            }
            Command::Report { name } => commands::report::run(&client, &name, json).await,
            Command::Rollback {
                name,
                revision,
                detach,
            } => {
                commands::lifecycle::run(&client, &name, Action::Rollback(revision), detach, json)
                    .await
            }
            Command::Scale(args) => commands::scale::run(&client, args, json).await,
            Command::Pause { name, detach } => {
                commands::lifecycle::run(&client, &name, Action::Pause, detach, json).await
            }
            Command::Resume { name, detach } => {
                commands::lifecycle::run(&client, &name, Action::Resume, detach, json).await
            }
            Command::Delete { name, detach } => {
                commands::lifecycle::run(&client, &name, Action::Delete, detach, json).await
            }
            Command::Tokens { command } => commands::tokens::run(&client, command, json).await,
            Command::GitAuth(args) => commands::git_auth::run(&client, args, json).await,
            Command::Images { command } => commands::images::run(&client, command, json).await,
            Command::Registry { command } => commands::images::gc(&client, command, json).await,
            _ => unreachable_command(),
        }
    })
}

/// The synchronous commands were handled before the runtime started.
fn unreachable_command() -> Result<()> {
    anyhow::bail!("internal error: command dispatched twice")
}
