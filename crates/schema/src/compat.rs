//! BACKWARD compatibility between two versions of a JSON Schema, in the spirit of a schema
//! registry's BACKWARD mode: a consumer built on the new schema must read every record that
//! was valid under the old one (records already in the topic, producers not yet upgraded).
//! So the new schema may only accept more: an optional field added, a constraint relaxed, an
//! enum value added. It may not refuse anything the old one accepted: a field removed or
//! renamed (under `additionalProperties: false`, old records that carry it are refused), a new
//! required field, a narrowed type, a removed enum value, a tighter bound or pattern.
//!
//! The check is conservative: it walks both schemas side by side (following local `$ref`s to
//! `#/$defs/...`) and reports any change to a keyword it cannot prove looser, so a false alarm
//! is possible and a missed break is not, for the keywords this project's schema uses.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// One change that can make a record valid under the old schema invalid under the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// Where, as a path of property names from the event's root (`/order/customer/email`).
    pub at: String,
    /// What changed and why it breaks.
    pub change: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.at.is_empty() { "/" } else { &self.at };
        write!(f, "{at}: {}", self.change)
    }
}

/// The schema that accepts anything.
static ANY: Value = Value::Bool(true);

/// Keywords that say nothing about what validates.
const ANNOTATIONS: &[&str] =
    &["$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples", "deprecated"];

/// Keywords compared one by one below; any other keyword that changes is reported as unchecked.
const CHECKED: &[&str] = &[
    "type",
    "enum",
    "const",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
];

/// Every change from `old` to `new` that breaks BACKWARD compatibility; empty when `new` can
/// read everything `old` accepted.
pub fn backward_breaks(old: &Value, new: &Value) -> Vec<Break> {
    let mut walk = Walk { old_root: old, new_root: new, breaks: Vec::new(), seen: BTreeSet::new() };
    walk.compare(old, new, "");
    walk.breaks
}

struct Walk<'a> {
    old_root: &'a Value,
    new_root: &'a Value,
    breaks: Vec<Break>,
    /// Pairs of `$ref`s already compared, so recursive schemas end.
    seen: BTreeSet<(String, String)>,
}

impl<'a> Walk<'a> {
    fn broken(&mut self, at: &str, change: String) {
        self.breaks.push(Break { at: at.to_owned(), change });
    }

    /// Follows a local `$ref` (`#/$defs/NAME`); `None` for one this check cannot follow.
    fn resolve<'b>(root: &'b Value, schema: &'b Value) -> Option<&'b Value> {
        match schema.get("$ref").and_then(Value::as_str) {
            None => Some(schema),
            Some(reference) => {
                let name = reference.strip_prefix("#/$defs/")?;
                root.get("$defs")?.get(name)
            }
        }
    }

    fn compare(&mut self, old: &Value, new: &Value, at: &str) {
        let refs = (old.get("$ref").and_then(Value::as_str), new.get("$ref").and_then(Value::as_str));
        if let (Some(old_ref), Some(new_ref)) = refs {
            if !self.seen.insert((old_ref.to_owned(), new_ref.to_owned())) {
                return;
            }
        }
        let (old_root, new_root) = (self.old_root, self.new_root);
        let (Some(old), Some(new)) = (Self::resolve(old_root, old), Self::resolve(new_root, new)) else {
            self.broken(at, "a $ref this check cannot follow (only #/$defs/NAME)".to_owned());
            return;
        };
        match (old, new) {
            (_, Value::Bool(true)) | (Value::Bool(false), _) => return,
            (_, Value::Bool(false)) => {
                return self.broken(at, "the new schema accepts nothing here".to_owned())
            }
            (Value::Bool(true), Value::Object(new))
                if new.keys().all(|key| ANNOTATIONS.contains(&key.as_str())) =>
            {
                return
            }
            _ => {}
        }
        let empty = Map::new();
        let old = old.as_object().unwrap_or(&empty);
        let Some(new) = new.as_object() else {
            return self.broken(at, format!("the new schema is not an object: {new}"));
        };
        self.types(old, new, at);
        self.values(old, new, at);
        self.required(old, new, at);
        self.properties(old, new, at);
        if let Some(new_items) = new.get("items") {
            let old_items = old.get("items").unwrap_or(&ANY);
            self.compare(old_items, new_items, &format!("{at}/[]"));
        }
        for keyword in ["minimum", "minLength", "minItems"] {
            self.bound(old, new, at, keyword, |old, new| new > old);
        }
        for keyword in ["maximum", "maxLength", "maxItems"] {
            self.bound(old, new, at, keyword, |old, new| new < old);
        }
        for (keyword, new_value) in new {
            let known = ANNOTATIONS.contains(&keyword.as_str()) || CHECKED.contains(&keyword.as_str());
            if !known && keyword != "$ref" && old.get(keyword) != Some(new_value) {
                let change = if old.contains_key(keyword) { "changed" } else { "added" };
                self.broken(
                    at,
                    format!("{keyword} {change}: this check cannot prove that it accepts every record the old schema accepted"),
                );
            }
        }
    }

