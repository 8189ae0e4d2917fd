//! `monitor --once` over folders that are not just tracker files: FIFOs and links to devices
//! under tracker names, and more files than the process may open.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo")
}

/// Runs `monitor --once --json --dir DIR`, killing it and failing after `timeout`.
/// `max_open_files` sets its RLIMIT_NOFILE.
fn monitor_once(dir: &Path, timeout: Duration, max_open_files: Option<u64>) -> Output {
    monitor_once_as(&["--json"], dir, timeout, max_open_files)
}

/// Runs `monitor --once FORMAT... --dir DIR`, as [`monitor_once`].
fn monitor_once_as(format: &[&str], dir: &Path, timeout: Duration, max_open_files: Option<u64>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_monitor"));
    command.arg("--once").args(format).args(["--now", "2026-03-01T10:01:30Z", "--dir"]).arg(dir);
    if let Some(limit) = max_open_files {
        // SAFETY: setrlimit is async-signal-safe and only touches the child.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id() as i32;
    // Read the output while waiting: a report bigger than the pipe would block the monitor.
    let (done, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    match output.recv_timeout(timeout) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("monitor --once did not finish within {timeout:?}");
        }
    }
}

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

#[test]
fn once_skips_a_fifo_and_a_link_to_dev_zero_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(demo_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    mkfifo(&dir.path().join("tracker-zz.log"));
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("tracker-zz.events")).unwrap();

    let output = monitor_once(dir.path(), Duration::from_secs(30), None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["messages"]["received"], 12, "the demo files are counted as without the odd ones");
    let warnings: Vec<&str> =
        summary["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("tracker-zz.log is a FIFO, not a regular file: not read")));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("tracker-zz.log is a FIFO, not a regular file: not read"), "{stderr}");
    assert!(
        stderr.contains("tracker-zz.events is a character device, not a regular file: not read"),
        "{stderr}"
    );
}

#[test]
fn once_text_lists_what_it_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(demo_dir().join("tracker-alpha.log"), dir.path().join("tracker-alpha.log")).unwrap();
    mkfifo(&dir.path().join("tracker-zz.events"));

    let output = monitor_once_as(&[], dir.path(), Duration::from_secs(30), None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("warning: ") && stdout.contains("tracker-zz.events is a FIFO"), "{stdout}");
}

#[test]
fn once_counts_every_file_past_the_open_file_limit() {
    let template = std::fs::read_to_string(demo_dir().join("tracker-alpha.events")).unwrap();
    let first: serde_json::Value = serde_json::from_str(template.lines().next().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let instances = 300;
    for n in 0..instances {
        let id = format!("i{n:03}");
        let mut line = first.clone();
        line["instance_id"] = id.clone().into();
        line["kafka_offset"] = n.into();
        std::fs::write(dir.path().join(format!("tracker-{id}.events")), format!("{line}\n")).unwrap();
    }

    // 64 descriptors for 300 files: the monitor must close what it has read to read the rest.
    let output = monitor_once(dir.path(), Duration::from_secs(60), Some(64));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["instances_total"], instances);
    assert_eq!(summary["messages"]["received"], instances, "{}", String::from_utf8_lossy(&output.stderr));
}
