//! `--screenshot FILE`: a new private file, or an earlier screenshot replaced whole; never
//! another file, never through a symlink.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Output;

use crate::hostile::{monitor, nasty_dir, NOW};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn screenshot(logs: &Path, file: &Path) -> Output {
    monitor().args(["--now", NOW, "--dir"]).arg(logs).arg("--screenshot").arg(file).output().unwrap()
}

#[test]
fn screenshot_creates_a_private_file_and_replaces_only_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let logs = nasty_dir();
    let file = dir.path().join("shot.svg");
    let output = screenshot(logs.path(), &file);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(mode(&file), 0o600, "a picture of customer data is private");
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("<svg "));
    // An earlier screenshot (scripts/screenshot.sh redraws docs/img/monitor.svg) is replaced.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = screenshot(logs.path(), &file);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn screenshot_never_writes_over_another_file_or_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let logs = nasty_dir();
    let precious = dir.path().join("tracker-a.events");
    std::fs::write(&precious, "{\"audit\":1}\n").unwrap();
    std::fs::set_permissions(&precious, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.svg");
    symlink(&precious, &link).unwrap();
    let dangling = dir.path().join("dangling.svg");
    symlink(dir.path().join("nowhere.svg"), &dangling).unwrap();
    for (target, expected) in [
        (&precious, "was not written by this program"),
        (&link, "is a symbolic link"),
        (&dangling, "is a symbolic link"),
    ] {
        let output = screenshot(logs.path(), target);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", target.display());
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected) && stderr.contains("refusing"),
            "{}: {stderr}",
            target.display()
        );
    }
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "{\"audit\":1}\n", "left as it was");
    assert_eq!(mode(&precious), 0o640);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(!dir.path().join("nowhere.svg").exists(), "nothing created through the dangling link");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 3, "no temporary file left behind: {left:?}");
}

#[test]
fn screenshot_never_writes_into_the_folder_it_reads() {
    let logs = nasty_dir();
    let file = logs.path().join("shot.svg");
    let output = screenshot(logs.path(), &file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("in the folder the monitor reads"), "{stderr}");
    assert!(!file.exists());
}
