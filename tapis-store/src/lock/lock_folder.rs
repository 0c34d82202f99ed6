//! Taking the lock folder: the token file's lock where the file system refuses `flock`
//! (Lustre mounted without `flock`, NFS without a lock daemon, some FUSE and SMB mounts).
//!
//! # The protocol
//!
//! The lock is the folder `L` = `<token file>.lock.d`. It is held by whoever's *entry* is in
//! it: one file named `<nonce>.owner`, where the nonce is 128 random bits drawn for this one
//! acquisition, holding the owner record (host name, boot id, pid namespace, pid, the
//! process's start time, the nonce; [`super::owner_record`]). Its mtime is the heartbeat.
//! Every name is reached relative to the token file's folder, opened once, never through a
//! link ([`super::token_folder`]).
//!
//! - **Acquire.** Make a private staging folder `S` = `.<token file>.lock.<nonce>.new` next
//!   to the token file, write and fsync the entry in it (on NFS, unsynced data of a file that
//!   stays open would not reach the server, and others would read an empty record), then
//!   `rename(S, L)`. A directory renames over a name that does not exist or is an *empty*
//!   directory, and fails (EEXIST, ENOTEMPTY) over a non-empty one, atomically: this is the
//!   exclusive create. So `L` appears with its record already complete.
//! - **Hold.** A heartbeat thread sets the entry's mtime to "now" every heartbeat period
//!   through the open file (`futimens`, so on NFS the server's clock), after checking that the
//!   entry is still ours; once it is not, the holder has lost the lock, stops beating, and
//!   [`super::StoreLock::verify_held`] says so before any write ([`super::held_lock_folder`]).
//! - **Release.** Stop the heartbeat, `unlink(L/<nonce>.owner)`, then `rmdir(L)`.
//! - **Wait.** When the rename fails, open `L` (a folder of this user's, not a link) and look
//!   at its entry. An entry of this machine (the same host name, and the same boot id and pid
//!   namespace, both known) whose process is gone is stale at once. Any other entry is stale
//!   when its heartbeat has not changed for a whole lease as this waiter watched it, on its
//!   own monotonic clock ([`super::heartbeat_watch`]). A stale entry is unlinked, `L` is
//!   removed if empty, and the rename is tried again at once; otherwise the wait goes on,
//!   polled, until the timeout. Anything in `L` that this protocol did not make (another name,
//!   not a regular file, another user's) is refused with a message, never removed.
//!
//! # Why a takeover cannot break a live lock, and two cannot both win
//!
//! Every entry name is unique to one acquisition, and nothing ever puts an entry into an
//! existing `L`: entries arrive only inside a staging folder renamed onto a missing or empty
//! `L`. So `L` holds at most one entry, and "acquisition N holds the lock" is exactly "the
//! name `L/N.owner` exists".
//!
//! - A taker that judged N stale removes the name `L/N.owner` and nothing else. If N was
//!   released or taken over meanwhile and M now holds the lock, M's entry has another name:
//!   the unlink fails with ENOENT and M is untouched.
//! - Of several takers of N, exactly one unlink succeeds. None of them holds anything yet:
//!   each then races for the now empty `L` by renaming its staging folder, which only one
//!   rename can win. `rmdir(L)` removes only an empty folder, which is a free lock.
//! - A process that is gone on this machine never comes back (the boot id and the start time
//!   rule out a reboot and a reused pid), so a live process on this machine is never taken
//!   over, however long it holds the lock.
//!
//! # What it does not promise
//!
//! Another machine's holder is judged by a lease: one whose heartbeat did not change for
//! [`super::FALLBACK_STALE_AFTER`] while a waiter watched is taken over. A holder that was
//! stopped that long (Ctrl-Z, a suspended laptop, its node's file-system client stalled alone)
//! is then no longer the holder: it notices at its next heartbeat or before its next write,
//! and its write fails instead of replacing the successor's file. Only a holder stopped in the
//! instant between that check and its rename can still overwrite.
//!
//! Debris — a staging folder of a process killed before its rename — never blocks anyone
//! (it is not `L`); a release after a contended acquisition removes those of dead processes
//! on this machine.

