//! Secrets never leave the tracker, even when librdkafka repeats them: a secret property that
//! librdkafka refuses (a name in capitals, a typo, a Java JAAS line) stops the tracker with
//! exit code 2 and one `error: ` line, and the value is in none of its output, its `.log`, or
//! its `--help`.

use std::path::Path;

#[test]
fn secrets_librdkafka_echoes_are_never_shown() {
    testkit::config_errors::check_echoes(
        Path::new(env!("CARGO_BIN_EXE_tracker")),
        &["--instance-id", "secrets"],
    );
}
