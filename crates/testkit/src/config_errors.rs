//! Bad configuration through a real binary: each case must stop before connecting, with exit
//! code 2 and one `error: ` line on stderr that names the culprit (and its value), without
//! panicking, without creating any file, and without ever printing a secret. Shared by the
//! tracker's and the producer's tests, which run their own binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where the configuration comes from in one case.
pub enum Source {
    /// No `--config` flag (and no `./config.yaml`).
    None,
    /// A file with these bytes, passed as `--config`.
    File(&'static [u8]),
    /// The configuration folder itself, passed as `--config`.
    Directory,
    /// A path that does not exist, passed as `--config`.
    Missing,
}

/// One bad configuration and what its error line must say.
pub struct Case {
    /// What the case tries, for the failure list.
    pub name: &'static str,
    /// Where the configuration comes from.
    pub source: Source,
    /// Environment variables (the rest of the environment is cleared).
    pub env: &'static [(&'static str, &'static str)],
    /// Flags.
    pub args: &'static [&'static str],
    /// Each of these must appear in the error line (the key or variable, the value...).
    pub mentions: &'static [&'static str],
    /// None of these may appear anywhere in the output (secrets).
    pub never: &'static [&'static str],
}

/// A case with a configuration source and the words its error line must contain.
pub const fn case(name: &'static str, source: Source, mentions: &'static [&'static str]) -> Case {
    Case { name, source, env: &[], args: &[], mentions, never: &[] }
}

/// Runs `binary` for one case in an empty folder; returns the failures found (none is good).
fn check(binary: &Path, case: &Case) -> Vec<String> {
    let config_dir = tempfile::tempdir().unwrap();
    let work_dir = tempfile::tempdir().unwrap();
    let config_path: Option<PathBuf> = match case.source {
        Source::None => None,
        Source::File(bytes) => {
            let path = config_dir.path().join("config.yaml");
            std::fs::write(&path, bytes).unwrap();
            Some(path)
        }
        Source::Directory => Some(config_dir.path().to_owned()),
        Source::Missing => Some(config_dir.path().join("does-not-exist.yaml")),
    };
    let mut command = Command::new(binary);
    command.current_dir(work_dir.path()).env_clear().envs(case.env.iter().copied()).args(case.args);
    if let Some(path) = &config_path {
        command.arg("--config").arg(path);
    }
    let (stderr, stdout, code) = run_bounded(&mut command);

    let mut failures = Vec::new();
    eprintln!("{}: {}", case.name, stderr.trim_end());
    let shown: String = stderr.chars().take(400).collect();
    let mut fail = |what: String| failures.push(format!("{}: {what}\n    stderr: {shown:?}", case.name));
    match code {
        Ok(Some(2)) => {}
        Ok(other) => fail(format!("exit code {other:?}, expected 2")),
        Err(still_running) => fail(still_running),
    }
    if stderr.lines().count() != 1 || !stderr.ends_with('\n') {
        fail(format!("{} lines on stderr, expected exactly one", stderr.lines().count()));
    }
    if !stderr.starts_with("error: ") {
        fail("stderr does not start with `error: `".into());
    }
    for needle in case.mentions {
        if !stderr.contains(needle) {
            fail(format!("the error does not mention {needle:?}"));
        }
    }
    for secret in case.never {
        if stderr.contains(secret) || stdout.contains(secret) {
            fail(format!("the secret {secret:?} is printed"));
        }
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        fail("panic text".into());
    }
    let created: Vec<_> =
        std::fs::read_dir(work_dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    if !created.is_empty() {
        fail(format!("files created before validation: {created:?}"));
    }
    failures
}

/// Longest time a binary may take to reject its configuration.
const EXIT_DEADLINE: Duration = Duration::from_secs(20);

/// Runs `command` with its output in files outside the folder it works in; returns stderr,
/// stdout and the exit code, or an error when it did not exit within [`EXIT_DEADLINE`] (then it
/// is killed).
fn run_bounded(command: &mut Command) -> (String, String, Result<Option<i32>, String>) {
    match crate::run_with_output_in_files(command, EXIT_DEADLINE) {
        Ok(finished) => (finished.stderr, finished.stdout, Ok(finished.code)),
        Err(killed) => (
            killed.stderr,
            killed.stdout,
            Err(format!("still running after {EXIT_DEADLINE:?}: the configuration was accepted")),
        ),
    }
}

/// Runs every case and fails once, listing every case that went wrong.
pub fn check_all(binary: &Path, cases: &[Case]) {
    let failures: Vec<String> = cases.iter().flat_map(|case| check(binary, case)).collect();
    eprintln!("{} bad configurations tried with {}", cases.len(), binary.display());
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

/// A secret written so that librdkafka refuses its property and repeats the value in its
/// error ("No such configuration property: \"SASL.PASSWORD\" SASL.PASSWORD <value>").
pub struct Echo {
    /// What the case tries.
    pub name: &'static str,
    /// Lines under `kafka.properties:` in `config.yaml`.
    pub properties: &'static str,
    /// The secret: it must appear nowhere.
    pub secret: &'static str,
    /// The error line must name this property.
    pub property: &'static str,
}

/// Every way of writing a secret that librdkafka echoes back.
pub const ECHOES: &[Echo] = &[
    Echo {
        name: "a secret property name in capitals",
        properties: "    SASL.PASSWORD: Upper-pw-4Kd9-never-shown\n",
        secret: "Upper-pw-4Kd9-never-shown",
        property: "SASL.PASSWORD",
    },
    Echo {
        name: "a misspelt secret property name",
        properties: "    sasl.pasword: Typo-pw-8Qm2-never-shown\n",
        secret: "Typo-pw-8Qm2-never-shown",
        property: "sasl.pasword",
    },
    Echo {
        name: "a Java JAAS line (not a librdkafka property) with a password",
        properties: "    sasl.jaas.config: 'org.apache.kafka.common.security.plain.PlainLoginModule \
                     required username=\"alice\" password = \"Jaas-pw-3Vx7 never shown\";'\n",
        secret: "Jaas-pw-3Vx7 never shown",
        property: "sasl.jaas.config",
    },
];

/// Runs `binary` with `args` in a folder holding a `config.yaml` with each of [`ECHOES`]
/// (and a broker address nobody listens on, which no case reaches); each run must exit 2 with
/// one `error: ` line naming the property, and the secret must appear in none of its stdout,
/// stderr, the files it wrote, or its `--help`. Fails once, listing every problem.
pub fn check_echoes(binary: &Path, args: &[&str]) {
    let mut failures = Vec::new();
    for echo in ECHOES {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "kafka:\n  broker: 127.0.0.1:9\n  properties:\n    security.protocol: SASL_PLAINTEXT\n{}",
            echo.properties
        );
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        let mut fail = |what: String| failures.push(format!("{}: {what}", echo.name));

        let mut command = Command::new(binary);
        command.current_dir(dir.path()).env_clear().args(args);
        let (stderr, stdout, code) = run_bounded(&mut command);
        eprintln!("{}: exit {code:?}, stderr: {}", echo.name, stderr.trim_end());
        if code != Ok(Some(2)) {
            fail(format!("exit code {code:?}, expected 2"));
        }
        let error_lines: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error: ")).collect();
        if error_lines.len() != 1 || !error_lines[0].contains(echo.property) {
            fail(format!("expected one `error: ` line naming {}, got {error_lines:?}", echo.property));
        }
        let mut texts = vec![("stdout".to_owned(), stdout), ("stderr".to_owned(), stderr)];
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|name| name != "config.yaml") && path.is_file() {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                texts.push((path.display().to_string(), text));
            }
        }
        let help = Command::new(binary).current_dir(dir.path()).arg("--help").output().unwrap();
        texts.push(("--help".to_owned(), String::from_utf8_lossy(&help.stdout).into_owned()));
        for (source, text) in &texts {
            if text.contains(echo.secret) {
                fail(format!("the secret is in {source}:\n{text}"));
            }
        }
    }
    eprintln!("{} secrets tried with {}", ECHOES.len(), binary.display());
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}
