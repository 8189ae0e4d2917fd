//! The shape every binary shares, so each `main.rs` only says what is its own:
//!
//! ```text
//! parse flags → config::load_with → init_stderr_logging → run_until_signal(run) → exit code
//! ```
//!
//! A library's `run` takes its validated configuration and a [`Shutdown`] (the trigger and
//! what is left undone while stopping), like mini-redis's `server::run(listener, shutdown)`:
//! tests hand it a trigger of their own, the binary the first SIGINT/SIGTERM
//! ([`run_until_signal`]). Failures end the same way in every binary ([`fail`],
//! [`bad_configuration`]): one `error: ` line on stderr, with the exit codes of
//! docs/operations.md ([`EXIT_FAILURE`], [`EXIT_USAGE`]).

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use config::{Config, ConfigError, Redactor};
use thiserror::Error;

use crate::{print_stderr, termination_signal, StopProgress};

/// Exit code of a runtime failure: the broker refused the login, files cannot be written,
/// records were lost.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of bad configuration or usage, reported before anything connects.
pub const EXIT_USAGE: u8 = 2;

/// The exit codes as `--help` (and the man page) state them, the same in every binary.
pub const EXIT_STATUS_HELP: &str = "Exit status: 0 done (the first SIGINT or SIGTERM stops gracefully); \
1 runtime failure; 2 bad flags or configuration; 130 or 143 a second SIGINT or SIGTERM during the stop.";

/// A failure of a binary's `run`: printed once as `error: ...`, and the process exit code it
/// maps to (docs/operations.md, "Exit codes").
pub trait Failure: Display {
    /// [`EXIT_USAGE`] for a configuration or usage the program refuses, else [`EXIT_FAILURE`].
    fn exit_code(&self) -> u8;
}

/// The process could not start running at all.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StartError {
    /// The Tokio runtime could not be built.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The SIGINT/SIGTERM handlers cannot be installed.
    #[error("cannot install the signal handlers: {0}")]
    Signals(std::io::Error),
}

/// The Tokio runtime a binary runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// One thread: a command that does one thing at a time (`dlq`).
    CurrentThread,
    /// A thread pool of this many workers (`None`: one per core).
    MultiThread(Option<usize>),
}

impl Runtime {
    fn build(self) -> std::io::Result<tokio::runtime::Runtime> {
        let mut builder = match self {
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Runtime::MultiThread(workers) => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                if let Some(workers) = workers {
                    builder.worker_threads(workers);
                }
                builder
            }
        };
        builder.enable_all().build()
    }
}

/// When a run should stop, and what it has left undone while it stops.
pub struct Shutdown {
    /// Resolves, to what asked for the stop (`"SIGTERM"`), when the run should stop.
    trigger: Pin<Box<dyn Future<Output = String> + Send>>,
    /// Updated by the run as its stop goes on; printed if the process is ended during it.
    progress: StopProgress,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown").field("progress", &self.progress).finish_non_exhaustive()
    }
}

impl Shutdown {
    /// A stop asked for when `trigger` resolves, to the name of its cause.
    pub fn when(trigger: impl Future<Output = String> + Send + 'static) -> Self {
        Self { trigger: Box::pin(trigger), progress: StopProgress::default() }
    }

    /// No stop is ever asked for: the run ends by itself (`--count`) or not at all.
    pub fn never() -> Self {
        Self::when(std::future::pending())
    }

    /// A stop asked for by the first SIGINT or SIGTERM ([`termination_signal`]: a second one,
    /// or the end of `stop_limit`, ends the process at once). Must be called inside a Tokio
    /// runtime.
    pub fn on_signals(program: &'static str, stop_limit: Option<Duration>) -> std::io::Result<Self> {
        let progress = StopProgress::default();
        let signal = termination_signal(program, stop_limit, progress.clone())?;
        Ok(Self { trigger: Box::pin(async move { signal.await.to_owned() }), progress })
    }

    /// The trigger, and the progress the run keeps up to date while it stops.
    pub fn into_parts(self) -> (impl Future<Output = String> + Send, StopProgress) {
        (self.trigger, self.progress)
    }
}

/// Runs `future` to its end on a new `runtime`, then shuts the runtime down without waiting
/// for blocking work still under way (a step of a stop cut short by its deadline).
pub fn block_on<T, E: From<StartError>>(
    runtime: Runtime,
    future: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let runtime = runtime.build().map_err(StartError::Runtime)?;
    let outcome = runtime.block_on(future);
    runtime.shutdown_background();
    outcome
}

