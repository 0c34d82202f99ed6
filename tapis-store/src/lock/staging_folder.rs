//! The staging folder: where an acquisition's entry is written before it is renamed, whole,
//! onto the lock folder.

use std::fs::File;
use std::io;
use std::time::{Duration, Instant};

use super::held_lock_folder::touch;
use super::lock_folder::ProtocolNames;
use super::owner_record::OwnerRecord;
use super::token_folder::{SubFolder, TokenFolder, identity};

/// A staged entry whose mtime is older than this is refreshed before the next rename, so that
/// a lock is never published with an old heartbeat after a long wait.
const REFRESH_STAGED_AFTER: Duration = Duration::from_secs(1);

/// A staging folder holding this acquisition's entry, not yet renamed onto the lock folder.
pub(super) struct Staged {
    folder: SubFolder,
    entry: File,
    touched: Instant,
}

impl Staged {
    pub(super) fn create(folder: &TokenFolder, names: &ProtocolNames, record: &OwnerRecord) -> io::Result<Self> {
        let staging = folder.make_folder(&names.staging)?;
        let written = staging.create_file(&names.entry).and_then(|file| {
            record.write_to(&file)?;
            file.sync_all()?;
            Ok(file)
        });
        match written {
            Ok(entry) => Ok(Self { folder: staging, entry, touched: Instant::now() }),
            Err(error) => {
                let _ = staging.remove_file(&names.entry);
                let _ = folder.remove_empty_folder(&names.staging);
                Err(error)
            }
        }
    }

    pub(super) fn refresh_if_old(&mut self) {
        if self.touched.elapsed() >= REFRESH_STAGED_AFTER {
            let _ = touch(&self.entry);
            self.touched = Instant::now();
        }
    }

    /// Whether, after the rename, the lock folder is this staging folder with our entry in it.
    pub(super) fn is_the_lock(&self, folder: &TokenFolder, names: &ProtocolNames) -> bool {
        let entry = rustix::fs::fstat(&self.entry).map(|stat| identity(&stat)).ok();
        folder.stat(&names.lock).ok().map(|stat| identity(&stat)) == Some(self.folder.identity())
            && self.folder.stat(&names.entry).ok().map(|stat| identity(&stat)) == entry
    }

    /// The staging folder, now the lock folder, and the entry in it.
    pub(super) fn into_lock(self) -> (SubFolder, File) {
        (self.folder, self.entry)
    }

    /// Removes the staging folder of an acquisition that did not happen.
    pub(super) fn discard(&self, folder: &TokenFolder, names: &ProtocolNames) {
        let _ = self.folder.remove_file(&names.entry);
        let _ = folder.remove_empty_folder(&names.staging);
    }
}
