//! A skill's files as the installer reads and copies them: every regular
//! file (as signed), and each link inside the source read as the file or
//! folder it leads to, resolved beneath the source's boundary at read time.
//! A link that leads anywhere else refuses the skill.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use skill_runtime::discover::links::{Boundary, Kind, Target};
use skill_runtime::store::installed::NOT_SHIPPED;

use crate::signing::{SIGNATURE, SUMS};

/// How deep links to folders may nest before they are taken for a loop.
const MAX_LINK_DEPTH: usize = 8;
/// More files than any skill ships: a folder link to a big tree refuses.
const MAX_FILES: usize = 20_000;

pub struct SkillFiles {
    boundary: Boundary,
    /// Path in the skill → path beneath the boundary.
    pub files: Vec<(String, PathBuf)>,
    /// `skill.sums` and its signature, when the skill ships them.
    pub signature: Vec<(String, PathBuf)>,
    /// Paths in the skill that are links, copied as what they lead to.
    pub links: Vec<String>,
}

impl SkillFiles {
    /// The files of the skill in `dir`, beneath `boundary` (`dir` itself
    /// when it is not inside it); messages call the folder `shown`.
    pub fn read(dir: &Path, boundary: &Path, shown: &Path) -> Result<SkillFiles> {
        let (root, at) = match dir.strip_prefix(boundary) {
            Ok(at) if !at.as_os_str().is_empty() => (boundary, at.to_path_buf()),
            _ => (dir, PathBuf::from(".")),
        };
        let mut files = SkillFiles {
            boundary: Boundary::open(root)
                .with_context(|| format!("could not open {}", shown.display()))?,
            files: Vec::new(),
            signature: Vec::new(),
            links: Vec::new(),
        };
        files.walk(&at, "", 0, shown)?;
        Ok(files)
    }

    /// The bytes of a file listed here, read beneath the boundary, and
    /// whether it is executable.
    pub fn bytes(&self, beneath: &Path) -> Result<(Vec<u8>, bool)> {
        self.boundary
            .read(beneath)
            .with_context(|| format!("could not read {}", beneath.display()))
    }

    fn walk(&mut self, folder: &Path, prefix: &str, depth: usize, skill: &Path) -> Result<()> {
        if depth > MAX_LINK_DEPTH {
            bail!(
                "{}: links to folders nest more than {MAX_LINK_DEPTH} deep (a loop?); replace them with the files",
                skill.join(prefix).display()
            );
        }
        for (name, kind) in self.boundary.entries(folder)? {
            if name.contains(['\n', '\\']) {
                bail!(
                    "{}: a file name with a newline or backslash cannot be signed or installed",
                    skill.join(prefix).join(&name).display()
                );
            }
            let in_skill = format!("{prefix}{name}");
            let beneath = folder.join(&name);
            if prefix.is_empty() && (name == SUMS || name == SIGNATURE) {
                if kind == Kind::File {
                    self.signature.push((in_skill, beneath));
                }
                continue;
            }
            if NOT_SHIPPED.contains(&name.as_str()) {
                continue;
            }
            match kind {
                Kind::File => self.files.push((in_skill, beneath)),
                Kind::Folder => self.walk(&beneath, &format!("{in_skill}/"), depth, skill)?,
                Kind::Link => {
                    let target = self
                        .boundary
                        .resolve(&self.boundary.root().join(&beneath))
                        .map_err(|why| {
                            anyhow::anyhow!(
                                "{} is a link that leads out of the source: {why}; replace it with the file itself",
                                skill.join(&in_skill).display()
                            )
                        })?;
                    self.links.push(in_skill.clone());
                    match target {
                        Target::File(real) => self.files.push((in_skill, real)),
                        Target::Folder(real) => {
                            self.walk(&real, &format!("{in_skill}/"), depth + 1, skill)?
                        }
                    }
                }
                Kind::Other => {}
            }
            if self.files.len() > MAX_FILES {
                bail!(
                    "{} has more than {MAX_FILES} files (with what its links lead to)",
                    skill.display()
                );
            }
        }
        Ok(())
    }
}
