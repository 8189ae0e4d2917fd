//! `dlq`: parses flags, loads the configuration, runs one command ([`dlq::run`]) and maps the
//! outcome to an exit code: 0 when the command did all it was asked, 1 on a runtime failure or
//! when `redrive` did not send everything it selected, 2 on bad flags, configuration or
//! selection. A one-shot command: no signal handling, the default SIGINT ends it.

use std::process::ExitCode;

use dlq::cli::Cli;
use service::Runtime;

fn main() -> ExitCode {
    let (cli, config) =
        match service::start(kafka::load_config, |cli: &Cli| (cli.log_format, cli.color.color)) {
            Ok(started) => started,
            Err(code) => return code,
        };
    let redactor = config.redactor().clone();
    let mut stdout = std::io::stdout().lock();
    match service::block_on(Runtime::CurrentThread, dlq::run(&config, cli.command, &mut stdout)) {
        Ok(dlq::Outcome::Complete) => ExitCode::SUCCESS,
        Ok(dlq::Outcome::Incomplete) => ExitCode::from(service::EXIT_FAILURE),
        // `dlq list | head`: the reader left, which is not a failure.
        Err(dlq::DlqError::Output(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => service::fail(&redactor, &error),
    }
}
