//! The lock folder: the token file's lock where the file system refuses `flock` (Lustre
//! mounted without `flock`, NFS without a lock daemon, some FUSE and SMB mounts).
//!
//! # The protocol
//!
//! The lock is the folder `L` = `<token file>.lock.d`. It is held by whoever's *entry* is in
//! it: one file named `<nonce>.owner`, where the nonce is 128 random bits drawn for this one
//! acquisition, holding the owner record (host name, boot id, pid namespace, pid, the
//! process's start time from `/proc/<pid>/stat` field 22, the nonce). Its mtime is the
//! heartbeat.
//!
//! - **Acquire.** Make a private staging folder `S` = `.<token file>.lock.<nonce>.new` next
//!   to the token file, write and fsync the entry in it (on NFS, unsynced data of a file that
//!   stays open would not reach the server, and others would read an empty record), then
//!   `rename(S, L)`. A directory renames over a name that does not exist or is an *empty*
//!   directory, and fails (EEXIST, ENOTEMPTY) over a non-empty one, atomically: this is the
//!   exclusive create. So `L` appears with its record already complete; there is no moment
//!   when a lock exists without its owner's name in it. (A plain `O_CREAT|O_EXCL` owner file
//!   has that moment, between the create and the write, and a stale one can only be taken
//!   over by name — see below.)
//! - **Hold.** A heartbeat thread sets the entry's mtime to "now" every
//!   [`FALLBACK_HEARTBEAT_PERIOD`] through the open file (`futimens` with `UTIME_NOW`, so on
//!   NFS the server's clock), never through the path.
//! - **Release.** Stop the heartbeat, `unlink(L/<nonce>.owner)`, then `rmdir(L)`.
//! - **Wait.** When the rename fails, look in `L`. An entry of this machine (same host name,
//!   boot id and pid namespace) whose process is gone (no such pid, a zombie, or another
//!   start time: the pid was reused) is stale at once. Any other entry (another machine, or a
//!   record that cannot be read) is stale when its mtime is more than
//!   [`FALLBACK_STALE_AFTER`] old. A stale entry is unlinked, `L` is removed if empty, and the
//!   rename is tried again at once; otherwise the wait goes on, polled, until the timeout.
//!
//! # Why a takeover cannot break a live lock, and two cannot both win
//!
//! Every entry name is unique to one acquisition (the nonce), and nothing ever puts an
//! entry into an existing `L`: entries arrive only inside a staging folder renamed onto a
//! missing or empty `L`. So `L` holds at most one entry, and "acquisition N holds the lock"
//! is exactly "the name `L/N.owner` exists".
//!
//! - A taker that judged N stale removes the name `L/N.owner` and nothing else. If N was
//!   released or taken over meanwhile and someone else M now holds the lock, M's entry has
//!   another name: the unlink fails with ENOENT and M is untouched. This is what a fixed
//!   owner-file name cannot give: between judging `L/owner` stale and removing (or renaming)
//!   it, the file at that name may already be a new holder's, and moving a live file aside
//!   even for a moment to check it lets a third process create the lock meanwhile — two
//!   holders, whatever is put back afterwards.
//! - Of several takers of N, each unlinks the same name, so exactly one succeeds; the others
//!   get ENOENT. None of them holds anything yet: each then races for the now empty `L` by
//!   renaming its staging folder, which only one rename can win (once `L` has an entry, the
//!   others' renames fail). `rmdir(L)` is harmless to anyone: it removes only an empty
//!   folder, which is a free lock.
//! - A holder's release unlinks only its own name, so a holder that was taken over (see
//!   the limit below) removes nothing of its successor's.
//! - The judgement "stale" must be final, and it is: a process that is gone on this machine
//!   never comes back (the boot id and the start time rule out a reboot and a reused pid), so
//!   a live process on this machine is never taken over, however long it holds the lock (at a
//!   password prompt). The judgement of another machine's entry is a lease: a holder whose
//!   heartbeat has stopped for [`FALLBACK_STALE_AFTER`] (4 periods) is taken to be dead. A
//!   holder that is frozen that long (SIGSTOP, a suspended VM) and then resumes, or clocks
//!   that disagree by that much, can make two holders; the token file stays whole either
//!   way (every save is an atomic rename), at worst with two logins.
//!
//! Debris — a staging folder of a process killed before its rename — never blocks anyone
//! (it is not `L`); the next release on the same machine removes those whose owner is gone.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::LockPaths;
use crate::StoreError;

