//! The docs cannot drift from the code: every `--help` block in the README and `docs/` is what
//! the binary prints today; every command in their code blocks names only flags, environment
//! variables, make targets and files the code has; `rust-version` is what the locked crates
//! need. A newcomer who pastes a command from the docs never meets a flag that is not there.
//!
//! A `--help` block is a fenced block whose first line is `$ [target/release/]BINARY [SUB] --help`
//! (or `-h`) and nothing else. To regenerate them all from the binaries:
//! `SNAPSHOTS=overwrite cargo test -p system-tests --test it docs_drift` (snapbox's convention).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::repo_root;

/// Our binaries, whose flags the docs show.
const BINARIES: &[&str] = &["producer", "tracker", "monitor", "dlq"];

/// Variables the docs may set that belong to the shell or to tools, not to this project.
const OUTSIDE_VARIABLES: &[&str] = &[
    "PATH",
    "HOME",
    "TERM",
    "COLUMNS",
    "TMPDIR",
    "NO_COLOR",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "JAVA_HOME",
    "CARGO_TARGET_DIR",
    "SNAPSHOTS",
    "CARGO_INCREMENTAL",
];

/// One fenced code block of a page.
struct Block {
    /// The line of the opening fence, 1-based.
    line: usize,
    language: String,
    body: String,
}

