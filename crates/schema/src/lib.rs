//! The published contract of the `orders` topic: the order event as a JSON Schema (draft
//! 2020-12), in `schemas/order-event.json` at the repository root, which is its source of truth
//! for consumers in any language.
//!
//! - [`ORDER_EVENT_SCHEMA`]: the schema's text, as the repository holds it.
//! - [`released`]: the versions already published (`schemas/released/`), which consumers may
//!   have generated code from and which stored records were written against.
//! - [`compat`]: whether a new version can read everything an old one accepted (a schema
//!   registry's BACKWARD mode), as a list of breaking changes.
//! - [`tansu_registry_file`]: the file Tansu's `--schema-registry file://DIR` reads
//!   (`DIR/<topic>.json`), so the broker refuses records that do not match.
//!
//! The schema is written by hand, not generated from the Rust types: the types deliberately
//! accept more than the contract (an unknown status parses, so that the tracker can name it in
//! a typed validation error), so a schema derived from them (e.g. with `schemars`) would say
//! `status: string` and lose the contract. The crate's tests hold the two together both ways:
//! every event the generator makes validates, the schema's fields are the fields the Rust types
//! write, and the schema and the tracker's validation agree on a corpus except where documented.
//!
//! Validation itself (the `jsonschema` crate) is a dev-dependency only: no binary validates
//! against the schema, the broker does (Tansu 0.6 uses `jsonschema` 0.41, the version the tests
//! use, so a record that passes the tests passes the broker). This crate needs `serde_json` only.

pub mod compat;

use std::path::PathBuf;

use serde_json::Value;
use thiserror::Error;

/// `schemas/order-event.json`: the order event, envelope and order.
pub const ORDER_EVENT_SCHEMA: &str = include_str!("../../../schemas/order-event.json");

/// Where the `$id` of every version of the order event schema starts; the version follows.
pub const ID_PREFIX: &str = "https://example.invalid/order-tracking/schemas/order-event/";

/// The topic name Tansu looks the schema up by in `schemas/registry/` (`<topic>.json`).
pub const REGISTRY_TOPIC: &str = "orders";

/// Why a schema file cannot be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The file is not JSON.
    #[error("{file} is not JSON: {source}")]
    NotJson {
        /// The file.
        file: String,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The reason.
        source: std::io::Error,
    },
    /// `$id` does not end with a `MAJOR.MINOR.PATCH` version.
    #[error("{file}: $id must be {ID_PREFIX}MAJOR.MINOR.PATCH, found {found}")]
    BadId {
        /// The file.
        file: String,
        /// The `$id` found (or `none`).
        found: String,
    },
}

/// A schema version, from the end of its `$id`: major = the envelope's `version`, minor = a
/// compatible change (an optional field added), patch = descriptions only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Changes only with a new envelope `version`; may break consumers.
    pub major: u64,
    /// Compatible additions.
    pub minor: u64,
    /// No change to what validates.
    pub patch: u64,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A parsed schema with its version.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Where it came from, for messages.
    pub file: String,
    /// From `$id`.
    pub version: Version,
    /// The schema document.
    pub document: Value,
}

impl Schema {
    /// Parses a schema's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Schema, SchemaError> {
        let document: Value = serde_json::from_str(text)
            .map_err(|source| SchemaError::NotJson { file: file.to_owned(), source })?;
        let id = document.get("$id").and_then(Value::as_str);
        let version =
            id.and_then(|id| id.strip_prefix(ID_PREFIX)).and_then(parse_version).ok_or_else(|| {
                SchemaError::BadId { file: file.to_owned(), found: id.unwrap_or("none").to_owned() }
            })?;
        Ok(Schema { file: file.to_owned(), version, document })
    }

    /// The current schema, `schemas/order-event.json`.
    pub fn current() -> Result<Schema, SchemaError> {
        Schema::parse("schemas/order-event.json", ORDER_EVENT_SCHEMA)
    }
}

fn parse_version(text: &str) -> Option<Version> {
    let mut parts = text.split('.').map(|part| part.parse::<u64>().ok());
    let version = Version { major: parts.next()??, minor: parts.next()??, patch: parts.next()?? };
    parts.next().is_none().then_some(version)
}

/// `schemas/` at the repository root.
pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// Every released version in `schemas/released/` (files `order-event-MAJOR.MINOR.PATCH.json`),
/// oldest first.
pub fn released() -> Result<Vec<Schema>, SchemaError> {
    let dir = schemas_dir().join("released");
    let read_error = |source| SchemaError::Read { file: dir.display().to_string(), source };
    let mut schemas = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.extension().is_some_and(|extension| extension == "json") {
            let file = format!("schemas/released/{}", path.file_name().unwrap_or_default().to_string_lossy());
            let text = std::fs::read_to_string(&path)
                .map_err(|source| SchemaError::Read { file: file.clone(), source })?;
            schemas.push(Schema::parse(&file, &text)?);
        }
    }
    schemas.sort_by_key(|schema| schema.version);
    Ok(schemas)
}

/// What Tansu reads as `<topic>.json` from its `--schema-registry file://DIR`: an object whose
/// `properties.value` is the schema of the record value (and `properties.key` that of the key;
/// none here, as the key is a bare UUID, not JSON, and Tansu would refuse every record if it
/// had to parse the key as JSON). Tansu compiles `properties.value` as a schema of its own, so
/// its `$ref`s (`#/$defs/...`) resolve inside it.
pub fn tansu_registry_file(value_schema: &Value) -> Value {
    serde_json::json!({
        "$comment": "Generated from schemas/order-event.json by `UPDATE_SCHEMAS=1 cargo test -p schema --test registry`: do not edit. Tansu's schema registry layout: properties.value is the schema of the record value.",
        "title": "orders topic",
        "type": "object",
        "properties": { "value": value_schema }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_id() {
        let schema = Schema::parse("x", &format!(r#"{{"$id": "{ID_PREFIX}1.2.3"}}"#)).unwrap();
        assert_eq!(schema.version, Version { major: 1, minor: 2, patch: 3 });
        for id in ["https://elsewhere/1.0.0", &format!("{ID_PREFIX}1.0"), &format!("{ID_PREFIX}1.0.0.0")] {
            let error = Schema::parse("x", &format!(r#"{{"$id": "{id}"}}"#)).unwrap_err().to_string();
            assert!(error.contains("MAJOR.MINOR.PATCH"), "{error}");
        }
        let error = Schema::parse("x", "{}").unwrap_err().to_string();
        assert!(error.ends_with("found none"), "{error}");
    }
}
