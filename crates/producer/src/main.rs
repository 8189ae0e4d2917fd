//! The `producer` binary: parses flags, loads the configuration, installs logging and the
//! signal handler, then hands over to [`producer::run`]. Exit codes: 0 when every record sent
//! was acknowledged, 1 on a runtime failure or lost records, 2 on bad flags or configuration.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use producer::cli::Cli;

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
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    // Every text printed from here on goes through the configuration's redactor.
    let redactor = config.redactor().clone();
    service::init_stderr_logging(redactor.clone());
    let options = cli.run_options(&config);
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| {
            runtime.block_on(async {
                let shutdown =
                    producer::telemetry::shutdown_on_signals().context("cannot install signal handlers")?;
                Ok(producer::run(config, options, shutdown).await)
            })
        });
    match outcome {
        Ok(Ok(summary)) => {
            println!("{summary}");
            if summary.lost > 0 {
                eprintln!("error: {} records lost (sent but not acknowledged)", summary.lost);
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            let code = error.exit_code();
            // Each variant's message already names its cause: `{:#}` would repeat it.
            eprintln!("error: {}", redactor.redact(&error.to_string()));
            ExitCode::from(code)
        }
        Err(error) => {
            eprintln!("error: {}", redactor.redact(&format!("{error:#}")));
            ExitCode::from(1)
        }
    }
}
