//! What an operating system's error means to the store.

use std::io;

/// Whether `error` says that nothing can be written here: a read-only file system, or a
/// place this user may not write to.
pub(crate) fn is_read_only_place(error: &io::Error) -> bool {
    is_read_only_file_system(error) || error.kind() == io::ErrorKind::PermissionDenied
}

/// Whether `error` says that the file system is mounted read-only (EROFS; on Windows, a
/// write-protected medium).
pub(crate) fn is_read_only_file_system(error: &io::Error) -> bool {
    #[cfg(windows)]
    if error.raw_os_error() == Some(windows_sys::Win32::Foundation::ERROR_WRITE_PROTECT as i32) {
        return true;
    }
    error.kind() == io::ErrorKind::ReadOnlyFilesystem
}

/// Whether taking an `flock` (`LockFileEx` on Windows) failed because this file system, or
/// its mount, does not lock files at all, rather than for a reason another kind of lock would
/// not cure: ENOSYS, ENOLCK, EOPNOTSUPP; on Windows, "not supported" or "invalid function",
/// which a few network redirectors answer.
pub(crate) fn says_locking_is_unsupported(error: &io::Error) -> bool {
    #[cfg(unix)]
    let unsupported = {
        use rustix::io::Errno;
        [Errno::NOSYS, Errno::NOLCK, Errno::OPNOTSUPP, Errno::NOTSUP].map(Errno::raw_os_error)
    };
    #[cfg(windows)]
    let unsupported = {
        use windows_sys::Win32::Foundation::{ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED};
        [ERROR_NOT_SUPPORTED, ERROR_INVALID_FUNCTION].map(|code| code as i32)
    };
    error.raw_os_error().is_some_and(|code| unsupported.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_read_as_the_store_needs() {
        let read_only = io::Error::from(io::ErrorKind::ReadOnlyFilesystem);
        assert!(is_read_only_place(&read_only) && is_read_only_file_system(&read_only));
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(is_read_only_place(&denied) && !is_read_only_file_system(&denied));
        assert!(!is_read_only_place(&io::Error::from(io::ErrorKind::NotFound)));
        #[cfg(unix)]
        {
            use rustix::io::Errno;
            let os = |errno: Errno| io::Error::from_raw_os_error(errno.raw_os_error());
            assert!(is_read_only_place(&os(Errno::ROFS)) && is_read_only_place(&os(Errno::PERM)));
            assert!(says_locking_is_unsupported(&os(Errno::NOLCK)));
            assert!(!says_locking_is_unsupported(&os(Errno::AGAIN)));
        }
        #[cfg(windows)]
        {
            use windows_sys::Win32::Foundation::{ERROR_LOCK_VIOLATION, ERROR_NOT_SUPPORTED, ERROR_WRITE_PROTECT};
            let os = |code: u32| io::Error::from_raw_os_error(code as i32);
            assert!(is_read_only_file_system(&os(ERROR_WRITE_PROTECT)));
            assert!(says_locking_is_unsupported(&os(ERROR_NOT_SUPPORTED)));
            assert!(!says_locking_is_unsupported(&os(ERROR_LOCK_VIOLATION)));
        }
    }
}
