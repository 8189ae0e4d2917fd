//! What the producer and the tracker set up before their work, the same way: logs on stderr
//! (human-readable on a terminal, JSON lines otherwise, filtered by `RUST_LOG`, default
//! `info`), and the end of the run on the first SIGINT or SIGTERM. [`output_file`] opens the
//! append-only JSON-lines files they write.

pub mod output_file;

use std::future::Future;
use std::io::IsTerminal;

use tokio::signal::unix::{signal, SignalKind};
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

/// Resolves on the first SIGINT or SIGTERM, to the signal's name (`"SIGINT"`, `"SIGTERM"`).
/// The handlers are installed at once, so a signal that arrives before the future is awaited
/// is not lost. Must be called inside a Tokio runtime.
pub fn termination_signal() -> std::io::Result<impl Future<Output = &'static str> + Send + 'static> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_to_the_process_resolves_to_its_name() {
        let signal = termination_signal().unwrap();
        // Once the handlers are installed, SIGTERM no longer ends this test process.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let name = tokio::time::timeout(std::time::Duration::from_secs(5), signal).await.unwrap();
        assert_eq!(name, "SIGTERM");
    }
}
