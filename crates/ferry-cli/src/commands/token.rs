//! `ferry token`: the admin token on stdout, for `docker login` and scripts.

use crate::client::Connection;
use anyhow::{bail, Result};
use std::io::Write;

pub fn print(connection: &Connection) -> Result<()> {
    let Some(token) = &connection.token else {
        bail!("no admin token found: start `ferry server` once (it writes <data dir>/token), or set FERRY_TOKEN / --token");
    };
    // Errors writing (a closed pipe) are the reader's business, as for other commands.
    let _ = writeln!(std::io::stdout(), "{token}");
    Ok(())
}
