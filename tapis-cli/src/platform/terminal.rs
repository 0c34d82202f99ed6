//! Reading a secret from the terminal with echo off.

use std::io;

use secrecy::zeroize::Zeroizing;

/// Asks for a secret on the controlling terminal, as Python's `getpass` does.
///
/// - Unix: on `/dev/tty`, echo is turned off *first*, then the prompt is written, then the
///   answer is read (by rpassword, which handles erasing and Ctrl-C), then the terminal is
///   restored, also on error. Written in the other order, a password typed the instant the
///   prompt appears (a password manager's auto-type, type-ahead, `expect`) would be echoed and
///   left in the scrollback.
/// - Windows: rpassword writes the prompt to the console (`CONOUT$`) and reads `CONIN$` with
///   echo off, restoring the console's mode afterwards; the console holds typed-ahead input
///   without echoing it until a read asks for it.
pub(crate) fn read_hidden(prompt: &str) -> io::Result<Zeroizing<String>> {
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use unix::RestoreTerminal;
        let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
        let restore = RestoreTerminal::echo_off(&tty)?;
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        let answer = rpassword::read_password().map(Zeroizing::new);
        drop(restore);
        answer
    }
    #[cfg(not(unix))]
    {
        rpassword::prompt_password(prompt).map(Zeroizing::new)
    }
}

#[cfg(unix)]
mod unix {
    use rustix::termios;

    /// Echo off until dropped, when the terminal's settings are put back.
    pub(super) struct RestoreTerminal<'tty> {
        tty: &'tty std::fs::File,
        saved: termios::Termios,
    }

    impl<'tty> RestoreTerminal<'tty> {
        pub(super) fn echo_off(tty: &'tty std::fs::File) -> std::io::Result<Self> {
            let saved = termios::tcgetattr(tty)?;
            let mut quiet = saved.clone();
            quiet.local_modes.remove(termios::LocalModes::ECHO);
            // `Now`, not `Flush`: a flush would wait for pending output to drain first.
            termios::tcsetattr(tty, termios::OptionalActions::Now, &quiet)?;
            Ok(Self { tty, saved })
        }
    }

    impl Drop for RestoreTerminal<'_> {
        fn drop(&mut self) {
            let _ = termios::tcsetattr(self.tty, termios::OptionalActions::Now, &self.saved);
        }
    }
}
