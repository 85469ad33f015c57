//! Putting a checked skill into place: its files copied into a staging
//! folder beside the target, synced, then swapped in with one atomic
//! rename, so a crash leaves the old folder or the new one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use skill_runtime::Home;

use crate::install::content::Content;
use crate::install::files::SkillFiles;
use crate::signing::{self, SIGNATURE, SUMS};
use skill_runtime::store::installed::{InstalledMeta, META_FILE};

/// Set by tests to stop an install between staging and swapping it in,
/// as a crash would.
pub const FAILPOINT_ENV: &str = "CARGO_SKILL_TEST_FAILPOINT";

/// Copies the skill's files and its metadata into place. The copy must
/// hold exactly the `approved` content (what was scanned, verified and
/// approved); a source that changed in between refuses it.
pub fn place(
    home: &Home,
    from: &SkillFiles,
    approved: &Content,
    meta: &InstalledMeta,
) -> Result<()> {
    swap_in(&home.skill_dir(&meta.name)?, |staging| {
        for (file, beneath) in from.files.iter().chain(&from.signature) {
            let (bytes, executable) = from.bytes(beneath)?;
            write_synced(&staging.join(file), &bytes, executable)
                .with_context(|| format!("copying {file}"))?;
        }
        let copied = Content::of_installed(staging)?;
        if copied != *approved {
            anyhow::bail!(
                "{}'s files changed while it was being installed ({}); install it again",
                meta.name,
                approved.changes_to(&copied).join(", ")
            );
        }
        skill_runtime::atomic_file::write(
            &staging.join(META_FILE),
            meta.to_toml().as_bytes(),
            0o644,
        )?;
        Ok(())
    })
}

/// The skill's files (as signed), with `skill.sums` and its signature.
pub(crate) fn copy_skill(from: &Path, to: &Path) -> Result<()> {
    let mut files = signing::skill_files(from)?;
    files.extend(
        [SUMS, SIGNATURE]
            .iter()
            .map(|f| f.to_string())
            .filter(|f| from.join(f).is_file()),
    );
    for file in &files {
        let dest = to.join(file);
        std::fs::create_dir_all(dest.parent().expect("a file has a parent"))?;
        std::fs::copy(from.join(file), &dest).with_context(|| format!("copying {file}"))?;
        // On disk before the swap makes them visible: a crash must not
        // leave the new folder in place with empty files.
        std::fs::File::open(&dest)?.sync_all()?;
    }
    Ok(())
}

/// A new file with `bytes`, on disk before it is used; `executable` keeps
/// a script runnable (no other mode bits are carried over).
fn write_synced(dest: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dest.parent().expect("a file has a parent"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o755 } else { 0o644 })
        .open(dest)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Fills a staging folder next to `target`, then swaps it in with one
/// atomic rename (an exchange when `target` exists), so a crash leaves the
/// old folder or the new one.
pub(crate) fn swap_in(target: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = target.parent().expect("a target folder has a parent");
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(parent)?;
    fill(staging.path())?;
    std::fs::File::open(staging.path())?.sync_all()?;
    if std::env::var(FAILPOINT_ENV).as_deref() == Ok("install-before-swap") {
        eprintln!("failpoint: stopping before the swap");
        std::process::abort();
    }
    let staged: PathBuf = staging.keep();
    if target.exists() {
        skill_runtime::platform::swap_paths(&staged, target)
            .with_context(|| format!("could not swap {} into place", target.display()))?;
        std::fs::remove_dir_all(&staged).ok();
    } else {
        std::fs::rename(&staged, target)?;
    }
    std::fs::File::open(parent)?.sync_all()?;
    Ok(())
}
