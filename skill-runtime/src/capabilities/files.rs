//! `read-file` and `write-file`: confined to the skill's data folder (one per
//! skill per bot). Paths resolve beneath that folder with `cap-std`, so no
//! symlink, `..` or race can lead out; scopes are subfolders of it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, MetadataExt, OpenOptions};

/// Caps on what one invocation may read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    pub max_read_bytes: u64,
    pub max_write_bytes: u64,
    /// Sum of all writes in one invocation.
    pub max_written_bytes: u64,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            max_read_bytes: 4 << 20,
            max_write_bytes: 1 << 20,
            max_written_bytes: 16 << 20,
        }
    }
}

/// How a file call failed: `Denied` ends the invocation (an attempt to leave
/// the grant); `Failed` goes back to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    Denied(String),
    Failed(String),
}

/// Where a checked path lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// The skill's data folder for this bot (relative paths).
    DataFolder,
    /// A host folder the operator granted as an absolute scope
    /// (`read-file:/srv/cache`, from `skill.toml`'s filesystem paths).
    HostFolder(PathBuf),
}

/// The folder a checked call resolves beneath, as the host opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// The skill's data folder: made on first write.
    Data,
    /// A granted host folder, with the identity it had when approved
    /// (none for a grant not pinned yet).
    Host(Option<FolderId>),
}

/// A folder's identity on this machine (device and inode): a folder put in
/// place of the approved one, even a real one, has another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FolderId {
    dev: u64,
    ino: u64,
}

impl std::fmt::Display for FolderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.dev, self.ino)
    }
}

impl std::str::FromStr for FolderId {
    type Err = String;

    fn from_str(s: &str) -> Result<FolderId, String> {
        let (dev, ino) = s
            .split_once(':')
            .and_then(|(d, i)| Some((d.parse().ok()?, i.parse().ok()?)))
            .ok_or_else(|| format!("`{s}` is not a folder identity (`device:inode`)"))?;
        Ok(FolderId { dev, ino })
    }
}

/// The identity of the host folder `path`, which must be a real folder with
/// no symbolic link anywhere on its path.
pub fn pin_folder(path: &Path) -> Result<FolderId, FileError> {
    let folder = open_host_folder(path)?;
    let meta = folder
        .metadata()
        .map_err(|e| FileError::Failed(format!("`{}`: {e}", path.display())))?;
    Ok(FolderId {
        dev: std::os::unix::fs::MetadataExt::dev(&meta),
        ino: std::os::unix::fs::MetadataExt::ino(&meta),
    })
}

/// Checks a guest path and returns the folder it lies beneath and the path
/// relative to it. Relative paths lie in the data folder, inside a relative
/// scope (or anywhere there for an unscoped grant, `None`); absolute paths
/// lie strictly beneath an absolute scope, compared by whole components.
pub fn checked_path(path: &str, scopes: &[Option<&str>]) -> Result<(Root, PathBuf), FileError> {
    let deny = |why: &str| Err(FileError::Denied(format!("path `{path}` refused: {why}")));
    if path.is_empty() {
        return deny("it is empty");
    }
    if path.contains('\0') {
        return deny("it contains NUL");
    }
    if path.ends_with('/') {
        return deny("a trailing slash is refused");
    }
    if path.contains('\\') {
        return deny("backslashes are refused");
    }
    let absolute = path.starts_with('/');
    let parts: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    if parts.iter().any(|p| matches!(*p, "" | "." | "..")) {
        return deny("empty, `.` and `..` components are refused");
    }
    let host_folders: Vec<&str> = scopes
        .iter()
        .flatten()
        .copied()
        .filter(|s| s.starts_with('/'))
        .collect();
    let under = |scope: &str| {
        let scope: Vec<&str> = scope.trim_matches('/').split('/').collect();
        (parts.len() > scope.len() && parts[..scope.len()] == scope[..]).then_some(scope.len())
    };
    if absolute {
        if host_folders.is_empty() {
            return deny(
                "absolute paths are refused; use a path relative to the data folder (a host folder must be granted as `read-file:/folder`)",
            );
        }
        return match host_folders.iter().find_map(|f| under(f).map(|n| (f, n))) {
            Some((folder, depth)) => Ok((
                Root::HostFolder(PathBuf::from(folder)),
                parts[depth..].iter().collect(),
            )),
            None => deny(&format!(
                "it is outside the granted host folders ({})",
                host_folders.join(", ")
            )),
        };
    }
    let data_scopes: Vec<&Option<&str>> = scopes
        .iter()
        .filter(|s| s.is_none_or(|s| !s.starts_with('/')))
        .collect();
    if data_scopes.is_empty() {
        return deny(&format!(
            "only the host folders {} are granted: use an absolute path beneath one",
            host_folders.join(", ")
        ));
    }
    if !data_scopes
        .iter()
        .any(|s| s.is_none_or(|s| under(s).is_some()))
    {
        let names: Vec<&str> = data_scopes.iter().copied().flatten().copied().collect();
        return deny(&format!(
            "it is outside the granted folders ({})",
            names.join(", ")
        ));
    }
    Ok((Root::DataFolder, parts.iter().collect()))
}

