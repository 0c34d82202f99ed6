//! End-to-end tests of the built `tapis` binary against mockito servers on loopback.
//!
//! They live in the workspace's `tests/` folder and are compiled as `tapis-cli`'s integration
//! test (see its Cargo.toml), so Cargo builds the binary first and passes its path.

mod concurrency;
mod edges;
mod edges_flow;
mod guarded_writes;
mod hostile;
mod identity;
// `flock` refused through an LD_PRELOAD shim (Linux's loader), and the lock folder (Unix).
#[cfg(target_os = "linux")]
mod lock_fallback;
mod login;
mod logout;
mod messages;
// Prompts in a pseudo-terminal (rexpect): Unix only.
#[cfg(unix)]
mod prompt;
mod readme;
mod redaction;
mod refused;
mod renewal;
mod safety;
mod scripting;
// The default token file and the profiles' folders: on Windows in the user's profile and
// AppData, whatever HOME says.
#[cfg(unix)]
mod settings;
mod status;
mod support;
mod token;
