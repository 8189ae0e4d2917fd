//! Helpers of the script tests: where the scripts are, running a command under a deadline
//! with its output in files (a script's background children keep pipes open), reading process
//! state from `/proc`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root, where the scripts live.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root exists")
}

/// What a finished command printed and how it ended.
#[derive(Debug)]
pub struct Finished {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// Runs `command` to completion, killing it and failing the test after `timeout`.
/// Output goes through files, so a grandchild that keeps a descriptor open cannot block us.
pub fn run(command: &mut Command, timeout: Duration) -> Finished {
    let dir = tempfile::tempdir().expect("temporary folder");
    let stdout_path = dir.path().join("stdout");
    let stderr_path = dir.path().join("stderr");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not finish within {timeout:?}\n--- stdout\n{}--- stderr\n{}",
                read(&stdout_path),
                read(&stderr_path)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Finished { code: status.code(), stdout: read(&stdout_path), stderr: read(&stderr_path) }
}

fn read(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
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
