//! Helpers of the script tests: where the scripts are, running a command under a deadline
//! with its output in files (a script's background children keep pipes open), reading process
//! state from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The repository root, where the scripts live.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root exists")
}

pub use testkit::Finished;

/// Runs `command` to completion, killing it and failing the test after `timeout`.
/// Output goes through files, so a grandchild that keeps a descriptor open cannot block us.
pub fn run(command: &mut Command, timeout: Duration) -> Finished {
    testkit::run_with_output_in_files(command, timeout)
        .unwrap_or_else(|killed| panic!("{command:?} did not finish within {timeout:?}\n{}", killed.all()))
}

/// A command for one of the repository's scripts, run from the repository root.
pub fn script(name: &str) -> Command {
    let root = repo_root();
    let mut command = Command::new(root.join(name));
    command.current_dir(&root);
    command
}

/// Whether `pid` is alive and runs a binary named `binary` (a zombie or a recycled PID does not).
pub fn runs(pid: i32, binary: &str) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let program = cmdline.split(|&byte| byte == 0).next().unwrap_or_default();
    Path::new(std::str::from_utf8(program).unwrap_or_default()).file_name().is_some_and(|name| name == binary)
}
