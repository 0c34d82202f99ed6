//! A held lock folder: its heartbeat, the check that it is still held, its release, and the
//! sweep of debris after a contended acquisition.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use super::LockPaths;
use super::lock_folder::{ProtocolNames, is_entry_name};
use super::owner_record::{Machine, OwnerRecord};
use super::token_folder::{SubFolder, TokenFolder, check_ours, identity};
use crate::StoreError;

/// The lock folder, held until dropped.
#[derive(Debug)]
pub(crate) struct LockFolderGuard {
    held: Arc<HeldEntry>,
    heartbeat: Option<Heartbeat>,
    /// Whether the acquisition was contended, so that staging folders of dead processes may
    /// be lying about: only then does the release list the token file's folder to remove them.
    sweep_on_release: bool,
}

#[derive(Debug)]
struct Heartbeat {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// What the holder and its heartbeat thread share: where the lock is and what is ours in it.
#[derive(Debug)]
struct HeldEntry {
    folder: TokenFolder,
    names: ProtocolNames,
    /// The lock folder, as renamed into place (the staging folder's inode).
    lock: SubFolder,
    /// Our entry in it, open: the heartbeat goes through it, never through the path.
    entry: File,
    entry_identity: (u64, u64),
    lock_path: PathBuf,
    lease: Duration,
    /// Set once the lock is found lost: why.
    lost: OnceLock<String>,
}

impl HeldEntry {
    /// Whether the lock folder is still ours: the name leads to the folder we renamed into
    /// place, and our entry is in it. Two opens and their `fstat`s, no listing: opening (not
    /// a `stat` by name) makes an NFS client ask the server rather than its attribute cache.
    /// An error that may pass (EIO, ESTALE, a timeout, no file descriptors left) fails this
    /// check but does not count as a lost lock; anything else that is not our folder and
    /// entry does, for good.
    fn verify(&self) -> io::Result<()> {
        if let Some(reason) = self.lost.get() {
            return Err(io::Error::other(reason.clone()));
        }
        let looked = self
            .folder
            .open_folder(&self.names.lock)
            .and_then(|lock| Ok((lock.identity(), identity(&lock.open_file(&self.names.entry)?.1))));
        let ours = (self.lock.identity(), self.entry_identity);
        match looked {
            Ok(found) if found == ours => return Ok(()),
            Err(error) if may_pass(&error) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("cannot check that the lock folder {} is still held: {error}", self.lock_path.display()),
                ));
            }
            _ => {}
        }
        let reason = format!(
            "the lock folder {} was taken over by another process: this process was stopped, or could not refresh the lock, for longer than its lease ({}s); nothing was saved, run the command again",
            self.lock_path.display(),
            self.lease.as_secs_f64()
        );
        Err(io::Error::other(self.lost.get_or_init(|| reason).clone()))
    }

    fn is_lost(&self) -> bool {
        self.lost.get().is_some()
    }
}

/// Whether an error checking the lock may pass by itself (a stalled or failing-over file
/// server, a moment without file descriptors), rather than say the lock is gone.
fn may_pass(error: &io::Error) -> bool {
    use rustix::io::Errno;
    let passing =
        [Errno::IO, Errno::STALE, Errno::INTR, Errno::TIMEDOUT, Errno::AGAIN, Errno::NOMEM, Errno::NFILE, Errno::MFILE];
    error.raw_os_error().is_some_and(|code| passing.iter().any(|errno| errno.raw_os_error() == code))
}

