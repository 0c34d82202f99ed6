//! What the token file needs from the operating system, one concern a module, each with its
//! Unix and its Windows half. The rest of the crate calls these and names no platform.
//!
//! - [`file_id`]: which file a handle or a path is (device and inode; volume and file index).
//! - [`private`]: files and folders only their owner can read, and whose they are.
//! - [`opening`]: opening without blocking on a FIFO or following a link.
//! - [`replace`]: the rename that replaces a file, and making it durable.
//! - [`process`]: this machine's name, and whether a process still exists.
//! - [`os_error`]: what an operating system's error means to the store.
//!
//! The lock itself (`flock`, which std's `File::try_lock` takes with `LockFileEx` on Windows)
//! is the same call everywhere; the lock folder, for file systems that refuse it, is Unix only
//! (see `crate::lock`).

pub(crate) mod file_id;
pub(crate) mod opening;
pub(crate) mod os_error;
pub(crate) mod private;
pub(crate) mod process;
pub(crate) mod replace;
