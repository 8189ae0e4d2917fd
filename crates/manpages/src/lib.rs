//! Shell completions and man pages for the four binaries, generated from their clap definitions
//! so they never drift from the real flags.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use clap::{Command, CommandFactory};
use clap_complete::Shell;

/// The four binaries' clap commands, named as they are installed.
pub fn commands() -> Vec<Command> {
    vec![
        producer::cli::Cli::command().name("producer"),
        tracker::cli::Options::command().name("tracker"),
        monitor::cli::Cli::command().name("monitor"),
        dlq::cli::Cli::command().name("dlq"),
    ]
}

/// Writes `<out>/completions/{bash,zsh,fish}/…` and `<out>/man/<binary>.1` (plus one page per
/// subcommand, named after it: `dlq-list.1`, `dlq-show.1`, `dlq-export.1`,
/// `dlq-redrive.1`; none for clap's own `help` subcommand). Returns the files written.
pub fn generate(out: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    for cmd in commands() {
        let name = cmd.get_name().to_string();
        // clap_complete builds the command it is given, and building adds clap's `help`
        // subcommand, which clap_mangen would then give a page (`dlq-help.1`, `dlq-help-list.1`,
        // …). The man pages are rendered from the command as declared, before any build.
        let mut built = cmd.clone();
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let dir = out.join("completions").join(shell.to_string());
            fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let path = clap_complete::generate_to(shell, &mut built, &name, &dir)
                .with_context(|| format!("cannot write the {shell} completion of {name}"))?;
            written.push(path);
        }
        let dir = out.join("man");
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(cmd, &dir)
            .with_context(|| format!("cannot write the man pages of {name} in {}", dir.display()))?;
    }
    let mut pages: Vec<_> = fs::read_dir(out.join("man"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    pages.sort();
    written.extend(pages);
    Ok(written)
}