use std::io;
use std::time::{Duration, Instant};

use super::LockPaths;
use super::heartbeat_watch::{Beat, HeartbeatWatch};
use super::held_lock_folder::LockFolderGuard;
use super::owner_record::{Machine, OwnerRecord, new_nonce};
use super::staging_folder::Staged;
use super::token_folder::{SubFolder, TokenFolder, check_ours};
use crate::StoreError;

/// The first wait between two looks at a held lock folder; it grows to [`LONGEST_POLL`], so
/// that a process waiting minutes on a network file system does not query the server fifty
/// times a second, while a herd still picks up a fresh token within a fraction of a second.
const FIRST_POLL: Duration = Duration::from_millis(20);
const LONGEST_POLL: Duration = Duration::from_millis(250);

/// How many times in a row a look that freed the lock (a takeover, an empty folder removed,
/// a staging folder made again) is followed by a new attempt without a pause.
const QUICK_RETRIES: u32 = 8;

const ENTRY_SUFFIX: &str = ".owner";
const STAGING_SUFFIX: &str = ".new";

/// The names the protocol uses in the token file's folder, for one acquisition.
#[derive(Debug)]
pub(super) struct ProtocolNames {
    /// `<token file>.lock.d`.
    pub(super) lock: String,
    /// `.<token file>.lock.`: what every staging folder's name starts with.
    pub(super) staging_prefix: String,
    /// `.<token file>.lock.<nonce>.new`.
    pub(super) staging: String,
    /// `<nonce>.owner`.
    pub(super) entry: String,
}

impl ProtocolNames {
    fn new(paths: &LockPaths, nonce: &str) -> Self {
        let staging_prefix = format!(".{}.lock.", paths.token_file_name);
        Self {
            lock: format!("{}.lock.d", paths.token_file_name),
            staging: format!("{staging_prefix}{nonce}{STAGING_SUFFIX}"),
            staging_prefix,
            entry: format!("{nonce}{ENTRY_SUFFIX}"),
        }
    }

    /// Whether `name` is a staging folder's name for this token file.
    pub(super) fn is_staging(&self, name: &str) -> bool {
        name.strip_prefix(&self.staging_prefix).and_then(|rest| rest.strip_suffix(STAGING_SUFFIX)).is_some_and(is_nonce)
    }
}

/// Whether `name` is an entry's name: `<nonce>.owner`.
pub(super) fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(ENTRY_SUFFIX).is_some_and(is_nonce)
}

