//! Asking for credentials on the terminal, and telling the user what happened.

use std::io::{self, IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use tapis_auth_core::duration::format_duration;

use secrecy::zeroize::Zeroizing;
use tapis_auth::{Notice, NoticeLevel, PromptError, Prompter};
use tapis_auth_core::{BaseUrl, SecretString};

use crate::output;
use crate::platform::{interrupt, terminal};

/// Prompts on the terminal: the username visibly on stdin/stderr, the password hidden through
/// the controlling terminal ([`terminal::read_hidden`]). Prompts only when stdin is a terminal, so nothing
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
        let mut line = String::new();
        let read = interrupt::read_line(&mut line);
        if !matches!(read, Ok(1..)) {
            writeln!(stderr)?;
        }
        match read {
            Ok(0) => return Err(PromptError::EndOfInput),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Err(PromptError::Interrupted),
            Err(error) => return Err(PromptError::Terminal(error)),
        }
        Ok(line.trim().to_owned())
    }

    fn password(&mut self, username: &str) -> Result<SecretString, PromptError> {
        // rpassword reads the answer with echo and signals off and handles Ctrl-C itself by
        // raising SIGINT *before* it restores the terminal. With SIGINT's default action the
        // process would die with echo still off; with a handler that notes the signal in
        // place, rpassword returns and the terminal is restored on the way out.
        let prompt = format!("Password for {}: ", output::escape_controls(username));
        let answer = interrupt::interrupted_while(|| terminal::read_hidden(&prompt));
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
