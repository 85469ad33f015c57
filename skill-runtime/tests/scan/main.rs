//! `scan`: every rule's own example triggers it at its severity and its near
//! miss does not; crafted malicious skills, one per family, are flagged;
//! `docs/scan.md` lists exactly the rules the code has. The shared helpers
//! are here; the tests are in the modules by what they check.

use std::collections::BTreeSet;
use std::path::Path;

use skill_runtime::scan::{RULES, Risk, Rule, scan_paths, scan_skill};

mod intent;
mod reading;
mod rules;
mod weights;

const CLEAN_SKILL_MD: &str =
    "---\nname: demo\ndescription: A demo skill. Use it for demos.\n---\n\n# Demo\n\nSay hello.\n";

fn write(dir: &Path, file: &str, content: &[u8]) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A clean skill plus `file` (a rule's example), set up the way the rule needs.
fn skill_with(rule: &Rule, (file, content): (&str, &str)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "SKILL.md", CLEAN_SKILL_MD.as_bytes());
    match rule.id {
        "symlink" if file == "link" => {
            std::os::unix::fs::symlink("/etc/passwd", d.join(file)).unwrap()
        }
        "oversize" if file.ends_with("big.bin") => {
            write(d, file, &vec![b'a'; 6 << 20]);
        }
        "archive-member" => {
            let member = content
                .trim_end_matches(')')
                .rsplit("named ")
                .next()
                .unwrap();
            write(d, file, &tar_of(&[(member, b"echo hi\n")]));
        }
        "allowed-tools-mismatch" => {
            write(d, file, content.as_bytes());
            write(d, "scripts/go.sh", b"echo hello\n");
        }
        _ => write(d, file, content.as_bytes()),
    }
    dir
}

/// The findings of `rule` in a skill whose SKILL.md body is `body`.
fn rule_lines(rule: &str, body: &str) -> Vec<usize> {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "SKILL.md",
        format!("{CLEAN_SKILL_MD}\n{body}").as_bytes(),
    );
    scan_skill(dir.path())
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.line - CLEAN_SKILL_MD.lines().count() - 1)
        .collect()
}

/// The rules a skill holding `file` raises, with their severities.
fn raised(file: &str, content: &[u8]) -> Vec<(&'static str, Risk)> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "SKILL.md", CLEAN_SKILL_MD.as_bytes());
    write(dir.path(), file, content);
    let mut rules: Vec<_> = scan_skill(dir.path())
        .findings
        .iter()
        .map(|f| (f.rule, f.severity))
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

/// The highest severity `rule` reaches in a skill made of `files`.
fn worst(rule: &str, files: &[(&str, &str)]) -> Option<Risk> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "SKILL.md", CLEAN_SKILL_MD.as_bytes());
    for (file, content) in files {
        let content = if *file == "SKILL.md" {
            format!("{CLEAN_SKILL_MD}\n{content}")
        } else {
            content.to_string()
        };
        write(dir.path(), file, content.as_bytes());
    }
    scan_skill(dir.path())
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.severity)
        .max()
}

/// The rules a skill made of `files` raises at `high` or above, sorted.
fn gating(files: &[(&str, &str)]) -> Vec<&'static str> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "SKILL.md", CLEAN_SKILL_MD.as_bytes());
    for (file, content) in files {
        write(dir.path(), file, content.as_bytes());
    }
    let mut rules: Vec<&str> = scan_skill(dir.path())
        .findings
        .iter()
        .filter(|f| f.severity >= Risk::High)
        .map(|f| f.rule)
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

/// A tar archive of `members`, names written as given (`..` included).
fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, content) in members {
        let mut header = tar::Header::new_ustar();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn gzip_of(content: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(content).unwrap();
    gz.finish().unwrap()
}

/// Every (rule, severity, path) a skill shipping `file` raises.
fn inside(file: &str, content: &[u8]) -> Vec<(&'static str, Risk, String)> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "SKILL.md", CLEAN_SKILL_MD.as_bytes());
    write(dir.path(), file, content);
    scan_skill(dir.path())
        .findings
        .into_iter()
        .map(|f| (f.rule, f.severity, f.path))
        .collect()
}
