//! The `-X NAME=VALUE` flag of the binaries that talk to Kafka (producer, tracker, dlq), as in
//! kcat: any librdkafka property, repeatable, over `kafka.properties` in the file. What a
//! property is and which ones are refused: [`config::client_property`].

use std::ffi::OsStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use config::{ClientProperty, Settings};

/// The `-X` flag, the same in each binary that talks to Kafka (flatten it into its flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ClientPropertyFlags {
    /// A librdkafka property for every Kafka client of this program, as in kcat (e.g. -X
    /// security.protocol=SASL_SSL); repeatable; wins over kafka.properties in the file, and
    /// the last -X of a name wins. Secret values (sasl.password, ssl.key.password, ...) are
    /// never printed. Properties the program sets itself (enable.auto.commit, acks, ...) are
    /// refused, with the reason
    #[arg(short = 'X', global = true, value_name = "NAME=VALUE", value_parser = PropertyParser)]
    pub properties: Vec<ClientProperty>,
}

impl ClientPropertyFlags {
    /// Writes the properties over `kafka.properties` (for a binary's [`config::Overrides`]).
    pub fn apply_to(&self, settings: &mut Settings) {
        settings.apply_client_properties(&self.properties);
    }
}

/// Parses one `-X` value. Its error is our own sentence, without the value: clap's usual
/// "invalid value '...'" would repeat a secret typed with the wrong separator.
#[derive(Debug, Clone, Copy)]
struct PropertyParser;

impl TypedValueParser for PropertyParser {
    type Value = ClientProperty;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _argument: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<ClientProperty, clap::Error> {
        let parsed = match value.to_str() {
            Some(text) => text.parse(),
            None => Err(format!("{}; this one is not UTF-8", config::CLIENT_PROPERTY_FORM)),
        };
        parsed.map_err(|why| command.clone().error(ErrorKind::ValueValidation, why))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        client: ClientPropertyFlags,
    }

    #[test]
    fn repeated_properties_go_over_the_file_and_the_last_one_wins() {
        let flags =
            Flags::try_parse_from(["p", "-X", "client.id=a", "-Xlinger.ms=7", "-X", "client.id=b"]).unwrap();
        let mut settings = Settings::default();
        settings.kafka.properties.insert("linger.ms".into(), "50".into());
        flags.client.apply_to(&mut settings);
        let value = |name: &str| settings.kafka.properties.get(name).map(|value| value.expose().to_owned());
        assert_eq!(value("client.id").as_deref(), Some("b"));
        assert_eq!(value("linger.ms").as_deref(), Some("7"));
    }

    #[test]
    fn a_malformed_property_is_one_sentence_without_the_value() {
        let error = Flags::try_parse_from(["p", "-X", "sasl.password:hunter2"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
        let text = error.to_string();
        assert!(text.contains("-X takes NAME=VALUE") && text.contains("no '='"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
