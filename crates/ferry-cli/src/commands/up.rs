//! `ferry up DIR`: the one-command demo. Starts the platform in the foreground, deploys
//! the app, prints its URL, and keeps serving until Ctrl-C.

use crate::client::{Client, Connection};
use crate::commands::deploy::{self, DeployArgs};
use crate::commands::server::{cancel_on_signals, ServerArgs};
use anyhow::{Context, Result};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

pub async fn run(
    server: ServerArgs,
    deploy_args: DeployArgs,
    data_dir: Option<PathBuf>,
) -> Result<()> {
    let options = server.options(data_dir);
    let data_root = options.data_dir.clone();
    let shutdown = CancellationToken::new();
    cancel_on_signals(shutdown.clone())?;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let server_shutdown = shutdown.clone();
    let mut server = tokio::spawn(async move {
        ferry_server::run(options, server_shutdown, move |info| {
            let _ = ready_tx.send(info.clone());
        })
        .await
    });
    let info = tokio::select! {
        info = ready_rx => info.context("the server stopped before it was ready")?,
        result = &mut server => {
            result.context("the server task failed")?.context("ferry server failed")?;
            anyhow::bail!("the server stopped before it was ready");
        }
    };
    let connection =
        Connection::resolve(Some(format!("http://{}", info.api)), None, Some(data_root));
    let client = Client::new(connection)?;
    if let Err(err) = deploy::run(&client, deploy_args, false).await {
        shutdown.cancel();
        let _ = server.await;
        return Err(err);
    }
    eprintln!("serving; press Ctrl-C to stop (API on http://{})", info.api);
    server
        .await
        .context("the server task failed")?
        .context("ferry server failed")
}
