//! The one error type of configuration loading. Each variant's message names the file, key or
//! variable, the value, and what is allowed, so the user can fix it without reading code.

use std::fmt::Display;
use std::path::PathBuf;

use thiserror::Error;

/// Why the configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read configuration file {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    /// The file is not valid YAML, has an unknown key, or a value of the wrong type.
    #[error("invalid configuration file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// An environment variable has a value of the wrong form.
    #[error("environment variable {var}={value:?} is invalid: expected {expected}")]
    Env { var: String, value: String, expected: String },
    /// A key's value is out of range or of the wrong form.
    #[error("{key} = {value} is invalid: expected {expected}")]
    Invalid { key: String, value: String, expected: String },
    /// A librdkafka property (`-X` or `kafka.properties`) that cannot be used: one the programs
    /// set themselves, or one librdkafka refuses (an unknown name, a bad value).
    #[error("librdkafka property {name} (-X or kafka.properties) is refused: {reason}")]
    Property { name: String, reason: String },
    /// Two keys contradict each other.
    #[error("{0}")]
    Contradiction(String),
}

impl ConfigError {
    /// A key whose value is not allowed. Control characters in the value are escaped, so the
    /// error stays on one line.
    pub fn invalid(key: &str, value: impl Display, expected: impl Display) -> Self {
        let value = value.to_string().escape_debug().to_string();
        Self::Invalid { key: key.to_owned(), value, expected: expected.to_string() }
    }
}
