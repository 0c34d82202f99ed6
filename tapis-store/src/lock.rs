//! The sidecar lock: an exclusive `flock` on `<token file>.lock`, taken with std's
//! `File::try_lock` and a bounded wait.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::StoreError;

/// How often a waiting process looks again; short enough that a herd of waiters picks up a
/// fresh token promptly, long enough not to spin.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Holds the exclusive lock on the token file's sidecar lock file until dropped.
#[derive(Debug)]
pub struct StoreLock {
    // Closing the file releases the lock; the kernel does the same if the process dies.
    _file: File,
}

pub(crate) fn acquire(file: File, lock_path: &Path, timeout: Duration) -> Result<StoreLock, StoreError> {
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(StoreLock { _file: file }),
            Err(TryLockError::WouldBlock) => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(StoreError::LockTimeout { path: lock_path.to_path_buf(), waited });
                }
                std::thread::sleep(POLL_INTERVAL.min(timeout - waited));
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Lock { path: lock_path.to_path_buf(), source });
            }
        }
    }
}