/// How often a holder of the lock folder refreshes its entry's mtime.
pub const FALLBACK_HEARTBEAT_PERIOD: Duration = Duration::from_secs(5);

/// How old the heartbeat of an entry from another machine (or of an unreadable entry) must be
/// for the entry to count as stale and be taken over: four heartbeat periods.
pub const FALLBACK_STALE_AFTER: Duration = Duration::from_secs(4 * FALLBACK_HEARTBEAT_PERIOD.as_secs());

/// The first wait between two looks at a held lock folder; it grows to [`LONGEST_POLL`], so
/// that a process waiting minutes on a network file system does not query the server fifty
/// times a second, while a herd still picks up a fresh token within a fraction of a second.
const FIRST_POLL: Duration = Duration::from_millis(20);
const LONGEST_POLL: Duration = Duration::from_millis(250);

/// A staged entry whose mtime is older than this is refreshed before the next rename, so that
/// a lock is never published with an old heartbeat after a long wait.
const REFRESH_STAGED_AFTER: Duration = Duration::from_secs(1);

/// How many times in a row a look that freed the lock (a takeover, an empty folder removed)
/// is followed by a new attempt without a pause.
const QUICK_RETRIES: u32 = 8;

/// At most this much of an entry is read; a record is about 200 bytes.
const MAX_RECORD_BYTES: u64 = 4096;

const ENTRY_SUFFIX: &str = ".owner";
const STAGING_SUFFIX: &str = ".new";

/// The lock folder, held until dropped.
#[derive(Debug)]
pub(crate) struct Held {
    folder_lock: PathBuf,
    entry: PathBuf,
    heartbeat: Option<Heartbeat>,
    folder: PathBuf,
    staging_prefix: String,
    machine: Machine,
}

