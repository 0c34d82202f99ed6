//! Files and folders that only their owner can read, and whose a file is.
//!
//! - **Unix:** token files are 0600 and their folders 0700; a file owned by another user is
//!   refused, and a group- or world-accessible one is reported (and tightened to 0600).
//! - **Windows:** a new file or folder takes the access list its folder passes on. In the
//!   user's profile (where the token file and the profiles live by default) that is the user,
//!   SYSTEM and the Administrators: the same people who can read a 0600 file on Unix (root
//!   being Windows' SYSTEM and Administrators). No mode bits exist to check or tighten, so
//!   Windows reports no loose mode. A token file the user places elsewhere (a shared folder)
//!   gets that folder's access list, as any file the user saves there would; `docs/platforms.md`
//!   says so.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// The owner of the file when it is not this user (its uid), else `None`. On Windows, always
/// `None`: see the module's documentation.
pub(crate) fn other_owner(metadata: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let owner = metadata.uid();
        (owner != rustix::process::geteuid().as_raw()).then_some(owner)
    }
    #[cfg(windows)]
    {
        let _ = metadata;
        None
    }
}

/// The file's permission bits when group or others may access it, else `None` (always `None`
/// on Windows).
pub(crate) fn loose_mode(metadata: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let mode = metadata.mode() & 0o7777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(windows)]
    {
        let _ = metadata;
        None
    }
}

/// Makes the open `file` readable by its owner only (0600); nothing to do on Windows.
pub(crate) fn tighten(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))
    }
    #[cfg(windows)]
    {
        let _ = file;
        Ok(())
    }
}

/// Makes the file at `path` readable by its owner only (0600); nothing to do on Windows.
pub(crate) fn tighten_path(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
    }
    #[cfg(windows)]
    {
        let _ = path;
        Ok(())
    }
}

/// Options that create a file readable by its owner only (0600 on Unix).
pub(crate) fn file_options() -> OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut options = OpenOptions::new();
        options.mode(0o600);
        options
    }
    #[cfg(windows)]
    OpenOptions::new()
}

/// A temporary file readable by its owner only (0600 on Unix), in `folder`.
pub(crate) fn temporary_file(
    builder: &mut tempfile::Builder<'_, '_>,
    folder: &Path,
) -> io::Result<tempfile::NamedTempFile> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    builder.tempfile_in(folder)
}

/// Creates `folder` and the folders above it that are missing, each readable by its owner
/// only (0700 on Unix).
pub(crate) fn create_folder(folder: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(folder)
}