    fn types(&mut self, old: &Map<String, Value>, new: &Map<String, Value>, at: &str) {
        let Some(new_types) = new.get("type").map(type_set) else { return };
        let old_types = old.get("type").map(type_set).unwrap_or_else(|| {
            ["null", "boolean", "object", "array", "number", "string"].iter().map(|t| t.to_string()).collect()
        });
        let lost: Vec<&String> = old_types
            .iter()
            .filter(|t| {
                !(new_types.contains(*t) || (t.as_str() == "integer" && new_types.contains("number")))
            })
            .collect();
        if !lost.is_empty() {
            self.broken(at, format!("type narrowed: {lost:?} no longer accepted"));
        }
    }

    /// `enum` and `const`: the new set of allowed values must contain the old one.
    fn values(&mut self, old: &Map<String, Value>, new: &Map<String, Value>, at: &str) {
        let allowed = |schema: &Map<String, Value>| -> Option<Vec<Value>> {
            match (schema.get("const"), schema.get("enum")) {
                (Some(value), _) => Some(vec![value.clone()]),
                (None, Some(Value::Array(values))) => Some(values.clone()),
                _ => None,
            }
        };
        let Some(new_values) = allowed(new) else { return };
        match allowed(old) {
            None => self.broken(at, format!("values restricted to {}", Value::Array(new_values))),
            Some(old_values) => {
                let removed: Vec<Value> =
                    old_values.into_iter().filter(|v| !new_values.contains(v)).collect();
                if !removed.is_empty() {
                    self.broken(at, format!("value(s) no longer allowed: {}", Value::Array(removed)));
                }
            }
        }
    }

