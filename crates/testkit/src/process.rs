//! Running a program from a test: its output collected while it runs, a deadline that kills
//! it and fails the test loudly, and no process that outlives the test that started it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A command for `binary` run in `dir` (so no stray `config.yaml` is read), with `args`, stdin
/// closed, stdout and stderr collected, and none of the project's variables (nor `RUST_LOG`)
/// inherited from the test's environment: only what the test sets applies.
pub fn project_command(binary: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command.current_dir(dir).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for var in config::ENV_VARS {
        command.env_remove(var.name);
    }
    command.env_remove("RUST_LOG");
    command
}

/// Asks the kernel to kill the process `command` starts when the test that started it dies,
/// even by a signal that skips every `Drop`.
pub fn die_with_test(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and only changes the child.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// A started process whose piped stdout and stderr are collected in the background; killed
/// when dropped, and when the test dies.
pub struct Running {
    /// The command line, for failure messages.
    name: String,
    child: Child,
    started: Instant,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// What a finished process printed, how it ended and how long it ran.
#[derive(Debug)]
pub struct Finished {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// From the start to the exit.
    pub elapsed: Duration,
    /// Everything written to stdout (lossy UTF-8).
    pub stdout: String,
    /// Everything written to stderr (lossy UTF-8).
    pub stderr: String,
}

impl Finished {
    /// The exit code; fails with the output if a signal ended the process.
    pub fn exit_code(&self) -> i32 {
        self.code.unwrap_or_else(|| panic!("ended by a signal:\n{}", self.all()))
    }

    /// Fails with everything printed unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Finished {
        assert_eq!(self.code, Some(code), "exit code\n{}", self.all());
        self
    }

    /// stderr without the logging lines of librdkafka (JSON objects), as a user reads it.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|line| !line.starts_with('{')).collect()
    }

    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

impl Running {
    /// Starts `command` (see [`project_command`]), dying with the test; fails the test if it
    /// cannot start.
    pub fn start(mut command: Command) -> Running {
        die_with_test(&mut command);
        let name = format!("{command:?}");
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        let stdout = child.stdout.take().map(collect);
        let stderr = child.stderr.take().map(collect);
        Running { name, child, started, stdout, stderr }
    }

    /// The process id, for signals.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits")
    }

    /// Whether the process has not exited yet.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Sends `signal` (a libc constant) to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child we started and have not reaped yet.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0, "signal delivered to {}", self.name);
    }

    /// Waits for the exit; `limit` after the start, kills the process and fails the test with
    /// what it printed (a hang).
    pub fn finish(mut self, limit: Duration) -> Finished {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = self.started.elapsed();
        let text = |handle: Option<JoinHandle<String>>| {
            handle.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        let finished = Finished {
            code: status.and_then(|status| status.code()),
            elapsed,
            stdout: text(self.stdout.take()),
            stderr: text(self.stderr.take()),
        };
        assert!(
            status.is_some(),
            "{} still ran after {limit:?} (killed): a hang\n{}",
            self.name,
            finished.all()
        );
        finished
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to its end (see [`Running::finish`] for `limit`).
pub fn run(command: Command, limit: Duration) -> Finished {
    Running::start(command).finish(limit)
}

/// Runs `command` to its end with stdout and stderr in files of a temporary folder (not
/// pipes): a script's background children keep a pipe open long after the script ended, and
/// the files are outside the folder the command works in, so they are not among the files it
/// writes. `Err` holds what it printed when it still ran at `limit` (it is then killed).
pub fn run_with_output_in_files(command: &mut Command, limit: Duration) -> Result<Finished, Finished> {
    let outputs = tempfile::tempdir().expect("a temporary folder for the output");
    let stdout_path = outputs.path().join("stdout");
    let stderr_path = outputs.path().join("stderr");
    let file = |path: &Path| std::fs::File::create(path).expect("an output file");
    die_with_test(command);
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(file(&stdout_path))
        .stderr(file(&stderr_path))
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let finished = Finished {
        code: status.and_then(|status| status.code()),
        elapsed: started.elapsed(),
        stdout: read(&stdout_path),
        stderr: read(&stderr_path),
    };
    if status.is_some() {
        Ok(finished)
    } else {
        Err(finished)
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` to exit; `None` if it still runs after `timeout`.
pub(crate) fn wait_with_deadline(
    child: &mut Child,
    timeout: Duration,
) -> anyhow::Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_exit_code_are_collected() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]).stdout(Stdio::piped()).stderr(Stdio::piped());
        let finished = run(command, Duration::from_secs(10));
        assert_eq!(
            (finished.code, finished.stdout.as_str(), finished.stderr.as_str()),
            (Some(3), "out\n", "err\n")
        );
    }

    #[test]
    fn output_in_files_is_collected_even_when_a_background_child_keeps_running() {
        let mut command = Command::new("sh");
        // The background sleep inherits stdout: with a pipe, reading to its end would wait.
        command.args(["-c", "sleep 3 & echo started; exit 4"]);
        let finished = run_with_output_in_files(&mut command, Duration::from_secs(10)).unwrap();
        assert_eq!((finished.code, finished.stdout.as_str()), (Some(4), "started\n"));
        assert!(
            finished.elapsed < Duration::from_secs(2),
            "did not wait for the background child: {:?}",
            finished.elapsed
        );
    }

    #[test]
    fn output_in_files_says_when_the_limit_was_reached() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo before; exec sleep 30"]);
        let killed = run_with_output_in_files(&mut command, Duration::from_millis(300)).unwrap_err();
        assert_eq!((killed.code, killed.stdout.as_str()), (None, "before\n"));
    }

    #[test]
    #[should_panic(expected = "(killed): a hang")]
    fn a_process_that_outlives_its_limit_fails_the_test() {
        let mut command = Command::new("sleep");
        command.arg("30");
        run(command, Duration::from_millis(200));
    }
}
