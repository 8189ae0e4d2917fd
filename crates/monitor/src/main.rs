//! The `monitor` binary: parses flags, runs [`monitor::run`], maps the outcome to an exit
//! code (0 success, 1 runtime failure, 2 bad usage) and prints a failure once, as
//! `error: ...` like the producer and the tracker.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use monitor::cli::Cli;

fn main() -> ExitCode {
    // clap prints its own message and exits with 2 on bad flags, 0 on --help / --version; its
    // colours follow --color.
    let cli: Cli = service::color::parse();
    let options = cli.into_options(std::io::stdout().is_terminal());
    match monitor::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = if error.is_usage() { 2 } else { 1 };
            let error = format!("{:#}", anyhow::Error::new(error));
            // A file name may hold control characters: shown escaped, line by line.
            let lines: Vec<_> = error.lines().map(models::escape_controls).collect();
            // Not `eprintln!`: it panics when stderr is closed.
            let _lost_if_stderr_is_gone = writeln!(std::io::stderr(), "error: {}", lines.join("\n"));
            ExitCode::from(code)
        }
    }
}
