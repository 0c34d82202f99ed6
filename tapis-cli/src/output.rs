//! Talk on stderr: `error:`, `warning:` and `note:` lines, coloured only on a terminal and
//! never when `NO_COLOR` is set. Data goes to stdout elsewhere.

use std::io::IsTerminal as _;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use tapis_core::duration::format_duration;

fn colour_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()) && std::io::stderr().is_terminal()
}

fn label(text: &str, ansi_colour: &str) -> String {
    if colour_enabled() { format!("\x1b[1;{ansi_colour}m{text}\x1b[0m") } else { text.to_owned() }
}

/// `error: message` on stderr.
pub(crate) fn error_line(message: &str) {
    eprintln!("{} {message}", label("error:", "31"));
}

/// `warning: message` on stderr.
pub(crate) fn warn(message: &str) {
    eprintln!("{} {message}", label("warning:", "33"));
}

/// `note: message` on stderr.
pub(crate) fn note(message: &str) {
    eprintln!("{} {message}", label("note:", "36"));
}

/// A plain line of talk on stderr.
pub(crate) fn say(message: &str) {
    eprintln!("{message}");
}

/// An instant as people and scripts read it: RFC 3339 in UTC, whole seconds.
pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `3h 59m left` or `expired 5m 02s ago`.
pub(crate) fn time_left(left: TimeDelta) -> String {
    if left > TimeDelta::zero() {
        format!("{} left", format_duration(left))
    } else {
        format!("expired {} ago", format_duration(left))
    }
}