fn is_nonce(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Takes the lock folder, waiting until `timeout` after `started`.
pub(super) fn acquire(paths: &LockPaths, started: Instant, timeout: Duration) -> Result<LockFolderGuard, StoreError> {
    let lock_error = |source| StoreError::Lock { path: paths.folder_lock.clone(), source };
    let folder = TokenFolder::open(&paths.folder).map_err(lock_error)?;
    let machine = Machine::current();
    let record = OwnerRecord::ours(&machine, new_nonce());
    let names = ProtocolNames::new(paths, &record.nonce);
    let mut staged = Staged::create(&folder, &names, &record).map_err(lock_error)?;
    let mut waiter =
        Waiter { folder: &folder, names: &names, machine: &machine, watch: HeartbeatWatch::new(paths.lease), paths };
    match waiter.wait_for_rename(&mut staged, &record, started, timeout) {
        Ok(contended) => LockFolderGuard::start(folder, names, staged.into_lock(), paths, contended),
        Err(error) => {
            staged.discard(&folder, &names);
            Err(match error {
                WaitError::TimedOut(waited) => StoreError::LockTimeout { path: paths.folder_lock.clone(), waited },
                WaitError::Failed(source) => lock_error(source),
            })
        }
    }
}

enum WaitError {
    TimedOut(Duration),
    Failed(io::Error),
}

impl From<io::Error> for WaitError {
    fn from(error: io::Error) -> Self {
        Self::Failed(error)
    }
}

/// After an `flock` was taken: waits, within the same timeout, while a live lock folder is
/// there (a node of the same cluster where `flock` is refused holds it), taking over a stale
/// one. One `lstat` when there is none.
pub(super) fn wait_until_no_lock_folder(
    paths: &LockPaths,
    started: Instant,
    timeout: Duration,
) -> Result<(), StoreError> {
    if std::fs::symlink_metadata(&paths.folder_lock).is_err() {
        return Ok(());
    }
    let lock_error = |source| StoreError::Lock { path: paths.folder_lock.clone(), source };
    let folder = TokenFolder::open(&paths.folder).map_err(lock_error)?;
    let machine = Machine::current();
    let names = ProtocolNames::new(paths, "0");
    let mut waiter =
        Waiter { folder: &folder, names: &names, machine: &machine, watch: HeartbeatWatch::new(paths.lease), paths };
    let mut poll = FIRST_POLL;
    loop {
        match waiter.look(None).map_err(lock_error)? {
            Look::Held => {}
            Look::Free | Look::TookOver | Look::StagedAgain | Look::Ours => return Ok(()),
        }
        let waited = started.elapsed();
        if paths.gave_up(waited, timeout) {
            return Err(StoreError::LockTimeout { path: paths.folder_lock.clone(), waited });
        }
        std::thread::sleep(poll.min(timeout - waited));
        poll = (poll * 3 / 2).min(LONGEST_POLL);
    }
}

/// What a look into the lock folder found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Look {
    /// Our own entry is in it: the lock is ours.
    Ours,
    /// There is no lock folder, or it was empty and is removed: a free lock.
    Free,
    /// Its entry was stale and is removed, and the folder with it.
    TookOver,
    /// Our staging folder had been removed and is made again.
    StagedAgain,
    /// Someone live (or who may be) holds it.
    Held,
}

/// What a waiting process keeps between looks.
struct Waiter<'a> {
    /// Where the lock lives, and whether the caller gave up the wait.
    paths: &'a LockPaths,
    folder: &'a TokenFolder,
    names: &'a ProtocolNames,
    machine: &'a Machine,
    watch: HeartbeatWatch,
}

