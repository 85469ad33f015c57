//! The ecosystem's own skills: a repository generated in the shape of the
//! public ones (no `metadata.version`, the specification's `"1.0"`, skills
//! under `skills/` with scripts, references and nested folders, extra
//! top-level keys, a template at the root, plugin folders that
//! `.claude-plugin/marketplace.json` names) installs exactly what the
//! ecosystem's installer (`npx skills`) installs from it; `update` moves
//! only what changed at the source; `--locked` puts back the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::hostile::{commit, git_repo};
use crate::{cargo_skill, stderr, stdout_json};

fn public_shape(dir: &Path) -> PathBuf {
    let skill = |name: &str, extra: &str| {
        format!(
            "---\nname: {name}\ndescription: Works with {name} files. Use when the user asks about {name}.\nlicense: Proprietary. LICENSE.txt has complete terms\n{extra}---\n\n# {name}\n\nRead [the reference](reference.md) first.\n"
        )
    };
    git_repo(
        dir,
        &[
            ("README.md", "# Skills\n"),
            (
                ".claude-plugin/marketplace.json",
                "{\"plugins\": [{\"name\": \"office\", \"source\": \"./plugins/office\", \"skills\": [\"./tools/odt\"]}]}\n",
            ),
            ("plugins/office/skills/ods/SKILL.md", &skill("ods", "")),
            ("plugins/office/skills/ods/reference.md", "# Reference\n"),
            ("plugins/office/tools/odt/SKILL.md", &skill("odt", "")),
            ("plugins/office/tools/odt/reference.md", "# Reference\n"),
            ("skills/pdf/SKILL.md", &skill("pdf", "")),
            ("skills/pdf/reference.md", "# Reference\n"),
            ("skills/pdf/scripts/extract.py", "print('v1')\n"),
            ("skills/pdf/LICENSE.txt", "terms\n"),
            (
                "skills/docx/SKILL.md",
                &skill("docx", "metadata:\n  version: \"1.0\"\n"),
            ),
            ("skills/docx/reference.md", "# Reference\n"),
            ("skills/docx/ooxml/schemas/wml.xsd", "<xsd/>\n"),
            ("skills/docx/ooxml/scripts/pack.py", "pass\n"),
            (
                "skills/xlsx/SKILL.md",
                &skill("xlsx", "metadata:\n  version: \"1\"\n  author: someone\n"),
            ),
            ("skills/xlsx/reference.md", "# Reference\n"),
            ("skills/xlsx/recalc.py", "pass\n"),
            // Another tool's top-level key: agents load it, strict validators do not.
            (
                "skills/brand-guidelines/SKILL.md",
                &skill(
                    "brand-guidelines",
                    "allowed-tools: Read Write\nmodel: inherit\n",
                ),
            ),
            ("skills/brand-guidelines/reference.md", "# Reference\n"),
            // A list of mappings that repeat their keys (awesome-copilot's authors).
            (
                "skills/mentor/SKILL.md",
                &skill(
                    "mentor",
                    "authors:\n  - name: A\n    github: a\n  - name: B\n    github: b\n",
                ),
            ),
            // A child of the root, named otherwise than its folder: both
            // installers take it, under the name its SKILL.md gives.
            ("template/SKILL.md", &skill("template-skill", "")),
            ("template/reference.md", "# Reference\n"),
        ],
    )
}

