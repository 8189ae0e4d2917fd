//! What the producer and the tracker set up before their work, the same way: logs on stderr
//! (human-readable on a terminal, JSON lines otherwise, filtered by `RUST_LOG`, default
//! `info`) with the configuration's secrets removed, and the end of the run on the first
//! SIGINT or SIGTERM. [`output_file`] opens the append-only JSON-lines files they write.

pub mod output_file;

use std::future::Future;
use std::io::{IsTerminal, Write};

use config::Redactor;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber, which passes every line through `redactor` (librdkafka's
/// logs and errors can repeat a secret value); does nothing if one is already installed.
pub fn init_stderr_logging(redactor: Redactor) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = Redacting { redactor, inner: std::io::stderr };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let _already_installed = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder.json().with_current_span(false).try_init()
    };
}

/// A writer that gathers each log event whole, then writes it to `inner` with every secret
/// replaced (a secret split over two `write` calls is still found).
struct Redacting<M> {
    redactor: Redactor,
    inner: M,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactedEvent<'a, M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedEvent { redactor: &self.redactor, inner: self.inner.make_writer(), event: Vec::new() }
    }
}

/// One event being written; it goes out, redacted, when the formatter drops it.
struct RedactedEvent<'a, W: Write> {
    redactor: &'a Redactor,
    inner: W,
    event: Vec<u8>,
}

impl<W: Write> Write for RedactedEvent<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.event.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactedEvent<'_, W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.event);
        // A log line that cannot be written is lost; it must not end the process.
        let _ = self.inner.write_all(self.redactor.redact(&text).as_bytes());
        let _ = self.inner.flush();
    }
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

    /// A `Vec` shared with the test, as a writer.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_never_show_a_secret() {
        let captured = Captured::default();
        for json in [false, true] {
            let inner = {
                let captured = captured.clone();
                move || captured.clone()
            };
            let builder = tracing_subscriber::fmt()
                .with_writer(Redacting { redactor: Redactor::new(["hunter2"]), inner });
            let subscriber: Box<dyn tracing::Subscriber + Send + Sync> =
                if json { Box::new(builder.json().finish()) } else { Box::new(builder.finish()) };
            tracing::subscriber::with_default(subscriber, || {
                tracing::warn!(target: "librdkafka", facility = "CONF", "No such property: SASL.PASSWORD hunter2");
                tracing::error!(reason = %"password=\"hunter2\"", "failed");
            });
        }
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(text.matches("***").count(), 4, "{text}");
        assert_eq!(text.lines().count(), 4, "{text}");
    }

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
