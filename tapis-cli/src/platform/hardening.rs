//! Keeping secrets in this process's memory away from core dumps and other processes.
//!
//! - Linux: `prctl(PR_SET_DUMPABLE, 0)`: no core dump (panics abort) and no same-user ptrace
//!   or `/proc/<pid>/mem` reading. `exec`'s command is dumpable again (execve resets it), and
//!   no resource limit is changed.
//! - Elsewhere nothing is done, and nothing is claimed: macOS has no such switch short of
//!   `PT_DENY_ATTACH`, which needs `unsafe` and breaks debuggers for good; on Windows another
//!   user's process cannot open ours, and a same-user one could also read the token file.

/// Hardens this process where the platform allows. Failure (a kernel without prctl) is not
/// worth stopping for: the token file is readable by the same user anyway.
pub(crate) fn harden() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
