//! The reference tables cannot drift from the repository:
//!
//! - docs/architecture.md's layout names every Makefile target, every entry of `scripts/` and
//!   every crate, and nothing that does not exist; its crate table lists the workspace crates
//!   each `Cargo.toml` depends on, and whether the crate needs librdkafka (directly or through
//!   another crate);
//! - docs/configuration.md's table has a row per key, with the key's default, its variable and
//!   its range as the configuration crate states them (`Settings::default`, `config::ENV_VARS`,
//!   `config::limits`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use crate::util::repo_root;

/// The text of docs/architecture.md.
fn architecture() -> String {
    fs::read_to_string(repo_root().join("docs/architecture.md")).expect("docs/architecture.md")
}

/// The fenced block under "## Repository layout".
fn layout_block(text: &str) -> String {
    let section = &text[text.find("## Repository layout").expect("a Repository layout section")..];
    let body = section.split("```").nth(1).expect("a fenced block in the layout section");
    body.to_owned()
}

/// Every name of the form `prefix` + word (letters, digits, `.`, `_`, `-`) in `text`.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect::<String>()
        })
        .map(|name| name.trim_end_matches('.').to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The entries of a folder of the repository (files and folders), by name.
fn entries(folder: &str) -> BTreeSet<String> {
    fs::read_dir(repo_root().join(folder))
        .unwrap_or_else(|error| panic!("{folder}: {error}"))
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect()
}

/// The Makefile's targets: lines `name: ... ## what it does`, as `make help` lists them.
fn makefile_targets() -> BTreeSet<String> {
    let text = fs::read_to_string(repo_root().join("Makefile")).expect("Makefile");
    text.lines()
        .filter(|line| line.contains("## ") && !line.starts_with('#') && !line.starts_with('\t'))
        .filter_map(|line| line.split_once(':').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect()
}

/// Fails listing what one side has and the other lacks.
fn assert_same(what: &str, in_docs: &BTreeSet<String>, in_repository: &BTreeSet<String>) {
    let missing: Vec<_> = in_repository.difference(in_docs).collect();
    let extra: Vec<_> = in_docs.difference(in_repository).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/architecture.md and the repository disagree on {what}: missing from the doc {missing:?}, \
         named by the doc but not there {extra:?}"
    );
}

#[test]
fn the_layout_names_every_target_script_and_crate_and_nothing_else() {
    let layout = layout_block(&architecture());
    let makefile_line = layout.lines().find(|line| line.starts_with("Makefile ")).expect("a Makefile line");
    let listed: BTreeSet<String> = makefile_line["Makefile".len()..]
        .split(',')
        .map(|target| target.trim().to_owned())
        .filter(|target| !target.is_empty())
        .collect();
    let targets = makefile_targets();
    assert!(targets.contains("test") && targets.contains("completions"), "targets read: {targets:?}");
    assert_same("the Makefile targets", &listed, &targets);
    assert_same("the entries of scripts/", &names_after(&layout, "scripts/"), &entries("scripts"));
    assert_same("the crates", &names_after(&layout, "crates/"), &entries("crates"));
}

/// The workspace crates a `Cargo.toml` section lists, and whether it lists `rdkafka`.
fn section_dependencies(
    manifest: &str,
    section: &str,
    crates: &BTreeSet<String>,
) -> (BTreeSet<String>, bool) {
    let mut names = BTreeSet::new();
    let mut rdkafka = false;
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
            continue;
        }
        if !inside {
            continue;
        }
        let Some((key, _)) = line.split_once('=') else { continue };
        let name = key.trim().trim_end_matches(".workspace").to_owned();
        rdkafka |= name == "rdkafka";
        if crates.contains(&name) {
            names.insert(name);
        }
    }
    (names, rdkafka)
}

/// One row of the crate table: what it uses (normal, tests only) and whether it needs librdkafka.
struct Row {
    uses: BTreeSet<String>,
    tests_use: BTreeSet<String>,
    needs_librdkafka: bool,
}

/// The crate table: crate name → row.
fn crate_table(text: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with("| `crates/")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 4, "a crate row has four cells: {line}");
        let name = cells[0].trim_matches('`').trim_start_matches("crates/").to_owned();
        let (normal, tests) = cells[2].split_once("tests:").unwrap_or((cells[2], ""));
        let ticked = |text: &str| -> BTreeSet<String> {
            text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
        };
        let needs = cells[3];
        assert!(needs.starts_with("yes") || needs.starts_with("no"), "yes or no: {line}");
        rows.insert(
            name,
            Row {
                uses: ticked(normal),
                tests_use: ticked(tests),
                needs_librdkafka: needs.starts_with("yes"),
            },
        );
    }
    rows
}

