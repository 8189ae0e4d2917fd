//! The dashboard's colours follow `--color` and `NO_COLOR`, on a real terminal: the monitor runs
//! in a pseudo-terminal of 120×40 (`script`, from bsdutils, essential on Debian), draws the demo fixtures, and quits on
//! `q`; what it wrote to the terminal is searched for colour codes (SGR 38;5 and 48;5, the
//! 256-colour foreground and background crossterm writes). Cursor moves and bold are not
//! colours and stay.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the dashboard may take to draw its first frame, and then to quit.
const LIMIT: Duration = Duration::from_secs(20);

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo")
}

/// Everything the dashboard wrote to its terminal, with `--color` `flag` (if any) and
/// `NO_COLOR` set to `no_color` (if any).
fn terminal_output(flag: Option<&str>, no_color: Option<&str>) -> String {
    let dir = tempfile::tempdir().expect("a folder");
    let typescript = dir.path().join("terminal.txt");
    let mut inner = format!(
        "stty cols 120 rows 40; exec {} --dir {}",
        shell_quote(Path::new(env!("CARGO_BIN_EXE_monitor"))),
        shell_quote(&demo_dir())
    );
    if let Some(flag) = flag {
        inner.push_str(&format!(" --color {flag}"));
    }
    let mut command = Command::new("script");
    command
        .args(["-qfec", &inner])
        .arg(&typescript)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let mut child = command.spawn().expect("`script` (bsdutils) runs");
    // The first frame is drawn once the header's title is on the terminal.
    let started = Instant::now();
    while !std::fs::read_to_string(&typescript).unwrap_or_default().contains("latest orders") {
        assert!(started.elapsed() < LIMIT, "no frame drawn within {LIMIT:?}");
        assert!(child.try_wait().expect("the child's state").is_none(), "the monitor ended before drawing");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.stdin.take().expect("stdin").write_all(b"q").expect("q sent");
    let quit = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child's state") {
            break status;
        }
        if quit.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("the monitor did not quit on q within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the monitor exited with {status}");
    String::from_utf8_lossy(&std::fs::read(&typescript).expect("the typescript")).into_owned()
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

fn coloured(terminal: &str) -> bool {
    terminal.contains("\u{1b}[38;5;") || terminal.contains("\u{1b}[48;5;")
}

#[test]
fn the_dashboard_is_coloured_as_the_flag_says_and_the_flag_wins_over_no_color() {
    assert!(coloured(&terminal_output(None, None)), "auto on a terminal colours");
    assert!(!coloured(&terminal_output(None, Some("1"))), "NO_COLOR=1 turns auto off");
    assert!(coloured(&terminal_output(None, Some(""))), "an empty NO_COLOR counts as unset");
    assert!(!coloured(&terminal_output(Some("never"), None)), "--color never");
    assert!(coloured(&terminal_output(Some("always"), Some("1"))), "--color always wins over NO_COLOR");
}
