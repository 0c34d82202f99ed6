//! The sidecar lock: an exclusive `flock` on `<token file>.lock`, taken with std's
//! `File::try_lock` and a bounded wait; where the file system refuses `flock` (ENOSYS,
//! ENOLCK, EOPNOTSUPP), the lock folder `<token file>.lock.d` instead ([`lock_folder`]).
//!
//! - [`lock_folder`]: the protocol, taking the lock folder and waiting for it.
//! - [`held_lock_folder`]: a held lock folder, its heartbeat, its check and its release.
//! - [`heartbeat_watch`]: when another machine's entry is stale, on the waiter's own clock.
//! - [`staging_folder`]: where an entry is written before it is renamed onto the lock folder.
//! - [`owner_record`]: the owner record, this machine, and whether a process is alive.
//! - [`token_folder`]: the token file's folder, opened once, and every `*at` call on it.

// The lock folder reaches every name through the token folder's descriptor (`openat` and
// the like), which Windows does not have; Windows locks with `LockFileEx`, which its local and
// network file systems support.
#[cfg(unix)]
mod heartbeat_watch;
#[cfg(unix)]
mod held_lock_folder;
#[cfg(unix)]
mod lock_folder;
#[cfg(unix)]
mod owner_record;
#[cfg(unix)]
mod staging_folder;
#[cfg(unix)]
mod token_folder;

use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::StoreError;
use crate::platform;

/// How long the entry of a lock folder holder on another machine (or one that cannot be
/// placed on this one) must go without a heartbeat, watched by a waiter on its own monotonic
/// clock, before the waiter takes the lock over.
///
/// Why 90 s: a stall of the shared file system itself (Lustre recovery, an NFS server
/// failover: often a minute or more) stalls the waiters' looks as well, and a waiter that
/// could not look for a while watches a whole lease again; so the lease only has to outlast
/// stalls of the holder alone (a swapping node, its file-system client reconnecting). A holder
/// stalled longer than the lease loses the lock safely: it notices before its next write and
/// stops with a message, instead of saving over its successor. And the lease must stay under
/// the default lock timeout ([`crate::DEFAULT_LOCK_TIMEOUT`], 2 min), or a waiter could never
/// take over a dead holder within one command.
pub const FALLBACK_STALE_AFTER: Duration = Duration::from_secs(90);

/// How often a holder of the lock folder refreshes its entry's heartbeat: nine times a lease,
/// so that a few missed or delayed beats never make a live holder look dead.
pub const FALLBACK_HEARTBEAT_PERIOD: Duration = Duration::from_secs(10);

/// How often a waiting process looks again; short enough that a herd of waiters picks up a
/// fresh token promptly, long enough not to spin.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Holds the exclusive lock on the token file until dropped: an `flock` on the sidecar lock
/// file, or, where the file system does not support `flock`, the lock folder (see
/// [`LockKind`]).
#[derive(Debug)]
pub struct StoreLock {
    holding: Holding,
    path: PathBuf,
}

#[derive(Debug)]
enum Holding {
    // Closing the file releases the lock; the kernel does the same if the process dies.
    Flock {
        file: File,
    },
    // Dropping it stops the heartbeat and removes this process's entry from the lock folder.
    #[cfg(unix)]
    LockFolder {
        guard: Box<held_lock_folder::LockFolderGuard>,
    },
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
    /// lock left by a dead process is taken over: at once when it was on this machine, once
    /// its heartbeat has not changed for [`FALLBACK_STALE_AFTER`] when it was on another.
    LockFolder,
}

impl StoreLock {
    /// Which kind of lock this is.
    pub fn kind(&self) -> LockKind {
        match self.holding {
            Holding::Flock { .. } => LockKind::Flock,
            #[cfg(unix)]
            Holding::LockFolder { .. } => LockKind::LockFolder,
        }
    }

