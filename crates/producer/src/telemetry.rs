//! Process-wide set-up for the binary: the `tracing` subscriber on stderr (human-readable on
//! a terminal, JSON lines otherwise; `RUST_LOG` filter, default `info`) and the shutdown
//! trigger fired by SIGINT or SIGTERM.

use std::io::IsTerminal;

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber; does nothing if one is already installed.
pub fn init_stderr_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _already_installed = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder.json().with_current_span(false).try_init()
    };
}

/// A token cancelled on the first SIGINT or SIGTERM. Must be called inside a Tokio runtime.
pub fn shutdown_on_signals() -> std::io::Result<CancellationToken> {
    let token = CancellationToken::new();
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let trigger = token.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "shutdown requested: stopping, then flushing what is in flight");
        trigger.cancel();
    });
    Ok(token)
}
