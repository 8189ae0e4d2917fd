//! Secrets never leave the producer, even when librdkafka repeats them: a secret property that
//! librdkafka refuses (a name in capitals, a typo, a Java JAAS line) stops the producer with
//! exit code 2 and one `error: ` line, and the value is in none of its output, its
//! `producer.log`, or its `--help`.

use std::path::Path;

use crate::util::PRODUCER;

#[test]
fn secrets_librdkafka_echoes_are_never_shown() {
    testkit::config_errors::check_echoes(Path::new(PRODUCER), &["--count", "1"]);
}