/// Opens the folder calls resolve beneath. The data folder is made on
/// first write. A host folder is never made, is opened without following a
/// symbolic link anywhere on its path, and must be the folder approved: a
/// granted folder swapped for a link or another folder leads nowhere.
fn open_root(root: &Path, kind: RootKind, create: bool) -> Result<Dir, FileError> {
    let pinned = match kind {
        RootKind::Data => {
            if create {
                std::fs::create_dir_all(root).map_err(|e| {
                    FileError::Failed(format!("could not create the data folder: {e}"))
                })?;
            }
            return Dir::open_ambient_dir(root, cap_std::ambient_authority()).map_err(|e| {
                FileError::Failed(format!(
                    "the folder `{}` is not available: {e}",
                    root.display()
                ))
            });
        }
        RootKind::Host(pinned) => pinned,
    };
    let folder = open_host_folder(root)?;
    if let Some(pinned) = pinned {
        let meta = folder
            .metadata()
            .map_err(|e| FileError::Failed(format!("`{}`: {e}", root.display())))?;
        let now = FolderId {
            dev: std::os::unix::fs::MetadataExt::dev(&meta),
            ino: std::os::unix::fs::MetadataExt::ino(&meta),
        };
        if now != pinned {
            return Err(FileError::Denied(format!(
                "the granted folder `{0}` is not the folder that was approved (it was replaced since); if the folder there now is meant, the operator approves it again by granting the skill `read-file:{0}` (or `write-file:{0}`)",
                root.display()
            )));
        }
    }
    Ok(Dir::from_std_file(folder))
}

fn open_host_folder(root: &Path) -> Result<std::fs::File, FileError> {
    crate::platform::open_dir_no_symlinks(root).map_err(|e| match e.raw_os_error() {
        Some(libc::ELOOP) => FileError::Denied(format!(
            "the granted folder `{}`, or a folder above it, is a symbolic link; links are never followed to a granted folder: grant its real path",
            root.display()
        )),
        Some(libc::ENOTDIR) => FileError::Denied(format!(
            "the granted folder `{}` is not a folder",
            root.display()
        )),
        _ => FileError::Failed(format!(
            "the folder `{}` is not available: {e}",
            root.display()
        )),
    })
}

/// Errors from beneath-root resolution that mean "this leads out".
fn io_error(path: &Path, e: std::io::Error) -> FileError {
    let shown = path.display();
    match e.raw_os_error() {
        Some(libc::ELOOP) => {
            FileError::Denied(format!("`{shown}` is a symlink; symlinks are refused"))
        }
        // cap-std's own error for a path escaping the root; a plain
        // permission error is the operator's to fix, not an attack.
        _ if e.to_string().contains("outside of the filesystem") => {
            FileError::Denied(format!("`{shown}` leads outside the data folder"))
        }
        _ if e.kind() == std::io::ErrorKind::NotFound => {
            FileError::Failed(format!("`{shown}` does not exist"))
        }
        _ => FileError::Failed(format!("`{shown}`: {e}")),
    }
}

