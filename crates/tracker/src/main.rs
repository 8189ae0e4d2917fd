//! `tracker`: parses flags, loads the configuration, runs one instance until SIGINT/SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use tracker::cli::Options;

/// Parsing an order allocates a few dozen small strings per message; mimalloc serves them
/// faster than glibc's allocator (about a fifth of the parse time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let options = Options::parse();
    let config = match options.load_config(&config::process_env()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let instance = tracker::instance_id(&config);
    match runtime.block_on(tracker::run(config, tracker::termination_signal())) {
        Ok(summary) => {
            eprintln!(
                "tracker {instance} stopped ({}): received {}, processed {}, failed {}, duplicates {}, dead-lettered {}",
                summary.signal,
                summary.total_messages_received,
                summary.total_messages_processed,
                summary.total_messages_failed,
                summary.total_duplicates,
                summary.total_dlq_sent,
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
