//! The README's walkthrough holds when followed in order: `scripts/walkthrough.sh --short` runs
//! its steps on a real Apache Kafka, and what each step printed must be what the README's block
//! for that step shows (`<!-- walkthrough:STEP -->` before the block), ignoring only what must
//! vary from run to run, in the manner of `snapbox` (whose diff reports a difference).
//! Also ignored: the reason serde_json gives for the invalid-json poison pill, which is cut at a
//! random point.
//!
//! What may vary, and nothing else: ids (UUIDs, hex ids, cluster ids), pids, times, offsets,
//! rates and counts of two digits or more (`[..]` on both sides), the width of aligned columns
//! (runs of spaces), and, for the steps [`VARIES`] names, single digits (which tracker got which
//! partition, how many duplicates a SIGKILL left), the order of lines, or how many lines a
//! timeline has. The script itself checks what the text teaches (totals add up, resume at last
//! offset + 1, no duplicate after a graceful stop) and fails the run otherwise.
//!
//! Two tests, two runs side by side: sections 1 to 6 (the short run: it differs from the
//! README's only in the flood's size, 3,000 orders instead of 30,000) and sections 7 to 9 (three
//! Apache Kafka nodes, Tansu, exactly once). `make walkthrough` runs the whole walkthrough, and
//! `make walkthrough-readme` rewrites the README from it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::time::Duration;

use regex::Regex;

use crate::util::{repo_root, run, script};

/// Each half: about 2 minutes on an idle machine; the first starts and stops Apache Kafka four
/// times, the second three nodes, Tansu, then one node.
const WALKTHROUGH_TIMEOUT: Duration = Duration::from_secs(600);

/// How one step's output may differ from the README's block.
#[derive(Clone, Copy)]
struct Varies {
    /// Every number varies, single digits included.
    digits: bool,
    /// What is compared.
    lines: Lines,
}

#[derive(Clone, Copy, PartialEq)]
enum Lines {
    /// The same lines in the same order.
    Ordered,
    /// The same lines, in any order.
    Unordered,
    /// The same kinds of line (each distinct line shape appears on both sides), in any number:
    /// timelines whose length depends on timing.
    Shapes,
}

const EXACT: Varies = Varies { digits: false, lines: Lines::Ordered };
const DIGITS: Varies = Varies { digits: true, lines: Lines::Ordered };

/// The steps whose output varies more than ids, times and counts.
const VARIES: &[(&str, Varies)] = &[
    // "(1s ago)", the partitions of each instance in the monitor's table.
    ("competing-consumers", DIGITS),
    // Lags of a few records.
    ("consumer-groups", DIGITS),
    // Rebalance timelines: how many rounds the group took depends on who joined when.
    ("takeover", Varies { digits: true, lines: Lines::Shapes }),
    ("rejoin", Varies { digits: true, lines: Lines::Shapes }),
    // How many messages instance-2 had audited but not committed when it was killed.
    ("duplicates", DIGITS),
    // One metrics line every 5 s while the backlog drains.
    ("lag", Varies { digits: true, lines: Lines::Shapes }),
    // Poison pills land on the partition of their random key.
    ("poison", DIGITS),
    ("dlq-kcat", Varies { digits: true, lines: Lines::Unordered }),
    ("dlq-redrive", Varies { digits: true, lines: Lines::Unordered }),
    // Totals per tracker.
    ("stop-totals", DIGITS),
    // Which trackers read each partition.
    ("resume-report", DIGITS),
    // Which node leads which partition, and which one is killed ("Node N already runs").
    ("cluster-describe", DIGITS),
    ("cluster-degraded", DIGITS),
    ("cluster-rejoin", DIGITS),
    // The partition of the dead letter's record.
    ("schema-refused", DIGITS),
];

/// The pages with blocks from the walkthrough's run (`scripts/walkthrough.sh --write` rewrites
/// them): the README holds every step, docs/operations.md the start and the stop.
const PAGES: &[&str] = &["README.md", "docs/operations.md"];

fn varies(step: &str) -> Varies {
    VARIES.iter().find(|(name, _)| *name == step).map_or(EXACT, |(_, varies)| *varies)
}

/// The README's walkthrough blocks: step name → the block's text.
pub fn readme_blocks(readme: &str) -> BTreeMap<String, String> {
    let marker = Regex::new(r"(?m)^<!-- walkthrough:([a-z0-9-]+) -->\n```[^\n]*\n((?s:.*?))^```").unwrap();
    marker.captures_iter(readme).map(|captures| (captures[1].to_owned(), captures[2].to_owned())).collect()
}

