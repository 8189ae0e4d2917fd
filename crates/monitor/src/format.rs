//! The small formatters every rendering shares (`--once`, `--report` and the dashboard): money,
//! partition lists, clock times, short ids, ages. One place, so the three say a figure the same
//! way.

/// `1234.56` from cents.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// `0,2` for partitions, `-` for none.
pub fn partitions(partitions: &[i32]) -> String {
    if partitions.is_empty() {
        return "-".to_owned();
    }
    partitions.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// The value or `-`.
pub fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

/// `HH:MM:SS` of an RFC 3339 time, or the text as it is.
pub fn clock_time(timestamp: &str) -> &str {
    timestamp.get(11..19).unwrap_or(timestamp)
}

/// The first 8 characters of an id.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// `42s`, `5m`, `3h`, `2d` for a number of seconds.
pub fn age(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as u64;
    match seconds {
        0..=99 => format!("{seconds}s"),
        100..=5999 => format!("{}m", seconds / 60),
        6000..=172_799 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatters() {
        assert_eq!(money(12345), "123.45");
        assert_eq!(money(-5), "-0.05");
        assert_eq!(partitions(&[0, 2]), "0,2");
        assert_eq!(partitions(&[]), "-");
        assert_eq!(clock_time("2026-03-01T10:00:05.123Z"), "10:00:05");
        assert_eq!(clock_time("junk"), "junk");
        assert_eq!(short_id("0123456789"), "01234567");
        assert_eq!(age(5.0), "5s");
        assert_eq!(age(600.0), "10m");
        assert_eq!(age(7200.0), "2h");
    }
}
