//! The Tapis token file: bounded load, atomic 0600 save, removal, and the cross-process lock.
//!
//! ```
//! use tapis_auth_core::{AccessToken, SecretString, TokenSet, expiry::parse_expires_at};
//! use tapis_store::{ForUpdate, TokenStore};
//!
//! let folder = tempfile::tempdir()?;
//! let store = TokenStore::new(folder.path().join("tokens.json"));
//! assert!(store.load()?.tokens.is_none()); // no file yet: no token, not an error
//!
//! let expires_at = parse_expires_at("2025-09-05T02:30:48+00:00")?;
//! let access = AccessToken::new(SecretString::from("opaque"), Some(expires_at))?;
//! {
//!     // A write takes the lock, reads the file, decides, and replaces it only if the file
//!     // still holds what was read.
//!     let lock = store.lock(std::time::Duration::from_secs(5))?;
//!     let ForUpdate { contents, guard } = store.read_for_update(&lock)?;
//!     assert!(contents?.tokens.is_none());
//!     guard.replace_tokens(&TokenSet::new(access))?;
//! }
//! let loaded = store.load()?.tokens.expect("just saved");
//! assert_eq!(loaded.access.expires_at(), expires_at);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guarantees
//!
//! - Every write is guarded by what was read: the file is read under the lock
//!   ([`TokenStore::read_for_update`]), and replaced or removed only through the
//!   [`WriteGuard`] that read gave, which checks right before the rename (or unlink) that the
//!   lock is still held and that the file still holds what was read. There is no other way
//!   to write the file.
//! - Only "not found" is "no token": a file that cannot be read (EIO, ESTALE, EACCES, ...)
//!   is [`StoreError::Unreadable`], and nothing replaces or removes it. A file whose
//!   contents are unusable ([`StoreError::Corrupt`]) counts as no token, and before it is
//!   replaced or removed it is kept as `<token file>.corrupt-<time>` ([`Written::corrupt_copy`]).
//! - A save writes a temporary file in the same folder (created 0600), fsyncs it, renames it
//!   over the token file and fsyncs the folder: a reader sees the old file or the new one,
//!   never an empty or partial one, even if the writer is killed at any moment.
//! - A failed save leaves the previous file untouched.
//! - The token path itself is never written through: if it is a symbolic link, saving refuses.
//! - A token file owned by another user is refused; one that is group- or world-readable is
//!   tightened to 0600 on load, and [`Loaded::loose_mode`] reports it
//!   ([`TokenStore::load_read_only`] leaves it as it is, and reports that).
//! - The lock file, too, must be a regular file of this user's; another user's is refused at
//!   once, not waited on.
//! - Where the file system refuses `flock` (ENOSYS, ENOLCK, EOPNOTSUPP), the lock is the
//!   folder `<token file>.lock.d` instead ([`LockKind::LockFolder`]), with the same
//!   guarantees: one holder at a time, and a lock left by a dead process is taken over (at
//!   once on the same machine; from another, once its heartbeat has not changed for
//!   [`FALLBACK_STALE_AFTER`] as the waiter watched). A holder that lost it (stopped longer
//!   than that) learns so from [`StoreLock::verify_held`].
#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod format;
mod guard;
mod lock;
mod platform;
pub mod profiles;

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use format::{FormatError, MAX_TOKEN_FILE_BYTES};
pub use lock::{FALLBACK_HEARTBEAT_PERIOD, FALLBACK_STALE_AFTER, LockKind, StoreLock};
use tapis_auth_core::{BaseUrl, KeptClient, TokenSet};

use crate::guard::{Changed, Identity, Seen};

/// The file name the notebooks' `connect_tapis()` uses, in the home folder.
pub const DEFAULT_TOKEN_FILE_NAME: &str = ".tapis_tokens.json";

/// How long [`TokenStore::lock`] waits by default before giving up.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// `~/.tapis_tokens.json`, the file the DesignSafe notebooks share; `None` without a home folder.
pub fn default_token_file_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().join(DEFAULT_TOKEN_FILE_NAME))
}

