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

/// For the binaries' tests of their `--help`: each flag of `command` either names a key
/// (`[config: KEY]`) and then says that key's variable and default as [`flag_help`] writes
/// them, or is one of `without_key` (by clap id). Returns how many flags name a key, or what is
/// wrong with the first flag that breaks the rule.
pub fn check_flag_help(command: &clap::Command, without_key: &[&str]) -> Result<usize, String> {
    let mut checked = 0;
    for arg in command.get_arguments() {
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        let Some(key) = help.split("[config: ").nth(1).and_then(|rest| rest.split(']').next()) else {
            if !without_key.contains(&arg.get_id().as_str()) {
                return Err(format!("--{} names no key: {help}", arg.get_id()));
            }
            continue;
        };
        checked += 1;
        if let Some(var) = crate::ENV_VARS.iter().find(|var| var.key == key) {
            if !help.contains(&format!("[env: {}]", var.name)) {
                return Err(format!("no [env: {}] in {help}", var.name));
            }
        }
        if let Some(default) = default_of(key) {
            if !help.ends_with(&format!("[default: {default}]")) {
                return Err(format!("no [default: {default}] at the end of {help}"));
            }
        }
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_check_names_the_flag_that_breaks_the_rule() {
        let flag = |id: &'static str, help: String| clap::Arg::new(id).long(id).help(help);
        let good = clap::Command::new("t")
            .arg(flag("metrics", flag_help("Interval", "tracker.metrics_interval_ms")))
            .arg(flag("config", "Configuration file".to_owned()));
        assert_eq!(check_flag_help(&good, &["config"]), Ok(1));
        let no_key = good.clone().arg(flag("other", "Something".to_owned()));
        assert!(check_flag_help(&no_key, &["config"]).unwrap_err().starts_with("--other names no key"));
        let typed_by_hand = clap::Command::new("t")
            .arg(flag("metrics", "Interval [config: tracker.metrics_interval_ms] [default: 1]".to_owned()));
        let error = check_flag_help(&typed_by_hand, &[]).unwrap_err();
        assert!(error.contains("TRACKER_METRICS_INTERVAL_MS"), "{error}");
    }

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
