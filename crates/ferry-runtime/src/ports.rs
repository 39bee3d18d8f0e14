//! Loopback port allocation for instances.

use std::net::{Ipv4Addr, TcpListener};

/// Asks the kernel for a free TCP port on 127.0.0.1 and releases it at once.
///
/// The port is free when this returns but nothing reserves it: the caller hands it to
/// an instance right away, and a start that loses the race fails (and is retried by the
/// deployer with a new port).
pub fn allocate_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocated_port_is_nonzero_and_bindable() {
        let port = allocate_port().unwrap();
        assert_ne!(port, 0);
        let _again = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