/// What went wrong with the token file. Every variant names the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file exists but its contents are not a usable token. Callers treat this as "no
    /// token" (a login replaces the file, after keeping a copy of it), as the notebooks do.
    #[error("the token file {path} is not usable: {reason}")]
    Corrupt {
        /// The token file.
        path: PathBuf,
        /// What is wrong with its contents.
        reason: FormatError,
    },
    /// The file could not be read (an I/O error, a stale NFS handle, permissions, a folder
    /// where the file should be, ...). Never "no token": nothing replaces or removes it.
    #[error("cannot read the token file {path}: {source}; it was left as it is")]
    Unreadable {
        /// The token file.
        path: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },
    /// The file belongs to another user; like OpenSSH with key files, it is not used.
    #[error(
        "the token file {path} belongs to another user (uid {owner}); refusing to use it — remove it or choose another token file"
    )]
    NotOwned {
        /// The token file.
        path: PathBuf,
        /// The owner's user id.
        owner: u32,
    },
    /// The token path is a symbolic link; tokens are not written through links.
    #[error(
        "the token file {path} is a symbolic link; tokens are not written through links — use the real file or remove the link"
    )]
    Symlink {
        /// The token file.
        path: PathBuf,
    },
    /// Saving failed; the previous file, if any, is untouched.
    #[error("cannot save the token file {path} (the previous file is unchanged): {source}")]
    Write {
        /// The token file.
        path: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },
    /// Removing the file failed.
    #[error("cannot remove the token file {path}: {source}")]
    Remove {
        /// The token file.
        path: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },
    /// The file changed between the read under the lock and the write (a program that does
    /// not take the lock wrote it); nothing was written.
    #[error(
        "the token file {path} changed while this process held its lock (a program that does not take the lock wrote it); nothing was written — try again"
    )]
    ChangedMeanwhile {
        /// The token file.
        path: PathBuf,
    },
    /// The lock was no longer this process's right before a write; nothing was written.
    #[error("the lock {lock} on {path} was lost before writing: {source}; nothing was written — try again")]
    LockLost {
        /// The token file.
        path: PathBuf,
        /// The lock file or folder.
        lock: PathBuf,
        /// Why the lock is no longer held.
        source: io::Error,
    },
    /// An unusable file could not be kept as a copy before being replaced; nothing was
    /// written.
    #[error("cannot keep a copy of the unusable token file {path} as {copy}: {source}; nothing was written")]
    KeepCopy {
        /// The token file.
        path: PathBuf,
        /// Where the copy was to go.
        copy: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The error from the operating system.
        source: io::Error,
    },
    /// The lock file belongs to another user (a shared folder); it is not waited on.
    #[error(
        "the lock file {path} belongs to another user (uid {owner}); refusing to wait on it — remove it or use another token file"
    )]
    LockNotOwned {
        /// The lock file.
        path: PathBuf,
        /// The owner's user id.
        owner: u32,
    },
    /// Another process held the lock for longer than the wait allowed.
    #[error("another process has held {path} for more than {:.1}s (it may be waiting for a password); try again, or wait longer for the lock", waited.as_secs_f64())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
}

impl StoreError {
    /// Whether the error means "there is no usable token here" rather than a failure: only a
    /// file whose contents are unusable ([`StoreError::Corrupt`]). A file that cannot be read
    /// is an error, never "no token". A login replaces a corrupt file, keeping a copy.
    pub fn counts_as_no_token(&self) -> bool {
        matches!(self, Self::Corrupt { .. })
    }

    /// Whether the error says that nothing can be written where the token file is: a
    /// read-only file system (EROFS), or a folder this user may not write to (EACCES,
    /// EPERM), met when creating the lock file or saving. A token obtained anyway is still
    /// usable for the run.
    pub fn is_read_only_place(&self) -> bool {
        match self {
            Self::Lock { source, .. } | Self::Write { source, .. } => platform::os_error::is_read_only_place(source),
            _ => false,
        }
    }
}

/// The result of [`TokenStore::load`].
#[derive(Debug, Default)]
pub struct Loaded {
    /// The saved tokens; `None` when there is no file, or when it keeps only a client.
    pub tokens: Option<TokenSet>,
    /// The OAuth client a logout kept, when the file holds it and no tokens.
    pub kept_client: Option<KeptClient>,
    /// Whether the file was group- or world-accessible, and what the load did about it;
    /// `None` when it was not (or there is no file).
    pub loose_mode: Option<LooseMode>,
}

