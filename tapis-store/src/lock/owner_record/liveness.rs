//! What the operating system tells of this machine and of a process on it, for placing a lock
//! folder's holder and judging whether it is alive: one function per fact, with a Linux half
//! (`/proc`), a macOS half (`sysctl`, `proc_pidinfo`), and "unknown" (`None`, or alive)
//! elsewhere.
//!
//! Unknown is always the safe answer: a holder that cannot be placed on this machine is
//! judged by its heartbeat alone (a wait of one lease), and a process whose state cannot be
//! read counts as alive (never taken over).
//!
//! The values of one platform are compared only with values of the same platform: a record
//! is placed on this machine only when its boot identity equals ours.

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) use linux::{boot_id, pid_namespace, process_has_ended, process_start_time};
#[cfg(target_os = "macos")]
pub(super) use macos::{boot_id, pid_namespace, process_has_ended, process_start_time};
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
pub(super) use unknown::{boot_id, pid_namespace, process_has_ended, process_start_time};

/// Linux: the kernel's boot id, the pid namespace's link, and `/proc/<pid>/stat`.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::fs;

    /// The kernel's random id of this boot.
    pub(in super::super) fn boot_id() -> Option<String> {
        let id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        Some(id.trim().to_owned()).filter(|id| !id.is_empty())
    }

    /// The pid namespace's link target (`pid:[4026531836]`): pids mean the same thing only
    /// within one.
    pub(in super::super) fn pid_namespace() -> Option<String> {
        fs::read_link("/proc/self/ns/pid").ok()?.to_str().map(str::to_owned)
    }

    /// `/proc/<pid>/stat` field 22: when the process started, in clock ticks since boot.
    pub(in super::super) fn process_start_time(pid: i32) -> Option<u64> {
        process_stat(pid).map(|stat| stat.start_time)
    }

    /// Whether every thread of the process is a zombie (killed, not yet reaped: it will
    /// never release anything). A process whose main thread has exited while others run
    /// shows `Z` for its main thread only: it is alive. No thread readable (all reaped
    /// between two reads) is a process that has ended; a process whose threads cannot be
    /// listed is judged by its main thread.
    pub(in super::super) fn process_has_ended(pid: i32) -> bool {
        match fs::read_dir(format!("/proc/{pid}/task")) {
            Ok(threads) => {
                let mut states = threads.flatten().filter_map(|thread| {
                    let stat = fs::read_to_string(thread.path().join("stat")).ok()?;
                    parse_stat(&stat).map(|stat| stat.state)
                });
                states.all(is_ended)
            }
            Err(_) => process_stat(pid).is_some_and(|stat| is_ended(stat.state)),
        }
    }

    /// `Z` (zombie) or `X` (dead).
    fn is_ended(state: u8) -> bool {
        matches!(state, b'Z' | b'X')
    }

    /// Two fields of `/proc/<pid>/stat`.
    struct ProcessStat {
        /// Field 3: `R`, `S`, `Z` (zombie), ...
        state: u8,
        /// Field 22.
        start_time: u64,
    }

    fn process_stat(pid: i32) -> Option<ProcessStat> {
        parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    fn parse_stat(text: &str) -> Option<ProcessStat> {
        // Field 2, the command name, is in parentheses and may hold spaces and parentheses:
        // the fields after it start after the last ')'.
        let mut fields = text.get(text.rfind(')')? + 1..)?.split_ascii_whitespace();
        let state = *fields.next()?.as_bytes().first()?;
        // Fields 4 to 21 are skipped; the 19th after field 3 is field 22.
        let start_time = fields.nth(18)?.parse().ok()?;
        Some(ProcessStat { state, start_time })
    }
}

/// macOS: `sysctl kern.bootsessionuuid` and `proc_pidinfo(PROC_PIDTBSDINFO)`. Compiled and
/// linted for both Apple targets where this is developed; run only on a Mac.
#[cfg(target_os = "macos")]
#[allow(unsafe_code)]
mod macos {
    use std::ffi::c_int;

    /// `kern.bootsessionuuid`: a UUID the kernel draws at each boot.
    pub(in super::super) fn boot_id() -> Option<String> {
        // A UUID is 36 characters and a NUL; a longer answer does not fit and is unknown.
        let mut buffer = [0u8; 64];
        let mut length = buffer.len();
        // SAFETY: the name is a NUL-terminated string; `buffer` is writable for `length`
        // bytes, the kernel writes at most that many and sets `length` to the count written
        // (or fails); no new value is given (null, 0).
        let status = unsafe {
            libc::sysctlbyname(
                c"kern.bootsessionuuid".as_ptr(),
                buffer.as_mut_ptr().cast(),
                &mut length,
                std::ptr::null_mut(),
                0,
            )
        };
        if status != 0 {
            return None;
        }
        super::sysctl_text(buffer.get(..length)?)
    }

