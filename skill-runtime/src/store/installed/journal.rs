//! Keeping `skills.lock` true to the folders across a crash. A change
//! touches two files: a skill's folder (swapped in whole) and the lock. So
//! a writer first records which skills it is about to change
//! (`skills.lock.pending`), then changes folders and lock, then deletes the
//! record. Whoever finds a record left by a killed writer rebuilds those
//! skills' lock entries from the folders, which are the truth: readers in
//! memory (`Lockfile::read`, defined here), the next writer on disk ([`recover`]).
//! A kill at any point leaves the old folder or the new one, and a lock
//! that agrees with it once read.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::error::{Repair, Result, StoreError};
use crate::store::home::Home;
use crate::store::installed::{Locked, Lockfile, installed_dir, read_with_manifest};
use crate::store::toml_file::{parse, read_if_present, write_atomic};

/// The record of skills whose folders a writer is changing.
pub const PENDING_FILE: &str = "skills.lock.pending";

/// What a writer leaves in `skills/` while it works: a staged folder not
/// yet swapped in (or the old one swapped out), a removed one not yet
/// deleted. Only a crash leaves them behind.
const LEFTOVER_PREFIXES: [&str; 2] = [".staging-", ".removing-"];

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    skills: Vec<String>,
}

/// Held by a writer between [`begin`] and [`Change::finish`]. Dropped
/// without `finish` (an error part way), it settles the lock from the
/// folders at once, so only a kill leaves the record behind.
#[must_use = "finish the change once the lock is written"]
pub struct Change<'a> {
    home: &'a Home,
    done: bool,
}

/// Records that the folders of `skills` are about to change. Call it under
/// the home's write lock, before the first folder changes.
pub fn begin<'a>(home: &'a Home, skills: &[String]) -> Result<Change<'a>> {
    let mut record = read_record(home.root())?.unwrap_or_default();
    for name in skills {
        crate::manifest::skill_name::check(name)?;
        if !record.skills.contains(name) {
            record.skills.push(name.clone());
        }
    }
    let text = toml::to_string(&record).expect("the record serializes");
    write_atomic(&home.root().join(PENDING_FILE), text.as_bytes())?;
    Ok(Change { home, done: false })
}

impl Change<'_> {
    /// The folders and the lock agree: the record goes.
    pub fn finish(mut self) -> Result<()> {
        self.done = true;
        remove_record(self.home.root())
    }
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Best effort: what fails here the next writer does again.
            let _ = recover(self.home);
        }
    }
}

/// The lock entry for an installed skill, from what its folder records:
/// what install writes and what recovery rebuilds are one function.
pub fn locked_entry(home: &Home, name: &str) -> Result<Option<Locked>> {
    let Some(dir) = installed_dir(home, name) else {
        return Ok(None);
    };
    let (meta, manifest) = read_with_manifest(&dir)?;
    Ok(Some(Locked::of(&meta, &manifest)))
}

impl Lockfile {
    /// The lock in `home`, agreeing with the installed folders even while
    /// a writer is at work or after one was killed: the entries of pending
    /// skills as their folders say; none yet is an empty lock.
    pub fn read(home_root: &Path) -> Result<Lockfile> {
        let mut lock = Lockfile::read_file(home_root)?;
        let Some(record) = read_record(home_root)? else {
            return Ok(lock);
        };
        let home = Home::new(home_root);
        for name in &record.skills {
            match locked_entry(&home, name)? {
                Some(entry) => lock.upsert(entry),
                None => lock.skills.retain(|s| &s.name != name),
            }
        }
        Ok(lock)
    }
}

/// Finishes what a killed writer left: the lock rewritten from the folders
/// of the skills it was changing, its record and leftover folders removed.
/// Call it under the write lock (no other writer is then at work); returns
/// whether there was anything to do.
pub fn recover(home: &Home) -> Result<bool> {
    let mut did = false;
    if read_record(home.root())?.is_some() {
        // `read` applies the record; writing makes it permanent.
        Lockfile::read(home.root())?.write(home.root())?;
        remove_record(home.root())?;
        did = true;
    }
    let Ok(entries) = std::fs::read_dir(home.skills_root()) else {
        return Ok(did);
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if LEFTOVER_PREFIXES.iter().any(|p| name.starts_with(p)) {
            std::fs::remove_dir_all(entry.path())
                .map_err(|e| StoreError::io("remove a crash's leftover", &entry.path(), e))?;
            did = true;
        }
    }
    Ok(did)
}

fn read_record(home_root: &Path) -> Result<Option<Record>> {
    let path = home_root.join(PENDING_FILE);
    let Some(text) = read_if_present(&path)? else {
        return Ok(None);
    };
    Ok(Some(parse(&path, &text, Repair::FixOrReinstallListed)?))
}

fn remove_record(home_root: &Path) -> Result<()> {
    let path = home_root.join(PENDING_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(StoreError::io("remove", &path, e))
        }
        _ => std::fs::File::open(home_root)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| StoreError::io("sync", home_root, e)),
    }
}