/// Every installed file with its bytes, install metadata aside.
fn installed_files(home: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let root = home.join("skills");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else if entry.file_name() != ".boternity-meta.toml" {
                out.insert(
                    path.strip_prefix(&root).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn unversioned_skills_install_like_npx_and_update_by_content() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let repo = public_shape(&h.join("anthropic-like"));
    let url = format!("file://{}", repo.display());
    let cli = |args: &[&str]| {
        cargo_skill(h)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    let out = cli(&["install", &url, "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("Installed pdf unversioned (content "), "{err}");
    assert!(err.contains("Installed docx v1.0.0"), "{err}");
    assert!(err.contains("Installed xlsx v1.0.0"), "{err}");
    assert!(
        err.contains(":template installs as `template-skill`, the name its SKILL.md gives"),
        "{err}"
    );
    assert!(!err.contains("error"), "{err}");
    // The short versions are warnings, not errors, in both modes.
    for mode in [
        &["validate", "--no-components"][..],
        &["validate", "--strict", "--no-components"],
    ] {
        let checked = cargo_skill(h)
            .args(mode)
            .arg(repo.join("skills/docx"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&checked.stdout);
        assert_eq!(checked.status.code(), Some(0), "{text}");
        assert!(text.contains("warning[version-loose]"), "{text}");
    }

    let theirs = h.join("npx-project");
    std::fs::create_dir_all(&theirs).unwrap();
    let npx = crate::npm_skills_in("skills-lock", &theirs, h)
        .args(["add", repo.to_str().unwrap(), "--yes", "--agent", "codex"])
        .output()
        .unwrap();
    assert!(
        npx.status.success(),
        "{}",
        String::from_utf8_lossy(&npx.stdout)
    );
    let by_npx = names_in(&theirs.join(".agents/skills"));
    assert_eq!(
        by_npx,
        [
            "brand-guidelines",
            "docx",
            "mentor",
            "ods",
            "odt",
            "pdf",
            "template-skill",
            "xlsx"
        ]
    );
    assert_eq!(
        names_in(&h.join("skills")),
        by_npx,
        "the same skills as npx skills"
    );

    let list = stdout_json(&cli(&["list", "--message-format", "json"]));
    let pdf = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "pdf")
        .unwrap();
    assert!(pdf.get("version").is_none(), "{pdf}");
    assert_eq!(pdf["content-sha256"].as_str().unwrap().len(), 64);
    let lock = std::fs::read_to_string(h.join("skills.lock")).unwrap();
    assert!(lock.contains("content-sha256"), "{lock}");

    // Nothing changed at the source: nothing moves.
    let out = cli(&["update", "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("Updated"), "{err}");
    assert!(err.contains("Up to date pdf unversioned"), "{err}");

    // One skill changes: only it moves, and the change is shown.
    commit(
        &repo,
        &[("skills/pdf/scripts/extract.py", "print('v2')\n")],
        "pdf v2",
    );
    let dry = cli(&["update", "--dry-run"]);
    assert!(
        stderr(&dry).contains("Would update pdf"),
        "{}",
        stderr(&dry)
    );
    assert!(
        std::fs::read_to_string(h.join("skills/pdf/scripts/extract.py"))
            .unwrap()
            .contains("v1")
    );
    let out = cli(&["update", "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("Updated").count(), 1, "{err}");
    assert!(
        err.contains("Updated pdf unversioned (content ") && err.contains("~ scripts/extract.py"),
        "{err}"
    );
    for other in ["docx v1.0.0", "xlsx v1.0.0", "brand-guidelines unversioned"] {
        assert!(
            err.contains(&format!("Up to date {other}")),
            "{other}: {err}"
        );
    }
    assert!(
        std::fs::read_to_string(h.join("skills/pdf/scripts/extract.py"))
            .unwrap()
            .contains("v2")
    );

    // Another home with this skills.lock: --locked puts back exactly the
    // locked bytes, each skill from the commit it was locked at, although
    // the source has moved on since.
    let before = installed_files(h);
    commit(
        &repo,
        &[("skills/docx/reference.md", "# Changed upstream\n")],
        "docx moves on",
    );
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(h.join("skills.lock"), other.path().join("skills.lock")).unwrap();
    let out = cargo_skill(other.path())
        .args(["install", &url, "--locked", "--yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        installed_files(other.path()),
        before,
        "byte-identical content"
    );
    let unlocked = cli(&["install", &url, "--skill", "docx", "--yes"]);
    assert_eq!(unlocked.status.code(), Some(0));
    assert_ne!(
        installed_files(h),
        before,
        "without --locked, the new commit"
    );
}

#[test]
fn strict_validation_agrees_with_the_reference_validator() {
    // The reference validator (`skills-ref` from PyPI; .ci/run installs it
    // into target/pyref) and `validate --strict` on the same folders.
    let reference = skill_test_support::repo_root().join("target/pyref/bin/agentskills");
    assert!(
        reference.is_file(),
        "{} is missing: `python3 -m venv target/pyref && target/pyref/bin/pip install skills-ref==0.1.1` (.ci/run does)",
        reference.display()
    );
    let root = tempfile::tempdir().unwrap();
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(&str, String)> = vec![
        ("valid", "name: valid\ndescription: A skill.\n".into()),
        ("version-short", "name: version-short\ndescription: d\nmetadata:\n  version: \"1.0\"\n".into()),
        ("version-one", "name: version-one\ndescription: d\nmetadata:\n  version: \"1\"\n".into()),
        ("version-word", "name: version-word\ndescription: d\nmetadata:\n  version: latest\n".into()),
        ("extension-bad", "name: extension-bad\ndescription: d\nmetadata:\n  capabilities: teleport\n  dependencies: ../x@1\n".into()),
        ("all-fields", "name: all-fields\ndescription: d\nlicense: MIT\ncompatibility: Needs git\nallowed-tools: Bash(git:*) Read\nmetadata:\n  author: a\n".into()),
        ("Uppercase", "name: Uppercase\ndescription: d\n".into()),
        ("upper-name", "name: Upper-Name\ndescription: d\n".into()),
        ("-lead", "name: -lead\ndescription: d\n".into()),
        ("trail-", "name: trail-\ndescription: d\n".into()),
        ("two--hyphens", "name: two--hyphens\ndescription: d\n".into()),
        ("under_score", "name: under_score\ndescription: d\n".into()),
        ("mismatch", "name: other\ndescription: d\n".into()),
        ("no-name", "description: d\n".into()),
        ("no-description", "name: no-description\n".into()),
        ("empty-description", "name: empty-description\ndescription: \"\"\n".into()),
        ("long-name", format!("name: {}\ndescription: d\n", long(65))),
        ("long-description", format!("name: long-description\ndescription: {}\n", long(1025))),
        ("long-compatibility", format!("name: long-compatibility\ndescription: d\ncompatibility: {}\n", long(501))),
        ("extra-key", "name: extra-key\ndescription: d\nversion: 1.1\n".into()),
        ("flow-style", "name: flow-style\ndescription: d\nmetadata: {author: a}\n".into()),
        ("metadata-list", "name: metadata-list\ndescription: d\nmetadata:\n  - a\n".into()),
        ("license-list", "name: license-list\ndescription: d\nlicense:\n  - MIT\n".into()),
        ("tools-list", "name: tools-list\ndescription: d\nallowed-tools:\n  - Read\n".into()),
        ("i18n-名前", "name: i18n-名前\ndescription: d\n".into()),
        ("café", "name: café\ndescription: d\n".into()),
        ("number-name", "name: 123\ndescription: d\n".into()),
        ("duplicate", "name: duplicate\nname: duplicate\ndescription: d\n".into()),
        ("bad-yaml", "name: bad-yaml\ndescription: a: b: c\n  - x\n".into()),
        ("anchor", "name: anchor\ndescription: &d d\n".into()),
        ("quoted", "name: \"quoted\"\ndescription: 'd'\n".into()),
        ("multiline", "name: multiline\ndescription: >\n  Folded\n  text.\n".into()),
    ];
    let mut disagree = Vec::new();
    for (folder, frontmatter) in &cases {
        let dir = root.path().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("SKILL.md"),
            format!("---\n{frontmatter}---\n\n# Body\n"),
        )
        .unwrap();
        let theirs = std::process::Command::new(&reference)
            .args(["validate"])
            .arg(&dir)
            .output()
            .unwrap()
            .status
            .success();
        let ours = cargo_skill(root.path())
            .args(["validate", "--strict", "--no-components"])
            .arg(&dir)
            .output()
            .unwrap();
        if theirs != ours.status.success() {
            disagree.push(format!(
                "{folder}: reference {theirs}, ours {}\n{}",
                ours.status.success(),
                String::from_utf8_lossy(&ours.stdout)
            ));
        }
    }
    assert!(
        disagree.is_empty(),
        "{} of {} disagree:\n{}",
        disagree.len(),
        cases.len(),
        disagree.join("\n")
    );
}
