//! Secrets: a type that cannot print itself, and the [`Redactor`] that removes secret values
//! from every text that leaves the process.
//!
//! A `kafka.properties` value is a secret when its property name looks secret
//! ([`is_secret_name`]): in any case, with `_` or `-` for `.`, with a typo of a letter or two
//! (`SASL.PASSWORD`, `sasl_password`, `sasl.pasword`), so a name librdkafka rejects is still
//! known as a secret, which matters because librdkafka echoes the value of a property it
//! rejects. A value that holds a `name=value` assignment with a secret-looking name (the
//! `password="..."` of a JAAS line) is a secret too, and so is the assigned value alone.
//!
//! Such values are held as [`Secret`], whose `Debug`, `Display` and `Serialize` print
//! [`REDACTED`], so no derived `Debug` or serialized configuration can show one. Texts that do
//! not come from the configuration (librdkafka's errors and logs) can still repeat a secret;
//! the [`Redactor`] built from the configuration replaces every secret value, wherever it
//! appears, and the binaries pass every text they print or write through it.
//!
//! The limit: a secret typed under a name that does not look secret (`sasl.username`, a
//! custom `foo`) is not known as one.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// What replaces a secret in output.
pub const REDACTED: &str = "***";

/// A secret value. Prints as [`REDACTED`] in `Debug`, `Display` and `Serialize`; the value
/// itself is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it: the Kafka client's configuration.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// The value of one librdkafka property: plain, or a [`Secret`] (see the module doc for
/// which).
#[derive(Clone, PartialEq, Eq)]
pub enum PropertyValue {
    /// Shown as it is.
    Plain(String),
    /// Shown as [`REDACTED`].
    Secret(Secret),
}

impl PropertyValue {
    /// The value of property `name`, a secret if the name or an assignment inside the value
    /// looks secret.
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        if is_secret_name(name) || !secret_assignments(&value).is_empty() {
            Self::Secret(Secret(value))
        } else {
            Self::Plain(value)
        }
    }

    /// The value itself, as librdkafka must receive it.
    pub fn expose(&self) -> &str {
        match self {
            Self::Plain(value) => value,
            Self::Secret(secret) => secret.expose(),
        }
    }

    /// Whether the value is a secret.
    pub fn is_secret(&self) -> bool {
        matches!(self, Self::Secret(_))
    }
}

impl fmt::Debug for PropertyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(value) => fmt::Debug::fmt(value, f),
            Self::Secret(secret) => fmt::Debug::fmt(secret, f),
        }
    }
}

impl Serialize for PropertyValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Plain(value) => serializer.serialize_str(value),
            Self::Secret(secret) => secret.serialize(serializer),
        }
    }
}

/// `kafka.properties`: librdkafka property names and their values, secrets held as
/// [`Secret`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Properties(BTreeMap<String, PropertyValue>);

impl Properties {
    /// Sets property `name`; the name (or an assignment inside the value) decides whether
    /// the value is a secret.
    pub fn insert(&mut self, name: String, value: String) {
        let value = PropertyValue::new(&name, value);
        self.0.insert(name, value);
    }

    /// The value of property `name` (names are case-sensitive, as in librdkafka).
    pub fn get(&self, name: &str) -> Option<&PropertyValue> {
        self.0.get(name)
    }

    /// Whether property `name` is set.
    pub fn contains_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Names and values, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PropertyValue)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// Names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A redactor for every secret held here: each secret value, and each value assigned to
    /// a secret-looking name inside any value (`password="..."` in a JAAS line).
    pub fn redactor(&self) -> Redactor {
        let mut secrets: Vec<&str> = Vec::new();
        for value in self.0.values() {
            if let PropertyValue::Secret(secret) = value {
                secrets.push(secret.expose());
                secrets.extend(secret_assignments(secret.expose()));
            }
        }
        Redactor::new(secrets)
    }
}

impl FromIterator<(String, String)> for Properties {
    /// Properties from names and values; each name decides whether its value is a secret.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(entries: I) -> Self {
        let mut properties = Self::default();
        for (name, value) in entries {
            properties.insert(name, value);
        }
        properties
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a String, &'a PropertyValue);
    type IntoIter = std::collections::btree_map::Iter<'a, String, PropertyValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Replaces every known secret value in a text with [`REDACTED`]. Cheap to clone; the
/// default knows no secret and returns texts unchanged.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// The secret values and the forms they take once escaped (by `{:?}`, JSON), longest
    /// first so that a secret containing another is replaced whole.
    needles: Arc<[String]>,
}

