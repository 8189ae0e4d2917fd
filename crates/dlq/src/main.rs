//! `dlq`: parses flags, loads the configuration, runs one command. Exit codes: 0 when the
//! command did all it was asked, 1 on a runtime failure or when `redrive` did not send
//! everything it selected, 2 on bad flags, configuration or selection.

use std::process::ExitCode;

use clap::Parser;
use dlq::cli::Cli;

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
    service::init_stderr_logging(redactor.clone(), cli.log_format);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let mut stdout = std::io::stdout().lock();
    match runtime.block_on(dlq::run(&config, cli.command, &mut stdout)) {
        Ok(dlq::Outcome::Complete) => ExitCode::SUCCESS,
        Ok(dlq::Outcome::Incomplete) => ExitCode::from(1),
        // `dlq list | head`: the reader left, which is not a failure.
        Err(dlq::DlqError::Output(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", redactor.redact(&error.to_string()));
            ExitCode::from(error.exit_code())
        }
    }
}
