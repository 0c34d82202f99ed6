//! Which file a handle or a path is: two opens of the same file give the same [`FileId`],
//! and a file written anew and renamed over the path gives another.

use std::fs::{File, Metadata};
use std::io;
use std::path::Path;

/// A file's identity on this machine: its device and inode on Unix, its volume serial
/// number and file index on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) device: u64,
    pub(crate) inode: u64,
}

/// The identity of the open `file`, whose `metadata` the caller already has.
#[cfg(unix)]
pub(crate) fn of_file(_file: &File, metadata: &Metadata) -> io::Result<FileId> {
    Ok(of_metadata(metadata))
}

/// The identity of what is at `path` itself (a link is not followed).
#[cfg(unix)]
pub(crate) fn of_path(path: &Path) -> io::Result<FileId> {
    Ok(of_metadata(&std::fs::symlink_metadata(path)?))
}

#[cfg(unix)]
fn of_metadata(metadata: &Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt as _;
    FileId { device: metadata.dev(), inode: metadata.ino() }
}

/// The identity of the open `file`, from `GetFileInformationByHandle`.
#[cfg(windows)]
#[allow(unsafe_code)]
pub(crate) fn of_file(file: &File, _metadata: &Metadata) -> io::Result<FileId> {
    use std::os::windows::io::AsRawHandle as _;
    use windows_sys::Win32::Storage::FileSystem::{BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle};
    // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION is valid (plain integers); the handle is
    // open for as long as `file` is borrowed, and the call writes only into `information`.
    let mut information: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    if unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut information) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(FileId {
        device: u64::from(information.dwVolumeSerialNumber),
        inode: (u64::from(information.nFileIndexHigh) << 32) | u64::from(information.nFileIndexLow),
    })
}

/// The identity of what is at `path` itself (a link, a reparse point, is not followed): it
/// is opened for no access at all, which neither waits nor shares anything with writers.
#[cfg(windows)]
pub(crate) fn of_path(path: &Path) -> io::Result<FileId> {
    use std::os::windows::fs::OpenOptionsExt as _;
    use windows_sys::Win32::Storage::FileSystem::{FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT};
    let file = std::fs::OpenOptions::new()
        .access_mode(0)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    let metadata = file.metadata()?;
    of_file(&file, &metadata)
}
