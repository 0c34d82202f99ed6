//! This machine's name, and whether a process exists on it.

/// This machine's name, or `host` when it has none: `uname`'s node name on Unix (one system
/// call, no file read), the DNS host name on Windows.
pub(crate) fn host_name() -> String {
    #[cfg(unix)]
    let name = rustix::system::uname().nodename().to_string_lossy().trim().to_owned();
    #[cfg(windows)]
    let name = windows_host_name().unwrap_or_default();
    if name.is_empty() { "host".to_owned() } else { name }
}

#[cfg(windows)]
#[allow(unsafe_code)]
fn windows_host_name() -> Option<String> {
    use windows_sys::Win32::System::SystemInformation::{ComputerNamePhysicalDnsHostname, GetComputerNameExW};
    let mut buffer = [0u16; 256];
    let mut length = buffer.len() as u32;
    // SAFETY: the buffer holds `length` UTF-16 units, and the call writes at most that many.
    let done = unsafe { GetComputerNameExW(ComputerNamePhysicalDnsHostname, buffer.as_mut_ptr(), &mut length) };
    (done != 0).then(|| String::from_utf16_lossy(&buffer[..length as usize]).trim().to_owned())
}

/// Whether a process with this id exists on this machine (alive, or a zombie on Unix). When
/// that cannot be told (no permission to ask), it counts as existing.
pub(crate) fn exists(pid: i32) -> bool {
    #[cfg(unix)]
    {
        match rustix::process::Pid::from_raw(pid) {
            Some(pid) => !matches!(rustix::process::test_kill_process(pid), Err(rustix::io::Errno::SRCH)),
            None => true,
        }
    }
    #[cfg(windows)]
    {
        windows_process_exists(pid)
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
fn windows_process_exists(pid: i32) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, ERROR_INVALID_PARAMETER, GetLastError, STILL_ACTIVE};
    use windows_sys::Win32::System::Threading::{GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};
    let Ok(pid) = u32::try_from(pid) else { return true };
    // SAFETY: plain calls on a process id; the handle, when one is opened, is closed below.
    unsafe {
        let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if handle.is_null() {
            // No such process; any other refusal (access denied) means it exists.
            return GetLastError() != ERROR_INVALID_PARAMETER;
        }
        let mut code = 0u32;
        let asked = GetExitCodeProcess(handle, &mut code);
        CloseHandle(handle);
        asked == 0 || code == STILL_ACTIVE as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_exists_and_an_exited_child_does_not() {
        assert!(exists(std::process::id() as i32));
        // A program of this machine's own that exits at once.
        let (program, args) = if cfg!(windows) { ("cmd", ["/C", "exit"]) } else { ("sh", ["-c", "exit"]) };
        let mut child = std::process::Command::new(program).args(args).spawn().expect("spawn");
        let pid = child.id() as i32;
        child.wait().expect("wait");
        assert!(!exists(pid), "a process that exited and was waited for is gone");
        assert!(!host_name().is_empty());
    }
}
