//! Replacing a file by renaming a finished temporary file over it, and making that durable.

use std::io;
use std::path::Path;

/// Renames `temporary` over `path`. On Windows the rename is std's, which, where the plain
/// rename is refused because the file is open elsewhere, renames with POSIX semantics: the file
/// is replaced even while another `tapis` (which opens it sharing deletion, as std does) reads
/// it. A program that holds it open without sharing deletion (an editor, a virus scanner,
/// Python's `open()`) still blocks the rename for as long as it holds the file; that is tried
/// again for up to about a second, as cargo and git do.
pub(crate) fn persist(temporary: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    return temporary.persist(path).map(|_| ()).map_err(|error| error.error);
    #[cfg(windows)]
    {
        // Closed before the rename; removed on an error when it drops.
        let temporary = temporary.into_temp_path();
        let mut attempts = 0;
        loop {
            match std::fs::rename(&temporary, path) {
                Ok(()) => {
                    // Renamed: nothing is left to remove.
                    let _ = temporary.keep();
                    return Ok(());
                }
                Err(error) if attempts < SHARING_RETRIES && is_sharing_refusal(&error) => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// How many times a rename refused because the target is open elsewhere is tried again.
#[cfg(windows)]
const SHARING_RETRIES: u32 = 20;

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
