//! What every long-running binary of the project sets up the same way:
//!
//! - logs on stderr ([`init_stderr_logging`]) with the configuration's secrets removed,
//!   human-readable text by default or JSON lines when asked (`--log-format json`,
//!   `LOG_FORMAT=json`; see [`LogFormat`]), filtered by `RUST_LOG` (default `info`), coloured
//!   as `--color` and `NO_COLOR` say ([`color`]);
//! - lines on stderr and stdout that cannot end the process ([`print_stderr`],
//!   [`print_stdout`]): with stderr closed (`tracker 2>&1 | head -2`), `eprintln!` panics
//!   ("failed printing to stderr") and the run ends with code 101, files half written;
//! - the flags every binary shares: `--color` ([`color`]) and, in those that talk to Kafka,
//!   `-X NAME=VALUE` ([`client_properties`]);
//! - the end of the run ([`termination_signal`]): the first SIGINT or SIGTERM asks for a
//!   graceful stop; a second one, or a stop that outlasts its time limit, ends the process at
//!   once, saying on stderr what was left undone ([`StopProgress`]).
//! - the append-only JSON-lines files they write ([`output_file`]): never through a symlink,
//!   private (0600), a torn last line terminated before anything is appended;
//! - the shape of `main` and of a library's `run(config, shutdown)` ([`program`]): the
//!   runtime, the [`Shutdown`] trigger, the `error: ` line and the exit codes.

pub mod client_properties;
pub mod color;
pub mod output_file;
pub mod program;

pub use client_properties::ClientPropertyFlags;
pub use color::{ColorChoice, ColorFlag};
pub use program::{
    bad_configuration, block_on, fail, run_until_signal, start, CommonFlags, Failure, Runtime, Shutdown,
    StartError, EXIT_FAILURE, EXIT_STATUS_HELP, EXIT_USAGE,
};

