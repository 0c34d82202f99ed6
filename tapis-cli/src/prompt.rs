//! Asking for credentials on the terminal, and telling the user what happened.

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use tapis_auth_core::duration::format_duration;

use rustix::termios;
use secrecy::zeroize::Zeroizing;
use tapis_auth::{Notice, NoticeLevel, PromptError, Prompter};
use tapis_auth_core::{BaseUrl, SecretString};

use crate::output;

/// Prompts on the terminal: the username visibly on stdin/stderr, the password hidden through
/// the controlling terminal ([`read_hidden`]). Prompts only when stdin is a terminal, so nothing
/// ever waits for input in a script, a pipe or a batch job.
pub(crate) struct TerminalPrompter {
    interactive: bool,
    /// Whether stderr is a terminal, where a device login shows a live countdown.
    live: bool,
    /// When a plain "still waiting" line was last printed (no terminal: one a minute).
    last_waiting_line: Option<Instant>,
    /// Whether the live countdown line is on screen and needs ending before other output.
    live_line_open: bool,
}

/// How often a device login without a terminal says it is still waiting.
const WAITING_LINE_INTERVAL: Duration = Duration::from_secs(60);

impl TerminalPrompter {
    pub(crate) fn new() -> Self {
        Self {
            interactive: io::stdin().is_terminal(),
            live: io::stderr().is_terminal(),
            last_waiting_line: None,
            live_line_open: false,
        }
    }

    /// Ends the live countdown line, if one is on screen.
    pub(crate) fn end_live_line(&mut self) {
        if std::mem::take(&mut self.live_line_open) {
            eprintln!();
        }
    }

    fn waiting(&mut self, left: Option<TimeDelta>) {
        let left = left.filter(|left| *left > TimeDelta::zero());
        let left_text = left.map(|left| format!(" ({} left)", format_duration(left))).unwrap_or_default();
        if self.live {
            eprint!("\r\x1b[2KWaiting for the login to be approved in the browser{left_text}…");
            let _ = io::stderr().flush();
            self.live_line_open = true;
        } else if self.last_waiting_line.is_none_or(|at| at.elapsed() >= WAITING_LINE_INTERVAL) {
            eprintln!("Waiting for the login to be approved in the browser{left_text}.");
            self.last_waiting_line = Some(Instant::now());
        }
    }
}

impl Prompter for TerminalPrompter {
    fn can_prompt(&self) -> bool {
        self.interactive
    }

    fn username(&mut self, base_url: &BaseUrl) -> Result<String, PromptError> {
        let mut stderr = io::stderr().lock();
        write!(stderr, "Username for {}: ", output::escape_controls(base_url.as_str()))?;
        stderr.flush()?;
        // Ctrl-C here ends the prompt as at the password prompt: "nothing was changed", 130.
        if let Err(error) = wait_for_input_or_interrupt() {
            writeln!(stderr)?;
            return Err(match error.kind() {
                io::ErrorKind::Interrupted => PromptError::Interrupted,
                _ => PromptError::Terminal(error),
            });
        }
        let mut line = String::new();
        if io::stdin().lock().read_line(&mut line)? == 0 {
            writeln!(stderr)?;
            return Err(PromptError::EndOfInput);
        }
        Ok(line.trim().to_owned())
    }

    fn password(&mut self, username: &str) -> Result<SecretString, PromptError> {
        // rpassword reads the answer with echo and signals off and handles Ctrl-C itself by
        // raising SIGINT *before* it restores the terminal. With SIGINT's default action the
        // process would die with echo still off; with this handler in place, the raise is
        // noted, rpassword returns `Interrupted` and the terminal is restored on the way out.
        let interrupted = Arc::new(AtomicBool::new(false));
        let handler = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))?;
        let answer = read_hidden(&format!("Password for {}: ", output::escape_controls(username)));
        signal_hook::low_level::unregister(handler);
        match answer {
            Ok(password) if password.is_empty() => Err(PromptError::Empty("password")),
            Ok(password) => Ok(secret_from(password)),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                eprintln!();
                Err(PromptError::Interrupted)
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                eprintln!();
                Err(PromptError::EndOfInput)
            }
            Err(error) => Err(PromptError::Terminal(error)),
        }
    }

    fn notice(&mut self, notice: &Notice) {
        match notice {
            Notice::DeviceWaiting { left, .. } => self.waiting(*left),
            notice => {
                self.end_live_line();
                tell(notice);
            }
        }
    }
}

