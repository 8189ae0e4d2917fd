//! Configuration of the producer and the tracker, loaded once and validated before anything
//! connects.
//!
//! Precedence, lowest first: built-in defaults, the YAML file (`--config PATH`, else
//! `./config.yaml` when it exists), environment variables, command-line flags. Loading goes
//! through three steps so each can be tested on its own:
//!
//! 1. [`Settings::from_yaml`] parses the file into the raw serde structs (unknown keys are
//!    errors, every field has a default);
//! 2. [`Settings::apply_env`] applies environment variables from an injected map, so tests do
//!    not touch the process environment; binaries then apply their flags to the fields;
//! 3. [`Settings::validate`] checks ranges and cross-field rules and returns a [`Config`], which
//!    cannot be invalid.
//!
//! YAML parsing uses `serde_yaml_ng`, a maintained fork of the archived `serde_yaml` 0.9 with
//! the same API and error messages that name the offending key path.
//!
//! Secrets: values of `kafka.properties` whose key names a password or secret are shown as
//! `********` by [`Config::redacted_json`] and never appear in error messages.

mod env;
mod error;
mod settings;

pub use env::{EnvVar, ENV_VARS};
pub use error::ConfigError;
pub use settings::{
    AutoOffsetReset, DlqSettings, Fsync, KafkaSettings, ProducerSettings, RetrySettings, Settings,
    TrackerSettings,
};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "config.yaml";

/// A configuration that passed validation. Read it through `Deref<Target = Settings>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config(Settings);

impl std::ops::Deref for Config {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.0
    }
}

impl Config {
    /// The configuration as JSON for start-up logs, with secrets replaced by `********`.
    pub fn redacted_json(&self) -> serde_json::Value {
        let mut settings = self.0.clone();
        for (key, value) in settings.kafka.properties.iter_mut() {
            if is_secret_property(key) {
                *value = REDACTED.to_owned();
            }
        }
        serde_json::to_value(&settings).unwrap_or(serde_json::Value::Null)
    }
}

/// What replaces a secret in output.
pub const REDACTED: &str = "********";

/// Whether a librdkafka property holds a secret (password, key, token...).
pub fn is_secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "oauthbearer.config", "ssl.key.pem", "private"]
        .iter()
        .any(|word| key.contains(word))
}

/// Loads defaults, then the file, then the environment: steps 1 and 2 of the module doc.
///
/// `file` is the `--config` flag; when it is `None`, `./config.yaml` is read if it exists.
/// The caller applies its flags to the returned settings, then calls [`Settings::validate`].
pub fn load(file: Option<&Path>, env: &HashMap<String, String>) -> Result<Settings, ConfigError> {
    let mut settings = match config_file(file) {
        Some(path) => Settings::from_file(&path)?,
        None => Settings::default(),
    };
    settings.apply_env(env)?;
    Ok(settings)
}

fn config_file(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_owned()),
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.is_file().then_some(default)
        }
    }
}

/// The process environment as a map, for [`load`].
pub fn process_env() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests;
