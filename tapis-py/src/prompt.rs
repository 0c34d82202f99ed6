//! Asking through Python: the username with `input()`, the password with `getpass.getpass()`,
//! so that a Jupyter kernel shows its own input boxes; and the flow's notices printed on
//! Python's `sys.stderr`, worded as the `tapis` command words them. Nothing here opens a
//! terminal or looks at a file descriptor: each call takes the GIL and asks Python.

use pyo3::exceptions::{PyEOFError, PyKeyboardInterrupt};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tapis_auth::{Notice, NoticeLevel, PromptError, Prompter};
use tapis_auth_core::{BaseUrl, SecretString};

/// The prompter of `connect()`. It may prompt when Python runs in an IPython/Jupyter kernel
/// or its `sys.stdin` is an interactive terminal; elsewhere the flow fails at once.
pub(crate) struct PythonPrompter {
    interactive: bool,
    /// The `KeyboardInterrupt` raised at a prompt, re-raised once the flow has returned.
    interrupt: Option<PyErr>,
}

impl PythonPrompter {
    /// Decides, while the GIL is held, whether anyone can answer a prompt.
    pub(crate) fn new(py: Python<'_>) -> Self {
        Self { interactive: in_kernel(py) || stdin_is_interactive(py), interrupt: None }
    }

    /// The `KeyboardInterrupt` caught at a prompt, if there was one.
    pub(crate) fn take_interrupt(&mut self) -> Option<PyErr> {
        self.interrupt.take()
    }

    /// Calls a Python prompt function and classifies what went wrong.
    fn ask(&mut self, module: &str, function: &str, prompt: String) -> Result<String, PromptError> {
        Python::attach(|py| {
            let answer = py.import(module).and_then(|module| module.call_method1(function, (prompt,)));
            match answer.and_then(|answer| answer.extract::<String>()) {
                Ok(answer) => Ok(answer),
                Err(error) if error.is_instance_of::<PyKeyboardInterrupt>(py) => {
                    self.interrupt = Some(error);
                    Err(PromptError::Interrupted)
                }
                // A kernel whose front end does not allow input (`StdinNotImplementedError`):
                // nobody can answer, now or later.
                Err(error) if is_stdin_not_implemented(py, &error) => {
                    self.interactive = false;
                    Err(PromptError::NobodyToAsk)
                }
                Err(error) if error.is_instance_of::<PyEOFError>(py) => Err(PromptError::EndOfInput),
                Err(error) => Err(PromptError::Terminal(std::io::Error::other(error.to_string()))),
            }
        })
    }
}

impl Prompter for PythonPrompter {
    fn can_prompt(&self) -> bool {
        self.interactive
    }

    fn username(&mut self, base_url: &BaseUrl) -> Result<String, PromptError> {
        self.ask("builtins", "input", format!("Username for {base_url}: "))
    }

    fn password(&mut self, username: &str) -> Result<SecretString, PromptError> {
        let password = self.ask("getpass", "getpass", format!("Password for {username}: "))?;
        if password.is_empty() { Err(PromptError::Empty("password")) } else { Ok(SecretString::from(password)) }
    }

    fn notice(&mut self, notice: &Notice) {
        if let Some(line) = notice_line(notice) {
            Python::attach(|py| print_to_stderr(py, &line));
        }
    }
}

/// Whether Python runs in an IPython kernel (Jupyter), whose `input()` and `getpass()` ask
/// the front end.
fn in_kernel(py: Python<'_>) -> bool {
    let check = || -> PyResult<bool> {
        let modules = py.import("sys")?.getattr("modules")?;
        if !modules.contains("ipykernel")? {
            return Ok(false);
        }
        let shell = py.import("IPython")?.call_method0("get_ipython")?;
        Ok(!shell.is_none() && shell.hasattr("kernel")?)
    };
    check().unwrap_or(false)
}

/// Whether Python's `sys.stdin` is open and an interactive terminal.
fn stdin_is_interactive(py: Python<'_>) -> bool {
    let check = || -> PyResult<bool> {
        let stdin = py.import("sys")?.getattr("stdin")?;
        if stdin.is_none() || stdin.getattr("closed")?.is_truthy()? {
            return Ok(false);
        }
        stdin.call_method0("isatty")?.is_truthy()
    };
    check().unwrap_or(false)
}

fn is_stdin_not_implemented(py: Python<'_>, error: &PyErr) -> bool {
    error.get_type(py).name().is_ok_and(|name| name == "StdinNotImplementedError")
}

/// `print(line, file=sys.stderr)`, so that a notebook shows it. A failure to print is ignored,
/// as a failure to write to stderr is in the `tapis` command.
fn print_to_stderr(py: Python<'_>, line: &str) {
    let print = || -> PyResult<()> {
        let keywords = PyDict::new(py);
        keywords.set_item("file", py.import("sys")?.getattr("stderr")?)?;
        keywords.set_item("flush", true)?;
        py.import("builtins")?.call_method("print", (line,), Some(&keywords))?;
        Ok(())
    };
    let _ = print();
}

/// A notice in the library's words, labelled as the `tapis` command labels it, without colour;
/// progress (a device login's wait) is not shown.
fn notice_line(notice: &Notice) -> Option<String> {
    let label = match notice.level() {
        NoticeLevel::Error => "error",
        NoticeLevel::Warning => "warning",
        NoticeLevel::Note => "note",
        _ => return None,
    };
    Some(format!("{label}: {notice}"))
}