/// The token file as [`TokenStore::read_for_update`] read it under the lock.
#[derive(Debug)]
pub struct ForUpdate<'a> {
    /// What the file holds (no token when there is no file), or [`StoreError::Corrupt`]
    /// when its contents are unusable, which a login may replace.
    pub contents: Result<Loaded, StoreError>,
    /// The only way to replace or remove the file, guarded by what was read.
    pub guard: WriteGuard<'a>,
}

/// Replaces or removes the token file, if the lock is still held and the file still holds
/// what [`TokenStore::read_for_update`] read; otherwise nothing is written and the error is
/// [`StoreError::LockLost`] or [`StoreError::ChangedMeanwhile`] (read again and decide
/// again). A file whose contents were unusable is kept as a copy first
/// ([`Written::corrupt_copy`]).
#[derive(Debug)]
pub struct WriteGuard<'a> {
    store: &'a TokenStore,
    lock: &'a StoreLock,
    seen: Seen,
    corrupt: bool,
}

/// What a [`WriteGuard`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Written {
    /// Whether there was a file, now replaced or removed.
    pub replaced_file: bool,
    /// Where the unusable file that was replaced or removed was kept.
    pub corrupt_copy: Option<PathBuf>,
}

impl WriteGuard<'_> {
    /// Whether the read found a file.
    pub fn found_file(&self) -> bool {
        self.seen != Seen::Missing
    }

    /// Saves `tokens` over the file, atomically (see the crate's guarantees).
    pub fn replace_tokens(self, tokens: &TokenSet) -> Result<Written, StoreError> {
        self.write(Some(&format::render_token_file(tokens)))
    }

    /// Saves a file that keeps an OAuth client and no tokens (see
    /// [`format::render_kept_client`]), as atomically.
    pub fn replace_kept_client(self, kept: &KeptClient) -> Result<Written, StoreError> {
        self.write(Some(&format::render_kept_client(kept)))
    }

    /// Removes the file; [`Written::replaced_file`] says whether there was one.
    pub fn remove(self) -> Result<Written, StoreError> {
        self.write(None)
    }

    fn write(self, bytes: Option<&[u8]>) -> Result<Written, StoreError> {
        let corrupt_copy = if self.corrupt { self.store.keep_corrupt_copy(&self.seen)? } else { None };
        self.store.write_guarded(self.lock, &self.seen, bytes)?;
        Ok(Written { replaced_file: self.found_file(), corrupt_copy })
    }
}

/// A token file's mode that lets group or others in, as a load found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LooseMode {
    /// [`TokenStore::load`] set it to 0600; the old mode.
    Tightened(u32),
    /// [`TokenStore::load_read_only`] left it as it is; the mode.
    LeftAsIs(u32),
}

/// The token file at one path.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
    heartbeat_period: Duration,
    lock_lease: Duration,
}

