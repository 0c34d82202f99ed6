//! The token file's folder, opened once: every name the lock folder protocol touches is
//! reached relative to it (`*at` calls), never through a link, and checked for type and owner
//! before anything in it is removed. So a folder others can write to (with the sticky bit)
//! cannot redirect a removal elsewhere, by a link planted under a protocol name or by a lock
//! folder swapped for a link between a check and a use.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

/// `O_NOFOLLOW | O_CLOEXEC`, and `O_NONBLOCK` so that a FIFO planted under a name cannot make
/// an open wait.
fn no_follow() -> OFlags {
    OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK
}

/// The token file's folder, open.
#[derive(Debug)]
pub(super) struct TokenFolder {
    fd: OwnedFd,
}

impl TokenFolder {
    /// Opens `path` and refuses it when others can write to it and it has no sticky bit (as
    /// ssh's `StrictModes` does): there anyone could remove or rename this user's lock folder
    /// and its entries, which no protocol can defend against.
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        let stat = rustix::fs::fstat(&fd)?;
        let mode = stat.st_mode & 0o7777;
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "other users can write to the folder {} (mode {mode:o}, no sticky bit), so they could break the lock that stands in for flock there; make it private (chmod go-w) or keep the token file elsewhere",
                    path.display()
                ),
            ));
        }
        Ok(Self { fd })
    }

    /// The type and owner of `name` in this folder, not following a link.
    pub(super) fn stat(&self, name: &str) -> io::Result<Stat> {
        Ok(rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?)
    }

    /// Makes the folder `name` (0700) and opens it; it is ours, just made.
    pub(super) fn make_folder(&self, name: &str) -> io::Result<SubFolder> {
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700))?;
        self.open_folder(name)
    }

    /// Opens the folder `name`, not through a link, and checks that it is a folder of this
    /// user's.
    pub(super) fn open_folder(&self, name: &str) -> io::Result<SubFolder> {
        let fd = rustix::fs::openat(&self.fd, name, OFlags::RDONLY | OFlags::DIRECTORY | no_follow(), Mode::empty())
            .map_err(|errno| match errno {
                // A link (ELOOP) or anything else (ENOTDIR) under the name.
                rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => not_a_folder(),
                other => other.into(),
            })?;
        let stat = rustix::fs::fstat(&fd)?;
        check_ours(&stat, FileType::Directory)?;
        Ok(SubFolder { fd, stat })
    }

    /// `rename(from, to)` within this folder.
    pub(super) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.fd, from, &self.fd, to)?)
    }

    /// `rmdir(name)`: removes only an empty folder (and never through a link).
    pub(super) fn remove_empty_folder(&self, name: &str) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR)?)
    }

    /// The names in this folder.
    pub(super) fn names(&self) -> io::Result<Vec<String>> {
        names_in(&self.fd)
    }
}

/// A folder inside the token folder (the lock folder, or a staging folder), open.
#[derive(Debug)]
pub(super) struct SubFolder {
    fd: OwnedFd,
    stat: Stat,
}

impl SubFolder {
    /// Its device and inode, which say whether a name still leads to it.
    pub(super) fn identity(&self) -> (u64, u64) {
        identity(&self.stat)
    }

    pub(super) fn names(&self) -> io::Result<Vec<String>> {
        names_in(&self.fd)
    }

    /// Creates the file `name` (0600, exclusively, not through a link).
    pub(super) fn create_file(&self, name: &str) -> io::Result<File> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | no_follow();
        Ok(File::from(rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(0o600))?))
    }

    /// Opens the file `name` for reading, not through a link; with its attributes, read from
    /// the open file (on NFS an open fetches fresh ones, so a heartbeat seen is the server's).
    pub(super) fn open_file(&self, name: &str) -> io::Result<(File, Stat)> {
        let fd = rustix::fs::openat(&self.fd, name, OFlags::RDONLY | no_follow(), Mode::empty())?;
        let stat = rustix::fs::fstat(&fd)?;
        Ok((File::from(fd), stat))
    }

    /// The attributes of `name`, not following a link.
    pub(super) fn stat(&self, name: &str) -> io::Result<Stat> {
        Ok(rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?)
    }

    /// Removes the file `name` from this folder, after checking that it is a regular file of
    /// this user's.
    pub(super) fn remove_file(&self, name: &str) -> io::Result<()> {
        check_ours(&self.stat(name)?, FileType::RegularFile)?;
        Ok(rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())?)
    }
}

/// Device and inode.
pub(super) fn identity(stat: &Stat) -> (u64, u64) {
    #[allow(clippy::unnecessary_cast, reason = "the field types differ between targets")]
    (stat.st_dev as u64, stat.st_ino as u64)
}

/// Refuses what is not of type `file_type` or not this user's.
pub(super) fn check_ours(stat: &Stat, file_type: FileType) -> io::Result<()> {
    if FileType::from_raw_mode(stat.st_mode) != file_type {
        return Err(match file_type {
            FileType::Directory => not_a_folder(),
            _ => io::Error::new(io::ErrorKind::InvalidInput, "an entry is not a regular file; tapis did not make it"),
        });
    }
    let owner = stat.st_uid;
    if owner != rustix::process::geteuid().as_raw() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("it belongs to another user (uid {owner}); tapis did not make it, remove it"),
        ));
    }
    Ok(())
}

fn not_a_folder() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "it is not a folder; remove it (tapis creates it again)")
}

fn names_in(fd: &impl AsFd) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(fd)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy();
        if name != "." && name != ".." {
            names.push(name.into_owned());
        }
    }
    Ok(names)
}