use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use config::Redactor;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How log lines on stderr look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event (coloured as --color says).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the stderr subscriber, which passes every line through `redactor` (librdkafka's
/// logs and errors can repeat a secret value); does nothing if one is already installed. A
/// failed write to stderr (closed, full) is dropped silently: logging never ends the process.
/// Text lines are coloured as `color` decides for stderr ([`ColorChoice::colors_stderr`]).
pub fn init_stderr_logging(redactor: Redactor, format: LogFormat, color: ColorChoice) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = Redacting { redactor, inner: std::io::stderr };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Its default reports a failed write with `eprintln!`, which panics when stderr is gone.
        .log_internal_errors(false);
    let _already_installed = match format {
        LogFormat::Text => builder.with_ansi(color.colors_stderr()).try_init(),
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
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

/// Writes one line to stderr; if stderr is closed or broken, the line is lost and the program
/// goes on (unlike `eprintln!`, which panics).
pub fn print_stderr(line: impl Display) {
    let _lost_if_stderr_is_gone = writeln!(std::io::stderr().lock(), "{line}");
}

/// Writes one line to stdout; if stdout is closed or broken, the line is lost and the program
/// goes on (unlike `println!`, which panics).
pub fn print_stdout(line: impl Display) {
    let mut stdout = std::io::stdout().lock();
    let _lost_if_stdout_is_gone = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

/// What a stopping program has not done yet, in words, for the message of a forced exit.
/// The program updates it as its stop goes on; clones share it.
#[derive(Clone)]
pub struct StopProgress {
    describe: Arc<Mutex<Arc<dyn Fn() -> String + Send + Sync>>>,
}

impl Default for StopProgress {
    fn default() -> Self {
        Self::new("nothing was left undone")
    }
}

impl std::fmt::Debug for StopProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopProgress").field("left_undone", &self.left_undone()).finish()
    }
}

impl StopProgress {
    /// Progress that starts with `text`.
    pub fn new(text: &str) -> Self {
        let text = text.to_owned();
        Self { describe: Arc::new(Mutex::new(Arc::new(move || text.clone()))) }
    }

    /// From now on, what is left undone is `text`.
    pub fn set(&self, text: &str) {
        let text = text.to_owned();
        self.set_with(move || text.clone());
    }

    /// From now on, what is left undone is what `describe` says when asked (for figures that
    /// change while the stop goes on, such as records not yet acknowledged).
    pub fn set_with(&self, describe: impl Fn() -> String + Send + Sync + 'static) {
        *self.describe.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(describe);
    }

    /// What is left undone now.
    pub fn left_undone(&self) -> String {
        let describe = Arc::clone(&self.describe.lock().unwrap_or_else(PoisonError::into_inner));
        describe()
    }
}

/// Installs the SIGINT and SIGTERM handlers at once (a signal that arrives before the future is
/// awaited is not lost) and returns a future that resolves on the first signal, to its name
/// (`"SIGINT"`, `"SIGTERM"`): the program then stops gracefully.
///
/// From that first signal on, the stop is bounded: a second SIGINT or SIGTERM ends the process
/// at once with code 128 + the signal's number (130, 143), and so does the end of
/// `stop_limit` (if given) with code 1. Either way `program` prints one line on stderr saying
/// why and what was left undone (`progress`). The time limit is kept by a thread of its own, so
/// it holds even when every thread of the program is blocked (on a disk that does not answer,
/// for example). Must be called inside a Tokio runtime.
pub fn termination_signal(
    program: &'static str,
    stop_limit: Option<Duration>,
    progress: StopProgress,
) -> std::io::Result<impl Future<Output = &'static str> + Send + 'static> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let (first_signal, first_received) = tokio::sync::oneshot::channel();
    // Listening starts now, not when the returned future is first polled: the limit then holds
    // even if the program is blocked before it awaits the signal.
    tokio::spawn(async move {
        let first = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = first, "stopping gracefully; a second SIGINT or SIGTERM exits at once");
        if let Some(limit) = stop_limit {
            let progress = progress.clone();
            let watchdog = std::thread::Builder::new().name("stop-limit".into()).spawn(move || {
                std::thread::sleep(limit);
                let why = format!("the stop took longer than {} ms", limit.as_millis());
                exit_now(program, &why, &progress, 1);
            });
            if let Err(error) = watchdog {
                print_stderr(format_args!(
                    "{program}: the stop has no time limit: cannot start its thread: {error}"
                ));
            }
        }
        let _program_may_have_stopped_waiting = first_signal.send(first);
        let (second, number) = tokio::select! {
            _ = interrupt.recv() => ("SIGINT", libc::SIGINT),
            _ = terminate.recv() => ("SIGTERM", libc::SIGTERM),
        };
        let why = format!("second signal ({second}) during the stop");
        exit_now(program, &why, &progress, 128 + number);
    });
    Ok(async move {
        match first_received.await {
            Ok(name) => name,
            // The listener is gone only when the runtime shuts down: no signal will come.
            Err(_) => std::future::pending().await,
        }
    })
}

/// Prints why the process ends now and what is left undone, then ends it without running any
/// more of the program (no destructor: they may be the very thing that is blocked).
fn exit_now(program: &str, why: &str, progress: &StopProgress, code: i32) -> ! {
    print_stderr(format_args!("{program}: {why}: exiting at once; {}", progress.left_undone()));
    std::process::exit(code)
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
        let signal = termination_signal("test", None, StopProgress::default()).unwrap();
        // Once the handlers are installed, SIGTERM no longer ends this test process.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let name = tokio::time::timeout(std::time::Duration::from_secs(5), signal).await.unwrap();
        assert_eq!(name, "SIGTERM");
    }

    #[test]
    fn progress_says_what_its_latest_description_says() {
        let progress = StopProgress::default();
        assert_eq!(progress.left_undone(), "nothing was left undone");
        let shared = progress.clone();
        shared.set("the final commit");
        assert_eq!(progress.left_undone(), "the final commit");
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(3));
        let seen = Arc::clone(&counter);
        progress.set_with(move || format!("{} records", seen.load(std::sync::atomic::Ordering::Relaxed)));
        counter.store(1, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(shared.left_undone(), "1 records");
    }
}
