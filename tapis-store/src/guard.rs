//! The one way to change a file this crate owns (the token file, `profiles.toml`): read it
//! under its lock, decide, then replace or remove it only if the lock is still held and the
//! file still holds what was read.
//!
//! A [`Seen`] records what the read found: nothing (the file did not exist), or the file's
//! identity (device, inode, size, modification time) and its bytes. Right before the rename
//! (or the unlink), [`check_unchanged`] opens the path again and compares; a file that
//! changed, or that cannot be read now, is never written over.

use std::fs::{self, File};
use std::io::{self, Read as _};
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::platform;

/// What a read under the lock found at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Nothing: the path did not exist.
    Missing,
    /// A regular file, with these contents.
    File {
        /// Who the file is and when it was last written.
        identity: Identity,
        /// Its bytes (at most the reader's limit plus one).
        bytes: Vec<u8>,
    },
}

/// A file's identity and the marks a write leaves on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    file: platform::file_id::FileId,
    size: u64,
    /// The modification time, to the nanosecond where the file system keeps it.
    modified: Option<std::time::Duration>,
}

impl Identity {
    /// The identity of the open `file`, whose `metadata` the caller has.
    pub(crate) fn of(file: &File, metadata: &fs::Metadata) -> io::Result<Self> {
        Ok(Self {
            file: platform::file_id::of_file(file, metadata)?,
            size: metadata.len(),
            modified: metadata.modified().ok().and_then(|time| time.duration_since(UNIX_EPOCH).ok()),
        })
    }
}

/// Opens `path` for reading without blocking (a FIFO at the path cannot make the open
/// wait); `Ok(None)` when there is nothing at the path. Only "not found" means nothing:
/// every other error is returned.
pub(crate) fn open_for_reading(path: &Path) -> io::Result<Option<File>> {
    platform::opening::for_reading(path)
}

/// Reads at most `limit + 1` bytes of `file`.
pub(crate) fn read_bounded(file: &mut File, limit: u64, size_hint: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(size_hint.min(limit) as usize + 1);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// How a file differs from what was read.
#[derive(Debug)]
pub(crate) enum Changed {
    /// It was written, created or removed since.
    Yes,
    /// It cannot be read now.
    Unreadable(io::Error),
}

/// Whether the file at `path` still holds what `seen` records, read again now.
pub(crate) fn check_unchanged(path: &Path, seen: &Seen, limit: u64) -> Result<(), Changed> {
    let opened = open_for_reading(path).map_err(Changed::Unreadable)?;
    let Some(mut file) = opened else {
        return if *seen == Seen::Missing { Ok(()) } else { Err(Changed::Yes) };
    };
    let Seen::File { identity, bytes } = seen else { return Err(Changed::Yes) };
    let metadata = file.metadata().map_err(Changed::Unreadable)?;
    if !metadata.is_file() || Identity::of(&file, &metadata).map_err(Changed::Unreadable)? != *identity {
        return Err(Changed::Yes);
    }
    let now = read_bounded(&mut file, limit, metadata.len()).map_err(Changed::Unreadable)?;
    if now != *bytes {
        return Err(Changed::Yes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(path: &Path) -> Seen {
        match open_for_reading(path).expect("readable") {
            None => Seen::Missing,
            Some(mut file) => {
                let metadata = file.metadata().expect("metadata");
                let bytes = read_bounded(&mut file, 1024, metadata.len()).expect("read");
                Seen::File { identity: Identity::of(&file, &metadata).expect("identity"), bytes }
            }
        }
    }

    fn check(before: Option<&str>, after: Option<&str>, unchanged: bool) {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("file");
        if let Some(text) = before {
            fs::write(&path, text).expect("write");
        }
        let read = seen(&path);
        match after {
            Some(text) if Some(text) != before => {
                // Written anew, as another writer's rename would: a new file at the path.
                let other = folder.path().join("other");
                fs::write(&other, text).expect("write");
                fs::rename(&other, &path).expect("rename");
            }
            Some(_) => {}
            None => {
                let _ = fs::remove_file(&path);
            }
        }
        let outcome = check_unchanged(&path, &read, 1024);
        assert_eq!(outcome.is_ok(), unchanged, "{before:?} -> {after:?}: {outcome:?}");
    }

    #[test]
    fn a_write_is_guarded_by_what_was_read() {
        check(None, None, true);
        check(Some("a"), Some("a"), true);
        check(None, Some("a"), false);
        check(Some("a"), None, false);
        check(Some("a"), Some("b"), false);
        check(Some("a"), Some("aa"), false);
    }

    #[test]
    fn the_same_bytes_in_another_file_count_as_a_change() {
        let folder = tempfile::tempdir().expect("temp");
        let path = folder.path().join("file");
        fs::write(&path, "same").expect("write");
        let read = seen(&path);
        let other = folder.path().join("other");
        fs::write(&other, "same").expect("write");
        fs::rename(&other, &path).expect("rename");
        assert!(matches!(check_unchanged(&path, &read, 1024), Err(Changed::Yes)));
    }
}