/// Runs `run` on a new `runtime` until it ends by itself or stops after the first SIGINT or
/// SIGTERM (see [`Shutdown::on_signals`] for `program` and `stop_limit`).
pub fn run_until_signal<T, E, F>(
    program: &'static str,
    runtime: Runtime,
    stop_limit: Option<Duration>,
    run: impl FnOnce(Shutdown) -> F,
) -> Result<T, E>
where
    E: From<StartError>,
    F: Future<Output = Result<T, E>>,
{
    block_on(runtime, async move {
        let shutdown = Shutdown::on_signals(program, stop_limit).map_err(StartError::Signals)?;
        run(shutdown).await
    })
}

/// Prints `error: <failure>` once on stderr, with every secret of the configuration removed,
/// and returns the failure's exit code.
pub fn fail(redactor: &Redactor, failure: &impl Failure) -> ExitCode {
    let text = failure.to_string();
    let message = redactor.redact(&text);
    // Errors quote what came from outside (a header, a file name): shown escaped, line by line.
    let lines: Vec<_> = message.lines().map(models::escape_controls).collect();
    print_stderr(format_args!("error: {}", lines.join("\n")));
    ExitCode::from(failure.exit_code())
}

/// The last flags of the producer and the tracker, the same in both: how stderr looks and any
/// librdkafka property. (`dlq` declares them `global`, for its subcommands.)
#[derive(Debug, Clone, clap::Args)]
pub struct CommonFlags {
    /// How stderr lines look: text (one readable line each) or json (one JSON object each)
    #[arg(long, value_name = "FORMAT", env = "LOG_FORMAT", default_value = "text")]
    pub log_format: crate::LogFormat,
    /// When to use colours (log lines, help).
    #[command(flatten)]
    pub color: crate::ColorFlag,
    /// Any librdkafka property (-X NAME=VALUE, repeatable).
    #[command(flatten)]
    pub client: crate::ClientPropertyFlags,
}

impl CommonFlags {
    /// How stderr looks: `--log-format` and `--color`, for [`start`].
    pub fn stderr(&self) -> (crate::LogFormat, crate::ColorChoice) {
        (self.log_format, self.color.color)
    }
}

/// The start of `main` in every binary that loads the configuration: parses the flags `F` (clap
/// prints its own message and exits 2 on bad ones; its colours follow `--color`), loads the
/// configuration with `load` (the process environment as the overrides' source; `load` is
/// `kafka::load_config`, which also has librdkafka check the properties), then installs the
/// stderr logging with the configuration's secrets removed. A configuration that cannot be
/// loaded is one `error:` line and [`EXIT_USAGE`], returned as `Err`. `stderr` says how the
/// flags want stderr to look (`--log-format`, `--color`: [`CommonFlags::stderr`]).
pub fn start<F: clap::Parser + config::Overrides>(
    load: impl FnOnce(&F, &std::collections::HashMap<String, String>) -> Result<Config, ConfigError>,
    stderr: impl FnOnce(&F) -> (crate::LogFormat, crate::ColorChoice),
) -> Result<(F, Config), ExitCode> {
    let flags: F = crate::color::parse();
    let config = load(&flags, &config::process_env()).map_err(|error| bad_configuration(&error))?;
    let (log_format, color) = stderr(&flags);
    crate::init_stderr_logging(config.redactor().clone(), log_format, color);
    Ok((flags, config))
}

/// Prints `error: <what is wrong>` once on stderr for a configuration that cannot be loaded,
/// and returns [`EXIT_USAGE`].
pub fn bad_configuration(error: &ConfigError) -> ExitCode {
    print_stderr(format_args!("error: {error}"));
    ExitCode::from(EXIT_USAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Error)]
    enum TestError {
        #[error(transparent)]
        Start(#[from] StartError),
    }

    #[test]
    fn a_run_ends_on_its_own_trigger_and_names_its_cause() {
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        let shutdown = Shutdown::when(async move {
            let _ = receiver.await;
            "test".to_owned()
        });
        let cause = block_on(Runtime::CurrentThread, async move {
            let (trigger, _progress) = shutdown.into_parts();
            let _ = sender.send(());
            Ok::<_, TestError>(trigger.await)
        });
        assert_eq!(cause.unwrap(), "test");
    }
}