    /// macOS has no pid namespaces: every process of one boot shares one pid space.
    pub(in super::super) fn pid_namespace() -> Option<String> {
        Some("macos".to_owned())
    }

    /// `pbi_start_tvsec` and `pbi_start_tvusec`: when the process started, in microseconds
    /// since the Unix epoch.
    pub(in super::super) fn process_start_time(pid: i32) -> Option<u64> {
        bsd_info(pid).and_then(|info| super::microseconds(info.pbi_start_tvsec, info.pbi_start_tvusec))
    }

    /// Whether the process is a zombie (`SZOMB`: exited, not yet reaped).
    pub(in super::super) fn process_has_ended(pid: i32) -> bool {
        bsd_info(pid).is_some_and(|info| info.pbi_status == libc::SZOMB)
    }

    /// The process's BSD information; `None` where it cannot be read (no such process, or
    /// another user's, which takes root).
    fn bsd_info(pid: i32) -> Option<libc::proc_bsdinfo> {
        let size = c_int::try_from(size_of::<libc::proc_bsdinfo>()).ok()?;
        // SAFETY: `proc_bsdinfo` is a C struct of integers and arrays of them, for which
        // all zeros is a valid value.
        let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is writable for `size` bytes; the kernel writes at most that many
        // and returns the count written, or 0 or less on failure.
        let written = unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDTBSDINFO, 0, (&raw mut info).cast(), size) };
        (written == size).then_some(info)
    }
}

/// Elsewhere: nothing is known, so every holder counts as another machine's, judged by its
/// heartbeat.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
mod unknown {
    pub(in super::super) fn boot_id() -> Option<String> {
        None
    }

    pub(in super::super) fn pid_namespace() -> Option<String> {
        None
    }

    pub(in super::super) fn process_start_time(_pid: i32) -> Option<u64> {
        None
    }

    pub(in super::super) fn process_has_ended(_pid: i32) -> bool {
        false
    }
}

/// A string `sysctl` answered, up to its NUL; `None` when empty or not UTF-8.
#[cfg(any(target_os = "macos", test))]
fn sysctl_text(bytes: &[u8]) -> Option<String> {
    let text = bytes.split(|byte| *byte == 0).next().unwrap_or_default();
    let text = std::str::from_utf8(text).ok()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Seconds and microseconds as microseconds; `None` where that overflows or the microseconds
/// are not below a second.
#[cfg(any(target_os = "macos", test))]
fn microseconds(seconds: u64, microseconds: u64) -> Option<u64> {
    if microseconds >= 1_000_000 {
        return None;
    }
    seconds.checked_mul(1_000_000)?.checked_add(microseconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_strings_end_at_their_nul() {
        let check = |bytes: &[u8], expected: Option<&str>| {
            assert_eq!(sysctl_text(bytes).as_deref(), expected, "{bytes:?}");
        };
        check(b"8E5A0B6C-1B0F-4C59-9A2D-3C1C5E7F9A01\0", Some("8E5A0B6C-1B0F-4C59-9A2D-3C1C5E7F9A01"));
        check(b"8E5A0B6C\0garbage after the NUL", Some("8E5A0B6C"));
        check(b"no NUL at all", Some("no NUL at all"));
        check(b"\0", None);
        check(b"", None);
        check(b"\xff\xfe\0", None);
    }

    #[test]
    fn start_times_are_microseconds_or_unknown() {
        let check = |seconds: u64, micros: u64, expected: Option<u64>| {
            assert_eq!(microseconds(seconds, micros), expected, "{seconds} s {micros} µs");
        };
        check(1_700_000_000, 123_456, Some(1_700_000_000_123_456));
        check(0, 0, Some(0));
        check(1, 999_999, Some(1_999_999));
        check(1, 1_000_000, None);
        check(u64::MAX / 1_000_000 + 1, 0, None);
    }

    /// On a platform with a half of its own, this process's start time is known and it has
    /// not ended; where nothing is known, it counts as alive all the same.
    #[test]
    fn this_process_is_known_and_alive() {
        let pid = std::process::id() as i32;
        let known = cfg!(any(target_os = "linux", target_os = "android", target_os = "macos"));
        assert_eq!(process_start_time(pid).is_some(), known);
        assert_eq!(process_start_time(pid), process_start_time(pid), "a start time does not move");
        assert!(!process_has_ended(pid));
    }
}