/// The text with what may vary replaced by `[..]`, spaces collapsed, in the form compared.
fn normalize(text: &str, varies: Varies) -> String {
    // UUIDs, whole or cut short by a column ("243f553c-d62c-4fb9-95cf-c1…").
    let uuid = Regex::new(r"\b[0-9a-f]{8}(?:-[0-9a-f]{1,12}){1,4}").unwrap();
    // Hex ids and truncated UUIDs: a word of hex digits with at least one letter and one digit.
    let hex = Regex::new(r"\b[0-9a-f]*(?:[0-9][0-9a-f]*[a-f]|[a-f][0-9a-f]*[0-9])[0-9a-f]*\b").unwrap();
    // Kafka cluster ids: 22 characters of URL-safe base64.
    let cluster_id = Regex::new(r"\b[A-Za-z0-9_-]{22}\b").unwrap();
    let numbers = if varies.digits {
        Regex::new(r"\d+(?:\.\d+)?").unwrap()
    } else {
        Regex::new(r"\d+\.\d+|\d{2,}").unwrap()
    };
    // serde_json's reason for a payload cut at a random point: "EOF while parsing a string".
    let cut_json = Regex::new(r"EOF while parsing (?:a|an) \w+").unwrap();
    let instance_lists = Regex::new(r"instance-\d+(?:,instance-\d+)+").unwrap();
    let lists = Regex::new(r"\[(?:\[\.\.\]|,)*\]").unwrap();
    let spaces = Regex::new(r"[ \t]+").unwrap();
    let lines = text.lines().map(|line| {
        let line = cut_json.replace_all(line, "EOF while parsing [..]");
        // Which trackers read a partition ("instance-1,instance-3") depends on the rebalances.
        let line = instance_lists.replace_all(&line, "instance-[..]");
        let line = uuid.replace_all(&line, "[..]");
        let line = cluster_id.replace_all(&line, |captures: &regex::Captures<'_>| {
            let word = &captures[0];
            let looks_random =
                word.chars().any(|c| c.is_ascii_digit()) && word.chars().any(|c| c.is_ascii_uppercase());
            if looks_random {
                "[..]".to_owned()
            } else {
                word.to_owned()
            }
        });
        let line = hex.replace_all(&line, "[..]");
        let line = numbers.replace_all(&line, "[..]");
        let line = spaces.replace_all(&line, " ");
        let mut line = line.trim_end().to_owned();
        if varies.lines == Lines::Shapes {
            // [0], [0,1], [0,1,2]: a partition list of any length.
            line = lists.replace_all(&line, "[..]").into_owned();
        }
        line
    });
    let mut lines: Vec<String> = lines.collect();
    match varies.lines {
        Lines::Ordered => {}
        Lines::Unordered => lines.sort(),
        Lines::Shapes => {
            let shapes: BTreeSet<String> = lines.into_iter().collect();
            lines = shapes.into_iter().collect();
        }
    }
    let mut normalized = lines.join("\n");
    normalized.push('\n');
    normalized
}

/// Which half of the walkthrough a run covers: the README's sections 1 to 6, or 7 to 9.
#[derive(Clone, Copy, PartialEq)]
enum Half {
    First,
    Second,
}

impl Half {
    /// The page's blocks of this half: in the README, those of sections 7 to 9 come after the
    /// heading of section 7; the other pages show only steps of the first half.
    fn blocks(self, page: &str, text: &str) -> BTreeMap<String, String> {
        let (first, second) = match (page, text.find(SECOND_HALF_HEADING)) {
            ("README.md", Some(at)) => text.split_at(at),
            ("README.md", None) => panic!("the README has no heading {SECOND_HALF_HEADING:?}"),
            _ => (text, ""),
        };
        readme_blocks(if self == Half::First { first } else { second })
    }
}

/// Where the README's second half (sections 7 to 9, a run of its own) begins.
const SECOND_HALF_HEADING: &str = "### 7. ";

/// Broker: Apache Kafka (the script starts one node with `scripts/kafka.sh` on a free port, from
/// empty storage, and purges it at the end). Sections 1 to 6, the short run.
#[test]
fn the_walkthrough_prints_what_the_readme_shows() {
    let port = testkit::free_port().unwrap();
    let controller_port = testkit::free_port().unwrap();
    walk_and_compare(Half::First, &["--short", "--sections", "1-6"], port, controller_port);
}

/// Brokers: Apache Kafka (three nodes, then one) and Tansu, each started by the script on free
/// ports. Sections 7 to 9: the loss of a broker, the schema checked by the broker, exactly once.
#[test]
fn the_walkthrough_on_a_cluster_prints_what_the_readme_shows() {
    let (port, controller_port) = testkit::free_port_ranges().unwrap();
    walk_and_compare(Half::Second, &["--sections", "7-9"], port, controller_port);
}