#[test]
fn the_crate_table_is_true_to_the_cargo_manifests() {
    let crates = entries("crates");
    let table = crate_table(&architecture());
    assert_same("the crate table's rows", &table.keys().cloned().collect(), &crates);
    let mut uses = BTreeMap::new();
    let mut direct_rdkafka = BTreeMap::new();
    for name in &crates {
        let manifest = fs::read_to_string(repo_root().join("crates").join(name).join("Cargo.toml"))
            .unwrap_or_else(|error| panic!("crates/{name}/Cargo.toml: {error}"));
        let (normal, rdkafka) = section_dependencies(&manifest, "dependencies", &crates);
        let (tests, tests_rdkafka) = section_dependencies(&manifest, "dev-dependencies", &crates);
        let row = &table[name];
        assert_eq!(row.uses, normal, "crates/{name}: the doc's \"uses\" against [dependencies]");
        assert_eq!(row.tests_use, tests, "crates/{name}: the doc's \"tests:\" against [dev-dependencies]");
        uses.insert(name.clone(), (normal, tests));
        direct_rdkafka.insert(name.clone(), (rdkafka, tests_rdkafka));
    }
    // A crate needs librdkafka when it, or a crate it uses (its tests included), lists rdkafka.
    fn needs(
        name: &str,
        uses: &BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
        direct: &BTreeMap<String, (bool, bool)>,
        with_tests: bool,
    ) -> bool {
        let (normal, tests) = &uses[name];
        let (rdkafka, tests_rdkafka) = direct[name];
        rdkafka
            || (with_tests && tests_rdkafka)
            || normal.iter().any(|other| needs(other, uses, direct, false))
            || (with_tests && tests.iter().any(|other| needs(other, uses, direct, false)))
    }
    for name in &crates {
        // A tests-only crate needs librdkafka when its tests do; the others when their code does.
        let tests_only = uses[name].0.is_empty() && !uses[name].1.is_empty();
        let expected = needs(name, &uses, &direct_rdkafka, tests_only);
        assert_eq!(table[name].needs_librdkafka, expected, "crates/{name}: \"needs librdkafka\"");
    }
}

/// A range written `(A–B` in a row's meaning, as numbers.
fn stated_range(meaning: &str) -> Option<(f64, f64)> {
    let dash = meaning.find('–')?;
    let before: String =
        meaning[..dash].chars().rev().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let before: String = before.chars().rev().collect();
    let after: String =
        meaning[dash + '–'.len_utf8()..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    Some((before.parse().ok()?, after.parse().ok()?))
}

#[test]
fn the_configuration_table_states_each_keys_default_variable_and_range() {
    let text = fs::read_to_string(repo_root().join("docs/configuration.md")).expect("docs/configuration.md");
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with("| `") && line.matches(" | ").count() >= 3) {
        let cells: Vec<&str> = line.trim_matches('|').splitn(4, " | ").map(str::trim).collect();
        rows.insert(
            cells[0].trim_matches('`').to_owned(),
            (cells[1].to_owned(), cells[2].to_owned(), cells[3].to_owned()),
        );
    }
    let defaults = serde_json::to_value(config::Settings::default()).expect("the defaults as JSON");
    let mut keys = BTreeSet::new();
    for (section, fields) in defaults.as_object().expect("sections") {
        for field in fields.as_object().expect("fields").keys() {
            keys.insert(format!("{section}.{field}"));
        }
    }
    assert_same("the configuration keys (docs/configuration.md)", &rows.keys().cloned().collect(), &keys);
    for (key, (default_cell, variable_cell, meaning)) in &rows {
        if let Some(default) = config::default_of(key) {
            let shown = default_cell.trim_matches('`');
            let same = shown == default
                || shown.parse::<f64>().ok().zip(default.parse::<f64>().ok()).is_some_and(|(a, b)| a == b);
            assert!(same, "{key}: the doc's default {default_cell} is not the code's {default}");
        }
        match config::ENV_VARS.iter().find(|var| var.key == key.as_str()) {
            Some(var) => assert!(
                variable_cell.contains(&format!("`{}`", var.name)),
                "{key}: variable {} not in {variable_cell}",
                var.name
            ),
            None => {
                assert!(!variable_cell.contains("_"), "{key} has no variable, the doc says {variable_cell}")
            }
        }
        if let Some(limit) = config::limits::LIMITS.iter().find(|limit| limit.key == key.as_str()) {
            let (min, max) = match limit.allowed {
                config::limits::Allowed::Whole { min, max } => (min as f64, max as f64),
                config::limits::Allowed::Number { min, max } => (min, max),
            };
            assert_eq!(stated_range(meaning), Some((min, max)), "{key}: the doc's range in {meaning:?}");
        }
    }
}
