//! What `list` and `show` print: a table, JSON lines, a detailed view with a pretty JSON or
//! hex-dump payload. Pure functions over dead letters, so they are tested without Kafka.

use chrono::{DateTime, Utc};
use serde::Serialize;

use models::escape_controls;

use crate::letter::{display_bytes, DeadLetter};

/// Characters of payload shown by `list`.
const PREVIEW_CHARS: usize = 40;
/// Characters of key shown by `list`.
const KEY_CHARS: usize = 36;

/// One `list --json` line.
#[derive(Debug, Serialize)]
pub struct ListEntry<'a> {
    /// Partition of the dead-letter topic.
    pub partition: i32,
    /// Offset in that partition.
    pub offset: i64,
    /// When the tracker gave up (`dlq.failed.at`, else the record's timestamp).
    pub failed_at: Option<String>,
    /// Seconds since then.
    pub age_seconds: Option<i64>,
    /// `dlq.original.topic`.
    pub original_topic: Option<&'a str>,
    /// `dlq.original.partition`.
    pub original_partition: Option<i32>,
    /// `dlq.original.offset`.
    pub original_offset: Option<i64>,
    /// `dlq.error.kind`.
    pub error_kind: Option<&'a str>,
    /// `dlq.error.message`.
    pub error_message: Option<&'a str>,
    /// `dlq.attempts`.
    pub attempts: Option<u32>,
    /// `dlq.instance.id`.
    pub instance_id: Option<&'a str>,
    /// The key, safe for a terminal (see [`display_bytes`]).
    pub key: Option<String>,
    /// Payload size in bytes.
    pub payload_bytes: usize,
    /// The start of the payload, safe for a terminal.
    pub payload_preview: String,
    /// Times it was sent back before it failed again.
    pub redrives: u32,
    /// Where `dlq redrive` sent this dead letter, when it did.
    pub redriven_to: Option<String>,
}

impl<'a> ListEntry<'a> {
    /// The entry of `letter`; `redriven_to` and `redrives` from the redrive log.
    pub fn of(
        letter: &'a DeadLetter,
        now: DateTime<Utc>,
        redriven_to: Option<String>,
        redrives: u32,
    ) -> Self {
        let failed_at = letter.failed_at();
        ListEntry {
            partition: letter.position.partition,
            offset: letter.position.offset,
            failed_at: failed_at.map(models::format_timestamp),
            age_seconds: failed_at.map(|at| (now - at).num_seconds().max(0)),
            original_topic: letter.original_topic(),
            original_partition: letter.original_partition(),
            original_offset: letter.original_offset(),
            error_kind: letter.error_kind(),
            error_message: letter.error_message(),
            attempts: letter.attempts(),
            instance_id: letter.instance(),
            key: letter.key.as_deref().map(|key| truncate(&display_bytes(key), KEY_CHARS)),
            payload_bytes: letter.payload.as_ref().map_or(0, Vec::len),
            payload_preview: preview(letter.payload.as_deref()),
            redrives,
            redriven_to,
        }
    }
}

/// The `list` table: a header row and one aligned row per entry.
pub fn table(entries: &[ListEntry<'_>]) -> String {
    let header = ["DLQ", "AGE", "ORIGIN", "ERROR", "ATTEMPTS", "INSTANCE", "REDRIVEN", "KEY", "PAYLOAD"];
    let dash = || "-".to_owned();
    let rows: Vec<[String; 9]> = entries
        .iter()
        .map(|entry| {
            let origin = match (entry.original_topic, entry.original_partition, entry.original_offset) {
                (Some(topic), Some(partition), Some(offset)) => {
                    format!("{}/{partition}:{offset}", escape_controls(topic))
                }
                _ => dash(),
            };
            let redriven = match (&entry.redriven_to, entry.redrives) {
                (Some(to), _) => format!("to {}", escape_controls(to)),
                (None, 0) => dash(),
                (None, n) => format!("{n}x before"),
            };
            [
                format!("{}:{}", entry.partition, entry.offset),
                entry.age_seconds.map_or_else(dash, age),
                origin,
                entry.error_kind.map_or_else(dash, |kind| escape_controls(kind).into_owned()),
                entry.attempts.map_or_else(dash, |n| n.to_string()),
                entry.instance_id.map_or_else(dash, |id| escape_controls(id).into_owned()),
                redriven,
                entry.key.clone().unwrap_or_else(dash),
                entry.payload_preview.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|title| title.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let last = cells.len() - 1;
        for (index, cell) in cells.iter().enumerate() {
            if index == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[index]));
            }
        }
        out.push('\n');
    };
    line(&header.map(str::to_owned));
    for row in &rows {
        line(row);
    }
    out
}

/// `12s`, `5m`, `3h`, `2d`: the largest whole unit.
pub fn age(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}

