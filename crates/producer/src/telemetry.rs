//! The shutdown trigger of the producer: a token cancelled on the first SIGINT or SIGTERM; a
//! second one ends the process at once (see [`service::termination_signal`]).

use service::StopProgress;
use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGINT or SIGTERM; on a second one the process exits at once,
/// printing what `progress` says is left undone. Must be called inside a Tokio runtime.
pub fn shutdown_on_signals(progress: StopProgress) -> std::io::Result<CancellationToken> {
    let token = CancellationToken::new();
    // The flush has its own limit (producer.flush_timeout_ms); only a second signal cuts it.
    let signal = service::termination_signal("producer", None, progress)?;
    let trigger = token.clone();
    tokio::spawn(async move {
        signal.await;
        tracing::info!("no more records are sent; flushing what is in flight");
        trigger.cancel();
    });
    Ok(token)
}
