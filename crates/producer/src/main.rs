//! The `producer` binary: parses flags, loads the configuration, installs logging and the
//! signal handler, then hands over to [`producer::run`]. Exit codes: 0 when every record sent
//! was acknowledged, 1 on a runtime failure or lost records, 2 on bad flags or configuration,
//! 130/143 when a second SIGINT/SIGTERM cut the flush short.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use producer::cli::Cli;
use service::{print_stderr, print_stdout, StopProgress};

/// Order generation allocates many small strings while librdkafka's thread frees message
/// copies; glibc's allocator spent about a third of the sending thread's time on that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap prints its own message and exits 2 on bad flags.
    let cli = Cli::parse();
    let config = match cli.load_config(&config::process_env()) {
        Ok(config) => config,
        Err(error) => {
            print_stderr(format_args!("error: {error}"));
            return ExitCode::from(2);
        }
    };
    // Every text printed from here on goes through the configuration's redactor.
    let redactor = config.redactor().clone();
    service::init_stderr_logging(redactor.clone(), cli.log_format);
    let options = cli.run_options(&config);
    let progress = StopProgress::default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            print_stderr(format_args!("error: cannot start the async runtime: {error}"));
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async {
        let shutdown = producer::telemetry::shutdown_on_signals(progress.clone())
            .context("cannot install signal handlers")?;
        Ok::<_, anyhow::Error>(producer::run(config, options, shutdown, progress).await)
    });
    runtime.shutdown_background();
    match outcome {
        Ok(Ok(summary)) => {
            print_stdout(&summary);
            if summary.lost > 0 {
                print_stderr(format_args!(
                    "error: {} records lost (sent but not acknowledged)",
                    summary.lost
                ));
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            let code = error.exit_code();
            // Each variant's message already names its cause: `{:#}` would repeat it.
            print_stderr(format_args!("error: {}", redactor.redact(&error.to_string())));
            ExitCode::from(code)
        }
        Err(error) => {
            print_stderr(format_args!("error: {}", redactor.redact(&format!("{error:#}"))));
            ExitCode::from(1)
        }
    }
}
