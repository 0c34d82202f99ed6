//! Replacing a file by renaming a finished temporary file over it, and making that durable.

use std::io;
use std::path::Path;

/// Renames `temporary` over `path`. On Windows a rename over a file that another program
/// holds open without sharing deletion (an editor, a virus scanner, Python's `open()`) fails
/// for as long as it is held; it is tried again for up to about a second, as cargo and git do.
pub(crate) fn persist(temporary: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    let mut temporary = temporary;
    let mut attempts = 0;
    loop {
        match temporary.persist(path) {
            Ok(_) => return Ok(()),
            Err(error) if attempts < SHARING_RETRIES && is_sharing_refusal(&error.error) => {
                attempts += 1;
                temporary = error.file;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(error) => return Err(error.error),
        }
    }
}

/// How many times a rename refused because the target is open elsewhere is tried again.
const SHARING_RETRIES: u32 = 20;

/// Whether a rename failed only because the target is open elsewhere: never on Unix.
#[cfg(unix)]
fn is_sharing_refusal(_error: &io::Error) -> bool {
    false
}

/// Whether a Windows rename failed only because the target is open elsewhere.
#[cfg(windows)]
fn is_sharing_refusal(error: &io::Error) -> bool {
    use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, ERROR_LOCK_VIOLATION, ERROR_SHARING_VIOLATION};
    let codes = [ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION].map(|code| code as i32);
    error.raw_os_error().is_some_and(|code| codes.contains(&code))
}

/// Makes a rename in `folder` durable (an fsync of the folder). Some file systems cannot
/// fsync a folder; the data is already safe in the file, so that is not an error. Windows
/// cannot open a folder this way, and NTFS journals the rename itself.
pub(crate) fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(folder) = std::fs::File::open(folder) {
        let _ = folder.sync_all();
    }
    #[cfg(windows)]
    let _ = folder;
}
