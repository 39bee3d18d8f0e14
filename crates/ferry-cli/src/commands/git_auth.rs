//! `ferry git-auth`: credentials for private http(s) git remotes (one per origin),
//! stored by the server and used by `ferry deploy --git`, polling and webhooks.

use crate::client::{segment, Client};
use crate::output::{outln, print_json, table};
use anyhow::{bail, Context, Result};
use clap::Args;
use ferry_api::{GitCredential, GitCredentialView};
use std::io::Read as _;

/// Most bytes read from standard input for a password.
const MAX_PASSWORD_INPUT: u64 = 8 * 1024;

#[derive(Args, Debug)]
pub struct GitAuthArgs {
    /// The remote's origin, `https://host[:port]` (a repository URL works: only its
    /// origin is kept). Without it: list the stored origins.
    pub url: Option<String>,
    /// User name on that host (for a forge token, any name the forge accepts)
    #[arg(long, requires = "url", conflicts_with = "remove")]
    pub username: Option<String>,
    /// Read the password (a forge access token) from standard input
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Remove the stored credential of that origin
    #[arg(long, requires = "url")]
    pub remove: bool,
}

pub async fn run(client: &Client, args: GitAuthArgs, json: bool) -> Result<()> {
    let Some(url) = args.url else {
        let stored: Vec<GitCredentialView> = client.get("/git/credentials").await?;
        if json {
            return print_json(&stored);
        }
        let mut out = table(&["ORIGIN", "USERNAME"]);
        for credential in &stored {
            out.add_row(vec![credential.origin.clone(), credential.username.clone()]);
        }
        outln!("{out}");
        return Ok(());
    };
    if args.remove {
        let removed: serde_json::Value = client
            .delete(&format!("/git/credentials?url={}", segment(&url)))
            .await?;
        if json {
            return print_json(&removed);
        }
        outln!("Removed the git credentials of {url}");
        return Ok(());
    }
    let Some(username) = args.username else {
        bail!("give --username USER --password-stdin to store credentials, or --remove");
    };
    if !args.password_stdin {
        bail!("--password-stdin is required: the password is read from standard input so it stays out of the shell's history");
    }
    let mut password = String::new();
    std::io::stdin()
        .take(MAX_PASSWORD_INPUT)
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    let stored: GitCredentialView = client
        .put(
            "/git/credentials",
            &GitCredential {
                url,
                username,
                password,
            },
        )
        .await?;
    if json {
        return print_json(&stored);
    }
    outln!(
        "Stored git credentials for {} (user {}); deploys and polls of its repositories use them",
        stored.origin,
        stored.username
    );
    Ok(())
}
