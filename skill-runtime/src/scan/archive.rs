//! Inside the archives a skill ships (zip, tar, gzip, and tar.gz): every
//! member is a file of the skill, scanned with the same rules under the
//! name `archive!member`. Reading is bounded in members, bytes and
//! nesting; what breaks a bound is reported, never skipped silently.

use std::io::{Cursor, Read};

use super::finding::Finding;
use super::rules::rule;

/// Members read from one archive, nested ones included.
const MAX_MEMBERS: usize = 1000;
/// Bytes unpacked from one archive, nested ones included.
const MAX_UNPACKED: u64 = 64 << 20;
/// Unpacked bytes per packed byte past which (on more than 1 MiB
/// unpacked) an archive is a decompression bomb.
const MAX_RATIO: u64 = 100;
/// Archives inside archives are opened this deep.
const MAX_DEPTH: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Zip,
    Gzip,
    Tar,
}

impl Kind {
    pub(super) fn of(head: &[u8]) -> Option<Kind> {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(Kind::Zip)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Some(Kind::Gzip)
        } else if head.get(257..262) == Some(b"ustar") {
            Some(Kind::Tar)
        } else {
            None
        }
    }
}

/// One member's name and content, handed to the file checks.
pub(super) type Visit<'a> = dyn FnMut(&str, &[u8], &mut Vec<Finding>) + 'a;

struct Reader<'a> {
    path: &'a str,
    members: usize,
    unpacked: u64,
    findings: &'a mut Vec<Finding>,
    visit: &'a mut Visit<'a>,
}

/// Reads the archive at `path` (its bytes in `bytes`), handing each
/// regular member to `visit` and reporting unsafe members and bounds.
pub(super) fn open<'a>(
    path: &'a str,
    kind: Kind,
    bytes: &[u8],
    findings: &'a mut Vec<Finding>,
    visit: &'a mut Visit<'a>,
) {
    let mut reader = Reader {
        path,
        members: 0,
        unpacked: 0,
        findings,
        visit,
    };
    reader.archive(path, kind, bytes, 0);
}

