//! Runs the real `generate-docs` binary into a temporary directory and reads what it wrote.

use std::fs;
use std::process::Command;

/// A flag each binary really has, which its bash completion must offer.
const FLAGS: [(&str, &str); 4] = [
    ("producer", "--poison-rate"),
    ("tracker", "--instance-id"),
    ("monitor", "--stale-after-secs"),
    ("dlq", "--dlq-topic"),
];

#[test]
fn writes_completions_and_man_pages_for_every_binary() {
    let out = tempfile::tempdir().expect("temp dir");
    let status = Command::new(env!("CARGO_BIN_EXE_generate-docs"))
        .arg(out.path())
        .status()
        .expect("run generate-docs");
    assert!(status.success(), "generate-docs failed: {status}");

    for (bin, flag) in FLAGS {
        let bash = fs::read_to_string(out.path().join("completions/bash").join(format!("{bin}.bash")))
            .unwrap_or_else(|e| panic!("no bash completion for {bin}: {e}"));
        assert!(bash.contains(flag), "bash completion of {bin} lacks {flag}");
        for (shell, file) in [("zsh", format!("_{bin}")), ("fish", format!("{bin}.fish"))] {
            let text = fs::read_to_string(out.path().join("completions").join(shell).join(&file))
                .unwrap_or_else(|e| panic!("no {shell} completion for {bin}: {e}"));
            assert!(text.contains(flag.trim_start_matches('-')), "{shell} completion of {bin} lacks {flag}");
        }
        let page = fs::read_to_string(out.path().join("man").join(format!("{bin}.1")))
            .unwrap_or_else(|e| panic!("no man page for {bin}: {e}"));
        assert!(page.starts_with(".ie") || page.starts_with(".TH"), "odd start of {bin}.1");
        let th = page.lines().find(|l| l.starts_with(".TH")).expect(".TH line");
        assert!(th.starts_with(&format!(".TH {bin} 1")), "{bin}.1 is titled {th:?}");
        // roff escapes every hyphen: `--dir` is written `\-\-dir`.
        let roff_flag = flag.replace('-', "\\-");
        assert!(page.contains(&roff_flag), "{bin}.1 lacks {flag}");
    }
    // One page per `dlq` subcommand, named after the subcommand a user types.
    for sub in ["list", "show", "export", "redrive"] {
        let page = out.path().join("man").join(format!("dlq-{sub}.1"));
        let text = fs::read_to_string(&page).unwrap_or_else(|e| panic!("no {}: {e}", page.display()));
        assert!(text.contains(&format!(".TH dlq-{sub} 1")), "dlq-{sub}.1 is titled otherwise");
    }
    assert!(!out.path().join("man/dlq-replay.1").exists(), "no page for a subcommand that does not exist");
    // clap's own `help` subcommand is not a page: `man dlq-help` would only say to run --help.
    let helps: Vec<_> = fs::read_dir(out.path().join("man"))
        .expect("man dir")
        .map(|entry| entry.expect("man entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("-help"))
        .collect();
    assert!(helps.is_empty(), "pages for clap's help subcommand: {helps:?}");
}
