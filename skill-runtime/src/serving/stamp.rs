//! Cheap change detection: a hash of the file-system identity (inode, size,
//! modification time) of what decides a bot's skills. Install, update,
//! remove, grant, revoke, enable and disable all replace one of these files
//! atomically, so a new stamp means "read again"; no file is read here.

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::store::home::Home;
use crate::store::installed::META_FILE;

/// Everything that decides what `bot` is served: the skills named in
/// `only`, or every folder of the skills root when it is empty. Names are
/// not checked here (a folder that is not a skill still changes the stamp).
pub fn home_stamp(home: &Home, bot: &str, only: &[String]) -> u64 {
    let mut h = DefaultHasher::new();
    shared_files(home, bot, &mut h);
    let root = home.skills_root();
    let mut names: Vec<OsString> = if only.is_empty() {
        std::fs::read_dir(&root)
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default()
    } else {
        only.iter().map(OsString::from).collect()
    };
    names.sort();
    for name in names {
        name.hash(&mut h);
        skill_files(&root.join(name), &mut h);
    }
    h.finish()
}

/// Everything that decides how `skill` runs for `bot`: its grants, tier,
/// manifest and component, and the bot's and home's settings.
pub fn skill_stamp(home: &Home, bot: &str, skill: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    shared_files(home, bot, &mut h);
    skill_files(skill, &mut h);
    h.finish()
}

fn shared_files(home: &Home, bot: &str, h: &mut DefaultHasher) {
    file_identity(&home.config_file(), h);
    file_identity(&home.bot_dir(bot).join(crate::store::bots::FILE), h);
}

fn skill_files(dir: &Path, h: &mut DefaultHasher) {
    for file in [META_FILE, "SKILL.md", "skill.wasm"] {
        file_identity(&dir.join(file), h);
    }
}

fn file_identity(path: &Path, h: &mut DefaultHasher) {
    match std::fs::metadata(path) {
        Ok(m) => (m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec()).hash(h),
        Err(_) => 0u8.hash(h),
    }
}
