//! `ferry ls` and `ferry status`: services, and one service in detail.

use crate::client::{segment, Client};
use crate::output::{ago, outln, print_json, status_cell, table};
use anyhow::Result;
use comfy_table::Cell;
use ferry_api::ServerStatus;
use ferry_api::ServiceDetail;
use ferry_types::{Revision, Service};

pub async fn list(client: &Client, json: bool) -> Result<()> {
    let services: Vec<Service> = client.get("/services").await?;
    if json {
        return print_json(&services);
    }
    if services.is_empty() {
        eprintln!("no services yet: deploy one with `ferry deploy <dir>`");
        return Ok(());
    }
    let mut out = table(&["NAME", "STATUS", "SOURCE", "URL", "UPDATED"]);
    for service in services {
        out.add_row(vec![
            Cell::new(service.name.as_str()),
            status_cell(&service.status.to_string()),
            Cell::new(match service.source_kind {
                ferry_types::SourceKind::Image => "image",
                ferry_types::SourceKind::Directory => "directory",
            }),
            Cell::new(&service.url),
            Cell::new(ago(service.updated_at)),
        ]);
    }
    outln!("{out}");
    Ok(())
}

pub async fn show(client: &Client, name: Option<&str>, json: bool) -> Result<()> {
    let Some(name) = name else {
        let status: ServerStatus = client.get("/status").await?;
        if json {
            return print_json(&status);
        }
        outln!("server    {} (ferry {})", client.base(), status.version);
        outln!("runtimes  {}", status.runtimes.join(", "));
        outln!("services  {}", status.services);
        outln!("data dir  {}", status.data_dir);
        for limits in &status.limits {
            outln!("limits    {limits}");
        }
        for task in &status.failing_tasks {
            outln!(
                "failing   {} {}: {} ({} in a row)",
                task.task,
                task.key,
                task.last_outcome,
                task.failures
            );
        }
        return Ok(());
    };
    let detail: ServiceDetail = client.get(&format!("/services/{}", segment(name))).await?;
    if json {
        return print_json(&detail);
    }
    let service = &detail.service;
    outln!("{}  {}", service.name, service.status);
    outln!("  url        {}", service.url);
    for domain in &service.domains {
        outln!("  domain     http://{domain}");
    }
    outln!(
        "  revision   {}",
        detail
            .active_revision_number
            .map_or("none".to_string(), |n| n.to_string())
    );
    if let Some(commit) = &detail.active_commit {
        outln!("  commit     {commit}");
    }
    if let Some(git) = &detail.git {
        let place = match &git.dir {
            Some(dir) => format!("{} ({dir})", git.branch),
            None => git.branch.clone(),
        };
        let how = match git.poll_ms {
            Some(ms) => format!("polled every {}s, webhooks, pushes", ms / 1000),
            None => "webhooks and pushes".to_string(),
        };
        outln!(
            "  git        {} {place} ({how})",
            git.url.as_deref().unwrap_or("pushes only")
        );
        outln!("  remote     {}{}", client.base(), git.remote_path);
        outln!(
            "  webhook    {}{} (secret {})",
            client.base(),
            git.webhook_path,
            git.webhook_secret
        );
    }
    if let Some(root) = &detail.static_root {
        outln!("  runtime    static: {root}/ served by ferry's router (no instances)");
    }
    outln!("  phase      {}", detail.runtime.phase);
    outln!("  restarts   {}", detail.runtime.restarts);
    if let Some(exit) = &detail.runtime.last_exit {
        outln!("  last exit  {exit}");
    }
    if let Some(following) = &detail.following {
        let how = match (following.auto_deploy, following.poll_ms) {
            (false, _) => "auto-deploy off".to_string(),
            (true, None) => "deploys on push".to_string(),
            (true, Some(ms)) => format!("polled every {}s", ms / 1000),
        };
        outln!("  follows    {} ({how})", following.image);
        if let Some(digest) = &following.last_digest {
            outln!("  digest     {digest}");
        }
    }
    for task in detail.tasks.iter().filter(|t| t.failures > 0) {
        outln!(
            "  {:<10} {} ({} in a row)",
            task.task,
            task.last_outcome,
            task.failures
        );
    }
    if let Some(autoscale) = &detail.autoscale {
        crate::commands::scale::print_status(autoscale);
    }
    let m = &detail.metrics;
    outln!(
        "  requests   {} (2xx {}, 4xx {}, 5xx {}, router errors {}), p50 {:.1} ms, p99 {:.1} ms",
        m.requests,
        m.responses_2xx,
        m.responses_4xx,
        m.responses_5xx,
        m.router_errors,
        m.latency_p50_ms,
        m.latency_p99_ms
    );
    if let Some(op) = &detail.last_operation {
        outln!(
            "  last op    {} {} {} ({})",
            op.id,
            op.kind,
            op.status,
            ago(op.created_at)
        );
    }
    if !detail.runtime.instances.is_empty() {
        let mut out = table(&[
            "INSTANCE",
            "REVISION",
            "RUNTIME",
            "STATE",
            "ADDRESS",
            "IN-FLIGHT",
            "STARTED",
        ]);
        let revisions: Vec<Revision> = client
            .get(&format!("/services/{}/revisions", segment(name)))
            .await
            .unwrap_or_default();
        for inst in &detail.runtime.instances {
            let revision = revisions
                .iter()
                .find(|r| r.id == inst.revision_id)
                .map_or(inst.revision_id.to_string(), |r| r.number.to_string());
            out.add_row(vec![
                Cell::new(inst.id.as_str()),
                Cell::new(revision),
                Cell::new(inst.runtime.to_string()),
                status_cell(&inst.state.to_string()),
                Cell::new(&inst.address),
                Cell::new(inst.in_flight),
                Cell::new(ago(inst.started_at)),
            ]);
        }
        outln!();
        outln!("{out}");
    }
    Ok(())
}

pub async fn revisions(client: &Client, name: &str, json: bool) -> Result<()> {
    let revisions: Vec<Revision> = client
        .get(&format!("/services/{}/revisions", segment(name)))
        .await?;
    if json {
        return print_json(&revisions);
    }
    let mut out = table(&["REVISION", "STATUS", "SOURCE", "CREATED", "FAILURE"]);
    for revision in revisions {
        let source = match &revision.source {
            ferry_types::RevisionSource::Image {
                image,
                from_tag: Some(tag),
                ..
            } => {
                let digest = image.rsplit_once('@').map_or("", |(_, d)| d);
                format!("{tag} ({})", &digest[..digest.len().min(19)])
            }
            ferry_types::RevisionSource::Image { image, .. } => image.clone(),
            ferry_types::RevisionSource::Directory { .. } if revision.commit.is_some() => {
                let commit = revision.commit.as_deref().unwrap_or_default();
                format!("commit {}", &commit[..commit.len().min(12)])
            }
            ferry_types::RevisionSource::Directory { digest } => {
                format!("upload {}", &digest[..digest.len().min(19)])
            }
        };
        out.add_row(vec![
            Cell::new(revision.number),
            status_cell(revision.status.as_str()),
            Cell::new(source),
            Cell::new(ago(revision.created_at)),
            Cell::new(
                revision
                    .failure
                    .as_deref()
                    .and_then(|f| f.lines().next())
                    .unwrap_or(""),
            ),
        ]);
    }
    outln!("{out}");
    Ok(())
}