impl Redactor {
    /// A redactor for these secret values (empty ones are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles: Vec<String> = Vec::new();
        for secret in secrets.into_iter().filter(|secret| !secret.is_empty()) {
            needles.push(secret.to_owned());
            needles.push(secret.escape_debug().to_string());
            needles.push(secret.escape_default().to_string());
            if let Ok(json) = serde_json::to_string(secret) {
                needles.push(json[1..json.len() - 1].to_owned());
            }
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Self { needles: needles.into() }
    }

    /// Whether this redactor knows no secret.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every secret value replaced by [`REDACTED`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for needle in self.needles.iter() {
            if text.contains(needle.as_str()) {
                text = Cow::Owned(text.replace(needle.as_str(), REDACTED));
            }
        }
        text
    }

    /// `bytes` (a UTF-8 line, such as a JSON entry of a log file) with every secret value
    /// replaced; borrowed when there is nothing to replace.
    pub fn redact_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        if self.is_empty() {
            return Cow::Borrowed(bytes);
        }
        let text = String::from_utf8_lossy(bytes);
        match self.redact(&text) {
            Cow::Borrowed(_) => Cow::Borrowed(bytes),
            Cow::Owned(redacted) => Cow::Owned(redacted.into_bytes()),
        }
    }

    /// Redacts every string inside a JSON value (object keys included), in place.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(text) => {
                if let Cow::Owned(redacted) = self.redact(text) {
                    *text = redacted;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(item)),
            serde_json::Value::Object(object) => {
                let entries = std::mem::take(object);
                for (key, mut item) in entries {
                    self.redact_json(&mut item);
                    object.insert(self.redact(&key).into_owned(), item);
                }
            }
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
        }
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} forms of secrets)", self.needles.len())
    }
}

/// Words that make a property name secret when one of its words is close to them (a typo of
/// one letter, two for the long ones).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "credentials",
    "private",
    "apikey",
];

/// Pieces that make a name secret wherever they appear in it, for words run together
/// (`clientSecret`, `saslpassword`).
const SECRET_PIECES: &[&str] =
    &["passw", "pwd", "secret", "token", "credential", "jaas", "private", "apikey"];

/// Whether a property name looks like it holds a secret: see the module doc. Over-matching
/// is harmless (a value is hidden that need not be); under-matching leaks.
pub fn is_secret_name(name: &str) -> bool {
    let name: String =
        name.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '.' }).collect();
    if SECRET_PIECES.iter().any(|piece| name.contains(piece)) {
        return true;
    }
    let words: Vec<&str> = name.split('.').filter(|word| !word.is_empty()).collect();
    // `ssl.key.pem` and `ssl_key` hold a private key; `ssl.key.location` only its path.
    if name == "ssl.key" || (words.contains(&"key") && words.contains(&"pem")) {
        return true;
    }
    words.iter().any(|word| {
        matches!(*word, "pass" | "pw" | "pwd")
            || SECRET_WORDS.iter().any(|target| {
                let allowed = if target.len() >= 8 { 2 } else { 1 };
                word.len() >= 4 && edit_distance(word, target) <= allowed
            })
    }) || name.ends_with("oauthbearer.config")
}

