//! A finished command's exit code, as a shell reports it: what `tapis exec` exits with.

use std::process::ExitStatus;

/// The code a shell would report for `status`, in 0..=255.
///
/// - Unix: the command's own code; killed by a signal, 128 + the signal (`bash`'s rule).
/// - Windows: the process's exit code when it is in 0..=255; a process ended by Ctrl-C
///   (`STATUS_CONTROL_C_EXIT`) is 130, as SIGINT is on Unix; any other code (an NTSTATUS such
///   as an access violation) is 1, since it cannot be passed on whole.
pub(crate) fn shell_exit_code(status: ExitStatus) -> u8 {
    code_from(status.code(), signal_of(status))
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(not(unix))]
fn signal_of(_status: ExitStatus) -> Option<i32> {
    None
}

/// Windows' exit code of a process ended by Ctrl-C (`STATUS_CONTROL_C_EXIT`, 0xC000013A).
const STATUS_CONTROL_C_EXIT: u32 = 0xC000_013A;

/// SIGINT's number, for the code of a command ended by Ctrl-C on Windows.
const SIGINT: i32 = 2;

fn code_from(code: Option<i32>, signal: Option<i32>) -> u8 {
    match (code, signal) {
        (Some(code), _) if code.cast_unsigned() == STATUS_CONTROL_C_EXIT => 128 + SIGINT as u8,
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::code_from;

    #[test]
    fn codes_are_passed_on_as_a_shell_reports_them() {
        let check = |code, signal, expected| assert_eq!(code_from(code, signal), expected, "{code:?} {signal:?}");
        check(Some(0), None, 0);
        check(Some(3), None, 3);
        check(Some(255), None, 255);
        check(None, Some(9), 137); // SIGKILL
        check(None, Some(2), 130); // SIGINT
        check(Some(0xC000_013A_u32.cast_signed()), None, 130); // Ctrl-C on Windows
        check(Some(0xC000_0005_u32.cast_signed()), None, 1); // an access violation
        check(Some(-1), None, 1);
        check(Some(256), None, 1);
        check(None, None, 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_real_status_killed_by_a_signal_is_128_plus_the_signal() {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(super::shell_exit_code(std::process::ExitStatus::from_raw(15)), 143);
        assert_eq!(super::shell_exit_code(std::process::ExitStatus::from_raw(7 << 8)), 7);
    }
}