impl TokenStore {
    /// A store for the token file at `path` (nothing is touched until a method is called).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), heartbeat_period: FALLBACK_HEARTBEAT_PERIOD, lock_lease: FALLBACK_STALE_AFTER }
    }

    /// How often a lock folder this store holds is refreshed, where `flock` is refused
    /// (default [`FALLBACK_HEARTBEAT_PERIOD`]). Waiters take a lock over once its heartbeat
    /// has not changed for their lease (default [`FALLBACK_STALE_AFTER`]) whatever this is, so
    /// keep it well under a quarter of that; a shorter one lets a test see a heartbeat without
    /// waiting seconds.
    #[must_use]
    pub fn with_heartbeat_period(mut self, period: Duration) -> Self {
        self.heartbeat_period = period;
        self
    }

    /// How long this store, waiting for a lock folder held on another machine, watches its
    /// heartbeat not change before taking the lock over (default [`FALLBACK_STALE_AFTER`]).
    /// Every process sharing a token file must use a lease several times longer than the
    /// heartbeat period of the others; a short one lets a test see a takeover without
    /// waiting minutes.
    #[must_use]
    pub fn with_lock_lease(mut self, lease: Duration) -> Self {
        self.lock_lease = lease;
        self
    }

    /// The token file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sidecar lock file's path: `<token file>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// The lock folder's path, `<token file>.lock.d`: the lock where the file system does not
    /// support `flock` ([`LockKind::LockFolder`]). It exists only while the lock is held.
    pub fn lock_folder_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock.d");
        PathBuf::from(name)
    }

    /// Reads the saved tokens. A missing file is `Ok` with no tokens; a file that is not a
    /// usable token is [`StoreError::Corrupt`]. At most [`MAX_TOKEN_FILE_BYTES`] are read.
    /// Needs no lock: saves are atomic renames.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        self.load_with(Tighten::Yes)
    }

    /// Reads the saved tokens as [`TokenStore::load`] does, but never changes the file: a
    /// group- or world-accessible file is reported as [`LooseMode::LeftAsIs`] and left
    /// as it is. For commands that only look (`status`, listing profiles).
    pub fn load_read_only(&self) -> Result<Loaded, StoreError> {
        self.load_with(Tighten::No)
    }

    /// The username of the tokens saved for `base_url` ([`TokenSet::username_for`]), read
    /// as [`TokenStore::load_read_only`] does (the file is not changed): the user to log in
    /// as again when a password is given without a username. `None` when there is no file,
    /// or its tokens belong to another server or name no user.
    pub fn saved_username(&self, base_url: &BaseUrl) -> Result<Option<String>, StoreError> {
        let loaded = self.load_read_only()?;
        Ok(loaded.tokens.as_ref().and_then(|tokens| tokens.username_for(base_url)).map(str::to_owned))
    }

    fn load_with(&self, tighten: Tighten) -> Result<Loaded, StoreError> {
        let (seen, loose_mode) = self.read_seen(tighten)?;
        Ok(Loaded { loose_mode, ..self.parse(&seen)? })
    }

    /// Reads the token file under `lock` (taken with [`TokenStore::lock`]) to decide what to
    /// write: its contents, and the [`WriteGuard`] that is the only way to replace or remove
    /// it. A missing file is no token; a file that cannot be read is an error (nothing may
    /// then be written); a file whose contents are unusable is [`ForUpdate::contents`]'s
    /// [`StoreError::Corrupt`], and may be replaced (a copy is kept first). Like
    /// [`TokenStore::load`], it sets a group- or world-accessible file to 0600.
    pub fn read_for_update<'a>(&'a self, lock: &'a StoreLock) -> Result<ForUpdate<'a>, StoreError> {
        if lock.path() != self.lock_path() && lock.path() != self.lock_folder_path() {
            return Err(StoreError::Lock {
                path: lock.path().to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("it is not the lock of {}", self.path.display()),
                ),
            });
        }
        let (seen, loose_mode) = self.read_seen(Tighten::Yes)?;
        let contents = self.parse(&seen).map(|loaded| Loaded { loose_mode, ..loaded });
        let corrupt = contents.is_err();
        Ok(ForUpdate { contents, guard: WriteGuard { store: self, lock, seen, corrupt } })
    }

    /// Reads the file: its identity and bytes, or [`Seen::Missing`] when there is none.
    pub(crate) fn read_seen(&self, tighten: Tighten) -> Result<(Seen, Option<LooseMode>), StoreError> {
        let unreadable = |source| StoreError::Unreadable { path: self.path.clone(), source };
        // Non-blocking, so that a FIFO (or another special file) at the path cannot make the
        // open wait forever for a writer; anything but a regular file is refused below.
        let opened = guard::open_for_reading(&self.path);
        let opened = opened.map_err(|error| match error.kind() {
            io::ErrorKind::NotADirectory => unreadable(through_a_file(self.path.parent().unwrap_or(&self.path), error)),
            _ => unreadable(error),
        });
        let Some(mut file) = opened? else {
            return Ok((Seen::Missing, None));
        };
        let metadata = file.metadata().map_err(unreadable)?;
        if metadata.is_dir() {
            return Err(unreadable(io::Error::new(io::ErrorKind::IsADirectory, "it is a folder")));
        }
        if !metadata.is_file() {
            return Err(unreadable(io::Error::new(io::ErrorKind::InvalidInput, "it is not a regular file")));
        }
        if let Some(owner) = platform::private::other_owner(&metadata) {
            return Err(StoreError::NotOwned { path: self.path.clone(), owner });
        }
        let loose_mode = match (platform::private::loose_mode(&metadata), tighten) {
            (None, _) => None,
            (Some(mode), Tighten::Yes) => match platform::private::tighten(&file) {
                Ok(()) => Some(LooseMode::Tightened(mode)),
                // On a read-only mount the mode cannot change, and nothing can be written.
                Err(error) if platform::os_error::is_read_only_file_system(&error) => Some(LooseMode::LeftAsIs(mode)),
                Err(error) => return Err(unreadable(error)),
            },
            (Some(mode), Tighten::No) => Some(LooseMode::LeftAsIs(mode)),
        };
        let identity = Identity::of(&file, &metadata).map_err(unreadable)?;
        let bytes = guard::read_bounded(&mut file, MAX_TOKEN_FILE_BYTES, metadata.len()).map_err(unreadable)?;
        Ok((Seen::File { identity, bytes }, loose_mode))
    }

    /// What read bytes hold; [`StoreError::Corrupt`] when they are not a usable token.
    fn parse(&self, seen: &Seen) -> Result<Loaded, StoreError> {
        let Seen::File { bytes, .. } = seen else { return Ok(Loaded::default()) };
        let contents = format::parse_token_file_contents(bytes)
            .map_err(|reason| StoreError::Corrupt { path: self.path.clone(), reason })?;
        let (tokens, kept_client) = match contents {
            format::TokenFileContents::Tokens(tokens) => (Some(*tokens), None),
            format::TokenFileContents::KeptClient(kept) => (None, Some(kept)),
        };
        Ok(Loaded { tokens, kept_client, loose_mode: None })
    }

    /// Writes `bytes` over the file, or removes it (`None`), if the lock is still held and
    /// the file still holds what `seen` records: a 0600 temporary file in the same folder,
    /// written and fsynced, then the checks, the rename over the file and an fsync of the
    /// folder. Missing parent folders are created 0700. On failure the file is untouched.
    pub(crate) fn write_guarded(&self, lock: &StoreLock, seen: &Seen, bytes: Option<&[u8]>) -> Result<(), StoreError> {
        let write_error = |source| StoreError::Write { path: self.path.clone(), source };
        let Some(bytes) = bytes else {
            self.check_still_as_read(lock, seen)?;
            return match fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(StoreError::Remove { path: self.path.clone(), source }),
            };
        };
        if fs::symlink_metadata(&self.path).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
            return Err(StoreError::Symlink { path: self.path.clone() });
        }
        let folder = self.folder();
        create_private_folder(&folder).map_err(write_error)?;
        let prefix = format!("{}{}.", self.temporary_prefix(), writer_id());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(TEMPORARY_SUFFIX);
        let temporary = platform::private::temporary_file(&mut builder, &folder).map_err(write_error)?;
        let mut file = temporary.as_file();
        file.write_all(bytes).map_err(write_error)?;
        file.sync_all().map_err(write_error)?;
        // The checks come last, so that as little time as possible passes before the rename.
        // On error the temporary file is removed when `temporary` drops.
        self.check_still_as_read(lock, seen)?;
        platform::replace::persist(temporary, &self.path).map_err(write_error)?;
        platform::replace::sync_folder(&folder);
        self.remove_orphaned_temporaries(&folder);
        Ok(())
    }

    /// Right before a write: the lock is still this process's, and the file still holds
    /// what was read under it.
    fn check_still_as_read(&self, lock: &StoreLock, seen: &Seen) -> Result<(), StoreError> {
        lock.verify_held().map_err(|source| StoreError::LockLost {
            path: self.path.clone(),
            lock: lock.path().to_path_buf(),
            source,
        })?;
        guard::check_unchanged(&self.path, seen, MAX_TOKEN_FILE_BYTES).map_err(|changed| match changed {
            Changed::Yes => StoreError::ChangedMeanwhile { path: self.path.clone() },
            Changed::Unreadable(source) => StoreError::Unreadable { path: self.path.clone(), source },
        })
    }

    /// Keeps the unusable file that is about to be replaced as `<file>.corrupt-<time>`
    /// (0600): a hard link where the file system allows one, else a copy of the bytes read.
    fn keep_corrupt_copy(&self, seen: &Seen) -> Result<Option<PathBuf>, StoreError> {
        let Seen::File { bytes, .. } = seen else { return Ok(None) };
        let time = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()).format("%Y%m%dT%H%M%SZ");
        let mut attempt = 1;
        loop {
            let mut name = self.path.as_os_str().to_owned();
            name.push(format!(".corrupt-{time}"));
            if attempt > 1 {
                name.push(format!("-{attempt}"));
            }
            let copy = PathBuf::from(name);
            let copy_error = |source| StoreError::KeepCopy { path: self.path.clone(), copy: copy.clone(), source };
            let kept = match fs::hard_link(&self.path, &copy) {
                Ok(()) => platform::private::tighten_path(&copy),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Err(error),
                Err(_) => write_new_private_file(&copy, bytes),
            };
            match kept {
                Ok(()) => return Ok(Some(copy)),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(error) => return Err(copy_error(error)),
            }
        }
    }

    /// `.<file name>.`: what this store's temporary files' names start with.
    fn temporary_prefix(&self) -> String {
        format!(".{}.", self.file_name())
    }

    /// Removes temporary files left by writers on this host that died mid-save (a SIGKILL,
    /// the OOM killer): they hold a token and nothing else would ever remove them. A
    /// temporary is named `.<file>.<host>-<pid>.<random>.tmp`; only this host's, and only
    /// those whose process no longer exists, are removed, so an in-flight save is never
    /// disturbed, here or on another machine sharing the folder. Best effort: errors are
    /// ignored.
    fn remove_orphaned_temporaries(&self, folder: &Path) {
        let prefix = format!("{}{}-", self.temporary_prefix(), file_safe_host_name());
        let Ok(entries) = fs::read_dir(folder) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|name| name.strip_prefix(&prefix)) else { continue };
            if !rest.ends_with(TEMPORARY_SUFFIX) {
                continue;
            }
            let pid = rest.split('.').next().and_then(|pid| pid.parse::<i32>().ok());
            if pid.is_some_and(|pid| !process_exists(pid)) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Takes the exclusive cross-process lock on `<token file>.lock`, waiting at most
    /// `timeout`. The lock is released when the guard drops or the process dies (it is an
    /// `flock`, held by the open file), so a crashed process never leaves a stale lock.
    ///
    /// Where the file system refuses `flock` with ENOSYS, ENOLCK or EOPNOTSUPP (Lustre
    /// mounted without `flock`, NFS without a lock daemon, some FUSE and SMB mounts), the
    /// lock is the folder [`TokenStore::lock_folder_path`] instead, within the same `timeout`;
    /// [`StoreLock::kind`] says which was taken. A process that dies holding it leaves it
    /// behind, and the next process takes it over: at once when the dead process was on the
    /// same machine, once it has watched the heartbeat not change for [`FALLBACK_STALE_AFTER`]
    /// when it was on another. A timeout then names the lock folder. After an `flock` is
    /// taken, a live lock folder (held on a node where `flock` is refused) is waited for too.
    pub fn lock(&self, timeout: Duration) -> Result<StoreLock, StoreError> {
        self.lock_with(timeout, None)
    }

    /// [`TokenStore::lock`], for a caller that waits on another thread and may give up (an
    /// async task that was dropped, a Ctrl-C): once `stop` is set, the wait ends at its next
    /// poll (at most a quarter of a second) with [`StoreError::LockTimeout`]. One call, unlike
    /// repeated calls with no timeout, keeps watching another machine's lock folder for the
    /// whole lease, so a dead holder's lock is still taken over.
    pub fn lock_unless_stopped(
        &self,
        timeout: Duration,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<StoreLock, StoreError> {
        self.lock_with(timeout, Some(stop))
    }

    fn lock_with(
        &self,
        timeout: Duration,
        stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    ) -> Result<StoreLock, StoreError> {
        let folder = self.folder();
        let lock_path = self.lock_path();
        let lock_error = |source| StoreError::Lock { path: lock_path.clone(), source };
        create_private_folder(&folder).map_err(lock_error)?;
        // Non-blocking, so that a FIFO at the path cannot make the open wait; not through a
        // link. The owner and type are checked before any wait: a lock file that someone
        // else owns (in a shared folder) could be held by them for ever.
        let opened = platform::opening::lock_file(&lock_path);
        let file = match opened {
            Ok(file) => file,
            Err(error) => {
                // Another user's 0600 lock file cannot even be opened: say whose it is.
                if let Ok(metadata) = fs::symlink_metadata(&lock_path) {
                    check_lock_file(&lock_path, &metadata)?;
                }
                return Err(lock_error(error));
            }
        };
        let metadata = file.metadata().map_err(lock_error)?;
        check_lock_file(&lock_path, &metadata)?;
        let paths = lock::LockPaths {
            file: lock_path,
            folder_lock: self.lock_folder_path(),
            folder,
            token_file_name: self.file_name(),
            heartbeat_period: self.heartbeat_period,
            lease: self.lock_lease,
            stop,
        };
        lock::acquire(file, &paths, timeout)
    }

    fn folder(&self) -> PathBuf {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn file_name(&self) -> String {
        self.path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| "tokens".into())
    }
}

