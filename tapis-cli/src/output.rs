//! Talk on stderr: `error:`, `warning:` and `note:` lines, coloured only on a terminal and
//! never when `NO_COLOR` is set. Data goes to stdout elsewhere.
//!
//! Text that tapis did not write itself (a server's messages, a device code's page and code,
//! client ids, names from a token or from `userinfo`) could carry escape sequences that
//! retitle, clear or rewrite the terminal. Every line written here passes through
//! [`escape_controls`], and so does every such value that the verbs print on stdout; only
//! `tapis api`'s answer body, which is data, is written as it came.

use std::borrow::Cow;
use std::io::IsTerminal as _;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

fn colour_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()) && std::io::stderr().is_terminal()
}

fn label(text: &str, ansi_colour: &str) -> String {
    if colour_enabled() { format!("\x1b[1;{ansi_colour}m{text}\x1b[0m") } else { text.to_owned() }
}

/// Whether a character must not reach a terminal as it is: C0 controls (newline and tab
/// included), DEL, C1 controls (among them CSI, U+009B) and the bidirectional overrides and
/// isolates that reorder what is shown.
fn is_unsafe_for_terminal(character: char) -> bool {
    character.is_control() || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character a terminal would act on (see [`is_unsafe_for_terminal`])
/// written as a visible escape, `\u{1b}`; the text is borrowed when there is none.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if is_unsafe_for_terminal(character) {
            escaped.push_str(&format!("\\u{{{:x}}}", u32::from(character)));
        } else {
            escaped.push(character);
        }
    }
    Cow::Owned(escaped)
}

/// A message of one or more lines (tapis's own line breaks), each line escaped, with every
/// secret the process holds masked (`tapis_auth::redact`: a server's message may echo one).
fn escape_lines(message: &str) -> String {
    tapis_auth::redact(message).split('\n').map(escape_controls).collect::<Vec<_>>().join("\n")
}

/// JSON for people and scripts: pretty-printed, with the characters that serde leaves as
/// they are but a terminal would act on (DEL, C1 controls, bidi overrides) written as
/// `\uXXXX` escapes, which JSON readers turn back into the same text.
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| serde_json::Value::Null.to_string());
    if !text.chars().any(is_unsafe_for_terminal) {
        return text;
    }
    // Outside strings pretty JSON holds only newlines and spaces; inside, serde has escaped
    // every C0 control, so any unsafe character left is in a string and may be escaped there.
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if character != '\n' && is_unsafe_for_terminal(character) {
            let mut units = [0_u16; 2];
            for unit in character.encode_utf16(&mut units) {
                escaped.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            escaped.push(character);
        }
    }
    escaped
}

/// `error: message` on stderr.
pub(crate) fn error_line(message: &str) {
    eprintln!("{} {}", label("error:", "31"), escape_lines(message));
}

/// `warning: message` on stderr.
pub(crate) fn warn(message: &str) {
    eprintln!("{} {}", label("warning:", "33"), escape_lines(message));
}

/// `note: message` on stderr.
pub(crate) fn note(message: &str) {
    eprintln!("{} {}", label("note:", "36"), escape_lines(message));
}

/// A plain line of talk on stderr.
pub(crate) fn say(message: &str) {
    eprintln!("{}", escape_lines(message));
}

/// An instant as people and scripts read it: RFC 3339 in UTC, whole seconds.
pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `3h 59m left` or `expired 5m 02s ago`.
pub(crate) fn time_left(left: TimeDelta) -> String {
    tapis_auth_core::duration::format_time_left(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(escape_controls(input), expected, "{input:?}");
    }

    #[test]
    fn controls_are_escaped_visibly() {
        check("Invalid username/password combination.", "Invalid username/password combination.");
        check("ünïcödé and emoji 🙂 stay", "ünïcödé and emoji 🙂 stay");
        check("\x1b]0;owned\x07title", "\\u{1b}]0;owned\\u{7}title");
        check("\x1b[2J\x1b[H", "\\u{1b}[2J\\u{1b}[H");
        check("line\nfake: line\r\tx", "line\\u{a}fake: line\\u{d}\\u{9}x");
        check("del\x7f c1\u{9b}31m nul\0", "del\\u{7f} c1\\u{9b}31m nul\\u{0}");
        check("abc\u{202e}fed\u{2066}x\u{2069}", "abc\\u{202e}fed\\u{2066}x\\u{2069}");
    }

    #[test]
    fn a_message_keeps_its_own_lines() {
        assert_eq!(
            escape_lines("cannot log in\n  caused by: \x1b[31mred"),
            "cannot log in\n  caused by: \\u{1b}[31mred"
        );
    }

    #[test]
    fn json_stays_json_and_safe() {
        let value = serde_json::json!({"name": "a\x1b[2Jb\u{9b}c\u{202e}d\x7f", "n": 1});
        let text = json_text(&value);
        assert!(!text.chars().any(|character| character != '\n' && is_unsafe_for_terminal(character)), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON"), value);
    }
}