impl Waiter<'_> {
    /// Renames `staged` onto the lock folder, looking into it after each failure, until the
    /// rename is ours or the timeout; says whether the lock was contended (held, taken over,
    /// or our staging folder removed), when there may be debris to sweep.
    fn wait_for_rename(
        &mut self,
        staged: &mut Staged,
        record: &OwnerRecord,
        started: Instant,
        timeout: Duration,
    ) -> Result<bool, WaitError> {
        let (folder, names) = (self.folder, self.names);
        let mut contended = false;
        let mut poll = FIRST_POLL;
        let mut quick_retries = 0;
        loop {
            staged.refresh_if_old();
            let look = match folder.rename(&names.staging, &names.lock) {
                Ok(()) if staged.is_the_lock(folder, names) => Look::Ours,
                // The staging folder was emptied by someone who took this process for dead:
                // the lock folder placed is empty, a free lock; stage again.
                Ok(()) => {
                    contended = true;
                    let _ = folder.remove_empty_folder(&names.lock);
                    *staged = Staged::create(folder, names, record)?;
                    Look::StagedAgain
                }
                Err(error) => match error.raw_os_error().map(rustix::io::Errno::from_raw_os_error) {
                    Some(rustix::io::Errno::EXIST | rustix::io::Errno::NOTEMPTY) => {
                        contended = true;
                        self.look(Some(&names.entry))?
                    }
                    // Our staging folder is gone (removed as debris by someone who took this
                    // process for dead): stage again, with the same nonce.
                    Some(rustix::io::Errno::NOENT) => {
                        contended = true;
                        *staged = Staged::create(folder, names, record)?;
                        Look::StagedAgain
                    }
                    // Not a folder at the lock folder's name: say so.
                    Some(rustix::io::Errno::NOTDIR) => {
                        return Err(folder.open_folder(&names.lock).err().unwrap_or(error).into());
                    }
                    _ => return Err(error.into()),
                },
            };
            match look {
                // The rename went through (its reply may have been lost on NFS and the
                // rename reported failed).
                Look::Ours => return Ok(contended),
                Look::Free | Look::TookOver | Look::StagedAgain if quick_retries < QUICK_RETRIES => {
                    quick_retries += 1;
                    continue;
                }
                Look::Free | Look::TookOver | Look::StagedAgain | Look::Held => quick_retries = 0,
            }
            let waited = started.elapsed();
            if self.paths.gave_up(waited, timeout) {
                return Err(WaitError::TimedOut(waited));
            }
            std::thread::sleep(poll.min(timeout - waited));
            poll = (poll * 3 / 2).min(LONGEST_POLL);
        }
    }

    /// Opens the lock folder and looks into it.
    fn look(&mut self, our_entry: Option<&str>) -> io::Result<Look> {
        match self.folder.open_folder(&self.names.lock) {
            Ok(lock) => self.look_into(&lock, our_entry),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Look::Free),
            Err(error) => Err(error),
        }
    }

    /// Looks into the lock folder opened as `lock` and removes what is stale in it. Whatever
    /// the name leads to meanwhile, what is judged and removed is in the folder opened.
    pub(super) fn look_into(&mut self, lock: &SubFolder, our_entry: Option<&str>) -> io::Result<Look> {
        let entries = lock.names()?;
        if let Some(foreign) = entries.iter().find(|name| !is_entry_name(name)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "it holds {foreign:?}, which tapis did not make; if no tapis process is using the token file, remove the folder"
                ),
            ));
        }
        if our_entry.is_some_and(|ours| entries.iter().any(|name| name == ours)) {
            return Ok(Look::Ours);
        }
        let mut look = Look::Free;
        for entry in &entries {
            match self.owner_of(lock, entry)? {
                Owner::Alive => return Ok(Look::Held),
                Owner::Dead => {
                    // The takeover: this name belongs to the acquisition judged stale and to
                    // no other, so this removes that lock or, if it is gone already, nothing.
                    match lock.remove_file(entry) {
                        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                        _ => look = Look::TookOver,
                    }
                }
                Owner::EntryGone => {}
            }
        }
        let _ = self.folder.remove_empty_folder(&self.names.lock);
        Ok(look)
    }

    /// Judges the owner of `entry` (see the module comment).
    fn owner_of(&mut self, lock: &SubFolder, entry: &str) -> io::Result<Owner> {
        let (record, stat) = match lock.open_file(entry) {
            Ok((file, stat)) => {
                check_ours(&stat, rustix::fs::FileType::RegularFile)?;
                (OwnerRecord::read_from(&file), stat)
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Owner::EntryGone),
            // Not openable (a link, a FIFO, no read permission): its type and owner decide
            // whether it is refused, and its heartbeat whether it is stale.
            Err(error) => match lock.stat(entry) {
                Ok(stat) => {
                    check_ours(&stat, rustix::fs::FileType::RegularFile)?;
                    (None, stat)
                }
                Err(_) => return Err(error),
            },
        };
        let record = record.filter(|record| format!("{}{ENTRY_SUFFIX}", record.nonce) == entry);
        let dead = match record {
            Some(record) if self.machine.is_this_one(&record) => record.process_is_gone(),
            // Another machine's, or a record that cannot be placed: only the heartbeat tells.
            _ => self.watch.is_stale(entry, Beat::of(&stat), Instant::now()),
        };
        Ok(if dead { Owner::Dead } else { Owner::Alive })
    }
}

/// Whose an entry is, as far as a waiter can tell.
enum Owner {
    /// Its owner is alive, or may be.
    Alive,
    /// Its owner is gone, or its heartbeat stopped for a lease: it may be taken over.
    Dead,
    /// The entry is no longer there.
    EntryGone,
}

#[cfg(test)]
mod tests;