#[derive(Debug)]
struct Heartbeat {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// Takes the lock folder, waiting until `timeout` after `started`.
pub(crate) fn acquire(paths: &LockPaths, started: Instant, timeout: Duration) -> Result<Held, StoreError> {
    let lock_error = |source| StoreError::Lock { path: paths.folder_lock.clone(), source };
    let machine = Machine::current();
    let record = Record::ours(&machine, new_nonce());
    let mut staged = Staged::create(paths, &record).map_err(lock_error)?;
    match wait_for(paths, &machine, &record, &mut staged, started, timeout) {
        Ok(()) => Held::start(paths, machine, staged),
        Err(error) => {
            staged.discard();
            Err(error)
        }
    }
}

fn wait_for(
    paths: &LockPaths,
    machine: &Machine,
    record: &Record,
    staged: &mut Staged,
    started: Instant,
    timeout: Duration,
) -> Result<(), StoreError> {
    let lock_error = |source| StoreError::Lock { path: paths.folder_lock.clone(), source };
    let mut poll = FIRST_POLL;
    let mut quick_retries = 0;
    loop {
        staged.refresh_if_old();
        let look = match fs::rename(&staged.folder, &paths.folder_lock) {
            Ok(()) => return Ok(()),
            Err(error) => match fs::symlink_metadata(&paths.folder_lock) {
                // Held, or not a folder: the look tells.
                Ok(_) => inspect(paths, machine, &staged.entry_name)?,
                // Our staging folder is gone (removed as debris by a process that took this
                // one for dead) and no lock folder holds it: stage again, with the same nonce.
                Err(missing) if missing.kind() == io::ErrorKind::NotFound && !staged.exists() => {
                    *staged = Staged::create(paths, record).map_err(lock_error)?;
                    Look::Freed
                }
                // The lock folder went away in between: try again.
                Err(missing) if missing.kind() == io::ErrorKind::NotFound && is_taken(&error) => Look::Freed,
                Err(_) => return Err(lock_error(error)),
            },
        };
        match look {
            // The rename went through although it said not (a reply lost on NFS).
            Look::Ours => return Ok(()),
            Look::Freed if quick_retries < QUICK_RETRIES => {
                quick_retries += 1;
                continue;
            }
            Look::Freed | Look::Held => quick_retries = 0,
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(StoreError::LockTimeout { path: paths.folder_lock.clone(), waited });
        }
        std::thread::sleep(poll.min(timeout - waited));
        poll = (poll * 3 / 2).min(LONGEST_POLL);
    }
}

/// Whether a rename failed because the lock folder is there and not empty.
fn is_taken(error: &io::Error) -> bool {
    use rustix::io::Errno;
    error
        .raw_os_error()
        .is_some_and(|code| code == Errno::EXIST.raw_os_error() || code == Errno::NOTEMPTY.raw_os_error())
}

/// What a look into the lock folder found.
enum Look {
    /// Our own entry is in it.
    Ours,
    /// The lock is free now (we removed a stale entry or an empty folder, or the holder left):
    /// worth another rename at once.
    Freed,
    /// Someone live holds it.
    Held,
}

/// Looks into the lock folder and removes what is stale in it (see the module comment).
fn inspect(paths: &LockPaths, machine: &Machine, our_entry: &str) -> Result<Look, StoreError> {
    let folder_lock = &paths.folder_lock;
    let lock_error = |source| StoreError::Lock { path: folder_lock.clone(), source };
    let metadata = match fs::symlink_metadata(folder_lock) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Look::Freed),
        Err(error) => return Err(lock_error(error)),
    };
    let owner = metadata.uid();
    if owner != rustix::process::geteuid().as_raw() {
        return Err(StoreError::LockNotOwned { path: folder_lock.clone(), owner });
    }
    if !metadata.is_dir() {
        return Err(lock_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a folder; remove it (tapis creates it again)",
        )));
    }
    let names: Vec<OsString> = match fs::read_dir(folder_lock) {
        Ok(entries) => entries.filter_map(|entry| entry.ok().map(|entry| entry.file_name())).collect(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Look::Freed),
        Err(error) => return Err(lock_error(error)),
    };
    if names.is_empty() {
        // An empty lock folder is a free lock (a holder that died between its unlink and its
        // rmdir). rmdir removes only an empty folder, so it cannot remove a new holder's.
        return Ok(match fs::remove_dir(folder_lock) {
            Ok(()) => Look::Freed,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Look::Freed,
            Err(_) => Look::Held,
        });
    }
    let mut look = Look::Held;
    for name in names {
        if name == our_entry {
            return Ok(Look::Ours);
        }
        let entry = folder_lock.join(&name);
        match judge(&entry, machine) {
            Verdict::Live => {}
            Verdict::Gone => look = Look::Freed,
            Verdict::Stale => {
                // The takeover: this name belongs to the acquisition judged stale and to no
                // other, so this removes that lock or, if it is gone already, nothing.
                match remove_entry(&entry) {
                    Ok(()) => {}
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => return Err(lock_error(error)),
                }
                let _ = fs::remove_dir(folder_lock);
                look = Look::Freed;
            }
        }
    }
    Ok(look)
}

/// An entry is normally a file; anything else found there is removed as simply.
fn remove_entry(entry: &Path) -> io::Result<()> {
    match fs::remove_file(entry) {
        Err(error) if fs::symlink_metadata(entry).is_ok_and(|metadata| metadata.is_dir()) => {
            fs::remove_dir(entry).map_err(|_| error)
        }
        other => other,
    }
}

