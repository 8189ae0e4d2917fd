//! `dlq export --output FILE`: a new private file, never over anything, never through a symlink.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use models::OrderGenerator;

use crate::util::*;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_output_is_private_and_never_writes_over_anything() {
    let broker = broker_with_topics().await;
    let dir = tempfile::tempdir().unwrap();
    let payload = OrderGenerator::seeded(7).new_order_event().to_json();
    produce(&broker, "orders-dlq", &[dead_letter(&payload, 4, "processing")]).await;
    let to_stdout = dlq(&broker, dir.path(), &["export", "--all"], &[]).expect_code(0);

    let written =
        dlq(&broker, dir.path(), &["export", "--all", "--output", "bad letters.jsonl"], &[]).expect_code(0);
    let file = dir.path().join("bad letters.jsonl");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), to_stdout.stdout, "the same lines as on stdout");
    assert_eq!(mode(&file), 0o600, "personal data: private");
    assert!(written.stdout.is_empty(), "nothing on stdout: {}", written.stdout);
    assert!(written.stderr.contains("1 dead letter written to bad letters.jsonl"), "{}", written.all());

    // Again: refused, the first export left as it was.
    let again =
        dlq(&broker, dir.path(), &["export", "--all", "--output", "bad letters.jsonl"], &[]).expect_code(2);
    let errors: Vec<&str> = again.error_lines().into_iter().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{}", again.all());
    assert!(
        errors[0].contains("bad letters.jsonl already exists; refusing to overwrite it"),
        "{}",
        errors[0]
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), to_stdout.stdout);

    // A symlink, even one pointing nowhere, is never written through.
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "keep").unwrap();
    symlink(&target, dir.path().join("link.jsonl")).unwrap();
    symlink(dir.path().join("nowhere"), dir.path().join("dangling.jsonl")).unwrap();
    for link in ["link.jsonl", "dangling.jsonl"] {
        let refused = dlq(&broker, dir.path(), &["export", "--all", "--output", link], &[]).expect_code(2);
        assert!(refused.stderr.contains("already exists; refusing to overwrite it"), "{}", refused.all());
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    assert!(!dir.path().join("nowhere").exists());
}
