//! The monitor's integration tests, one binary with a module per area: the real `monitor`
//! binary over the committed fixtures (`tests/fixtures/demo`, known answers) and odd files.
//!
//! One area: `cargo test -p monitor --test it odd_files`; one test: add its name.

mod cli;
mod color;
mod generate_fixtures;
mod hostile;
mod odd_files;
mod other_trackers;
mod report_matches_json;
mod screenshot;
