//! The allowed range of every numeric setting, stated once: validation ([`Limit::check_whole`]), the
//! hints of environment variables ([`expected_for`]) and the doc comments of the settings (a
//! test holds each `from A to B` there to this table) all follow from it.

use crate::error::ConfigError;

/// What values a numeric setting accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Allowed {
    /// A whole number in `min..=max`.
    Whole { min: u64, max: u64 },
    /// Any number in `min..=max`.
    Number { min: f64, max: f64 },
}

/// One numeric setting and its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// The `section.key`.
    pub key: &'static str,
    /// Its range.
    pub allowed: Allowed,
}

const fn whole(key: &'static str, min: u64, max: u64) -> Limit {
    Limit { key, allowed: Allowed::Whole { min, max } }
}

const fn number(key: &'static str, min: f64, max: f64) -> Limit {
    Limit { key, allowed: Allowed::Number { min, max } }
}

/// A share, from 0 to 1.
const fn share(key: &'static str) -> Limit {
    number(key, 0.0, 1.0)
}

macro_rules! limits {
    ($($name:ident = $make:ident($key:literal $(, $bound:expr)*);)+) => {
        $(
            #[doc = concat!("`", $key, "`.")]
            pub const $name: Limit = $make($key $(, $bound)*);
        )+
        /// Every numeric setting.
        pub const LIMITS: &[Limit] = &[$($name),+];
    };
}

limits! {
    KAFKA_SESSION_TIMEOUT_MS = whole("kafka.session_timeout_ms", 1_000, 300_000);
    PRODUCER_INTERVAL_MS = whole("producer.interval_ms", 1, 3_600_000);
    PRODUCER_LIFECYCLE_SHARE = share("producer.lifecycle_share");
    PRODUCER_CANCEL_SHARE = share("producer.cancel_share");
    PRODUCER_POISON_RATE = share("producer.poison_rate");
    PRODUCER_FLUSH_TIMEOUT_MS = whole("producer.flush_timeout_ms", 0, 300_000);
    PRODUCER_METRICS_INTERVAL_MS = whole("producer.metrics_interval_ms", 100, 3_600_000);
    PRODUCER_TRANSACTION_RECORDS = whole("producer.transaction_records", 1, 100_000);
    PRODUCER_ABORT_RATE = share("producer.abort_rate");
    TRACKER_METRICS_INTERVAL_MS = whole("tracker.metrics_interval_ms", 100, 3_600_000);
    TRACKER_COMMIT_INTERVAL_MS = whole("tracker.commit_interval_ms", 10, 60_000);
    TRACKER_PROCESSING_DELAY_MS = whole("tracker.processing_delay_ms", 0, 60_000);
    TRACKER_FAILURE_RATE = share("tracker.failure_rate");
    TRACKER_DEDUP_WINDOW = whole("tracker.dedup_window", 0, 10_000_000);
    TRACKER_SHUTDOWN_TIMEOUT_MS = whole("tracker.shutdown_timeout_ms", 1_000, 60_000);
    TRACKER_TRANSACTION_RECORDS = whole("tracker.transaction_records", 1, 100_000);
    TRACKER_TRANSACTION_MAX_MS = whole("tracker.transaction_max_ms", 10, 60_000);
    RETRY_MAX_ATTEMPTS = whole("retry.max_attempts", 1, 100);
    RETRY_INITIAL_DELAY_MS = whole("retry.initial_delay_ms", 1, 3_600_000);
    RETRY_MULTIPLIER = number("retry.multiplier", 1.0, 100.0);
    RETRY_MAX_DELAY_MS = whole("retry.max_delay_ms", 1, 3_600_000);
    DLQ_MAX_REDRIVES = whole("dlq.max_redrives", 1, 100);
}

/// The range of `key`; every numeric key has one (a test checks the table is complete).
pub fn limit(key: &str) -> Option<&'static Limit> {
    LIMITS.iter().find(|limit| limit.key == key)
}

/// What `key` accepts, in words ("a whole number from 1 to 100"), for the hint of a variable
/// whose value is not a number at all.
pub fn expected_for(key: &str) -> String {
    limit(key).map_or_else(|| "a number".to_owned(), Limit::expected)
}