/// The start of a payload on one safe line.
pub fn preview(payload: Option<&[u8]>) -> String {
    match payload {
        None => "(tombstone)".to_owned(),
        Some([]) => "(empty)".to_owned(),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => truncate(&escape_controls(text), PREVIEW_CHARS),
            Err(_) => {
                let shown = &bytes[..bytes.len().min(12)];
                let more = if bytes.len() > shown.len() { "…" } else { "" };
                format!("(not UTF-8) {}{more}", crate::letter::hex(shown))
            }
        },
    }
}

fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(chars - 1).collect();
    short.push('…');
    short
}

/// `dlq show`: where it is, its key, every header, the whole payload.
pub fn detail(letter: &DeadLetter, topic: &str, redriven_to: Option<&str>) -> String {
    let mut out = format!("dead letter {}/{}\n", escape_controls(topic), letter.position);
    let field = |out: &mut String, name: &str, value: String| out.push_str(&format!("  {name:<12}{value}\n"));
    if let Some(timestamp) = letter.timestamp {
        field(&mut out, "timestamp", models::format_timestamp(timestamp));
    }
    field(&mut out, "key", letter.key.as_deref().map_or_else(|| "(none)".to_owned(), display_bytes));
    if let Some(to) = redriven_to {
        field(&mut out, "redriven to", escape_controls(to).into_owned());
    }
    if let Some(cut) = letter.cut() {
        field(&mut out, "cut", cut.summary());
    }
    out.push_str(&format!("headers ({})\n", letter.headers.len()));
    let names: Vec<String> = letter.headers.iter().map(|(name, _)| display_bytes(name)).collect();
    let width = names.iter().map(|name| name.chars().count()).max().unwrap_or(0);
    for (name, (_, value)) in names.iter().zip(&letter.headers) {
        let value = value.as_deref().map_or_else(|| "(null)".to_owned(), display_bytes);
        out.push_str(&format!("  {name:<width$}  {value}\n"));
    }
    match letter.payload.as_deref() {
        None => out.push_str("payload: none (tombstone)\n"),
        Some([]) => out.push_str("payload: empty (0 bytes)\n"),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => {
                out.push_str(&format!("payload ({} bytes, JSON)\n", bytes.len()));
                // JSON strings may hold C1 controls and DEL as they are (U+009B is valid JSON).
                for line in pretty_json(text).lines() {
                    out.push_str(&escape_controls(line));
                    out.push('\n');
                }
            }
            Ok(text) => {
                out.push_str(&format!("payload ({} bytes, text, not JSON)\n", bytes.len()));
                for line in text.lines() {
                    out.push_str(&escape_controls(line));
                    out.push('\n');
                }
            }
            Err(_) => {
                out.push_str(&format!("payload ({} bytes, not UTF-8, hex dump)\n", bytes.len()));
                out.push_str(&hex_dump(bytes));
            }
        },
    }
    out
}

/// Re-indents valid JSON text, two spaces per level, keeping every key in its order and every
/// value as written (serde_json's own pretty printer would sort object keys).
pub fn pretty_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|next| next.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// 16 bytes per line: offset, hex, and the printable ASCII (`.` for the rest).
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (index, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|byte| format!("{byte:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&byte| if byte.is_ascii_graphic() || byte == b' ' { byte as char } else { '.' })
            .collect();
        out.push_str(&format!("{:08x}  {:<47}  |{ascii}|\n", index * 16, hex.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_keeps_order_and_strings() {
        let text = r#"{"b":1,"a":[1, 2],"s":"x,{\"y\": 1}","e":{},"f":[ ]}"#;
        assert_eq!(
            pretty_json(text),
            "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2\n  ],\n  \"s\": \"x,{\\\"y\\\": 1}\",\n  \"e\": {},\n  \"f\": []\n}"
        );
        let back: serde_json::Value = serde_json::from_str(&pretty_json(text)).unwrap();
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(text).unwrap());
    }

    #[test]
    fn hex_dump_lines() {
        let dump = hex_dump(b"{\"order\": \"\xc3\x28\xff\xfe\"}");
        assert_eq!(
            dump,
            "00000000  7b 22 6f 72 64 65 72 22 3a 20 22 c3 28 ff fe 22  |{\"order\": \".(..\"|\n00000010  7d                                               |}|\n"
        );
    }

    #[test]
    fn previews_are_short_and_safe() {
        assert_eq!(preview(None), "(tombstone)");
        assert_eq!(preview(Some(b"")), "(empty)");
        assert_eq!(preview(Some(b"a\nb")), "a\\nb");
        assert_eq!(preview(Some(&[0xc3, 0x28])), "(not UTF-8) c328");
        assert_eq!(preview(Some("x".repeat(100).as_bytes())).chars().count(), PREVIEW_CHARS);
        assert_eq!(
            (age(59), age(60), age(7_200), age(172_800)),
            ("59s".into(), "1m".into(), "2h".into(), "2d".into())
        );
    }
}
