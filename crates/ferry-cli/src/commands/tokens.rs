//! `ferry tokens`: scoped tokens for ferry's registry (create, ls, revoke).

use crate::client::{segment, Client};
use crate::output::{ago, outln, print_json, table};
use anyhow::Result;
use clap::Subcommand;
use comfy_table::Cell;
use ferry_api::{CreateTokenRequest, CreatedToken, RegistryToken};
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Create a token; its secret is printed once
    Create {
        /// What the token is for (shown by `ferry tokens ls`)
        #[arg(long)]
        name: Option<String>,
        /// Repositories it may pull from (glob, `*` matches anything; repeatable)
        #[arg(long, value_name = "GLOB")]
        pull: Vec<String>,
        /// Repositories it may push to, pull from and delete in (glob; repeatable)
        #[arg(long, value_name = "GLOB")]
        push: Vec<String>,
        /// Lifetime: 90s, 15m, 12h, 30d, 2w (default: no expiry)
        #[arg(long, value_name = "DURATION", value_parser = super::server::parse_duration)]
        expires: Option<Duration>,
    },
    /// List tokens (never their secrets)
    #[command(alias = "list")]
    Ls,
    /// Revoke a token: it stops working at once
    Revoke { id: String },
}

pub async fn run(client: &Client, command: TokensCommand, json: bool) -> Result<()> {
    match command {
        TokensCommand::Create {
            name,
            pull,
            push,
            expires,
        } => {
            let created: CreatedToken = client
                .post(
                    "/tokens",
                    &CreateTokenRequest {
                        name,
                        pull,
                        push,
                        expires_in_seconds: expires.map(|d| d.as_secs()),
                    },
                )
                .await?;
            if json {
                return print_json(&created);
            }
            let token = &created.token;
            outln!("Created registry token {} ({})", token.id, scope(token));
            outln!("Its secret, shown only now:\n\n  {}\n", created.secret);
            let host = client
                .base()
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            outln!("Log in with any user name: docker login {host} -u ci --password-stdin");
            Ok(())
        }
        TokensCommand::Ls => {
            let tokens: Vec<RegistryToken> = client.get("/tokens").await?;
            if json {
                return print_json(&tokens);
            }
            let now = time::OffsetDateTime::now_utc();
            let mut out = table(&["ID", "NAME", "PULL", "PUSH", "CREATED", "EXPIRES", "STATE"]);
            for token in tokens {
                let state = if token.revoked {
                    "revoked"
                } else if !token.is_usable_at(now) {
                    "expired"
                } else {
                    "active"
                };
                out.add_row(vec![
                    Cell::new(token.id.as_str()),
                    Cell::new(&token.name),
                    Cell::new(token.pull.join(" ")),
                    Cell::new(token.push.join(" ")),
                    Cell::new(ago(token.created_at)),
                    Cell::new(token.expires_at.map_or("never".to_string(), rfc3339)),
                    Cell::new(state),
                ]);
            }
            outln!("{out}");
            Ok(())
        }
        TokensCommand::Revoke { id } => {
            let token: RegistryToken = client.delete(&format!("/tokens/{}", segment(&id))).await?;
            if json {
                return print_json(&token);
            }
            outln!("Revoked registry token {}", token.id);
            Ok(())
        }
    }
}

fn scope(token: &RegistryToken) -> String {
    let list = |globs: &[String]| {
        if globs.is_empty() {
            "-".to_string()
        } else {
            globs.join(", ")
        }
    };
    let expiry = token.expires_at.map_or("no expiry".to_string(), |at| {
        format!("expires {}", rfc3339(at))
    });
    format!(
        "pull: {}; push: {}; {expiry}",
        list(&token.pull),
        list(&token.push)
    )
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