impl Limit {
    /// What the setting accepts, in words.
    pub fn expected(&self) -> String {
        match self.allowed {
            Allowed::Whole { min, max } => format!("a whole number from {min} to {max}"),
            Allowed::Number { min, max } => format!("a number from {min} to {max}"),
        }
    }

    /// Nothing if the whole number `value` is in range; else the error that names the key,
    /// the value and the range.
    pub fn check_whole(&self, value: u64) -> Result<(), ConfigError> {
        let inside = match self.allowed {
            Allowed::Whole { min, max } => (min..=max).contains(&value),
            Allowed::Number { min, max } => (min..=max).contains(&(value as f64)),
        };
        self.error_unless(inside, value)
    }

    /// Nothing if `value` is in range; else the error that names the key, the value and the
    /// range.
    pub fn check_number(&self, value: f64) -> Result<(), ConfigError> {
        let inside = match self.allowed {
            Allowed::Whole { min, max } => value.fract() == 0.0 && (min as f64..=max as f64).contains(&value),
            Allowed::Number { min, max } => (min..=max).contains(&value),
        };
        self.error_unless(inside, value)
    }

    fn error_unless(&self, inside: bool, value: impl std::fmt::Display) -> Result<(), ConfigError> {
        if inside {
            Ok(())
        } else {
            Err(ConfigError::invalid(self.key, value, self.expected()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The doc comment of `field` in `struct_name` of settings.rs.
    fn doc_comment(source: &str, struct_name: &str, field: &str) -> String {
        let body = &source[source.find(&format!("pub struct {struct_name} {{")).expect(struct_name)..];
        let body = &body[..body.find("\n}").expect("the struct's end")];
        let at = body.find(&format!("    pub {field}:")).unwrap_or_else(|| panic!("{struct_name}.{field}"));
        body[..at]
            .lines()
            .rev()
            .take_while(|line| line.trim_start().starts_with("///"))
            .map(|line| line.trim_start().trim_start_matches("///").trim())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn every_doc_comment_states_the_range_of_the_table() {
        let source = include_str!("settings.rs");
        for limit in LIMITS {
            let (section, field) = limit.key.split_once('.').expect("section.key");
            let struct_name = format!("{}{}Settings", section[..1].to_uppercase(), &section[1..]);
            let doc = doc_comment(source, &struct_name, field);
            let (min, max) = match limit.allowed {
                Allowed::Whole { min, max } => (min.to_string(), max.to_string()),
                Allowed::Number { min, max } => (min.to_string(), max.to_string()),
            };
            let stated = if min == "0" && doc.contains(&format!("up to {max}")) {
                true
            } else {
                doc.contains(&format!("from {min} to {max}"))
                    || doc.contains(&format!("from {min} (off) to {max}"))
            };
            assert!(stated, "{}: its doc comment does not say {min} to {max}: {doc:?}", limit.key);
        }
    }

    #[test]
    fn every_numeric_setting_has_a_range() {
        let defaults = serde_json::to_value(crate::Settings::default()).expect("the defaults as JSON");
        for (section, fields) in defaults.as_object().expect("sections") {
            for (field, value) in fields.as_object().expect("fields") {
                let key = format!("{section}.{field}");
                if value.is_number() {
                    let limit = limit(&key).unwrap_or_else(|| panic!("{key} has no range in LIMITS"));
                    assert!(limit.check_number(value.as_f64().expect("a number")).is_ok(), "{key}'s default");
                }
            }
        }
    }

    #[test]
    fn out_of_range_names_the_key_the_value_and_the_range() {
        let error = RETRY_MAX_ATTEMPTS.check_whole(0).unwrap_err().to_string();
        assert_eq!(error, "retry.max_attempts = 0 is invalid: expected a whole number from 1 to 100");
        let error = RETRY_MULTIPLIER.check_number(0.5).unwrap_err().to_string();
        assert_eq!(error, "retry.multiplier = 0.5 is invalid: expected a number from 1 to 100");
    }
}