    fn required(&mut self, old: &Map<String, Value>, new: &Map<String, Value>, at: &str) {
        let names = |schema: &Map<String, Value>| -> BTreeSet<String> {
            schema
                .get("required")
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let old_required = names(old);
        for name in names(new).difference(&old_required) {
            self.broken(
                &format!("{at}/{name}"),
                "new required field: records written before it lack it (add it as optional, and let consumers default it)".to_owned(),
            );
        }
    }

    fn properties(&mut self, old: &Map<String, Value>, new: &Map<String, Value>, at: &str) {
        let empty = Map::new();
        let old_properties = old.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let new_properties = new.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let any = &ANY;
        let old_additional = old.get("additionalProperties").unwrap_or(any);
        let new_additional = new.get("additionalProperties").unwrap_or(any);
        for (name, old_property) in old_properties {
            let path = format!("{at}/{name}");
            match new_properties.get(name) {
                Some(new_property) => self.compare(old_property, new_property, &path),
                None if new_additional == &Value::Bool(false) => self.broken(
                    &path,
                    "field removed (or renamed): records that carry it are refused by additionalProperties: false".to_owned(),
                ),
                None => self.compare(old_property, new_additional, &path),
            }
        }
        // A field the old schema did not name was allowed as any additional property.
        for (name, new_property) in new_properties {
            if !old_properties.contains_key(name) {
                self.compare(old_additional, new_property, &format!("{at}/{name}"));
            }
        }
        self.compare(old_additional, new_additional, &format!("{at}/(additional properties)"));
    }

    fn bound(
        &mut self,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        at: &str,
        keyword: &str,
        tighter: impl Fn(f64, f64) -> bool,
    ) {
        let Some(new_bound) = new.get(keyword).and_then(Value::as_f64) else { return };
        match old.get(keyword).and_then(Value::as_f64) {
            Some(old_bound) if !tighter(old_bound, new_bound) => {}
            Some(old_bound) => {
                self.broken(at, format!("{keyword} tightened from {old_bound} to {new_bound}"))
            }
            None => self.broken(at, format!("{keyword} {new_bound} added")),
        }
    }
}

fn type_set(types: &Value) -> BTreeSet<String> {
    match types {
        Value::String(name) => [name.clone()].into(),
        Value::Array(names) => names.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn breaks(old: Value, new: Value) -> Vec<String> {
        backward_breaks(&old, &new).iter().map(ToString::to_string).collect()
    }

    fn person() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["name", "kind"],
            "properties": {
                "name": { "$ref": "#/$defs/text" },
                "kind": { "enum": ["a", "b"] },
                "age": { "type": "integer", "minimum": 0 }
            },
            "$defs": { "text": { "type": "string", "minLength": 1 } }
        })
    }

    fn changed(change: impl FnOnce(&mut Value)) -> Value {
        let mut schema = person();
        change(&mut schema);
        schema
    }

    #[test]
    fn looser_or_equal_schemas_are_compatible() {
        assert_eq!(breaks(person(), person()), Vec::<String>::new());
        for looser in [
            changed(|s| s["properties"]["nickname"] = json!({ "type": "string" })),
            changed(|s| s["properties"]["kind"]["enum"] = json!(["a", "b", "c"])),
            changed(|s| s["properties"]["age"]["type"] = json!(["integer", "null"])),
            changed(|s| s["properties"]["age"]["type"] = json!("number")),
            changed(|s| s["required"] = json!(["name"])),
            changed(|s| s["$defs"]["text"] = json!({ "type": "string" })),
            changed(|s| s["additionalProperties"] = json!(true)),
            changed(|s| s["properties"]["age"]["description"] = json!("in years")),
        ] {
            assert_eq!(breaks(person(), looser.clone()), Vec::<String>::new(), "{looser}");
        }
    }

    #[test]
    fn each_kind_of_break_is_named_where_it_is() {
        let cases = [
            (changed(|s| s["required"] = json!(["name", "kind", "age"])), "/age: new required field"),
            (
                changed(|s| {
                    s["properties"].as_object_mut().unwrap().remove("age");
                }),
                "/age: field removed",
            ),
            (
                changed(|s| s["properties"]["kind"]["enum"] = json!(["a"])),
                r#"/kind: value(s) no longer allowed: ["b"]"#,
            ),
            (
                changed(|s| s["properties"]["age"]["type"] = json!("string")),
                r#"/age: type narrowed: ["integer"]"#,
            ),
            (
                changed(|s| s["$defs"]["text"]["minLength"] = json!(2)),
                "/name: minLength tightened from 1 to 2",
            ),
            (changed(|s| s["properties"]["age"]["maximum"] = json!(150)), "/age: maximum 150 added"),
            (changed(|s| s["$defs"]["text"]["pattern"] = json!("^[A-Z]")), "/name: pattern added"),
            (changed(|s| s["properties"]["age"]["const"] = json!(3)), "/age: values restricted to [3]"),
        ];
        for (new, expected) in cases {
            let found = breaks(person(), new.clone());
            assert!(
                found.iter().any(|b| b.starts_with(expected)),
                "expected {expected:?} in {found:?} for {new}"
            );
        }
    }

    #[test]
    fn a_renamed_field_is_a_removal_and_a_new_required_field() {
        let renamed = changed(|s| {
            let name = s["properties"].as_object_mut().unwrap().remove("name").unwrap();
            s["properties"]["full_name"] = name;
            s["required"] = json!(["full_name", "kind"]);
        });
        let found = breaks(person(), renamed);
        assert!(found.iter().any(|b| b.starts_with("/name: field removed")), "{found:?}");
        assert!(found.iter().any(|b| b.starts_with("/full_name: new required field")), "{found:?}");
    }

    #[test]
    fn closing_an_open_object_breaks() {
        let open = changed(|s| {
            s.as_object_mut().unwrap().remove("additionalProperties");
        });
        let found = breaks(open, person());
        assert!(found.iter().any(|b| b.contains("the new schema accepts nothing here")), "{found:?}");
    }

    #[test]
    fn recursive_schemas_end() {
        let tree = json!({
            "$ref": "#/$defs/node",
            "$defs": { "node": { "type": "object", "properties": { "children": { "type": "array", "items": { "$ref": "#/$defs/node" } } } } }
        });
        assert_eq!(breaks(tree.clone(), tree), Vec::<String>::new());
    }
}