/// Runs `scripts/walkthrough.sh ARGS` and compares each step's output with the README's block.
fn walk_and_compare(half: Half, args: &[&str], port: u16, controller_port: u16) {
    let out = tempfile::tempdir().unwrap();
    let bin_dir = ["producer", "tracker", "monitor", "dlq"]
        .iter()
        .map(|name| testkit::workspace_binary(name).parent().expect("a binary has a folder").to_path_buf())
        .reduce(|a, b| {
            assert_eq!(a, b, "the binaries are in different folders");
            a
        })
        .unwrap();
    let finished = run(
        script("scripts/walkthrough.sh")
            .args(args)
            .env("WALKTHROUGH_PORT", port.to_string())
            .env("KAFKA_CONTROLLER_PORT", controller_port.to_string())
            .env("WALKTHROUGH_OUT", out.path())
            .env("BIN_DIR", &bin_dir),
        WALKTHROUGH_TIMEOUT,
    );
    assert_eq!(finished.code, Some(0), "the walkthrough failed:\n{}", finished.all());

    let steps: BTreeSet<String> = fs::read_dir(out.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut differ = Vec::new();
    for page in PAGES {
        let blocks = half.blocks(page, &fs::read_to_string(repo_root().join(page)).unwrap());
        let marked: BTreeSet<String> = blocks.keys().cloned().collect();
        if *page == "README.md" {
            assert_eq!(
                marked, steps,
                "the README's <!-- walkthrough:STEP --> blocks and the script's steps differ"
            );
        } else {
            assert!(marked.is_subset(&steps), "{page} marks steps the script does not have: {marked:?}");
        }
        for (step, block) in &blocks {
            let printed = fs::read_to_string(out.path().join(format!("{step}.txt"))).unwrap();
            let (expected, actual) = (normalize(block, varies(step)), normalize(&printed, varies(step)));
            if expected != actual {
                differ.push((format!("{page}: {step}"), expected, actual, printed));
            }
        }
    }
    if let Some((_, expected, actual, _)) = differ.first() {
        for (step, _, _, printed) in &differ {
            eprintln!("step {step} printed, in this run:\n{printed}");
        }
        let names: Vec<&str> = differ.iter().map(|(step, ..)| step.as_str()).collect();
        eprintln!("README blocks that differ from the run: {names:?} (first diff below, normalized)");
        // Both sides are already normalized: snapbox only shows the difference.
        snapbox::Assert::new().normalize_paths(false).eq(actual.clone(), expected.clone());
    }
}

#[cfg(test)]
mod normalization {
    use super::*;

    #[test]
    fn ids_times_and_counts_vary_but_words_and_partitions_do_not() {
        let a = "instance-1  12345  2026-12-05T11:42:50.905Z acff323a-ebe3-4212-a045-4c34d37fea41 [0]  ZpxpPwxAjRcUsBgej6vi1A";
        let b = "instance-1 99  2027-01-01T00:00:00.000Z 989095aa-08a5-4389-af30-629152a22dff [0] Abcdefghij1234567890xy";
        assert_eq!(normalize(a, EXACT), normalize(b, EXACT));
        assert_ne!(normalize("instance-1 [0]", EXACT), normalize("instance-2 [0]", EXACT));
        assert_ne!(normalize("partitions [0]", EXACT), normalize("partitions [1]", EXACT));
        assert_eq!(normalize("partitions [0]", DIGITS), normalize("partitions [1]", DIGITS));
        assert_ne!(normalize("partitions_assigned", EXACT), normalize("partitions_revoked", EXACT));
    }

    #[test]
    fn shapes_ignore_the_number_and_order_of_lines_but_not_their_kind() {
        let shapes = Varies { digits: true, lines: Lines::Shapes };
        let readme =
            "$ jq\n11:00:01 instance-1 partitions_assigned [0]\n11:00:02 instance-1 partitions_revoked [0]\n";
        let run = "$ jq\n12:00:01 instance-3 partitions_revoked [2]\n12:00:03 instance-1 partitions_assigned [0,1]\n12:00:03 instance-3 partitions_assigned [2]\n";
        assert_eq!(normalize(readme, shapes), normalize(run, shapes));
        assert_ne!(
            normalize(readme, shapes),
            normalize("$ jq\n12:00:01 instance-3 partitions_revoked [2]\n", shapes)
        );
    }

    #[test]
    fn the_readme_blocks_are_found_by_their_markers() {
        let readme =
            "text\n<!-- walkthrough:a-b -->\n```\n$ ls\nx\n```\nmore\n<!-- walkthrough:c -->\n```\n```\n";
        let blocks = readme_blocks(readme);
        assert_eq!(blocks["a-b"], "$ ls\nx\n");
        assert_eq!(blocks["c"], "");
    }
}
