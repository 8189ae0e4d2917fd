//! The entries the producer and the tracker both write, with the same metadata: one struct
//! each, an [`Entry`](super::Entry) of both services (see the `entries!` lists of
//! [`super::producer`] and [`super::tracker`]).

use serde::{Deserialize, Serialize};

/// `metadata` of a `torn_line_terminated` entry: the previous run left an unfinished last line,
/// and this run ended it before appending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TornLineTerminated {
    /// The file whose last line was unfinished.
    pub file: String,
    /// Length of the unfinished line, in bytes; it stays in the file as one malformed line.
    pub fragment_bytes: u64,
}

/// `metadata` of a `kafka_error` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaError {
    /// Who reported it: `client` (both), `consumer` or `rebalance` (the tracker).
    pub source: String,
    /// Present and true when the error stopped the program (a refused login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal: Option<bool>,
}

impl KafkaError {
    /// An error reported by `source` that the program lives with.
    pub fn reported_by(source: &str) -> Self {
        Self { source: source.to_owned(), fatal: None }
    }

    /// An error reported by `source` that stops the program.
    pub fn fatal(source: &str) -> Self {
        Self { source: source.to_owned(), fatal: Some(true) }
    }
}
