//! Times of the lines: RFC 3339 text to epoch milliseconds (fast path for the trackers' own
//! format) and back.

use chrono::{DateTime, Utc};

/// Milliseconds since the epoch of an RFC 3339 time; a fast path for the trackers'
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, chrono for anything else.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 24
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && bytes[19] == b'.'
        && bytes[23] == b'Z';
    if shape_ok {
        let number = |from: usize, to: usize| -> Option<i64> {
            bytes[from..to].iter().try_fold(0i64, |value, &byte| {
                byte.is_ascii_digit().then(|| value * 10 + i64::from(byte - b'0'))
            })
        };
        if let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second), Some(millis)) = (
            number(0, 4),
            number(5, 7),
            number(8, 10),
            number(11, 13),
            number(14, 16),
            number(17, 19),
            number(20, 23),
        ) {
            if (1..=12).contains(&month) && (1..=31).contains(&day) && hour < 24 && minute < 60 && second < 60
            {
                let days = days_from_civil(year, month, day);
                return Some((((days * 24 + hour) * 60 + minute) * 60 + second) * 1000 + millis);
            }
        }
    }
    DateTime::parse_from_rfc3339(text).ok().map(|time| time.timestamp_millis())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// RFC 3339 text of a time in milliseconds.
pub fn format_ms(time_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(time_ms).map(models::format_timestamp).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn timestamps_parse_fast_and_slow() {
        for text in ["2026-03-01T10:00:02.123Z", "1970-01-01T00:00:00.000Z", "2024-02-29T23:59:59.999Z"] {
            assert_eq!(parse_timestamp_ms(text), Some(time(text).timestamp_millis()), "{text}");
        }
        assert_eq!(
            parse_timestamp_ms("2026-03-01T11:00:02+01:00"),
            Some(time("2026-03-01T10:00:02Z").timestamp_millis())
        );
        assert_eq!(parse_timestamp_ms("yesterday"), None);
        assert_eq!(parse_timestamp_ms("2026-13-01T10:00:02.123Z"), None);
    }
}