/// Waits until standard input has something to read (a line, on a terminal), or fails with
/// `Interrupted` on SIGINT (Ctrl-C). With SIGINT's default action the process would die at the
/// prompt without a word; a handler that only sets a flag would not do either, since reads
/// are restarted after it. So the signal writes to a socket, and `poll` watches both.
fn wait_for_input_or_interrupt() -> io::Result<()> {
    use rustix::event::{PollFd, PollFlags, poll};
    let (signalled, signal_end) = std::os::unix::net::UnixStream::pair()?;
    let handler = signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, signal_end)?;
    let stdin = io::stdin();
    let outcome = loop {
        let mut fds = [PollFd::new(&stdin, PollFlags::IN), PollFd::new(&signalled, PollFlags::IN)];
        match poll(&mut fds, None) {
            Ok(_) if !fds[1].revents().is_empty() => break Err(io::ErrorKind::Interrupted.into()),
            Ok(_) => break Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => break Err(io::Error::from(error)),
        }
    };
    signal_hook::low_level::unregister(handler);
    outcome
}

/// Asks for a secret on the controlling terminal, as Python's `getpass` does: echo is turned
/// off *first*, then the prompt is written, then the answer is read (by rpassword, which
/// handles erasing and Ctrl-C), then the terminal is restored, also on error. Written in the
/// other order, a password typed the instant the prompt appears (a password manager's
/// auto-type, type-ahead, `expect`) would be echoed and left in the scrollback.
fn read_hidden(prompt: &str) -> io::Result<Zeroizing<String>> {
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let saved = termios::tcgetattr(&tty)?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(termios::LocalModes::ECHO);
    // `Now`, not `Flush`: a flush would wait for pending output to drain first.
    termios::tcsetattr(&tty, termios::OptionalActions::Now, &quiet)?;
    let restore = RestoreTerminal { tty: &tty, saved };
    (&tty).write_all(prompt.as_bytes())?;
    (&tty).flush()?;
    let answer = rpassword::read_password().map(Zeroizing::new);
    drop(restore);
    answer
}

/// Puts the terminal's settings back when dropped.
struct RestoreTerminal<'tty> {
    tty: &'tty std::fs::File,
    saved: termios::Termios,
}

impl Drop for RestoreTerminal<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.tty, termios::OptionalActions::Now, &self.saved);
    }
}

/// A secret made from text that is then zeroed: `SecretString::from(String)` may move the
/// text to a smaller allocation and free the old one as it is.
fn secret_from(text: Zeroizing<String>) -> SecretString {
    SecretString::from(text.as_str())
}

/// Prints a notice from the login flow on stderr.
pub(crate) fn tell(notice: &Notice) {
    match notice {
        Notice::UnusableTokenFile(error) => {
            output::warn(&format!("{}; treating it as no token (a login replaces it)", store_message(error)));
        }
        Notice::NotSaved(error) => {
            output::warn(&format!("{}; the token is usable for this run only", store_message(error)));
        }
        Notice::ClientCreated { client_id } => output::note(&format!(
            "created the OAuth client {client_id} so that tapis can renew your token without your password; \
             it is stored in the token file, and `tapis logout` deletes it (or use `tapis login --no-refresh` to do without)"
        )),
        Notice::DeviceCode { verification_uri, user_code, expires_at } => {
            let until = expires_at.map(|at| format!(" before {}", output::instant(at))).unwrap_or_default();
            // Two lines of tapis's own: the server's page and code are escaped whole first.
            let (page, code) = (output::escape_controls(verification_uri), output::escape_controls(user_code));
            output::say(&format!("To log in, open {page}\nand enter the code {code}{until}."));
        }
        other => match other.level() {
            NoticeLevel::Error => output::error_line(&other.to_string()),
            NoticeLevel::Warning => output::warn(&other.to_string()),
            NoticeLevel::Note => output::note(&other.to_string()),
            _ => {}
        },
    }
}

/// A store error in the CLI's words.
fn store_message(error: &tapis_store::StoreError) -> String {
    crate::exit::cli_message(error).unwrap_or_else(|| error.to_string())
}
