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
//!    not touch the process environment; a binary's flags, an [`Overrides`], then go over the
//!    fields ([`load_with`] does steps 1 to 3 for them);
//! 3. [`Settings::validate`] checks ranges and cross-field rules and returns a [`Config`], which
//!    cannot be invalid.
//!
//! YAML parsing uses `serde_yaml_ng`, a maintained fork of the archived `serde_yaml` 0.9 with
//! the same API and error messages that name the offending key path.
//!
//! librdkafka properties come from `kafka.properties` in the file and from `-X NAME=VALUE` flags
//! ([`client_property`]), which win; the few the programs set themselves are refused.
//!
//! Secrets ([`secret`]): values of `kafka.properties` whose name looks secret, and passwords
//! inside JAAS lines, are held as [`Secret`]s that print as `***`; [`Config::redactor`] removes
//! them from any other text (librdkafka's errors and logs) before it leaves the process.

mod aliases;
pub mod client_property;
mod env;
mod error;
mod help;
pub mod limits;
pub mod secret;
mod settings;

pub use aliases::property_name;
pub use client_property::{why_owned, ClientProperty, OwnedProperty, CLIENT_PROPERTY_FORM, OWNED};
pub use env::{env_help, EnvVar, ENV_VARS};
pub use error::ConfigError;
pub use help::{check_flag_help, default_of, flag_help, flag_help_defaulting};
pub use secret::{is_secret_name, Properties, PropertyValue, Redactor, Secret, REDACTED};
pub use settings::{
    AutoOffsetReset, DlqSettings, Fsync, GroupProtocol, KafkaSettings, Processing, ProducerSettings,
    RetrySettings, Settings, TrackerSettings, DEFAULT_STATUS_TOPIC,
};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "config.yaml";

/// A configuration that passed validation. Read it through `Deref<Target = Settings>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    settings: Settings,
    /// Removes this configuration's secrets from any text, built once at validation.
    redactor: Redactor,
}

impl std::ops::Deref for Config {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.settings
    }
}

impl Config {
    fn new(settings: Settings) -> Self {
        let redactor = settings.kafka.properties.redactor();
        Self { settings, redactor }
    }

    /// The configuration as JSON for start-up logs, with secrets replaced by `***`.
    pub fn redacted_json(&self) -> serde_json::Value {
        // Secrets serialize as `***` already; the redactor also catches a secret value repeated
        // under a name that does not look secret.
        let mut json = serde_json::to_value(&self.settings).unwrap_or(serde_json::Value::Null);
        self.redactor.redact_json(&mut json);
        json
    }

    /// The redactor of this configuration's secrets: every text that leaves the process
    /// (errors, logs, files) goes through it.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }
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

/// Command-line flags that override the configuration: the last layer of precedence. Each
/// binary's `Cli` implements it the same way, writing each flag given over its field with
/// [`override_with`]; [`load_with`] then loads, applies and validates.
pub trait Overrides {
    /// The `--config` flag: the file to read instead of `./config.yaml`.
    fn config_file(&self) -> Option<&Path>;

    /// Writes every flag that was given over the field it overrides.
    fn apply_to(&self, settings: &mut Settings);
}

/// Defaults, then the file, then the environment from `env`, then `flags`; then validation.
/// A bad flag value is so reported like a bad value in the file, naming the key.
pub fn load_with(flags: &impl Overrides, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
    let mut settings = load(flags.config_file(), env)?;
    flags.apply_to(&mut settings);
    settings.validate()
}

/// Sets `field` to `flag` when the flag was given; leaves it alone otherwise.
pub fn override_with<T>(field: &mut T, flag: Option<T>) {
    if let Some(value) = flag {
        *field = value;
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
