//! Cheap change detection: a hash of the file-system identity (inode, size,
//! modification time) of what decides a bot's skills. Install, update,
//! remove, grant, revoke, enable and disable all replace one of these files
//! atomically, so a new stamp means "read again"; no file is read here.

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::store::home::Home;
use crate::store::installed::META_FILE;

/// Everything that decides what `bot` is served: the skills named in
/// `only`, or every folder of the skills root when it is empty (a folder
/// that is not a skill still changes the stamp). A name in `only` that is
/// not a skill name stamps as missing: it never leads outside the root.
pub fn home_stamp(home: &Home, bot: &str, only: &[String]) -> u64 {
    let mut h = DefaultHasher::new();
    shared_files(home, bot, &mut h);
    file_identity(&crate::chain::file::path(home, bot), &mut h);
    let root = home.skills_root();
    let mut dirs: Vec<(OsString, Option<PathBuf>)> = if only.is_empty() {
        std::fs::read_dir(&root)
            .map(|entries| {
                // One component read from the root itself.
                entries
                    .flatten()
                    .map(|e| (e.file_name(), Some(e.path())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        only.iter()
            .map(|name| (OsString::from(name), home.skill_dir(name).ok()))
            .collect()
    };
    dirs.sort();
    for (name, dir) in dirs {
        name.hash(&mut h);
        match dir {
            Some(dir) => skill_files(&dir, &mut h),
            None => 0u8.hash(&mut h),
        }
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

/// Everything that decides how one of `bot`'s chains runs: its chains
/// file, and each of the chain's `skills` as [`skill_stamp`] sees it.
pub fn chain_stamp(home: &Home, bot: &str, skills: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    file_identity(&crate::chain::file::path(home, bot), &mut h);
    shared_files(home, bot, &mut h);
    for skill in skills {
        match home.skill_dir(skill) {
            Ok(dir) => skill_files(&dir, &mut h),
            Err(_) => 0u8.hash(&mut h),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_outside_the_skills_folder_is_never_stamped() {
        let root = tempfile::tempdir().unwrap();
        let home = Home::new(root.path().join("home"));
        std::fs::create_dir_all(home.skills_root()).unwrap();
        let outside = root.path().join("home/victim");
        std::fs::create_dir_all(&outside).unwrap();
        let only = ["../victim".to_string()];
        let before = home_stamp(&home, "local", &only);
        std::fs::write(outside.join("SKILL.md"), "changed").unwrap();
        assert_eq!(home_stamp(&home, "local", &only), before);

        // A served skill's change is seen.
        let only = ["alpha".to_string()];
        std::fs::create_dir_all(home.skills_root().join("alpha")).unwrap();
        let before = home_stamp(&home, "local", &only);
        std::fs::write(home.skills_root().join("alpha/SKILL.md"), "new").unwrap();
        assert_ne!(home_stamp(&home, "local", &only), before);
    }
}
