//! What tests that run processes need besides a broker: waiting for a condition with a
//! deadline, and the workspace's own binaries built up to date.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often [`wait_until`] looks.
const POLL_EVERY: Duration = Duration::from_millis(50);
/// The first build of a binary compiles librdkafka: minutes on two cores.
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Polls `condition` every 50 ms until it holds; fails the test, naming `what`, after
/// `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting until {what}");
        std::thread::sleep(POLL_EVERY);
    }
}

/// The path of workspace binary `name` (`producer`, `tracker`, `monitor`), built up to date
/// into the target folder and profile the running test was built with (`cargo build -p
/// name`, a no-op when nothing changed; once per test process and binary). A test of one
/// crate can so run another crate's binary without `cargo test --workspace`, and never an
/// old build of it. Fails the test if the build fails or takes over 30 minutes.
pub fn workspace_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    // <target>/<profile>/deps/<this test>
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>").to_path_buf();
    let target_dir = profile_dir.parent().expect("the target folder").to_path_buf();
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    build.args(["build", "--quiet", "-p", name]);
    if profile_dir.file_name().is_some_and(|profile| profile == "release") {
        build.arg("--release");
    }
    let mut child = build
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(crate::workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cargo starts");
    let deadline = Instant::now() + BUILD_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for cargo") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`cargo build -p {name}` took over {BUILD_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "`cargo build -p {name}` failed ({status}); its errors are above");
    let path = profile_dir.join(name);
    assert!(path.is_file(), "cargo built {name}, but it is not at {}", path.display());
    built.insert(name.to_owned(), path.clone());
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_once_the_condition_holds() {
        let mut calls = 0;
        wait_until(Duration::from_secs(5), "the third call", || {
            calls += 1;
            calls == 3
        });
        assert_eq!(calls, 3);
    }

    #[test]
    #[should_panic(expected = "timed out after 100ms waiting until never")]
    fn wait_until_fails_loudly_at_its_deadline() {
        wait_until(Duration::from_millis(100), "never", || false);
    }
}
