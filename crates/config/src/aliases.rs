//! librdkafka names some properties twice (`acks` and `request.required.acks`, ...). Both
//! spellings set one property, and a client's settings are a hash map applied in no fixed
//! order: with `request.required.acks: "0"` in `kafka.properties` beside the `acks=all` the
//! producer insists on, which one librdkafka saw last changed from run to run. So every
//! `kafka.properties` key is written under one spelling, the one this project uses, before
//! anything else sees it; a file giving both spellings of one property is refused.

/// Each pair: a second spelling, and the one used here. From librdkafka's CONFIGURATION.md
/// (2.12), every "Alias for" entry of a global or producer/consumer property.
const ALIASES: &[(&str, &str)] = &[
    ("metadata.broker.list", "bootstrap.servers"),
    ("max.in.flight.requests.per.connection", "max.in.flight"),
    ("sasl.mechanisms", "sasl.mechanism"),
    ("sasl.oauthbearer.client.credentials.client.id", "sasl.oauthbearer.client.id"),
    ("sasl.oauthbearer.client.credentials.client.secret", "sasl.oauthbearer.client.secret"),
    ("max.partition.fetch.bytes", "fetch.message.max.bytes"),
    ("queue.buffering.max.ms", "linger.ms"),
    ("message.send.max.retries", "retries"),
    ("compression.codec", "compression.type"),
    ("request.required.acks", "acks"),
    ("delivery.timeout.ms", "message.timeout.ms"),
];

/// The spelling of librdkafka property `key` used in this project (`key` itself for a
/// property with one name).
pub fn property_name(key: &str) -> &str {
    ALIASES.iter().find(|(alias, _)| *alias == key).map_or(key, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_to_one_spelling_and_that_spelling_to_itself() {
        assert_eq!(property_name("request.required.acks"), "acks");
        assert_eq!(property_name("acks"), "acks");
        assert_eq!(property_name("sasl.mechanisms"), "sasl.mechanism");
        assert_eq!(property_name("security.protocol"), "security.protocol");
        for (_, name) in ALIASES {
            assert_eq!(property_name(name), *name, "{name} must not be an alias itself");
        }
    }
}
