//! Colours in the log lines on stderr follow `--color` and `NO_COLOR`, as in ripgrep: the flag
//! wins over the variable, and `--color always` colours even into a pipe (these tests read
//! stderr through a pipe, never a terminal).

use std::time::Duration;

use testkit::Broker;

use crate::util::{producer, run};

/// The start of an ANSI escape sequence (SGR colours and bold start with it).
const ESCAPE: char = '\u{1b}';

/// Runs a counted producer with `args` and `env` and returns its stderr.
fn stderr_of(broker: &Broker, args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = broker.bootstrap();
    let mut all = vec!["--broker", &bootstrap, "--count", "3", "--rate", "0", "--create-topics"];
    all.extend_from_slice(args);
    let mut command = producer(dir.path(), &all);
    command.env_remove("NO_COLOR");
    for (key, value) in env {
        command.env(key, value);
    }
    let finished = run(command, Duration::from_secs(60));
    assert_eq!(finished.exit_code(), 0, "{args:?} {env:?}: {finished:?}");
    assert!(finished.stderr.contains("topics ready"), "an INFO line to look at: {}", finished.stderr);
    finished.stderr
}

/// Broker: Tansu.
#[test]
fn log_lines_are_coloured_as_the_flag_says_whatever_no_color_says() {
    let broker = Broker::start().unwrap_or_else(|error| panic!("Tansu starts: {error:#}"));
    let coloured = |stderr: &str| stderr.contains(ESCAPE);

    let auto_into_a_pipe = stderr_of(&broker, &[], &[]);
    assert!(!coloured(&auto_into_a_pipe), "auto: a pipe is not a terminal: {auto_into_a_pipe:?}");
    let always = stderr_of(&broker, &["--color", "always"], &[]);
    assert!(coloured(&always), "--color always colours a pipe: {always:?}");
    let always_over_no_color = stderr_of(&broker, &["--color=always"], &[("NO_COLOR", "1")]);
    assert!(coloured(&always_over_no_color), "the flag wins over NO_COLOR: {always_over_no_color:?}");
    let never = stderr_of(&broker, &["--color", "never"], &[]);
    assert!(!coloured(&never), "--color never: {never:?}");
    let no_color = stderr_of(&broker, &[], &[("NO_COLOR", "1")]);
    assert!(!coloured(&no_color), "NO_COLOR=1: {no_color:?}");
}
