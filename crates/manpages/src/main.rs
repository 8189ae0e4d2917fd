//! `generate-docs [OUT_DIR]`: writes shell completions and man pages (default `target/`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let out = args.next().map_or_else(|| PathBuf::from("target"), PathBuf::from);
    if args.next().is_some() {
        eprintln!(
            "usage: generate-docs [OUT_DIR]  (writes OUT_DIR/completions and OUT_DIR/man; default target)"
        );
        return ExitCode::from(2);
    }
    match manpages::generate(&out) {
        Ok(files) => {
            for file in files {
                println!("{}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("generate-docs: {err:#}");
            ExitCode::FAILURE
        }
    }
}