impl Reader<'_> {
    fn report(&mut self, id: &str, member: &str, detail: String) {
        self.findings.push(Finding::new(
            rule(id).expect("an archive rule"),
            member,
            1,
            1,
            &detail,
        ));
    }

    fn archive(&mut self, name: &str, kind: Kind, bytes: &[u8], depth: usize) {
        let result = match kind {
            Kind::Zip => self.zip(name, bytes, depth),
            Kind::Tar => self.tar(name, bytes, depth),
            Kind::Gzip => self.gzip(name, bytes, depth),
        };
        if let Err(why) = result {
            self.report("unscannable", name, why);
        }
    }

    /// One more member (of any kind) within the bound on members.
    fn count(&mut self) -> Result<(), String> {
        self.members += 1;
        if self.members > MAX_MEMBERS {
            return Err(format!("over {MAX_MEMBERS} members in `{}`", self.path));
        }
        Ok(())
    }

    /// Reports `name` as a bomb when `packed` bytes unpack to far more.
    fn bomb(&mut self, name: &str, packed: u64, unpacked: u64) -> bool {
        let bomb = unpacked > 1 << 20 && unpacked > packed.saturating_mul(MAX_RATIO);
        if bomb {
            self.report(
                "archive-member",
                name,
                format!("a decompression bomb: {packed} bytes unpack to {unpacked}"),
            );
        }
        bomb
    }

    /// The bytes of one member, within what is left of the budget.
    fn take(&mut self, member: &str, reader: impl Read, declared: u64) -> Result<Vec<u8>, String> {
        let left = MAX_UNPACKED.saturating_sub(self.unpacked);
        // The declared size is the archive's word: a hint, not an allocation.
        let mut out = Vec::with_capacity(declared.min(left).min(1 << 20) as usize);
        reader
            .take(left + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("`{member}` could not be unpacked: {e}"))?;
        self.unpacked += out.len() as u64;
        if out.len() as u64 > left {
            return Err(format!(
                "over {} MiB unpacked from `{}`",
                MAX_UNPACKED >> 20,
                self.path
            ));
        }
        Ok(out)
    }

    fn member(&mut self, outer: &str, name: &str, bytes: &[u8], packed: u64, depth: usize) {
        let full = format!("{outer}!{name}");
        if self.bomb(&full, packed, bytes.len() as u64) {
            return;
        }
        match Kind::of(&bytes[..bytes.len().min(512)]) {
            Some(kind) if depth < MAX_DEPTH => {
                self.report(
                    "archive-member",
                    &full,
                    "an archive inside an archive".into(),
                );
                self.archive(&full, kind, bytes, depth + 1);
            }
            Some(_) => self.report(
                "unscannable",
                &full,
                format!("archives nested more than {MAX_DEPTH} deep are not opened"),
            ),
            None => (self.visit)(&full, bytes, self.findings),
        }
    }

    /// Names that would land outside the folder they are unpacked into.
    fn unsafe_name(&mut self, outer: &str, name: &str) -> bool {
        let escapes = name.starts_with('/')
            || name.starts_with('\\')
            || name.split(['/', '\\']).any(|part| part == "..")
            || name.get(1..2) == Some(":");
        if escapes {
            self.report(
                "archive-member",
                &format!("{outer}!{name}"),
                "a member named to unpack outside the folder (path traversal)".into(),
            );
        }
        escapes
    }

    fn zip(&mut self, outer: &str, bytes: &[u8], depth: usize) -> Result<(), String> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| format!("not a readable zip archive: {e}"))?;
        for i in 0..zip.len() {
            self.count()?;
            let mut file = zip
                .by_index(i)
                .map_err(|e| format!("member {i} could not be read: {e}"))?;
            let name = match file.name() {
                Ok(name) => name.into_owned(),
                Err(_) => String::from_utf8_lossy(file.name_raw()).into_owned(),
            };
            if self.unsafe_name(outer, &name) || file.is_dir() {
                continue;
            }
            if file.is_symlink() {
                self.report(
                    "archive-member",
                    &format!("{outer}!{name}"),
                    "a symbolic link, which unpacks to point anywhere".into(),
                );
                continue;
            }
            let packed = file.compressed_size();
            let declared = file.size();
            let content = self.take(&name, &mut file, declared)?;
            drop(file);
            self.member(outer, &name, &content, packed, depth);
        }
        Ok(())
    }

    fn tar(&mut self, outer: &str, bytes: &[u8], depth: usize) -> Result<(), String> {
        let mut tar = tar::Archive::new(Cursor::new(bytes));
        let entries = tar
            .entries()
            .map_err(|e| format!("not a readable tar archive: {e}"))?;
        for entry in entries {
            self.count()?;
            let mut entry = entry.map_err(|e| format!("a member could not be read: {e}"))?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if self.unsafe_name(outer, &name) {
                continue;
            }
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                self.report(
                    "archive-member",
                    &format!("{outer}!{name}"),
                    format!("a link to `{target}`, which unpacks to point anywhere"),
                );
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let declared = entry.size();
            let content = self.take(&name, &mut entry, declared)?;
            self.member(outer, &name, &content, declared, depth);
        }
        Ok(())
    }

    fn gzip(&mut self, outer: &str, bytes: &[u8], depth: usize) -> Result<(), String> {
        let name = outer
            .rsplit(['/', '!'])
            .next()
            .unwrap_or(outer)
            .trim_end_matches(".gz")
            .trim_end_matches(".tgz")
            .to_string();
        let content = self.take(&name, flate2::read::MultiGzDecoder::new(bytes), 0)?;
        if Kind::of(&content[..content.len().min(512)]) == Some(Kind::Tar) {
            if !self.bomb(outer, bytes.len() as u64, content.len() as u64) {
                self.tar(outer, &content, depth)?;
            }
            return Ok(());
        }
        self.member(outer, &name, &content, bytes.len() as u64, depth);
        Ok(())
    }
}
