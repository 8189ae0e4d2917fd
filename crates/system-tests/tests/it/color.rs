//! `--color auto|always|never` and `NO_COLOR` on every binary, over what each prints without a
//! broker: clap's help. `--color always` colours even into a pipe (stdout is a pipe here),
//! `--color never` and `NO_COLOR=1` leave no escape sequence, and the flag wins over the
//! variable. (The log lines on stderr follow the same choice: the producer's `color` tests.)

use std::process::Command;

/// Our four binaries.
const BINARIES: &[&str] = &["producer", "tracker", "monitor", "dlq"];

/// stdout of `BINARY --help ARGS` with `NO_COLOR` set to `no_color` (or unset).
fn help(binary: &str, args: &[&str], no_color: Option<&str>) -> String {
    let mut command = Command::new(testkit::workspace_binary(binary));
    command.arg("--help").args(args).env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let output = command.output().unwrap_or_else(|error| panic!("{binary} runs: {error}"));
    assert!(output.status.success(), "{binary} --help {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap_or_else(|error| panic!("{binary} --help is UTF-8: {error}"))
}

#[test]
fn every_binary_colours_as_the_flag_says_and_the_flag_wins_over_no_color() {
    for binary in BINARIES {
        let coloured = |text: &str| text.contains('\u{1b}');
        assert!(coloured(&help(binary, &["--color", "always"], None)), "{binary} --color always");
        assert!(
            coloured(&help(binary, &["--color=always"], Some("1"))),
            "{binary}: the flag wins over NO_COLOR"
        );
        assert!(!coloured(&help(binary, &[], None)), "{binary}: auto, into a pipe");
        assert!(!coloured(&help(binary, &["--color", "never"], None)), "{binary} --color never");
        assert!(!coloured(&help(binary, &[], Some("1"))), "{binary} with NO_COLOR=1");
        let text = help(binary, &["--color", "never"], None);
        assert!(text.contains("--color <WHEN>") && text.contains("wins over NO_COLOR"), "{binary}:\n{text}");
    }
}

#[test]
fn a_bad_color_value_says_which_are_allowed() {
    for binary in BINARIES {
        let output = Command::new(testkit::workspace_binary(binary))
            .args(["--color", "purple"])
            .output()
            .unwrap_or_else(|error| panic!("{binary} runs: {error}"));
        assert_eq!(output.status.code(), Some(2), "{binary}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("purple") && stderr.contains("auto, always, never"), "{binary}: {stderr}");
    }
}