/// A lock file must be a regular file owned by this user, as the token file must.
fn check_lock_file(lock_path: &Path, metadata: &fs::Metadata) -> Result<(), StoreError> {
    if let Some(owner) = platform::private::other_owner(metadata) {
        return Err(StoreError::LockNotOwned { path: lock_path.to_path_buf(), owner });
    }
    if !metadata.file_type().is_file() {
        return Err(StoreError::Lock {
            path: lock_path.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is not a regular file; remove it (tapis creates it again)",
            ),
        });
    }
    Ok(())
}

/// Whether a load may set a group- or world-accessible token file to 0600.
#[derive(Clone, Copy)]
pub(crate) enum Tighten {
    Yes,
    No,
}

/// What every temporary file's name ends with.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// `<host>-<pid>`: who is writing a temporary file.
fn writer_id() -> String {
    format!("{}-{}", file_safe_host_name(), std::process::id())
}

/// This machine's name (on Unix `uname`'s node name: one system call, no file read; on
/// Windows the DNS host name), or `host`.
pub fn host_name() -> String {
    platform::process::host_name()
}

/// This machine's name, made safe for a file name.
fn file_safe_host_name() -> String {
    host_name().chars().map(|character| if character.is_ascii_alphanumeric() { character } else { '_' }).collect()
}

