//! The `--help` text of a flag that overrides a configuration key, from the one statement of
//! that key: its variable ([`crate::ENV_VARS`]) and its default ([`Settings::default`]), so
//! that no binary types a variable name or a default by hand. Every such flag of the producer
//! and the tracker reads `SUMMARY [env: VAR] [config: KEY] [default: VALUE]`.

use crate::settings::Settings;

/// `summary` followed by `[env: VAR]` (when a variable sets `key`), `[config: key]` and
/// `[default: VALUE]` (when the default is a number or a text).
pub fn flag_help(summary: &str, key: &str) -> String {
    describe(summary, key, default_of(key))
}

/// [`flag_help`] for a key without a default value (`producer.seed`, `tracker.instance_id`),
/// whose default is what happens without one, in words (`random`, `instance-<pid>`).
pub fn flag_help_defaulting(summary: &str, key: &str, default: &str) -> String {
    describe(summary, key, Some(default_of(key).unwrap_or_else(|| default.to_owned())))
}

fn describe(summary: &str, key: &str, default: Option<String>) -> String {
    let mut help = summary.to_owned();
    if let Some(var) = crate::ENV_VARS.iter().find(|var| var.key == key) {
        help.push_str(&format!(" [env: {}]", var.name));
    }
    help.push_str(&format!(" [config: {key}]"));
    if let Some(default) = default {
        help.push_str(&format!(" [default: {default}]"));
    }
    help
}

/// The default of `key` as the file would write it; `None` for a key without a default value
/// (or a boolean: a switch's default is to be off).
pub fn default_of(key: &str) -> Option<String> {
    let defaults = serde_json::to_value(Settings::default()).ok()?;
    let (section, field) = key.split_once('.')?;
    match defaults.get(section)?.get(field)? {
        serde_json::Value::String(text) => Some(text.clone()),
        // `0.0` as `0`, like the file would say it.
        serde_json::Value::Number(number) => Some(
            number
                .as_u64()
                .map_or_else(|| number.as_f64().unwrap_or_default().to_string(), |whole| whole.to_string()),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_says_its_variable_its_key_and_the_default_of_the_settings() {
        assert_eq!(
            flag_help("Milliseconds between two metrics entries", "tracker.metrics_interval_ms"),
            format!(
                "Milliseconds between two metrics entries [env: TRACKER_METRICS_INTERVAL_MS] [config: \
                 tracker.metrics_interval_ms] [default: {}]",
                Settings::default().tracker.metrics_interval_ms
            )
        );
        assert_eq!(
            flag_help_defaulting("Seed", "producer.seed", "random"),
            "Seed [config: producer.seed] [default: random]"
        );
        assert_eq!(default_of("tracker.fsync").as_deref(), Some("never"));
        assert_eq!(default_of("kafka.broker").as_deref(), Some("127.0.0.1:9092"));
        assert_eq!(default_of("producer.transactional"), None);
        assert_eq!(default_of("tracker.failure_rate").as_deref(), Some("0"));
        assert_eq!(default_of("producer.lifecycle_share").as_deref(), Some("0.4"));
    }
}