/// What an entry in the lock folder (or in a staging folder) is.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Its owner is alive, or may be.
    Live,
    /// Its owner is gone, or its heartbeat has stopped: it may be taken over.
    Stale,
    /// It is no longer there.
    Gone,
}

/// Judges one entry (see the module comment).
fn judge(entry: &Path, machine: &Machine) -> Verdict {
    // Opening it (rather than only stat-ing the path) makes an NFS client fetch fresh
    // attributes, so the heartbeat seen is the server's, not a cached one.
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(entry);
    let (record, modified) = match opened {
        Ok(file) => match file.metadata() {
            Ok(metadata) => {
                let record = metadata.is_file().then(|| read_record(&file)).flatten();
                (record, metadata.modified().ok())
            }
            Err(_) => return Verdict::Live,
        },
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Verdict::Gone,
        Err(_) => match fs::symlink_metadata(entry) {
            Ok(metadata) => (None, metadata.modified().ok()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Verdict::Gone,
            Err(_) => return Verdict::Live,
        },
    };
    let name_matches = |record: &Record| {
        entry.file_name().and_then(|name| name.to_str()) == Some(format!("{}{ENTRY_SUFFIX}", record.nonce).as_str())
    };
    match record.filter(name_matches) {
        Some(record) if machine.is_this_one(&record) => {
            if record.process_is_gone() {
                Verdict::Stale
            } else {
                Verdict::Live
            }
        }
        // Another machine's, or a record that cannot be read: only the heartbeat tells.
        _ if is_older_than_the_bound(modified) => Verdict::Stale,
        _ => Verdict::Live,
    }
}

/// Whether a heartbeat at `modified` is more than [`FALLBACK_STALE_AFTER`] ago. A time in the
/// future (clocks that disagree) is not.
fn is_older_than_the_bound(modified: Option<SystemTime>) -> bool {
    let age = modified.and_then(|modified| SystemTime::now().duration_since(modified).ok());
    age.is_some_and(|age| age > FALLBACK_STALE_AFTER)
}

fn read_record(file: &File) -> Option<Record> {
    let mut bytes = Vec::new();
    file.take(MAX_RECORD_BYTES).read_to_end(&mut bytes).ok()?;
    Record::parse(&bytes)
}

/// This machine, as far as pids mean the same thing: the host name, the kernel's boot id and
/// the pid namespace (each `None` where it cannot be read).
#[derive(Debug)]
struct Machine {
    host: String,
    boot_id: Option<String>,
    pid_namespace: Option<String>,
}

impl Machine {
    fn current() -> Self {
        let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok();
        let pid_namespace = fs::read_link("/proc/self/ns/pid").ok();
        Self {
            host: crate::host_name(),
            boot_id: boot_id.map(|id| id.trim().to_owned()).filter(|id| !id.is_empty()),
            pid_namespace: pid_namespace.and_then(|link| link.to_str().map(str::to_owned)),
        }
    }

    /// Whether `record`'s pid can be looked up here. Anything that differs — another host, a
    /// reboot, a container's own pid namespace — makes it another machine's, judged by its
    /// heartbeat alone: a wait of at most [`FALLBACK_STALE_AFTER`] is the price of a wrong
    /// "other", a broken lock that of a wrong "same".
    fn is_this_one(&self, record: &Record) -> bool {
        record.host == self.host && record.boot_id == self.boot_id && record.pid_namespace == self.pid_namespace
    }
}

/// The owner record in an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    host: String,
    boot_id: Option<String>,
    pid_namespace: Option<String>,
    pid: i32,
    /// `/proc/<pid>/stat` field 22: when the process started, in clock ticks since boot.
    start_time: Option<u64>,
    nonce: String,
}

impl Record {
    fn ours(machine: &Machine, nonce: String) -> Self {
        let pid = std::process::id() as i32;
        Self {
            host: machine.host.clone(),
            boot_id: machine.boot_id.clone(),
            pid_namespace: machine.pid_namespace.clone(),
            pid,
            start_time: process_stat(pid).map(|stat| stat.start_time),
            nonce,
        }
    }

