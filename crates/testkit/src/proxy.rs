//! A TCP proxy in front of a broker, to cut the network on demand: every open connection is
//! closed and new ones are refused until it is restored. The broker keeps running (and keeps
//! its data), as in a network partition.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};

/// A running proxy; it stops accepting when dropped.
pub struct Proxy {
    port: u16,
    state: Arc<State>,
}

struct State {
    down: AtomicBool,
    stopped: AtomicBool,
    connections: Mutex<Vec<TcpStream>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub fn start(target: SocketAddr) -> Result<Proxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding the proxy")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let state = Arc::new(State {
            down: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
        });
        let accepting = Arc::clone(&state);
        std::thread::spawn(move || accept_loop(&listener, target, &accepting));
        Ok(Proxy { port, state })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.state.down.store(true, Ordering::SeqCst);
        let mut connections = self.state.connections.lock().unwrap_or_else(PoisonError::into_inner);
        for connection in connections.drain(..) {
            let _ = connection.shutdown(Shutdown::Both);
        }
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        self.cut();
    }
}

fn accept_loop(listener: &TcpListener, target: SocketAddr, state: &Arc<State>) {
    while !state.stopped.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if state.down.load(Ordering::SeqCst) {
                    drop(client); // refused: the client sees the connection closed at once
                    continue;
                }
                if let Err(error) = forward(client, target, state) {
                    eprintln!("proxy: cannot forward a connection: {error}");
                }
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn forward(client: TcpStream, target: SocketAddr, state: &Arc<State>) -> Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect(target)?;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    {
        let mut connections = state.connections.lock().unwrap_or_else(PoisonError::into_inner);
        connections.push(client.try_clone()?);
        connections.push(server.try_clone()?);
    }
    pipe(client.try_clone()?, server.try_clone()?);
    pipe(server, client);
    Ok(())
}

/// Copies `from` to `to` on its own thread until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