/// The README and every page of `docs/`.
fn pages() -> Vec<PathBuf> {
    let root = repo_root();
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn blocks(page: &Path) -> Vec<Block> {
    let text = fs::read_to_string(page).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in text.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => {
                let language = line.trim_start().trim_start_matches('`').trim().to_owned();
                open = Some(Block { line: index + 1, language, body: String::new() });
            }
            (Some(_), true) => blocks.extend(open.take()),
            (Some(block), false) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

/// The help text of `binary` with `args` (`--help`, or a subcommand and `--help`), as a
/// newcomer's terminal would get it through a pipe: no colours, none of the project's variables.
fn help(binary: &str, args: &[&str]) -> String {
    let path = testkit::workspace_binary(binary);
    let output = testkit::project_command(&path, &repo_root(), args).env("NO_COLOR", "1").output().unwrap();
    assert!(output.status.success(), "{binary} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn trim_lines(text: &str) -> String {
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim_end().to_owned() + "\n"
}

/// `$ target/release/tracker --help` → ("tracker", ["--help"]).
fn help_command(first_line: &str) -> Option<(String, Vec<String>)> {
    let command = first_line.strip_prefix("$ ")?;
    let words: Vec<&str> = command.split_whitespace().collect();
    let (program, args) = words.split_first()?;
    let name = Path::new(program).file_name()?.to_str()?;
    let is_help = matches!(args.last(), Some(&"--help") | Some(&"-h"));
    let plain = args.iter().all(|arg| arg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    (BINARIES.contains(&name) && is_help && plain)
        .then(|| (name.to_owned(), args.iter().map(|a| a.to_string()).collect()))
}

#[test]
fn every_help_block_is_what_the_binary_prints() {
    let overwrite = std::env::var("SNAPSHOTS").is_ok_and(|value| value == "overwrite");
    let mut stale = Vec::new();
    let mut found = 0;
    for page in pages() {
        let mut text = fs::read_to_string(&page).unwrap();
        for block in blocks(&page) {
            let Some(first) = block.body.lines().next() else { continue };
            let Some((binary, args)) = help_command(first) else { continue };
            found += 1;
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let printed = help(&binary, &args);
            let shown = block.body[first.len() + 1..].to_owned();
            if trim_lines(&shown) != trim_lines(&printed) {
                if overwrite {
                    let old = format!("{first}\n{shown}");
                    let new = format!("{first}\n{}", trim_lines(&printed));
                    text = text.replacen(&old, &new, 1);
                } else {
                    stale.push(format!("{}:{}: {first}", page.display(), block.line));
                    eprintln!("{}:{}: `{first}` prints today:\n{printed}", page.display(), block.line);
                }
            }
        }
        if overwrite {
            fs::write(&page, text).unwrap();
        }
    }
    assert!(found >= 2, "no --help block found: the docs show the producer's and the tracker's");
    assert!(
        stale.is_empty(),
        "--help blocks that differ from the binaries (regenerate: SNAPSHOTS=overwrite cargo test -p system-tests --test it docs_drift):\n{}",
        stale.join("\n")
    );
}

/// Splits a shell line into words, quotes kept together (and removed), `#` comments dropped.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#') if !in_word => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, ';' | '|' | '&' | '(' | ')' | '`') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                words.push(c.to_string());
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The command lines of a block: every line of a shell block, the `$ ` lines of an output
/// block; nothing from YAML, JSON and the like.
fn command_lines(block: &Block) -> Vec<String> {
    match block.language.as_str() {
        "bash" | "sh" | "shell" | "console" => block
            .body
            .lines()
            .map(|line| line.strip_prefix("$ ").unwrap_or(line).to_owned())
            .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
            .collect(),
        "" | "text" => {
            block.body.lines().filter_map(|line| line.strip_prefix("$ ")).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// What the code has: make targets, variable names, and where to find flags.
struct Code {
    root: PathBuf,
    targets: BTreeSet<String>,
    variables: BTreeSet<String>,
}

impl Code {
    fn read() -> Code {
        let root = repo_root();
        let makefile = fs::read_to_string(root.join("Makefile")).unwrap();
        let targets = makefile
            .lines()
            .filter_map(|line| line.split_once(':').map(|(name, _)| name))
            .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .map(str::to_owned)
            .collect();
        let mut variables = BTreeSet::new();
        let mut sources =
            vec![root.join("Makefile"), root.join("config.yaml.example"), root.join("docker-compose.yaml")];
        for dir in ["crates", "scripts", ".ci"] {
            collect_files(&root.join(dir), &mut sources);
        }
        for name in ["start.sh", "stop.sh", "analyze_logs.sh"] {
            sources.push(root.join(name));
        }
        for source in sources {
            let Ok(text) = fs::read_to_string(&source) else { continue };
            let mut name = String::new();
            for c in text.chars().chain(std::iter::once(' ')) {
                if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                    name.push(c);
                } else {
                    if name.len() >= 3 {
                        variables.insert(std::mem::take(&mut name));
                    }
                    name.clear();
                }
            }
        }
        variables.extend(OUTSIDE_VARIABLES.iter().map(|name| name.to_string()));
        Code { root, targets, variables }
    }

    /// The flags `program` accepts, from its `--help` (our binaries, with their subcommand) or
    /// its source (the scripts); `None` for programs that are not ours.
    fn flags(&self, program: &str, subcommand: Option<&str>) -> Option<String> {
        let name = Path::new(program).file_name()?.to_str()?;
        if BINARIES.contains(&name) && (program.contains('/') || !program.starts_with('.')) {
            let mut args = Vec::new();
            if let Some(subcommand) = subcommand.filter(|_| name == "dlq") {
                args.push(subcommand);
            }
            args.push("--help");
            return Some(help(name, &args));
        }
        // Scripts that hand their arguments to another program: Kafka's own tools, kcat.
        if name == "kcat.sh" || (name == "kafka.sh" && subcommand == Some("tool")) {
            return None;
        }
        if name.ends_with(".sh") {
            let path = self.root.join(program.trim_start_matches("./"));
            return Some(fs::read_to_string(&path).unwrap_or_else(|_| panic!("{program} does not exist")));
        }
        None
    }
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("target") && !path.ends_with("fixtures") {
                collect_files(&path, into);
            }
        } else if path
            .extension()
            .is_some_and(|ext| ext == "rs" || ext == "sh" || ext == "xml" || ext == "py")
        {
            into.push(path);
        }
    }
}

/// Paths of the repository a command names (not what a run creates: run/, target/, .tools/).
fn names_a_repository_file(word: &str) -> bool {
    let word = word.trim_start_matches("./");
    let generated =
        ["run/", "target/", ".tools/", "~", "/", "$"].iter().any(|prefix| word.starts_with(prefix));
    let looks_like_path = ["scripts/", "docs/", "crates/"].iter().any(|prefix| word.starts_with(prefix))
        || [".sh", ".md", ".example", ".toml"].iter().any(|suffix| word.ends_with(suffix));
    looks_like_path && !generated && !word.contains('*') && !word.contains('$') && !word.contains('=')
}

#[test]
fn commands_in_the_docs_name_only_what_the_code_has() {
    let code = Code::read();
    let mut problems = Vec::new();
    for page in pages() {
        for block in blocks(&page) {
            for line in command_lines(&block) {
                let place =
                    format!("{}:{}: {line}", page.strip_prefix(&code.root).unwrap().display(), block.line);
                for simple in words(&line)
                    .split(|word| [";", "|", "&", "(", ")", "`", "do", "then"].contains(&word.as_str()))
                {
                    let mut rest = simple
                        .iter()
                        .map(String::as_str)
                        .skip_while(|word| *word == "export" || *word == "sudo");
                    let mut program = None;
                    for word in rest.by_ref() {
                        match word.split_once('=') {
                            Some((name, _))
                                if !name.is_empty()
                                    && name.chars().all(|c| {
                                        c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
                                    }) =>
                            {
                                if !code.variables.contains(name) {
                                    problems.push(format!("{place}\n    variable {name} is not in the code"));
                                }
                            }
                            _ => {
                                program = Some(word);
                                break;
                            }
                        }
                    }
                    let Some(program) = program else { continue };
                    let args: Vec<&str> = rest.collect();
                    for word in std::iter::once(program).chain(args.iter().copied()) {
                        if names_a_repository_file(word)
                            && !code.root.join(word.trim_start_matches("./")).exists()
                        {
                            problems.push(format!("{place}\n    file {word} does not exist"));
                        }
                    }
                    if program == "make" {
                        for target in args.iter().filter(|arg| !arg.starts_with('-') && !arg.contains('=')) {
                            if !code.targets.contains(*target) {
                                problems.push(format!("{place}\n    make target {target} does not exist"));
                            }
                        }
                        continue;
                    }
                    let subcommand = args.first().copied().filter(|arg| !arg.starts_with('-'));
                    let Some(accepted) = code.flags(program, subcommand) else { continue };
                    for flag in
                        args.iter().filter(|arg| arg.starts_with('-') && arg.len() > 1 && *arg != &"--")
                    {
                        let flag = flag.split_once('=').map_or(*flag, |(flag, _)| flag);
                        let known = accepted
                            .split(|c: char| {
                                c.is_whitespace()
                                    || c == ','
                                    || c == '|'
                                    || c == '['
                                    || c == ']'
                                    || c == ')'
                                    || c == '('
                            })
                            .any(|word| word == flag);
                        if !known {
                            problems.push(format!("{place}\n    {program} has no flag {flag}"));
                        }
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "commands in the docs that the code does not have:\n{}",
        problems.join("\n")
    );
}

/// The minimum Rust version in `Cargo.toml` is what the locked dependencies need: a lower one
/// would promise a build that `cargo build --locked` refuses.
#[test]
fn rust_version_is_what_the_locked_crates_need() {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let version = |package: &serde_json::Value| -> Option<Vec<u32>> {
        let text = package["rust_version"].as_str()?;
        Some(text.split('.').map(|part| part.parse().unwrap()).collect())
    };
    let packages = metadata["packages"].as_array().unwrap();
    let (ours, theirs): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
        packages.iter().partition(|package| package["source"].is_null());
    let needed = theirs
        .iter()
        .filter_map(|package| version(package).map(|v| (v, package["name"].as_str().unwrap())))
        .max()
        .unwrap();
    for package in ours {
        let declared = version(package).unwrap_or_else(|| panic!("{} has no rust-version", package["name"]));
        let mut padded = declared.clone();
        padded.resize(3, 0);
        let mut wanted = needed.0.clone();
        wanted.resize(3, 0);
        assert_eq!(
            padded, wanted,
            "{}: rust-version {declared:?}, but {} needs {:?}",
            package["name"], needed.1, needed.0
        );
    }
}
