//! librdkafka properties from the command line (`-X NAME=VALUE`, as in kcat) and the properties
//! that neither `-X` nor `kafka.properties` may set, because the programs set them themselves.
//!
//! A `-X` property goes into `kafka.properties` over the file's value (under librdkafka's one
//! spelling, [`crate::property_name`]), so it reaches every Kafka client of the program, and
//! its value is a [`Secret`](crate::Secret) when its name looks secret, like the file's.
//!
//! The owned properties ([`OWNED`]) are those whose value the at-least-once and exactly-once
//! guarantees rest on (`enable.auto.offset.store`, `acks`, ...) and those the configuration
//! states elsewhere (`bootstrap.servers` is `kafka.broker`): a value given for one of them would
//! be overridden without a word or would silently break a guarantee, so it is refused, with the
//! reason, when the configuration is validated.

use std::fmt;

use crate::secret::PropertyValue;
use crate::settings::{Processing, Settings};

/// One `-X NAME=VALUE`: a librdkafka property and its value (a secret when the name looks
/// secret, so `Debug` of the parsed flags never shows it).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientProperty {
    /// The property's name as typed.
    pub name: String,
    /// Its value.
    pub value: PropertyValue,
}

impl fmt::Debug for ClientProperty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.value)
    }
}

/// What `-X` accepts, for its error messages.
pub const CLIENT_PROPERTY_FORM: &str =
    "-X takes NAME=VALUE, a librdkafka property and its value (e.g. -X client.id=me, -X security.protocol=SASL_SSL)";

impl std::str::FromStr for ClientProperty {
    type Err = String;

    /// Parses `NAME=VALUE` (the value may be empty or hold `=`). The error never repeats the
    /// text, which may hold a secret typed with the wrong separator (`sasl.password:...`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((name, value)) = text.split_once('=') else {
            return Err(format!("{CLIENT_PROPERTY_FORM}; this one has no '='"));
        };
        if name.trim().is_empty() {
            return Err(format!("{CLIENT_PROPERTY_FORM}; this one has no name before '='"));
        }
        if name.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(format!("{CLIENT_PROPERTY_FORM}; this one has a space in its name"));
        }
        Ok(Self { name: name.to_owned(), value: PropertyValue::new(name, value) })
    }
}

/// A property the programs set themselves, and why.
#[derive(Debug, Clone, Copy)]
pub struct OwnedProperty {
    /// librdkafka's name (the spelling of [`crate::property_name`]).
    pub name: &'static str,
    /// Why it cannot be set, and what to use instead where there is something.
    pub why: &'static str,
    /// Only owned in `exactly_once` mode (the tracker sets it only then).
    pub exactly_once_only: bool,
}

const fn owned(name: &'static str, why: &'static str) -> OwnedProperty {
    OwnedProperty { name, why, exactly_once_only: false }
}

/// Every property the programs own (see the module doc); `kafka::tests` checks that each one
/// the Kafka clients force is here.
pub const OWNED: &[OwnedProperty] = &[
    owned("bootstrap.servers", "the brokers are -b/--broker, KAFKA_BROKER or kafka.broker"),
    owned(
        "group.id",
        "the trackers' group is -G/--group, KAFKA_CONSUMER_GROUP or kafka.consumer_group (dlq reads with a throwaway group of its own)",
    ),
    owned(
        "enable.auto.offset.store",
        "the tracker stores an offset only once the message's .events line is written and its work is done (at-least-once)",
    ),
    owned(
        "enable.auto.commit",
        "the tracker commits only offsets it stored after the work was done (at-least-once), or in its transactions (exactly_once); dlq never commits",
    ),
    owned("enable.idempotence", "the producers never duplicate or reorder a record when they retry"),
    owned("acks", "every record and dead letter waits for all in-sync replicas (acks=all)"),
    owned(
        "transactional.id",
        "the producer's is --transactional-id (producer.transactional_id); a tracker in exactly_once mode derives its own from its group and instance id",
    ),
    owned("auto.offset.reset", "it is KAFKA_AUTO_OFFSET_RESET or kafka.auto_offset_reset (dlq chooses its own)"),
    owned("session.timeout.ms", "it is KAFKA_SESSION_TIMEOUT_MS or kafka.session_timeout_ms"),
    owned("group.protocol", "it is KAFKA_GROUP_PROTOCOL or kafka.group_protocol"),
    owned("enable.partition.eof", "dlq sets it to know where each partition ends"),
    OwnedProperty {
        name: "isolation.level",
        why: "exactly_once reads read_committed, so that records of open or aborted transactions are never read",
        exactly_once_only: true,
    },
];

/// Why property `name` cannot be set with these settings, if it cannot.
pub fn why_owned(name: &str, settings: &Settings) -> Option<&'static OwnedProperty> {
    let name = crate::property_name(name);
    OWNED.iter().find(|owned| {
        owned.name == name
            && (!owned.exactly_once_only || settings.tracker.processing == Processing::ExactlyOnce)
    })
}

impl Settings {
    /// Applies `-X` properties over `kafka.properties` (the last one given wins).
    pub fn apply_client_properties(&mut self, properties: &[ClientProperty]) {
        for property in properties {
            let name = crate::property_name(&property.name).to_owned();
            self.kafka.properties.insert(name, property.value.expose().to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_equals_value_and_nothing_else() {
        let property: ClientProperty = "client.id=me".parse().unwrap();
        assert_eq!((property.name.as_str(), property.value.expose()), ("client.id", "me"));
        let property: ClientProperty = "sasl.jaas.config=a=b".parse().unwrap();
        assert_eq!(property.value.expose(), "a=b", "only the first '=' separates");
        let property: ClientProperty = "debug=".parse().unwrap();
        assert_eq!(property.value.expose(), "", "an empty value is librdkafka's to judge");
        for (bad, why) in [
            ("client.id", "no '='"),
            ("sasl.password:hunter2", "no '='"),
            ("=hunter2", "no name"),
            (" =x", "no name"),
            ("client id=x", "a space"),
        ] {
            let error = bad.parse::<ClientProperty>().unwrap_err();
            assert!(error.starts_with(CLIENT_PROPERTY_FORM) && error.contains(why), "{bad}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn a_secret_value_never_shows_in_debug() {
        let property: ClientProperty = "sasl.password=hunter2".parse().unwrap();
        assert!(property.value.is_secret());
        assert_eq!(format!("{property:?}"), "sasl.password=***");
    }

    #[test]
    fn owned_properties_are_found_under_either_name_and_isolation_only_in_exactly_once() {
        let mut settings = Settings::default();
        assert_eq!(why_owned("request.required.acks", &settings).map(|owned| owned.name), Some("acks"));
        assert!(why_owned("enable.auto.offset.store", &settings).is_some());
        assert!(why_owned("client.id", &settings).is_none());
        assert!(why_owned("isolation.level", &settings).is_none(), "at_least_once leaves it to the user");
        settings.tracker.processing = Processing::ExactlyOnce;
        assert!(why_owned("isolation.level", &settings).is_some());
    }
}
