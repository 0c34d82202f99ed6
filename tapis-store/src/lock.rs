//! The sidecar lock: an exclusive `flock` on `<token file>.lock`, taken with std's
//! `File::try_lock` and a bounded wait; where the file system refuses `flock` (ENOSYS,
//! ENOLCK, EOPNOTSUPP), the lock folder `<token file>.lock.d` instead ([`fallback`]).

mod fallback;

use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use fallback::{FALLBACK_HEARTBEAT_PERIOD, FALLBACK_STALE_AFTER};

use crate::StoreError;

/// How often a waiting process looks again; short enough that a herd of waiters picks up a
/// fresh token promptly, long enough not to spin.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Holds the exclusive lock on the token file until dropped: an `flock` on the sidecar lock
/// file, or, where the file system does not support `flock`, the lock folder (see
/// [`LockKind`]).
#[derive(Debug)]
pub struct StoreLock {
    held: Held,
    path: PathBuf,
}

#[derive(Debug)]
enum Held {
    // Closing the file releases the lock; the kernel does the same if the process dies.
    Flock { _file: File },
    // Dropping it stops the heartbeat and removes this process's entry from the lock folder.
    LockFolder { _held: Box<fallback::Held> },
}

/// Which kind of lock a [`StoreLock`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockKind {
    /// An `flock` on `<token file>.lock`, released by the kernel when the process dies.
    Flock,
    /// The file system refused `flock` (ENOSYS, ENOLCK or EOPNOTSUPP: Lustre mounted without
    /// `flock`, NFS without a lock daemon, some FUSE and SMB mounts), so the lock is the
    /// folder `<token file>.lock.d` holding one owner record, kept fresh by a heartbeat. A
    /// lock left by a dead process is taken over: at once when it was on this machine, after
    /// [`FALLBACK_STALE_AFTER`] without a heartbeat when it was on another.
    LockFolder,
}

impl StoreLock {
    /// Which kind of lock this is.
    pub fn kind(&self) -> LockKind {
        match self.held {
            Held::Flock { .. } => LockKind::Flock,
            Held::LockFolder { .. } => LockKind::LockFolder,
        }
    }

    /// Whether this is the lock folder that stands in for `flock` ([`LockKind::LockFolder`]).
    pub fn is_fallback(&self) -> bool {
        self.kind() == LockKind::LockFolder
    }

    /// What is locked: the lock file (`flock`) or the lock folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks, right before a write under this lock, that the lock is still this process's:
    /// for flock, that the lock file at the path is still the one locked; for the lock folder,
    /// that our own entry is still there and ours. Cheap: a stat or two, no listing.
    pub fn verify_held(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a lock lives: the `flock` file and, for file systems without `flock`, the lock
/// folder and the folder both are in.
pub(crate) struct LockPaths {
    pub(crate) file: PathBuf,
    pub(crate) folder_lock: PathBuf,
    pub(crate) folder: PathBuf,
    /// The token file's name, which the lock folder's temporary names start with.
    pub(crate) token_file_name: String,
    /// How often a held lock folder's heartbeat refreshes it.
    pub(crate) heartbeat_period: Duration,
}

pub(crate) fn acquire(file: File, paths: &LockPaths, timeout: Duration) -> Result<StoreLock, StoreError> {
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(StoreLock { held: Held::Flock { _file: file }, path: paths.file.clone() }),
            Err(TryLockError::WouldBlock) => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(StoreError::LockTimeout { path: paths.file.clone(), waited });
                }
                std::thread::sleep(POLL_INTERVAL.min(timeout - waited));
            }
            // Only now, after `flock` itself said no, is the lock folder tried: the `flock`
            // path costs nothing more than it did.
            Err(TryLockError::Error(source)) if flock_is_unsupported(&source) => {
                drop(file);
                let held = fallback::acquire(paths, started, timeout)?;
                return Ok(StoreLock {
                    held: Held::LockFolder { _held: Box::new(held) },
                    path: paths.folder_lock.clone(),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Lock { path: paths.file.clone(), source });
            }
        }
    }
}

/// Whether `flock` failed because this file system (or its mount) does not do it, rather
/// than for a reason a lock folder would not cure.
fn flock_is_unsupported(error: &io::Error) -> bool {
    use rustix::io::Errno;
    let unsupported = [Errno::NOSYS, Errno::NOLCK, Errno::OPNOTSUPP, Errno::NOTSUP];
    error.raw_os_error().is_some_and(|code| unsupported.iter().any(|errno| errno.raw_os_error() == code))
}