    fn render(&self) -> Vec<u8> {
        let record = json!({
            "host": self.host,
            "boot_id": self.boot_id,
            "pid_namespace": self.pid_namespace,
            "pid": self.pid,
            "start_time": self.start_time,
            "nonce": self.nonce,
        });
        format!("{record}\n").into_bytes()
    }

    fn parse(bytes: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let pid = value.get("pid").and_then(Value::as_i64).and_then(|pid| i32::try_from(pid).ok());
        Some(Self {
            host: text("host")?,
            boot_id: text("boot_id"),
            pid_namespace: text("pid_namespace"),
            pid: pid.filter(|pid| *pid > 0)?,
            start_time: value.get("start_time").and_then(Value::as_u64),
            nonce: text("nonce").filter(|nonce| !nonce.is_empty())?,
        })
    }

    /// Whether the recorded process (on this machine) no longer exists: no such pid, a zombie
    /// (killed, not yet reaped: it will never release anything), or a process that started at
    /// another time (the pid was reused). A process whose `/proc` entry cannot be read counts
    /// as alive.
    fn process_is_gone(&self) -> bool {
        if !crate::process_exists(self.pid) {
            return true;
        }
        match process_stat(self.pid) {
            Some(stat) => {
                matches!(stat.state, b'Z' | b'X') || self.start_time.is_some_and(|start| start != stat.start_time)
            }
            None => false,
        }
    }
}

/// Two fields of `/proc/<pid>/stat`.
struct ProcessStat {
    /// Field 3: `R`, `S`, `Z` (zombie), ...
    state: u8,
    /// Field 22.
    start_time: u64,
}

fn process_stat(pid: i32) -> Option<ProcessStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2, the command name, is in parentheses and may hold spaces and parentheses: the
    // fields after it start after the last ')'.
    let mut fields = text.get(text.rfind(')')? + 1..)?.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    // Fields 4 to 21 are skipped; the 19th after field 3 is field 22.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcessStat { state, start_time })
}

