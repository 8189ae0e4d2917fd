//! Every link in the README and in `docs/` points at something that exists: a file of the
//! repository, and, when the link names a `#section`, a heading of that page. A newcomer who
//! follows a link never lands on nothing.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The pages a reader walks through: the README and every page under `docs/`.
fn pages() -> Vec<PathBuf> {
    let root = crate::util::repo_root();
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("the docs/ folder exists")
        .map(|entry| entry.expect("readable docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The targets of the Markdown links `[text](target)` of a page, outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            links.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    links
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of every heading of a Markdown page, numbered as GitHub numbers repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let base = anchor(line.trim_start_matches('#'));
        let mut candidate = base.clone();
        let mut n = 1;
        while seen.contains(&candidate) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        seen.insert(candidate);
    }
    seen
}

fn broken_link(page: &Path, target: &str) -> Option<String> {
    if target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, section) = match target.split_once('#') {
        Some((path, section)) => (path, Some(section)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        page.to_path_buf()
    } else {
        page.parent().expect("a page has a folder").join(path)
    };
    if !file.exists() {
        return Some(format!("{}: link to {target}: {} does not exist", page.display(), file.display()));
    }
    let section = section?;
    if file.extension().is_none_or(|ext| ext != "md") {
        return None;
    }
    let text = fs::read_to_string(&file).expect("readable page");
    if anchors(&text).contains(section) {
        None
    } else {
        Some(format!(
            "{}: link to {target}: no heading with anchor #{section} in {}",
            page.display(),
            file.display()
        ))
    }
}

#[test]
fn every_link_of_the_readme_and_the_docs_leads_somewhere() {
    let pages = pages();
    assert!(pages.len() > 5, "expected the README and the docs/ pages, found {pages:?}");
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = fs::read_to_string(page).expect("readable page");
        for target in links(&text) {
            checked += 1;
            broken.extend(broken_link(page, &target));
        }
    }
    assert!(checked > 20, "only {checked} links found: the link parser is broken");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_docs_page_is_reachable_from_the_readme() {
    let root = crate::util::repo_root();
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let linked: BTreeSet<String> =
        links(&readme).into_iter().map(|l| l.split('#').next().unwrap_or("").to_string()).collect();
    let missing: Vec<String> = pages()
        .iter()
        .skip(1)
        .filter_map(|page| {
            let relative = format!("docs/{}", page.file_name()?.to_string_lossy());
            (!linked.contains(&relative)).then_some(relative)
        })
        .collect();
    assert!(missing.is_empty(), "docs pages the README does not link to: {missing:?}");
}

#[test]
fn the_anchor_rule_matches_github() {
    assert_eq!(
        anchor(" 3. A flood, and the lag going up and down"),
        "3-a-flood-and-the-lag-going-up-and-down"
    );
    assert_eq!(anchor(" analyze_logs.sh"), "analyze_logssh");
    assert_eq!(
        anchor(" `tracker-<id>.events`: every message received"),
        "tracker-idevents-every-message-received"
    );
    assert!(broken_link(Path::new("/nonexistent/README.md"), "docs/nothing.md").is_some());
}
