//! `ferry images` (ls, rm) and `ferry registry gc`: what ferry's registry holds.

use crate::client::Client;
use crate::output::{outln, print_json, table};
use anyhow::Result;
use clap::Subcommand;
use comfy_table::{Cell, CellAlignment};
use ferry_api::{GcRequest, GcResult, ImageList, ImageRemoved};
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum ImagesCommand {
    /// List repositories with their tags, digests and sizes
    #[command(alias = "list")]
    Ls {
        /// Only this repository
        repository: Option<String>,
    },
    /// Remove REPO:TAG (and its manifest when nothing else uses it) or REPO@DIGEST
    Rm {
        reference: String,
        /// Remove a manifest even though a revision can be rolled back to it
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Remove blobs no manifest and no revision uses; report what was freed
    Gc {
        /// Only count what would go
        #[arg(long)]
        dry_run: bool,
        /// Keep content younger than this (default: the server's, 1h), e.g. 0s, 10m
        #[arg(long, value_name = "DURATION", value_parser = super::server::parse_duration_or_zero)]
        grace: Option<Duration>,
    },
}

pub async fn run(client: &Client, command: ImagesCommand, json: bool) -> Result<()> {
    match command {
        ImagesCommand::Ls { repository } => {
            let path = match &repository {
                Some(name) => format!("/images/{}", path_of(name)),
                None => "/images".to_string(),
            };
            let list: ImageList = client.get(&path).await?;
            if json {
                return print_json(&list);
            }
            let mut out = table(&["REPOSITORY", "TAG", "DIGEST", "SIZE"]);
            for repo in &list.repositories {
                for tag in &repo.tags {
                    out.add_row(vec![
                        Cell::new(&repo.name),
                        Cell::new(&tag.tag),
                        Cell::new(short_digest(&tag.digest)),
                        Cell::new(tag.size.map_or("-".to_string(), human_bytes))
                            .set_alignment(CellAlignment::Right),
                    ]);
                }
                if repo.truncated {
                    out.add_row(vec![Cell::new(&repo.name), Cell::new("…")]);
                }
            }
            outln!("{out}");
            if list.truncated {
                outln!("(more repositories than shown)");
            }
            Ok(())
        }
        ImagesCommand::Rm { reference, force } => {
            let query = if force { "?force=true" } else { "" };
            let removed: ImageRemoved = client
                .delete(&format!("/images/{}{query}", path_of(&reference)))
                .await?;
            if json {
                return print_json(&removed);
            }
            for tag in &removed.tags {
                outln!("Untagged {}:{tag}", removed.repository);
            }
            match &removed.manifest {
                Some(digest) => outln!(
                    "Deleted {}@{digest} (its blobs go at the next `ferry registry gc`)",
                    removed.repository
                ),
                None => outln!("The manifest stays: another tag or a revision uses it"),
            }
            Ok(())
        }
    }
}

pub async fn gc(client: &Client, command: RegistryCommand, json: bool) -> Result<()> {
    let RegistryCommand::Gc { dry_run, grace } = command;
    let result: GcResult = client
        .post(
            "/registry/gc",
            &GcRequest {
                grace_seconds: grace.map(|g| g.as_secs()),
                dry_run,
            },
        )
        .await?;
    if json {
        return print_json(&result);
    }
    let verb = if result.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    outln!(
        "{verb} {} blob(s), {} freed; {} kept, {} pinned by revisions",
        result.blobs_removed,
        human_bytes(result.bytes_removed),
        result.blobs_kept,
        result.pinned.len()
    );
    if result.links_removed + result.uploads_removed + result.referrers_removed > 0 {
        outln!(
            "Also {} link(s), {} abandoned upload(s), {} referrer entr(ies)",
            result.links_removed,
            result.uploads_removed,
            result.referrers_removed
        );
    }
    if result.scans_removed > 0 {
        outln!(
            "Also {} scan record(s) of removed images",
            result.scans_removed
        );
    }
    for image in &result.unresolved {
        outln!("warning: revision image {image} no longer resolves: nothing pinned for it");
    }
    Ok(())
}

/// A repository or reference as URL path segments: `/` stays a separator, everything
/// outside the name and reference grammar is escaped.
fn path_of(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b':' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => format!("{algorithm}:{}", &hex[..hex.len().min(12)]),
        None => digest.to_string(),
    }
}

/// 512 B, 3.4 KiB, 12.0 MiB, 1.2 GiB.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(
            short_digest("sha256:0123456789abcdef"),
            "sha256:0123456789ab"
        );
        assert_eq!(path_of("shop/web:1"), "shop/web:1");
        assert_eq!(path_of("a b?"), "a%20b%3F");
    }
}