/// Whether a process with this id exists on this machine (alive, or a zombie).
fn process_exists(pid: i32) -> bool {
    platform::process::exists(pid)
}

/// Creates `path` (which must not exist) 0600 with `bytes`, fsynced.
fn write_new_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = platform::private::file_options().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn create_private_folder(folder: &Path) -> io::Result<()> {
    if folder.is_dir() {
        return Ok(());
    }
    platform::private::create_folder(folder).map_err(|error| through_a_file(folder, error))
}

/// `error` for `path`, said plainly when the path goes through a file (`job.py/tokens.json`):
/// the OS says "File exists" (creating) or "Not a directory" (opening), the cause is that a
/// file stands where a folder should be. It goes under a message that names the whole path,
/// so the file's name is enough.
fn through_a_file(path: &Path, error: io::Error) -> io::Error {
    match path.ancestors().find(|ancestor| ancestor.is_file()) {
        Some(file) => {
            let name =
                file.file_name().map_or_else(|| file.display().to_string(), |name| name.to_string_lossy().into());
            io::Error::new(io::ErrorKind::NotADirectory, format!("{name} is a file, not a folder"))
        }
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_is_a_sidecar() {
        let store = TokenStore::new("/home/jdoe/.tapis_tokens.json");
        assert_eq!(store.lock_path(), PathBuf::from("/home/jdoe/.tapis_tokens.json.lock"));
        assert_eq!(store.lock_folder_path(), PathBuf::from("/home/jdoe/.tapis_tokens.json.lock.d"));
        assert_eq!(TokenStore::new("tokens.json").folder(), PathBuf::from("."));
    }

    #[test]
    fn a_token_file_under_a_file_says_the_path_goes_through_a_file() {
        let folder = tempfile::tempdir().expect("temp");
        let script = folder.path().join("job.py");
        fs::write(&script, "print()").expect("write");
        let error = create_private_folder(&script.join("deeper")).expect_err("a file is not a folder");
        assert_eq!(error.kind(), io::ErrorKind::NotADirectory);
        assert!(error.to_string().contains("job.py is a file, not a folder"), "{error}");
    }
}
