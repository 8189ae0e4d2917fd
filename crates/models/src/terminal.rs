//! Text for people: what came from a record (a name, a status, a header, an error text) and is
//! printed on a terminal goes through [`escape_controls`] first.
//!
//! A crafted order can carry `ESC ]0;...BEL` (sets the terminal's title), CSI sequences
//! (colours, cursor moves) or C1 controls such as U+009B inside a perfectly valid JSON string.
//! Printed raw, they drive the terminal of whoever reads the report. Escaped, they show as
//! `\u{1b}]0;...\u{7}`, the way `cat -v` and kcat users expect, and the text stays on one line
//! (`\n` shows as `\n`). Every human-readable output of the project (`monitor --once` and
//! `--report`, `analyze_logs.sh`, `dlq list/show/redrive`, client errors) uses this one function;
//! JSON outputs stay JSON (their serializer escapes what JSON requires).

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

#[cfg(test)]
mod tests {
    use super::*;

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