/// 128 bits from the kernel's random source, in hex; where that cannot be read, a hash of the
/// host, pid, time and a counter, which is as unique if less unpredictable.
fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    let random = File::open("/dev/urandom").and_then(|mut source| source.read_exact(&mut bytes));
    if random.is_err() {
        use std::hash::{BuildHasher as _, Hasher as _};
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos();
        for (index, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write(crate::host_name().as_bytes());
            hasher.write_u32(std::process::id());
            hasher.write_u128(nanos);
            hasher.write_u64(count);
            hasher.write_usize(index);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Sets a file's mtime to the file system's "now", through the open file.
fn touch(file: &File) -> io::Result<()> {
    use rustix::fs::{Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};
    let times = Timestamps {
        last_access: Timespec { tv_sec: 0, tv_nsec: UTIME_OMIT },
        last_modification: Timespec { tv_sec: 0, tv_nsec: UTIME_NOW },
    };
    rustix::fs::futimens(file, &times).map_err(io::Error::from)
}

/// A staging folder holding this acquisition's entry, not yet renamed onto the lock folder.
struct Staged {
    folder: PathBuf,
    entry_name: String,
    file: File,
    touched: Instant,
}

impl Staged {
    fn create(paths: &LockPaths, record: &Record) -> io::Result<Self> {
        let folder = paths.folder.join(format!("{}{}{STAGING_SUFFIX}", staging_prefix(paths), record.nonce));
        fs::DirBuilder::new().mode(0o700).create(&folder)?;
        let entry_name = format!("{}{ENTRY_SUFFIX}", record.nonce);
        let written = (|| {
            let mut file =
                OpenOptions::new().write(true).create_new(true).mode(0o600).open(folder.join(&entry_name))?;
            file.write_all(&record.render())?;
            file.sync_all()?;
            Ok(file)
        })();
        match written {
            Ok(file) => Ok(Self { folder, entry_name, file, touched: Instant::now() }),
            Err(error) => {
                let _ = fs::remove_file(folder.join(&entry_name));
                let _ = fs::remove_dir(&folder);
                Err(error)
            }
        }
    }

    fn exists(&self) -> bool {
        fs::symlink_metadata(&self.folder).is_ok()
    }

    fn refresh_if_old(&mut self) {
        if self.touched.elapsed() >= REFRESH_STAGED_AFTER {
            let _ = touch(&self.file);
            self.touched = Instant::now();
        }
    }

    /// Removes the staging folder of an acquisition that did not happen.
    fn discard(self) {
        let _ = fs::remove_file(self.folder.join(&self.entry_name));
        let _ = fs::remove_dir(&self.folder);
    }
}

/// `.<token file>.lock.`: what the staging folders' names start with.
fn staging_prefix(paths: &LockPaths) -> String {
    format!(".{}.lock.", paths.token_file_name)
}

impl Held {
    /// The lock is ours (the rename went through): start the heartbeat.
    fn start(paths: &LockPaths, machine: Machine, staged: Staged) -> Result<Self, StoreError> {
        let Staged { entry_name, file: staged_file, .. } = staged;
        let entry = paths.folder_lock.join(entry_name);
        // The heartbeat goes through the entry as it is in the lock folder now. That is the
        // staged file, unless the rename's reply was lost and the entry was staged again: the
        // name, unique to this acquisition, says which is the lock.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&entry)
            .unwrap_or(staged_file);
        let mut held = Self {
            folder_lock: paths.folder_lock.clone(),
            entry,
            heartbeat: None,
            folder: paths.folder.clone(),
            staging_prefix: staging_prefix(paths),
            machine,
        };
        let _ = touch(&file);
        let (stop, stopped) = mpsc::channel::<()>();
        let period = paths.heartbeat_period;
        let spawned = std::thread::Builder::new().name("tapis-lock-heartbeat".to_owned()).spawn(move || {
            // Until the sender is dropped (the lock released) or the process ends.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                let _ = touch(&file);
            }
        });
        match spawned {
            Ok(thread) => {
                held.heartbeat = Some(Heartbeat { stop, thread });
                Ok(held)
            }
            // Without a heartbeat other machines would take the lock over: give it back.
            Err(source) => Err(StoreError::Lock { path: held.folder_lock.clone(), source }),
        }
    }

    /// Removes staging folders left by processes on this machine that died before their
    /// rename (best effort). They never block anyone; this only tidies the folder.
    fn remove_orphaned_staging(&self) {
        let Ok(entries) = fs::read_dir(&self.folder) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.starts_with(&self.staging_prefix) && name.ends_with(STAGING_SUFFIX)) {
                continue;
            }
            let staging = entry.path();
            let Ok(inside) = fs::read_dir(&staging) else { continue };
            let inside: Vec<PathBuf> = inside.flatten().map(|entry| entry.path()).collect();
            let stale = match inside.as_slice() {
                // Killed between the mkdir and the create.
                [] => is_older_than_the_bound(fs::symlink_metadata(&staging).and_then(|m| m.modified()).ok()),
                [entry] => judge(entry, &self.machine) == Verdict::Stale,
                _ => false,
            };
            if stale {
                for entry in &inside {
                    let _ = fs::remove_file(entry);
                }
                let _ = fs::remove_dir(&staging);
            }
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(Heartbeat { stop, thread }) = self.heartbeat.take() {
            drop(stop);
            let _ = thread.join();
        }
        // Our entry by its unique name: if the lock was taken over meanwhile, the name is gone
        // and whoever holds the lock now is untouched; rmdir removes the folder only if empty.
        let _ = fs::remove_file(&self.entry);
        let _ = fs::remove_dir(&self.folder_lock);
        self.remove_orphaned_staging();
    }
}
