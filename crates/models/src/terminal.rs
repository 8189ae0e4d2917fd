//! Text for people: what came from a record (a name, a status, a header, an error text) and is
//! printed on a terminal goes through [`escape_controls`] first.
//!
//! A crafted order can carry `ESC ]0;...BEL` (sets the terminal's title), CSI sequences
//! (colours, cursor moves) or C1 controls such as U+009B inside a perfectly valid JSON string.
//! Printed raw, they drive the terminal of whoever reads the report. Escaped, they show as
//! `\u{1b}]0;...\u{7}`, the way `cat -v` and kcat users expect, and the text stays on one line
//! (`\n` shows as `\n`). Every human-readable output of the project (`monitor --once` and
//! `--report`, `analyze_logs.sh`, `dlq list/show/redrive`, client errors) uses this one function.
//! JSON meant to be read on screen as well (`monitor --json`, `dlq list --json`) stays JSON and
//! goes through [`escape_json_controls`]: serde_json escapes C0 controls only, as JSON requires,
//! and leaves DEL and C1 raw, which a terminal showing the output would obey. `dlq export` is
//! the exception: its payloads are the records' bytes, kept exact for `redrive`.

use std::borrow::Cow;

/// `text` with every control character escaped (C0, DEL and C1: Unicode category Cc), as
/// Rust's `char::escape_default` writes them (`\n`, `\t`, `\u{1b}`, `\u{9b}`), so that it stays
/// on one line and cannot drive a terminal. Borrowed when there is nothing to escape.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut line = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    Cow::Owned(line)
}

/// `json` (serialized JSON) with DEL and the C1 controls (U+007F to U+009F) written as `\u007f`
/// to `\u009f`: the same JSON value (a reader decodes them back to the same characters), but
/// no raw control character left for a terminal to obey. They can only occur inside strings
/// (JSON's structure is ASCII), where `\uXXXX` is valid.
pub fn escape_json_controls(json: String) -> String {
    if !json.chars().any(|c| ('\u{7f}'..='\u{9f}').contains(&c)) {
        return json;
    }
    let mut escaped = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) {
            escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_value_but_loses_its_raw_c1_and_del() {
        let value = serde_json::json!({"name": "a\u{9b}31m\u{7f}b\u{85}", "plain": "Lefèvre 🛒"});
        let json = escape_json_controls(serde_json::to_string(&value).unwrap());
        assert_eq!(json, r#"{"name":"a\u009b31m\u007fb\u0085","plain":"Lefèvre 🛒"}"#);
        assert!(!json.chars().any(char::is_control), "{json}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap(), value, "the same value");
    }

    #[test]
    fn c0_del_and_c1_controls_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_controls("\u{1b}]0;owned\u{7}"), "\\u{1b}]0;owned\\u{7}");
        assert_eq!(escape_controls("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(escape_controls("\u{9b}31m\u{7f}\u{85}"), "\\u{9b}31m\\u{7f}\\u{85}");
        assert_eq!(escape_controls("Lucas Lefèvre 🛒 \\ \""), "Lucas Lefèvre 🛒 \\ \"");
        assert!(matches!(escape_controls("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn nothing_escaped_is_a_control_character() {
        let every: String = (0u32..0x200).filter_map(char::from_u32).collect();
        assert!(!escape_controls(&every).chars().any(char::is_control));
    }
}
