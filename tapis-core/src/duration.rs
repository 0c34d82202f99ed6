//! Human durations: `--min-valid 10m` in, `3h 59m` out.

use chrono::TimeDelta;

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not of the form `90` (seconds), `500ms`, `90s`, `10m`, `4h`, `1d` or a sum such as `1h30m`.
    #[error(
        "`{0}` is not a duration; use a number of seconds (90) or a number with a unit, such as 500ms, 90s, 10m, 4h, 1d or 1h30m"
    )]
    Malformed(String),
    /// Too large to represent.
    #[error("`{0}` is too long a duration")]
    TooLarge(String),
}

/// Parses a duration such as `90` (seconds), `500ms`, `90s`, `10m`, `4h`, `1d` or `1h30m`.
///
/// ```
/// use tapis_auth_core::duration::parse_duration;
/// assert_eq!(parse_duration("1h30m").unwrap().num_seconds(), 5400);
/// assert_eq!(parse_duration("60").unwrap().num_seconds(), 60);
/// ```
pub fn parse_duration(input: &str) -> Result<TimeDelta, DurationError> {
    let text = input.trim();
    let malformed = || DurationError::Malformed(input.to_owned());
    if text.is_empty() || text.len() > 32 {
        return Err(malformed());
    }
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        let seconds: i64 = text.parse().map_err(|_| DurationError::TooLarge(input.to_owned()))?;
        return TimeDelta::try_seconds(seconds).ok_or_else(|| DurationError::TooLarge(input.to_owned()));
    }
    let mut total_millis: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(malformed());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| DurationError::TooLarge(input.to_owned()))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_millis = match &rest[..unit_len] {
            "ms" => 1,
            "s" | "sec" | "secs" => 1000,
            "m" | "min" | "mins" => 60_000,
            "h" | "hr" | "hrs" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            _ => return Err(malformed()),
        };
        rest = &rest[unit_len..];
        total_millis = number
            .checked_mul(unit_millis)
            .and_then(|millis| total_millis.checked_add(millis))
            .ok_or_else(|| DurationError::TooLarge(input.to_owned()))?;
    }
    TimeDelta::try_milliseconds(total_millis).ok_or_else(|| DurationError::TooLarge(input.to_owned()))
}

/// Writes a duration for people, to the nearest unit that matters: `2d 3h`, `3h 59m`, `4m 05s`,
/// `45s`. Negative durations are written by magnitude; the caller says "ago".
///
/// ```
/// use chrono::TimeDelta;
/// use tapis_auth_core::duration::format_duration;
/// assert_eq!(format_duration(TimeDelta::seconds(14_399)), "3h 59m");
/// assert_eq!(format_duration(TimeDelta::seconds(245)), "4m 05s");
/// ```
pub fn format_duration(duration: TimeDelta) -> String {
    let seconds = duration.num_seconds().unsigned_abs();
    let (days, hours, minutes, seconds) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

/// Time left before an expiry, as people read it: `3h 59m left`, or `expired 4m 05s ago`.
///
/// ```
/// use chrono::TimeDelta;
/// use tapis_auth_core::duration::format_time_left;
/// assert_eq!(format_time_left(TimeDelta::seconds(14_399)), "3h 59m left");
/// assert_eq!(format_time_left(TimeDelta::seconds(-245)), "expired 4m 05s ago");
/// ```
pub fn format_time_left(left: TimeDelta) -> String {
    if left > TimeDelta::zero() {
        format!("{} left", format_duration(left))
    } else {
        format!("expired {} ago", format_duration(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let actual = match parse_duration(input) {
            Ok(duration) => format!("{}ms", duration.num_milliseconds()),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn parse_table() {
        for (input, expected) in [
            ("0", "0ms"),
            ("300ms", "300ms"),
            ("1s500ms", "1500ms"),
            ("60", "60000ms"),
            ("90s", "90000ms"),
            ("10m", "600000ms"),
            ("4h", "14400000ms"),
            ("1d", "86400000ms"),
            ("1h30m", "5400000ms"),
            ("1h30m15s", "5415000ms"),
            (" 2min ", "120000ms"),
            (
                "",
                "error: `` is not a duration; use a number of seconds (90) or a number with a unit, such as 500ms, 90s, 10m, 4h, 1d or 1h30m",
            ),
            (
                "m",
                "error: `m` is not a duration; use a number of seconds (90) or a number with a unit, such as 500ms, 90s, 10m, 4h, 1d or 1h30m",
            ),
            (
                "10w",
                "error: `10w` is not a duration; use a number of seconds (90) or a number with a unit, such as 500ms, 90s, 10m, 4h, 1d or 1h30m",
            ),
            (
                "-5m",
                "error: `-5m` is not a duration; use a number of seconds (90) or a number with a unit, such as 500ms, 90s, 10m, 4h, 1d or 1h30m",
            ),
            (
                "1.5h",
                "error: `1.5h` is not a duration; use a number of seconds (90) or a number with a unit, such as 500ms, 90s, 10m, 4h, 1d or 1h30m",
            ),
            ("99999999999999999999", "error: `99999999999999999999` is too long a duration"),
            ("9999999999999999d", "error: `9999999999999999d` is too long a duration"),
        ] {
            check(input, expected);
        }
    }

    #[test]
    fn format_table() {
        for (seconds, expected) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m 00s"),
            (245, "4m 05s"),
            (3600, "1h 00m"),
            (14_399, "3h 59m"),
            (90_061, "1d 1h"),
            (-245, "4m 05s"),
        ] {
            assert_eq!(format_duration(TimeDelta::seconds(seconds)), expected, "{seconds}s");
        }
    }
}
