//! The one timestamp format of every file and payload: RFC 3339 in UTC with milliseconds,
//! `2026-11-23T09:15:02.125Z`.
//!
//! Every message carries three of them and every audit line two more, so they are written
//! into a buffer on the stack, digit by digit, rather than through chrono's general
//! formatter (about ten times slower). The text is chrono's
//! `to_rfc3339_opts(SecondsFormat::Millis, true)`, which the tests hold it to; times that
//! need more than four year digits, and leap seconds, are left to chrono.

use std::fmt;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// Longest text: chrono's widest year (`+262142`) and the rest.
const CAPACITY: usize = 32;

/// A time formatted as RFC 3339 UTC with milliseconds, without allocating.
#[derive(Clone, Copy)]
pub struct Timestamp {
    text: [u8; CAPACITY],
    len: usize,
}

impl Timestamp {
    /// Formats `time`.
    pub fn new(time: DateTime<Utc>) -> Self {
        let mut text = [0u8; CAPACITY];
        let (year, nanos) = (time.year(), time.nanosecond());
        if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
            let slow = time.to_rfc3339_opts(SecondsFormat::Millis, true);
            let len = slow.len().min(CAPACITY);
            text[..len].copy_from_slice(&slow.as_bytes()[..len]);
            return Timestamp { text, len };
        }
        let digits = |out: &mut [u8], mut value: u32| {
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        // The casts are exact: every value was range-checked above or is bounded by chrono.
        digits(&mut text[0..4], year as u32);
        text[4] = b'-';
        digits(&mut text[5..7], time.month());
        text[7] = b'-';
        digits(&mut text[8..10], time.day());
        text[10] = b'T';
        digits(&mut text[11..13], time.hour());
        text[13] = b':';
        digits(&mut text[14..16], time.minute());
        text[16] = b':';
        digits(&mut text[17..19], time.second());
        text[19] = b'.';
        digits(&mut text[20..23], nanos / 1_000_000);
        text[23] = b'Z';
        Timestamp { text, len: 24 }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators, or a prefix of chrono's ASCII output, are written.
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// RFC 3339 in UTC with millisecond precision, the one timestamp format of every file.
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    Timestamp::new(time).as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn chrono_text(time: DateTime<Utc>) -> String {
        time.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    #[test]
    fn edges_are_written_as_chrono_writes_them() {
        let times = [
            Utc.with_ymd_and_hms(2026, 11, 23, 9, 15, 2).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + chrono::Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC,
        ];
        for time in times {
            assert_eq!(Timestamp::new(time).as_str(), chrono_text(time));
        }
        assert_eq!(format_timestamp(times[0]), "2026-11-23T09:15:02.000Z");
    }

    #[test]
    fn a_leap_second_is_written_as_chrono_writes_it() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|day| day.and_hms_milli_opt(23, 59, 59, 1_500))
            .unwrap()
            .and_utc();
        assert_eq!(Timestamp::new(leap).as_str(), chrono_text(leap));
    }

    proptest! {
        #[test]
        fn any_time_is_written_as_chrono_writes_it(
            seconds in -100_000_000_000i64..300_000_000_000,
            nanos in 0u32..1_000_000_000,
        ) {
            let time = DateTime::from_timestamp(seconds, nanos).unwrap();
            prop_assert_eq!(Timestamp::new(time).to_string(), chrono_text(time));
        }
    }
}
