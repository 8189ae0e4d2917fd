//! The `producer` binary: parses flags, loads the configuration, runs [`producer::run`] until
//! `--count` records are sent or SIGINT/SIGTERM, and maps the outcome to an exit code: 0 when
//! every record sent was acknowledged, 1 on a runtime failure or lost records, 2 on bad flags
//! or configuration, 130/143 when a second SIGINT/SIGTERM cut the flush short.

use std::process::ExitCode;

use producer::cli::Cli;
use service::{print_stderr, print_stdout, Runtime};

/// Order generation allocates many small strings while librdkafka's thread frees message
/// copies; glibc's allocator spent about a third of the sending thread's time on that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let (cli, config) = match service::start(kafka::load_config, |cli: &Cli| cli.common.stderr()) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let redactor = config.redactor().clone();
    let options = cli.run_options(&config);
    // The flush has its own limit (producer.flush_timeout_ms); only a second signal cuts it.
    let outcome = service::run_until_signal("producer", Runtime::MultiThread(None), None, |shutdown| {
        producer::run(config, options, shutdown)
    });
    match outcome {
        Ok(summary) => {
            print_stdout(&summary);
            let Some(shortfall) = summary.shortfall() else {
                return ExitCode::SUCCESS;
            };
            print_stderr(format_args!("error: {shortfall}"));
            ExitCode::from(service::EXIT_FAILURE)
        }
        Err(error) => service::fail(&redactor, &error),
    }
}
