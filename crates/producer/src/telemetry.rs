//! The shutdown trigger of the producer: a token cancelled on the first SIGINT or SIGTERM.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGINT or SIGTERM. Must be called inside a Tokio runtime.
pub fn shutdown_on_signals() -> std::io::Result<CancellationToken> {
    let token = CancellationToken::new();
    let signal = service::termination_signal()?;
    let trigger = token.clone();
    tokio::spawn(async move {
        let name = signal.await;
        tracing::info!(signal = name, "shutdown requested: stopping, then flushing what is in flight");
        trigger.cancel();
    });
    Ok(token)
}