/// The values assigned to secret-looking names inside a text: `password="X"`,
/// `password = 'X'`, `clientSecret=X;` (the quotes are not part of the value).
pub fn secret_assignments(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut search_from = 0;
    while let Some(position) = text[search_from..].find('=') {
        let equals = search_from + position;
        search_from = equals + 1;
        // The name: the identifier characters right before `=` (spaces allowed in between).
        let before = text[..equals].trim_end();
        let name_start = before
            .rfind(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .map_or(0, |index| index + 1);
        let name = &before[name_start..];
        if name.is_empty() || !is_secret_name(name) {
            continue;
        }
        let rest = text[equals + 1..].trim_start();
        let start = text.len() - rest.len();
        let value = match bytes.get(start) {
            Some(&quote @ (b'"' | b'\'')) => {
                let inner = &text[start + 1..];
                match inner.find(quote as char) {
                    Some(end) => &inner[..end],
                    None => inner,
                }
            }
            _ => {
                let end =
                    rest.find(|c: char| c.is_whitespace() || matches!(c, ';' | ',')).unwrap_or(rest.len());
                &rest[..end]
            }
        };
        if !value.is_empty() {
            found.push(value);
        }
    }
    found
}

/// A redactor for the secrets of a YAML text that could not be loaded, so the parser's error
/// cannot show one: values under a secret-looking key (at any depth, or on a line of their own
/// when the YAML is malformed) and values assigned inside any text.
pub(crate) fn secrets_in_yaml(text: &str) -> Redactor {
    fn walk(value: &serde_yaml_ng::Value, secret: bool, found: &mut Vec<String>) {
        match value {
            serde_yaml_ng::Value::String(text) => {
                found.extend(secret_assignments(text).into_iter().map(str::to_owned));
                if secret {
                    found.push(text.clone());
                }
            }
            serde_yaml_ng::Value::Number(number) if secret => found.push(number.to_string()),
            serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|item| walk(item, secret, found)),
            serde_yaml_ng::Value::Mapping(entries) => {
                for (key, item) in entries {
                    let secret_key = key.as_str().is_some_and(is_secret_name);
                    walk(item, secret || secret_key, found);
                }
            }
            serde_yaml_ng::Value::Tagged(tagged) => walk(&tagged.value, secret, found),
            _ => {}
        }
    }
    let mut found = Vec::new();
    if let Ok(value) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) {
        walk(&value, false, &mut found);
    }
    for line in text.lines() {
        found.extend(secret_assignments(line).into_iter().map(str::to_owned));
        let Some((name, value)) = line.split_once(':') else { continue };
        let name = name.trim().trim_matches(|c| c == '"' || c == '\'' || c == '{' || c == '-').trim();
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'' || c == '[' || c == ']');
        if is_secret_name(name) && !value.is_empty() {
            found.push(value.to_owned());
        }
    }
    Redactor::new(found.iter().map(String::as_str))
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours, one each.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_cannot_print_itself() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?} {secret:#?}"), "*** *** ***");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn secret_names_in_any_case_spelling_or_typo() {
        for name in [
            "sasl.password",
            "SASL.PASSWORD",
            "Sasl.Password",
            "sasl_password",
            "sasl-password",
            "sasl.pasword",
            "sasl.passwrod",
            "sasl.passwd",
            "sasl.pass",
            "saslpassword",
            "ssl.key.password",
            "ssl.keystore.password",
            "ssl.key.pem",
            "ssl_key",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.client.secert",
            "sasl.oauthbearer.config",
            "client.secret",
            "token",
            "TOKEN",
            "api.tokn",
            "sasl.jaas.config",
            "clientSecret",
            "credentials",
            "sasl.oauthbearer.assertion.private.key.passphrase",
        ] {
            assert!(is_secret_name(name), "{name} looks secret");
        }
    }

    #[test]
    fn ordinary_librdkafka_names_are_not_secret() {
        for name in [
            "sasl.username",
            "sasl.mechanism",
            "sasl.mechanisms",
            "security.protocol",
            "linger.ms",
            "acks",
            "bootstrap.servers",
            "client.id",
            "ssl.ca.location",
            "ssl.ca.pem",
            "ssl.certificate.location",
            "ssl.certificate.pem",
            "ssl.key.location",
            "ssl.endpoint.identification.algorithm",
            "enable.ssl.certificate.verification",
            "sasl.kerberos.principal",
            "sasl.kerberos.service.name",
            "message.max.bytes",
            "message.timeout.ms",
            "max.poll.interval.ms",
            "reconnect.backoff.max.ms",
            "topic.metadata.refresh.interval.ms",
            "statistics.interval.ms",
            "compression.type",
            "enable.idempotence",
            "partition.assignment.strategy",
            "fetch.wait.max.ms",
            "debug",
        ] {
            assert!(!is_secret_name(name), "{name} is not secret");
        }
    }

    #[test]
    fn passwords_inside_jaas_lines() {
        let double = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="p@ss w0rd";"#;
        assert_eq!(secret_assignments(double), ["p@ss w0rd"]);
        let single = "PlainLoginModule required username='alice' password='s3cr3t';";
        assert_eq!(secret_assignments(single), ["s3cr3t"]);
        let spaced = "ScramLoginModule required username = \"alice\"   password =  \"abc\" ;";
        assert_eq!(secret_assignments(spaced), ["abc"]);
        let unquoted = "principal=admin clientSecret=xyz;scope=all";
        assert_eq!(secret_assignments(unquoted), ["xyz"]);
        let unclosed = "password=\"never-closed";
        assert_eq!(secret_assignments(unclosed), ["never-closed"]);
        assert!(secret_assignments("username=\"alice\" a=b").is_empty());
        assert!(secret_assignments("password=").is_empty());
    }

    #[test]
    fn property_values_are_secret_by_name_or_by_content() {
        let mut properties = Properties::default();
        for (name, value) in [
            ("SASL.PASSWORD", "upper"),
            ("sasl.pasword", "typo"),
            ("sasl.username", "alice"),
            ("sasl.jaas.config", "x required username=\"alice\" password=\"jaas-pw\";"),
            ("custom", "a password='inline'"),
        ] {
            properties.insert(name.into(), value.into());
        }
        assert!(properties.get("SASL.PASSWORD").is_some_and(PropertyValue::is_secret));
        assert!(properties.get("sasl.pasword").is_some_and(PropertyValue::is_secret));
        assert!(properties.get("custom").is_some_and(PropertyValue::is_secret));
        assert!(!properties.get("sasl.username").is_some_and(PropertyValue::is_secret));
        let shown = format!("{properties:?} {}", serde_json::to_string(&properties).unwrap());
        for secret in ["upper", "typo", "jaas-pw", "inline"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("alice"), "{shown}");
        assert_eq!(properties.get("sasl.pasword").map(PropertyValue::expose), Some("typo"));

        let collected: Properties =
            properties.iter().map(|(name, value)| (name.to_owned(), value.expose().to_owned())).collect();
        assert_eq!(collected, properties, "collected the same way");
        assert_eq!((&properties).into_iter().filter(|(_, value)| value.is_secret()).count(), 4);

        let redactor = properties.redactor();
        let echoed =
            "Client config error: No such configuration property: \"SASL.PASSWORD\" SASL.PASSWORD upper";
        assert_eq!(
            redactor.redact(echoed),
            "Client config error: No such configuration property: \"SASL.PASSWORD\" SASL.PASSWORD ***"
        );
        assert_eq!(redactor.redact("sasl.jaas.config: password jaas-pw"), "sasl.jaas.config: password ***");
        assert_eq!(redactor.redact("inline"), "***");
    }

    #[test]
    fn the_redactor_finds_values_inside_other_text_and_escaped() {
        let redactor = Redactor::new(["hunter2", "quote\"back\\slash", "two\nlines", ""]);
        assert_eq!(redactor.redact("xhunter2y and hunter2"), "x***y and ***");
        assert_eq!(redactor.redact("no secret here"), "no secret here");
        assert!(matches!(redactor.redact("no secret here"), Cow::Borrowed(_)));
        let debug = format!("{:?}", "quote\"back\\slash");
        assert_eq!(redactor.redact(&debug), "\"***\"");
        let json = serde_json::to_string("two\nlines").unwrap();
        assert_eq!(redactor.redact(&json), "\"***\"");
        assert_eq!(redactor.redact("two\\nlines"), "***");
        let mut value = serde_json::json!({"error": "pw hunter2", "list": ["hunter2"], "hunter2": 1, "n": 5});
        redactor.redact_json(&mut value);
        assert_eq!(value, serde_json::json!({"error": "pw ***", "list": ["***"], "***": 1, "n": 5}));
        assert_eq!(Redactor::default().redact("hunter2"), "hunter2");
        assert_eq!(redactor.redact_bytes(b"{\"e\":\"two\\nlines\"}\n").as_ref(), b"{\"e\":\"***\"}\n");
        assert!(matches!(redactor.redact_bytes(b"clean\xff"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let redactor = Redactor::new(["abc", "xxabcxx"]);
        assert_eq!(redactor.redact("xxabcxx abc"), "*** ***");
    }

    #[test]
    fn secrets_of_a_yaml_text_that_does_not_load() {
        let broken = "kafka:\n  properties:\n    SASL.PASSWORD: \"unclosed-pw\n  brokr: [x\n";
        assert_eq!(secrets_in_yaml(broken).redact("at unclosed-pw"), "at ***");
        let wrong_type = "kafka:\n  properties: {sasl.pasword: [listed-pw]}\n";
        assert_eq!(secrets_in_yaml(wrong_type).redact("listed-pw"), "***");
        let jaas = "kafka:\n  properties:\n    custom: \"m required password='jaas-pw';\"\n";
        assert_eq!(secrets_in_yaml(jaas).redact("jaas-pw"), "***");
        assert!(secrets_in_yaml("kafka:\n  broker: x\n").is_empty());
    }

    #[test]
    fn edit_distance_counts_typos() {
        assert_eq!(edit_distance("password", "password"), 0);
        assert_eq!(edit_distance("pasword", "password"), 1);
        assert_eq!(edit_distance("passwrod", "password"), 1);
        assert_eq!(edit_distance("token", "topic"), 3);
    }
}
