//! Parsing and writing the `expires_at` timestamps found in Tapis answers and token files.
//!
//! Tapis writes Python's `isoformat()` (`2025-03-04T20:15:31.123456+00:00`, the fraction absent
//! when it is zero) and the notebooks' `connect_tapis()` writes whole seconds with `+00:00`.
//! The notebook reads with `datetime.fromisoformat` after turning a trailing `Z` into
//! `+00:00`, and treats a timestamp without offset as UTC. [`parse_expires_at`] accepts all of
//! that: `T` or a space between date and time, `HH:MM` or `HH:MM:SS`, 0–9 fractional digits,
//! and `Z`, `±HH:MM`, `±HHMM`, `±HH` or no offset at all (UTC).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Longest input [`parse_expires_at`] looks at; anything longer is not a timestamp.
pub const MAX_EXPIRES_AT_LEN: usize = 64;

/// Why an `expires_at` string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpiryError {
    /// The string was empty (or only white space).
    #[error("the timestamp is empty")]
    Empty,
    /// The string is longer than any timestamp can be.
    #[error("the timestamp is {len} bytes long; at most {MAX_EXPIRES_AT_LEN} are accepted")]
    TooLong {
        /// The length that was given.
        len: usize,
    },
    /// The string is not an ISO 8601 / RFC 3339 date and time.
    #[error("`{0}` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00")]
    Malformed(String),
    /// The fields are well formed but name no real instant (month 13, 25 o'clock, ...).
    #[error("`{0}` is not a real date and time")]
    OutOfRange(String),
}

/// Parses an `expires_at` timestamp into UTC.
///
/// ```
/// use tapis_auth_core::expiry::parse_expires_at;
/// let a = parse_expires_at("2025-09-05T02:30:48+00:00").unwrap();
/// let b = parse_expires_at("2025-09-05T04:30:48.000+02:00").unwrap();
/// let c = parse_expires_at("2025-09-05 02:30:48").unwrap(); // no offset: UTC
/// assert_eq!(a, b);
/// assert_eq!(a, c);
/// ```
pub fn parse_expires_at(input: &str) -> Result<DateTime<Utc>, ExpiryError> {
    if input.len() > MAX_EXPIRES_AT_LEN {
        return Err(ExpiryError::TooLong { len: input.len() });
    }
    let text = input.trim();
    if text.is_empty() {
        return Err(ExpiryError::Empty);
    }
    let malformed = || ExpiryError::Malformed(text.to_owned());
    let out_of_range = || ExpiryError::OutOfRange(text.to_owned());

    let mut cursor = Cursor::new(text);
    let year = cursor.digits(4).ok_or_else(malformed)?;
    cursor.expect(b'-').ok_or_else(malformed)?;
    let month = cursor.digits(2).ok_or_else(malformed)?;
    cursor.expect(b'-').ok_or_else(malformed)?;
    let day = cursor.digits(2).ok_or_else(malformed)?;
    match cursor.next() {
        Some(b'T' | b't' | b' ') => {}
        _ => return Err(malformed()),
    }
    let hour = cursor.digits(2).ok_or_else(malformed)?;
    cursor.expect(b':').ok_or_else(malformed)?;
    let minute = cursor.digits(2).ok_or_else(malformed)?;
    let mut second = 0;
    let mut nanos = 0;
    if cursor.peek() == Some(b':') {
        cursor.next();
        second = cursor.digits(2).ok_or_else(malformed)?;
        if matches!(cursor.peek(), Some(b'.' | b',')) {
            cursor.next();
            nanos = cursor.fraction_as_nanos().ok_or_else(malformed)?;
        }
    }
    let offset_seconds = match cursor.next() {
        None => 0,
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = cursor.digits(2).ok_or_else(malformed)?;
            let minutes = match cursor.peek() {
                None => 0,
                Some(b':') => {
                    cursor.next();
                    cursor.digits(2).ok_or_else(malformed)?
                }
                Some(_) => cursor.digits(2).ok_or_else(malformed)?,
            };
            if hours > 23 || minutes > 59 {
                return Err(out_of_range());
            }
            let magnitude = i32::try_from(hours * 3600 + minutes * 60).map_err(|_| out_of_range())?;
            if sign == b'-' { -magnitude } else { magnitude }
        }
        Some(_) => return Err(malformed()),
    };
    if !cursor.is_at_end() {
        return Err(malformed());
    }

    let year = i32::try_from(year).map_err(|_| out_of_range())?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(out_of_range)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos).ok_or_else(out_of_range)?;
    let offset = FixedOffset::east_opt(offset_seconds).ok_or_else(out_of_range)?;
    let local = NaiveDateTime::new(date, time);
    let instant = offset.from_local_datetime(&local).single().ok_or_else(out_of_range)?;
    Ok(instant.with_timezone(&Utc))
}

