//! Loopback ports for a test's brokers: any free one ([`free_port`]), or ones below the
//! ephemeral range that stay free while a broker restarts ([`stable_port`], [`stable_ports`]).

use std::net::{Ipv4Addr, TcpListener};

use anyhow::{bail, Context, Result};

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A free port below Linux's ephemeral range (32768 and up), for a broker a test stops and
/// starts again on the same port: the ports [`free_port`] and every client connection get
/// come from that range, so another test could take the port while the broker is down.
pub fn stable_port() -> Result<u16> {
    stable_ports(1)
}

/// The first of `count` consecutive ports, free a moment ago, below the ephemeral range (see
/// [`stable_port`]); `scripts/kafka.sh` puts node N of a cluster on the first port + N - 1.
pub fn stable_ports(count: u16) -> Result<u16> {
    use std::sync::atomic::{AtomicU16, Ordering};
    const LOW: u16 = 20_000;
    const SPAN: u16 = 12_000;
    // Spread over 20000..32000, starting somewhere different in each test process; successive
    // calls in one process move on, so two tests never get the same port.
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % u32::from(SPAN)) as u16;
    for _ in 0..SPAN {
        let step = NEXT.fetch_add(count + 6, Ordering::Relaxed) % SPAN;
        let first = LOW + (start + step) % (SPAN - count);
        let all_free =
            (first..first + count).all(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
        if all_free {
            return Ok(first);
        }
    }
    bail!("no {count} consecutive free ports between 20000 and 32000 on 127.0.0.1")
}