impl LockFolderGuard {
    /// The lock is ours (the rename went through): start the heartbeat.
    pub(super) fn start(
        folder: TokenFolder,
        names: ProtocolNames,
        (lock, entry): (SubFolder, File),
        paths: &LockPaths,
        contended: bool,
    ) -> Result<Self, StoreError> {
        let lock_error = |source| StoreError::Lock { path: paths.folder_lock.clone(), source };
        let entry_identity = rustix::fs::fstat(&entry).map(|stat| identity(&stat)).map_err(|e| lock_error(e.into()))?;
        let held = Arc::new(HeldEntry {
            folder,
            names,
            lock,
            entry,
            entry_identity,
            lock_path: paths.folder_lock.clone(),
            lease: paths.lease,
            lost: OnceLock::new(),
        });
        let _ = touch(&held.entry);
        let mut guard = Self { held: Arc::clone(&held), heartbeat: None, sweep_on_release: contended };
        let (stop, stopped) = mpsc::channel::<()>();
        let period = paths.heartbeat_period;
        let spawned = std::thread::Builder::new().name("tapis-lock-heartbeat".to_owned()).spawn(move || {
            // Until the sender is dropped (the lock released), the lock is found lost, or the
            // process ends. A lost lock is not refreshed: its entry is someone else's business.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                if held.verify().is_err() && held.is_lost() {
                    break;
                }
                let _ = touch(&held.entry);
            }
        });
        match spawned {
            Ok(thread) => {
                guard.heartbeat = Some(Heartbeat { stop, thread });
                Ok(guard)
            }
            // Without a heartbeat other machines would take the lock over: give it back.
            Err(source) => Err(lock_error(source)),
        }
    }

    /// See [`super::StoreLock::verify_held`].
    pub(super) fn verify_held(&self) -> io::Result<()> {
        self.held.verify()
    }

    /// Removes staging folders left by processes on this machine that died before their
    /// rename (best effort). They never block anyone; this only tidies the folder. Only what
    /// the protocol made is removed: a folder (not a link) of this user's under a staging
    /// name, holding one entry of this user's whose owner record names a dead process here.
    fn sweep_debris(&self) {
        let HeldEntry { folder, names, .. } = &*self.held;
        let Ok(all) = folder.names() else { return };
        let machine = Machine::current();
        for name in all.iter().filter(|name| names.is_staging(name)) {
            let Ok(staging) = folder.open_folder(name) else { continue };
            let Ok(inside) = staging.names() else { continue };
            let [entry] = inside.as_slice() else { continue };
            let dead = is_entry_name(entry)
                && staging.open_file(entry).is_ok_and(|(file, stat)| {
                    check_ours(&stat, rustix::fs::FileType::RegularFile).is_ok()
                        && OwnerRecord::read_from(&file).is_some_and(|record| {
                            format!("{}.owner", record.nonce) == *entry
                                && machine.is_this_one(&record)
                                && record.process_is_gone()
                        })
                });
            if dead && staging.remove_file(entry).is_ok() {
                let _ = folder.remove_empty_folder(name);
            }
        }
    }
}

impl Drop for LockFolderGuard {
    fn drop(&mut self) {
        if let Some(Heartbeat { stop, thread }) = self.heartbeat.take() {
            drop(stop);
            let _ = thread.join();
        }
        // Our entry by its unique name, in the folder we placed: if the lock was taken over
        // meanwhile, the name is gone and whoever holds the lock now is untouched; rmdir
        // removes the folder only if it is empty.
        let held = &self.held;
        let _ = held.lock.remove_file(&held.names.entry);
        let _ = held.folder.remove_empty_folder(&held.names.lock);
        if self.sweep_on_release {
            self.sweep_debris();
        }
    }
}

/// Sets a file's mtime to the file system's "now", through the open file.
pub(super) fn touch(file: &File) -> io::Result<()> {
    use rustix::fs::{Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};
    let times = Timestamps {
        last_access: Timespec { tv_sec: 0, tv_nsec: UTIME_OMIT },
        last_modification: Timespec { tv_sec: 0, tv_nsec: UTIME_NOW },
    };
    rustix::fs::futimens(file, &times).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errors_that_may_pass_leave_the_lock_held() {
        use rustix::io::Errno;
        let table = [
            (Errno::IO, true),
            (Errno::STALE, true),
            (Errno::TIMEDOUT, true),
            (Errno::MFILE, true),
            (Errno::NOENT, false),
            (Errno::NOTDIR, false),
            (Errno::LOOP, false),
            (Errno::ACCESS, false),
        ];
        for (errno, expected) in table {
            assert_eq!(may_pass(&io::Error::from(errno)), expected, "{errno:?}");
        }
        assert!(!may_pass(&io::Error::other("no errno")));
    }
}
