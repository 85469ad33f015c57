//! Links inside a source. A link whose target, with every link on the way
//! resolved beneath the source's root (its boundary), is a regular file or
//! a folder strictly inside that root is read as that file or folder; any
//! other link leads out. Resolution goes through a directory handle
//! (cap-std), so a path cannot leave the root between a check and a read.

use std::io;
use std::path::{Component, Path, PathBuf};

use cap_std::fs::Dir;

/// The root a source's links must stay beneath: a git source's checkout,
/// or the folder given for a local source.
pub struct Boundary {
    dir: Dir,
    root: PathBuf,
}

/// What a link inside the boundary leads to, relative to the root, with no
/// link left on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    File(PathBuf),
    Folder(PathBuf),
}

impl Boundary {
    pub fn open(root: &Path) -> io::Result<Boundary> {
        Ok(Boundary {
            dir: Dir::open_ambient_dir(root, cap_std::ambient_authority())?,
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `link` (a path beneath the root) resolved beneath the root, or why
    /// it leads out.
    pub fn resolve(&self, link: &Path) -> Result<Target, String> {
        let written = std::fs::read_link(self.root.join(self.relative(link)?))
            .map_or_else(|_| String::new(), |t| format!(" (`{}`)", t.display()));
        let relative = self.relative(link)?;
        let real = self
            .dir
            .canonicalize(relative)
            .map_err(|e| format!("its target{written} is not inside the source: {e}"))?;
        if real.as_os_str().is_empty() || real == Path::new(".") {
            return Err(format!("its target{written} is the source's root itself"));
        }
        if real
            .components()
            .any(|c| c == Component::Normal(".git".as_ref()))
        {
            return Err(format!("its target{written} is inside .git"));
        }
        let meta = self
            .dir
            .metadata(&real)
            .map_err(|e| format!("its target{written} cannot be read: {e}"))?;
        if meta.is_file() {
            Ok(Target::File(real))
        } else if meta.is_dir() {
            Ok(Target::Folder(real))
        } else {
            Err(format!(
                "its target{written} is neither a regular file nor a folder"
            ))
        }
    }

    /// The bytes of a file beneath the root, and whether it is executable
    /// (both from one open file).
    pub fn read(&self, relative: &Path) -> io::Result<(Vec<u8>, bool)> {
        use std::io::Read;
        use std::os::unix::fs::PermissionsExt;
        let mut file = self.dir.open(relative)?.into_std();
        let executable = file.metadata()?.permissions().mode() & 0o111 != 0;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok((bytes, executable))
    }

    /// The names in a folder beneath the root, each with whether it is a
    /// link, a folder or a file (links not followed), sorted.
    pub fn entries(&self, relative: &Path) -> io::Result<Vec<(String, Kind)>> {
        let mut out = Vec::new();
        for entry in self.dir.read_dir(relative)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let kind = if kind.is_symlink() {
                Kind::Link
            } else if kind.is_dir() {
                Kind::Folder
            } else if kind.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            out.push((entry.file_name().to_string_lossy().into_owned(), kind));
        }
        out.sort();
        Ok(out)
    }

    fn relative<'a>(&self, path: &'a Path) -> Result<&'a Path, String> {
        path.strip_prefix(&self.root)
            .map_err(|_| format!("{} is not inside the source", path.display()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    File,
    Folder,
    Link,
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_resolve_beneath_the_root_or_lead_out() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("skills/a/references")).unwrap();
        std::fs::create_dir_all(r.join("shared/docs")).unwrap();
        std::fs::create_dir_all(r.join(".git")).unwrap();
        std::fs::write(r.join("shared/docs/x.md"), "x").unwrap();
        std::fs::write(r.join(".git/config"), "token").unwrap();
        let link = |name: &str, to: &Path| {
            symlink(to, r.join("skills/a/references").join(name)).unwrap();
            r.join("skills/a/references").join(name)
        };
        let b = Boundary::open(r).unwrap();
        let file = link("x.md", Path::new("../../../shared/docs/x.md"));
        assert_eq!(
            b.resolve(&file),
            Ok(Target::File("shared/docs/x.md".into()))
        );
        let folder = link("docs", Path::new("../../../shared/docs"));
        assert_eq!(b.resolve(&folder), Ok(Target::Folder("shared/docs".into())));
        // A chain of links inside resolves; one that leaves does not.
        let chain = link("chain.md", Path::new("x.md"));
        assert_eq!(
            b.resolve(&chain),
            Ok(Target::File("shared/docs/x.md".into()))
        );
        for (name, to) in [
            ("abs", outside.path().join("secret")),
            ("up", PathBuf::from("../../../../outside/secret")),
            ("root", PathBuf::from("../../..")),
            ("git", PathBuf::from("../../../.git/config")),
            ("dangling", PathBuf::from("nothing")),
        ] {
            let l = link(name, &to);
            assert!(b.resolve(&l).is_err(), "{name}: {:?}", b.resolve(&l));
        }
        let via = link("via", &outside.path().join("secret"));
        let through = link("through.md", Path::new("via"));
        assert!(b.resolve(&through).is_err());
        assert!(b.resolve(&via).is_err());
    }
}
