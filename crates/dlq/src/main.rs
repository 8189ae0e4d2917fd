//! `dlq`: parses flags, loads the configuration, runs one command ([`dlq::run`]) and maps the
//! outcome to an exit code: 0 when the command did all it was asked, 1 on a runtime failure or
//! when `redrive` did not send everything it selected, 2 on bad flags, configuration or
//! selection. A one-shot command: no signal handling, the default SIGINT ends it.

use std::process::ExitCode;

use dlq::cli::Cli;
use service::Runtime;

fn main() -> ExitCode {
    // clap prints its own message and exits 2 on bad flags; its colours follow --color.
    let cli: Cli = service::color::parse();
    let config = match kafka::load_config(&cli, &config::process_env()) {
        Ok(config) => config,
        Err(error) => return service::bad_configuration(&error),
    };
    let redactor = config.redactor().clone();
    service::init_stderr_logging(redactor.clone(), cli.log_format, cli.color.color);
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