/// Writes an expiry the way the notebooks' `connect_tapis()` does: whole seconds and `+00:00`
/// (`2025-09-05T02:30:48+00:00`). A fraction is cut off, which only ever makes the recorded
/// expiry earlier, never later.
///
/// ```
/// use tapis_auth_core::expiry::{format_expires_at, parse_expires_at};
/// let t = parse_expires_at("2025-03-04T20:15:31.999999+00:00").unwrap();
/// assert_eq!(format_expires_at(t), "2025-03-04T20:15:31+00:00");
/// ```
pub fn format_expires_at(expires_at: DateTime<Utc>) -> String {
    expires_at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// Parses an HTTP date (`Tue, 04 Mar 2025 16:25:31 GMT`), as the device-code grant gives its
/// `expires_in`.
///
/// ```
/// let at = tapis_auth_core::expiry::parse_http_date("Tue, 04 Mar 2025 16:25:31 GMT").unwrap();
/// assert_eq!(at.to_rfc3339(), "2025-03-04T16:25:31+00:00");
/// ```
pub fn parse_http_date(input: &str) -> Result<DateTime<Utc>, ExpiryError> {
    if input.len() > MAX_EXPIRES_AT_LEN {
        return Err(ExpiryError::TooLong { len: input.len() });
    }
    DateTime::parse_from_rfc2822(input.trim())
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|_| ExpiryError::Malformed(input.trim().to_owned()))
}