/// Reads `path` beneath `root`.
pub fn read(
    root: &Path,
    kind: RootKind,
    path: &Path,
    limits: &FileLimits,
) -> Result<String, FileError> {
    let dir = open_root(root, kind, false)?;
    let mut options = OpenOptions::new();
    options.read(true).follow(FollowSymlinks::No);
    let file = dir
        .open_with(path, &options)
        .map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(FileError::Failed(format!(
            "`{}` is not a file",
            path.display()
        )));
    }
    if meta.nlink() > 1 {
        // A hard link may point at a file from outside the folder.
        return Err(FileError::Denied(format!(
            "`{}` has other hard links; hard links are refused",
            path.display()
        )));
    }
    let mut bytes = Vec::new();
    file.take(limits.max_read_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() as u64 > limits.max_read_bytes {
        return Err(FileError::Failed(format!(
            "`{}` is larger than the read limit of {} bytes",
            path.display(),
            limits.max_read_bytes
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| FileError::Failed(format!("`{}` is not UTF-8 text", path.display())))
}

/// Creates the folders of `parent` one by one, refusing any that is a
/// symlink (beneath-root resolution would confine it anyway; this says why).
fn create_parents(dir: &Dir, parent: &Path) -> Result<(), FileError> {
    let mut prefix = PathBuf::new();
    for part in parent.components() {
        prefix.push(part);
        match dir.symlink_metadata(&prefix) {
            Ok(meta) if meta.is_symlink() => {
                return Err(FileError::Denied(format!(
                    "`{}` is a symlink; symlinks are refused",
                    prefix.display()
                )));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(FileError::Failed(format!(
                    "`{}` is a file, not a folder",
                    prefix.display()
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match dir.create_dir(&prefix) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(&prefix, e)),
            },
            Err(e) => return Err(io_error(&prefix, e)),
        }
    }
    Ok(())
}

/// Writes through a temporary file in the same folder, then renames it into
/// place: readers see the old content or the new, never part of it. The data
/// folder is created on first write; a host folder must exist.
pub fn write(root: &Path, kind: RootKind, path: &Path, content: &str) -> Result<(), FileError> {
    let dir = open_root(root, kind, true)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        create_parents(&dir, parent)?;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = parent
        .unwrap_or(Path::new(""))
        .join(format!(".{name}.{}.tmp", uuid::Uuid::now_v7().simple()));
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create_new(true)
        .follow(FollowSymlinks::No);
    let written = dir.open_with(&temp, &options).and_then(|mut file| {
        file.write_all(content.as_bytes())?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| dir.rename(&temp, &dir, path));
    if let Err(e) = renamed {
        let _ = dir.remove_file(&temp);
        return Err(io_error(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_forms_that_lead_out_are_refused() {
        for path in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            "a\\..\\b",
            "a\0b",
            ".",
        ] {
            assert!(
                matches!(checked_path(path, &[None]), Err(FileError::Denied(_))),
                "{path:?}"
            );
        }
        assert_eq!(
            checked_path("a/b.txt", &[None]).unwrap(),
            (Root::DataFolder, PathBuf::from("a/b.txt"))
        );
    }

    #[test]
    fn absolute_paths_need_a_host_folder_and_stay_beneath_it() {
        let scopes = [Some("/srv/cache")];
        assert_eq!(
            checked_path("/srv/cache/a/b.txt", &scopes).unwrap(),
            (
                Root::HostFolder(PathBuf::from("/srv/cache")),
                PathBuf::from("a/b.txt")
            )
        );
        for path in [
            "/srv/cache",
            "/srv/cache-evil/x",
            "/srv/cache/../etc/passwd",
            "/srv/cache/./x",
            "//srv/cache/x",
            "/srv/cache//x",
            "/etc/passwd",
            "srv/cache/x",
        ] {
            assert!(
                matches!(checked_path(path, &scopes), Err(FileError::Denied(_))),
                "{path:?}"
            );
        }
        // An unscoped grant is the data folder only.
        assert!(checked_path("/srv/cache/x", &[None]).is_err());
        assert!(checked_path("notes/x", &[None, Some("/srv/cache")]).is_ok());
    }

    #[test]
    fn scopes_are_subfolders() {
        let scopes = [Some("reports")];
        assert!(checked_path("reports/x.json", &scopes).is_ok());
        assert!(checked_path("/reports/x.json", &scopes).is_err());
        assert!(checked_path("reports", &scopes).is_err());
        assert!(checked_path("reportsx/y", &scopes).is_err());
        assert!(checked_path("notes/x", &scopes).is_err());
        let err = checked_path("x", &[Some("a/b"), Some("c")]).unwrap_err();
        assert!(
            matches!(&err, FileError::Denied(m) if m.contains("a/b, c")),
            "{err:?}"
        );
    }
}
