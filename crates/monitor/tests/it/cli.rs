//! Runs the built `monitor` binary over the demo fixture directory and with bad flags.

use std::path::PathBuf;
use std::process::Command;

fn monitor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_monitor"))
}

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo")
}

#[test]
fn once_json_gives_the_known_numbers() {
    let output = monitor()
        .args(["--once", "--json", "--now", "2026-03-01T10:01:30Z", "--dir"])
        .arg(demo_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let totals = &summary["totals"];
    assert_eq!(summary["messages"]["received"], 12, "audit lines in .events");
    assert_eq!(totals["received"], 11, "the trackers' counters");
    assert_eq!(totals["in_flight"], 0);
    assert_eq!(totals["processed"], 9);
    assert_eq!(totals["failed"], 1);
    assert_eq!(totals["dlq_sent"], 1);
    assert_eq!(totals["duplicates"], 1);
    assert_eq!(totals["success_rate_percent"], 90.0);
    assert_eq!(summary["instances_alive"], 2);
    assert_eq!(summary["instances_total"], 3);
    let instances = summary["instances"].as_array().unwrap();
    let ids: Vec<&str> = instances.iter().map(|i| i["instance_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["alpha", "beta", "gamma"]);
    assert_eq!(instances[0]["partitions"], serde_json::json!([0, 1]));
    assert_eq!(instances[1]["processed"], 4);
    assert_eq!(instances[1]["runs"], 2);
    assert_eq!(instances[2]["status"], "stale");
    assert_eq!(summary["business"]["revenue_cents"], 334_110);
    assert_eq!(summary["business"]["orders_created"], 7);
    assert_eq!(summary["business"]["average_basket_cents"], 47_730);
    assert_eq!(summary["producer"]["events_per_second"], 12.5);
    assert_eq!(summary["malformed_lines"]["events"], 1);
}

#[test]
fn once_text_and_piped_stdout() {
    // stdout is a pipe here, so --once is implied.
    let output = monitor().args(["--now", "2026-03-01T10:01:30Z", "--dir"]).arg(demo_dir()).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("instances: 2 alive / 3 total"), "{text}");
    assert!(text.contains("received 11  processed 9  failed 1 (DLQ 1)  skipped 1  in flight 0"), "{text}");
    assert!(text.contains(".events: 12 lines"), "{text}");
    assert!(text.contains("revenue 3341.10 EUR"), "{text}");
}

#[test]
fn missing_dir_exits_2_with_one_clear_line() {
    let output = monitor().args(["--once", "--dir", "/definitely/not/here"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr, "error: --dir /definitely/not/here: no such directory\n");
    assert!(output.stdout.is_empty());
}

#[test]
fn file_as_dir_exits_2() {
    let file = demo_dir().join("producer.log");
    let output = monitor().arg("--dir").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a directory"));
}

#[test]
fn bad_flag_exits_2_and_help_is_clear() {
    assert_eq!(monitor().arg("--bogus").output().unwrap().status.code(), Some(2));
    assert_eq!(monitor().args(["--interval-ms", "0"]).output().unwrap().status.code(), Some(2));
    let help = monitor().arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for flag in ["--dir", "--once", "--json", "--interval-ms", "--stale-after-secs", "--now"] {
        assert!(text.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn reading_does_not_touch_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(demo_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), e.metadata().unwrap().len(), e.metadata().unwrap().modified().unwrap())
        })
        .collect();
    let output = monitor().args(["--once", "--json", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(output.status.success());
    let after: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), e.metadata().unwrap().len(), e.metadata().unwrap().modified().unwrap())
        })
        .collect();
    assert_eq!(before, after);
}

#[test]
fn screenshot_writes_one_frame_as_svg() {
    let out = tempfile::tempdir().unwrap();
    let picture = out.path().join("monitor.svg");
    let output = monitor()
        .args(["--now", "2026-03-01T10:01:30Z", "--size", "100x30", "--screenshot"])
        .arg(&picture)
        .arg("--dir")
        .arg(demo_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.is_empty(), "the picture goes to the file only");
    let svg = std::fs::read_to_string(&picture).unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"840\" height=\"540\""),
        "{svg}"
    );
    for figure in ["order-tracker monitor", "90.00%", "alpha", "gamma", "3341.10"] {
        assert!(svg.contains(figure), "{figure} missing from the picture");
    }

    let output =
        monitor().args(["--screenshot", "x.svg", "--size", "5x5", "--dir"]).arg(demo_dir()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("expected COLSxROWS such as 120x36, columns 20-1000, rows 5-500"), "{stderr}");

    let output = monitor()
        .arg("--screenshot")
        .arg(out.path().join("no/such/dir.svg"))
        .arg("--dir")
        .arg(demo_dir())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: cannot write ") && stderr.contains("No such file"), "{stderr}");
}