    /// What is locked: the lock file (`flock`) or the lock folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks, right before a write under this lock, that the lock is still this process's:
    /// for flock, that the lock file at the path is still the one locked; for the lock folder,
    /// that our own entry is still there and ours. Cheap: a stat or two, no listing (for the
    /// lock folder, two opens and their `fstat`s, so that NFS asks the server).
    ///
    /// A lock folder is lost when this process was stopped (or its heartbeat could not reach
    /// the file system) for longer than [`FALLBACK_STALE_AFTER`] and another process took it
    /// over; an `flock` when someone removed or replaced the lock file. The error says which.
    pub fn verify_held(&self) -> io::Result<()> {
        match &self.holding {
            Holding::Flock { file } => {
                let locked = platform::file_id::of_file(file, &file.metadata()?)?;
                let at_path = platform::file_id::of_path(&self.path).ok();
                if at_path == Some(locked) {
                    Ok(())
                } else {
                    Err(io::Error::other(format!(
                        "the lock file {} was removed or replaced while this process held it, so another process may hold the lock now; nothing was saved, run the command again",
                        self.path.display()
                    )))
                }
            }
            #[cfg(unix)]
            Holding::LockFolder { guard } => guard.verify_held(),
        }
    }
}

/// Where a lock lives: the `flock` file and, for file systems without `flock`, the lock
/// folder and the folder both are in; and the lock folder's timing.
// All but the lock file serve the lock folder, which Windows does without.
#[cfg_attr(windows, allow(dead_code))]
pub(crate) struct LockPaths {
    pub(crate) file: PathBuf,
    pub(crate) folder_lock: PathBuf,
    pub(crate) folder: PathBuf,
    /// The token file's name, which the lock folder's names start with.
    pub(crate) token_file_name: String,
    /// How often a held lock folder's heartbeat refreshes it.
    pub(crate) heartbeat_period: Duration,
    /// How long a waiter watches another machine's entry without a heartbeat before it takes
    /// the lock over.
    pub(crate) lease: Duration,
    /// Set by a caller that gave up waiting (see [`crate::TokenStore::lock_unless_stopped`]):
    /// the wait then ends as a timeout at its next poll.
    pub(crate) stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl LockPaths {
    /// Whether the wait is over: `timeout` has passed since it began, or the caller stopped it.
    pub(crate) fn gave_up(&self, waited: Duration, timeout: Duration) -> bool {
        waited >= timeout || self.stop.as_ref().is_some_and(|stop| stop.load(std::sync::atomic::Ordering::Acquire))
    }
}

pub(crate) fn acquire(file: File, paths: &LockPaths, timeout: Duration) -> Result<StoreLock, StoreError> {
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => {
                // Nodes where flock works and nodes where it is refused may share the token
                // file (a cluster mounting one file system with different options): a live
                // lock folder is waited for here, under the flock, within the same timeout.
                #[cfg(unix)]
                lock_folder::wait_until_no_lock_folder(paths, started, timeout)?;
                return Ok(StoreLock { holding: Holding::Flock { file }, path: paths.file.clone() });
            }
            Err(TryLockError::WouldBlock) => {
                let waited = started.elapsed();
                if paths.gave_up(waited, timeout) {
                    return Err(StoreError::LockTimeout { path: paths.file.clone(), waited });
                }
                std::thread::sleep(POLL_INTERVAL.min(timeout - waited));
            }
            // Only now, after `flock` itself said no, is the lock folder tried: the `flock`
            // path costs nothing more than an lstat.
            #[cfg(unix)]
            Err(TryLockError::Error(source)) if platform::os_error::says_locking_is_unsupported(&source) => {
                drop(file);
                let guard = lock_folder::acquire(paths, started, timeout)?;
                return Ok(StoreLock {
                    holding: Holding::LockFolder { guard: Box::new(guard) },
                    path: paths.folder_lock.clone(),
                });
            }
            #[cfg(windows)]
            Err(TryLockError::Error(source)) if platform::os_error::says_locking_is_unsupported(&source) => {
                let said = format!(
                    "{source}: this file system cannot lock files, so two programs could write the token file at once; \
                     choose a token file on a local disk or a network share that locks files (SMB does)"
                );
                return Err(StoreError::Lock { path: paths.file.clone(), source: io::Error::new(source.kind(), said) });
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Lock { path: paths.file.clone(), source });
            }
        }
    }
}