/// Converts a JWT `exp` claim (seconds since the epoch) to a UTC instant, if it names one.
pub fn from_unix_seconds(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

/// A byte cursor over ASCII input; every method returns `None` on anything unexpected.
struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self { bytes: text.as_bytes(), position: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.position += 1;
        Some(byte)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next()? == wanted).then_some(())
    }

    fn is_at_end(&self) -> bool {
        self.position == self.bytes.len()
    }

    /// Exactly `count` ASCII digits as a number.
    fn digits(&mut self, count: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..count {
            let byte = self.next()?;
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(byte - b'0');
        }
        Some(value)
    }

    /// One to nine digits of a decimal fraction of a second, as nanoseconds.
    fn fraction_as_nanos(&mut self) -> Option<u32> {
        let mut nanos = 0u32;
        let mut count = 0;
        while let Some(byte) = self.peek().filter(u8::is_ascii_digit) {
            if count == 9 {
                return None;
            }
            self.position += 1;
            nanos = nanos * 10 + u32::from(byte - b'0');
            count += 1;
        }
        if count == 0 {
            return None;
        }
        Some(nanos * 10u32.pow(9 - count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` is the instant in RFC 3339 with nanoseconds, or the error's Display text.
    fn check(input: &str, expected: &str) {
        let actual = match parse_expires_at(input) {
            Ok(instant) => instant.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn accepted_forms() {
        let table = [
            // What the notebook writes, and what Tapis writes.
            ("2025-09-05T02:30:48+00:00", "2025-09-05T02:30:48.000000000Z"),
            ("2025-03-04T20:15:31.123456+00:00", "2025-03-04T20:15:31.123456000Z"),
            // Z, lower-case z, no offset (UTC), space separator.
            ("2025-09-05T02:30:48Z", "2025-09-05T02:30:48.000000000Z"),
            ("2025-09-05t02:30:48z", "2025-09-05T02:30:48.000000000Z"),
            ("2025-09-05T02:30:48", "2025-09-05T02:30:48.000000000Z"),
            ("2025-09-05 02:30:48", "2025-09-05T02:30:48.000000000Z"),
            ("  2025-09-05T02:30:48Z \n", "2025-09-05T02:30:48.000000000Z"),
            // Any offset, in each spelling.
            ("2025-09-05T04:30:48+02:00", "2025-09-05T02:30:48.000000000Z"),
            ("2025-09-04T21:00:48-05:30", "2025-09-05T02:30:48.000000000Z"),
            ("2025-09-05T04:30:48+0200", "2025-09-05T02:30:48.000000000Z"),
            ("2025-09-05T04:30:48+02", "2025-09-05T02:30:48.000000000Z"),
            // 1 to 9 fractional digits, and a comma as the decimal mark.
            ("2025-09-05T02:30:48.5Z", "2025-09-05T02:30:48.500000000Z"),
            ("2025-09-05T02:30:48.123456789Z", "2025-09-05T02:30:48.123456789Z"),
            ("2025-09-05T02:30:48,25Z", "2025-09-05T02:30:48.250000000Z"),
            // No seconds, as Python's fromisoformat allows.
            ("2025-09-05T02:30", "2025-09-05T02:30:00.000000000Z"),
            // Crossing a day and a year boundary through the offset.
            ("2025-12-31T23:30:00-01:00", "2026-01-01T00:30:00.000000000Z"),
            ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000000000Z"),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn rejected_forms() {
        let long = "9".repeat(65);
        let table = [
            ("", "error: the timestamp is empty"),
            ("   ", "error: the timestamp is empty"),
            (long.as_str(), "error: the timestamp is 65 bytes long; at most 64 are accepted"),
            ("garbage", "error: `garbage` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00"),
            ("2025-09-05", "error: `2025-09-05` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00"),
            ("1741119331", "error: `1741119331` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00"),
            (
                "2025-09-05T02:30:48.Z",
                "error: `2025-09-05T02:30:48.Z` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00",
            ),
            (
                "2025-09-05T02:30:48.1234567890Z",
                "error: `2025-09-05T02:30:48.1234567890Z` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00",
            ),
            (
                "2025-09-05T02:30:48+00:00 extra",
                "error: `2025-09-05T02:30:48+00:00 extra` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00",
            ),
            (
                "2025-09-05T02:30:48+",
                "error: `2025-09-05T02:30:48+` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00",
            ),
            (
                "２０２５-09-05T02:30:48Z",
                "error: `２０２５-09-05T02:30:48Z` is not an ISO 8601 date and time such as 2025-09-05T02:30:48+00:00",
            ),
            ("2025-13-05T02:30:48Z", "error: `2025-13-05T02:30:48Z` is not a real date and time"),
            ("2025-02-29T02:30:48Z", "error: `2025-02-29T02:30:48Z` is not a real date and time"),
            ("2025-09-05T24:00:00Z", "error: `2025-09-05T24:00:00Z` is not a real date and time"),
            ("2025-09-05T02:30:48+24:00", "error: `2025-09-05T02:30:48+24:00` is not a real date and time"),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn format_round_trips_whole_seconds() {
        let instant = parse_expires_at("2025-09-05T02:30:48.75-01:00").expect("valid");
        let written = format_expires_at(instant);
        assert_eq!(written, "2025-09-05T03:30:48+00:00");
        assert_eq!(
            parse_expires_at(&written).expect("own output parses"),
            instant - chrono::TimeDelta::milliseconds(750)
        );
    }

    #[test]
    fn http_dates() {
        let check = |input: &str, expected: Option<&str>| {
            assert_eq!(parse_http_date(input).ok().map(format_expires_at).as_deref(), expected, "{input:?}");
        };
        check("Tue, 04 Mar 2025 16:25:31 GMT", Some("2025-03-04T16:25:31+00:00"));
        check("Tue, 4 Mar 2025 16:25:31 +0000", Some("2025-03-04T16:25:31+00:00"));
        check("2025-03-04T16:25:31Z", None);
        check("600", None);
        check("", None);
    }

    #[test]
    fn unix_seconds() {
        assert_eq!(
            from_unix_seconds(1_741_119_331).map(format_expires_at).as_deref(),
            Some("2025-03-04T20:15:31+00:00")
        );
        assert_eq!(from_unix_seconds(i64::MAX), None);
    }
}
