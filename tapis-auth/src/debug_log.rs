//! A debug log on standard error (the `debug-log` feature), for front ends with a debug
//! switch: every request's method, URL, status, time and retry decision, the token file read
//! and the state of its token, and the wait for its lock.
//!
//! The library emits these as `tracing` events at the `DEBUG` level, which cost next to
//! nothing while no subscriber listens. Each event's text is passed through [`crate::redact`]
//! where it is made, so a program's own subscriber receives it masked too. [`init_stderr`]
//! installs a subscriber that writes them to standard error, each line redacted once more, so
//! that nothing logged carries a secret, whatever an event holds. Bodies are never logged.

use std::io::{self, Write};

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;

/// Installs the process-wide `tracing` subscriber that writes the debug events of the tapis
/// crates (targets starting `tapis`) to standard error, redacted. Returns `false` when a
/// subscriber was already installed (that one stays).
pub fn init_stderr() -> bool {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::DEBUG)
        .with_ansi(false)
        .with_writer(|| RedactingWriter(io::stderr()))
        .finish()
        .with(Targets::new().with_target("tapis", Level::DEBUG));
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

/// Writes what it is given with [`crate::redact`] applied. The `fmt` subscriber writes one
/// whole event per call, so a secret is never split between two writes.
pub struct RedactingWriter<W: Write>(
    /// Where the redacted text goes.
    pub W,
);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(crate::redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::RedactingWriter;

    #[test]
    fn the_writer_masks_remembered_secrets() {
        crate::secrets::remember_text("debug-log-test-secret");
        let mut writer = RedactingWriter(Vec::new());
        writer.write_all(b"DEBUG answer: echo debug-log-test-secret\n").expect("written");
        assert_eq!(String::from_utf8_lossy(&writer.0), "DEBUG answer: echo ***\n");
    }
}
