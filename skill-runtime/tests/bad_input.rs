//! Hostile and broken manifests: each gets a clear diagnostic in bounded
//! time and memory, and never stops the other skills from being checked.

use std::path::Path;

use skill_runtime::manifest::{self, Code, Mode, Pos, Severity};
use skill_runtime::validate::{self, Options};

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn codes(path: &Path, mode: Mode) -> Vec<(Code, Option<Pos>)> {
    manifest::parse_file(path, mode)
        .diagnostics
        .iter()
        .map(|d| (d.code, d.pos))
        .collect()
}

#[test]
fn a_hundred_megabyte_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("SKILL.md");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 << 20).unwrap(); // sparse: costs no disk
    assert_eq!(codes(&path, Mode::Lenient), [(Code::FileTooLarge, None)]);
}

#[test]
fn non_utf8_bytes_are_located() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "demo/SKILL.md",
        b"---\nname: demo\ndescription: caf\xe9 au lait\n---\n",
    );
    assert_eq!(
        codes(&dir.path().join("demo/SKILL.md"), Mode::Strict),
        [(Code::FileNotUtf8, Some(Pos::new(3, 17)))]
    );
}

#[test]
fn crlf_line_endings_read_like_lf() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "demo/SKILL.md", b"---\r\nname: demo\r\ndescription: Fine.\r\nmetadata:\r\n  version: \"1.0.0\"\r\n---\r\n# Demo\r\n");
    let parsed = manifest::parse_file(&dir.path().join("demo/SKILL.md"), Mode::Strict);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let m = parsed.manifest.unwrap();
    assert_eq!((m.name.as_str(), m.description.as_str()), ("demo", "Fine."));
    assert_eq!(m.ext.version.unwrap().to_string(), "1.0.0");
    // Positions count lines, not carriage returns.
    write(
        dir.path(),
        "other/SKILL.md",
        b"---\r\ndescription: d\r\nname: demo\r\n---\r\n",
    );
    let found = codes(&dir.path().join("other/SKILL.md"), Mode::Strict);
    assert_eq!(found, [(Code::NameDirMismatch, Some(Pos::new(3, 7)))]);
}

#[test]
fn billion_laughs_is_bounded() {
    let mut yaml = String::from("---\nname: demo\ndescription: d\nmetadata:\n  a: &a lol\n");
    let mut prev = "a".to_string();
    for level in 0..12 {
        let name = format!("l{level}");
        let refs = vec![format!("*{prev}"); 10].join(", ");
        yaml.push_str(&format!("  {name}: &{name} [{refs}]\n"));
        prev = name;
    }
    yaml.push_str("---\n");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "demo/SKILL.md", yaml.as_bytes());
    let path = dir.path().join("demo/SKILL.md");
    let lenient = manifest::parse_file(&path, Mode::Lenient);
    assert!(
        lenient
            .diagnostics
            .iter()
            .any(|d| d.code == Code::YamlInvalid && d.message.contains("repetition limit")),
        "{:?}",
        lenient.diagnostics
    );
    let strict: Vec<_> = codes(&path, Mode::Strict)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    // The aliases sit inside flow lists, which strict mode refuses as such.
    assert!(
        strict.contains(&Code::YamlAnchor) && strict.contains(&Code::YamlFlowStyle),
        "{strict:?}"
    );
}

#[test]
fn deeply_nested_yaml_is_bounded() {
    let depth = 20_000;
    let yaml = format!(
        "---\nname: demo\ndescription: d\nmetadata:\n  deep: {}{}\n---\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "demo/SKILL.md", yaml.as_bytes());
    let found = codes(&dir.path().join("demo/SKILL.md"), Mode::Lenient);
    assert!(
        found.iter().any(|(c, _)| *c == Code::YamlInvalid),
        "{found:?}"
    );

    // 300 levels stay under the frontmatter cap and reach the parser's depth limit.
    let indented: String = (0..300)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    write(
        dir.path(),
        "deep/SKILL.md",
        format!("---\nname: deep\ndescription: d\nmetadata:\n{indented}---\n").as_bytes(),
    );
    let found = codes(&dir.path().join("deep/SKILL.md"), Mode::Lenient);
    assert!(
        found.iter().any(|(c, _)| *c == Code::YamlInvalid),
        "{found:?}"
    );
}

#[test]
fn an_unreadable_manifest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    // Permissions do not stop root, which CI runs as; a directory cannot be read as a file.
    std::fs::create_dir(dir.path().join("SKILL.md")).unwrap();
    let parsed = manifest::parse_file(&dir.path().join("SKILL.md"), Mode::Lenient);
    assert_eq!(parsed.diagnostics[0].code, Code::FileUnreadable);
    assert!(parsed.diagnostics[0].message.contains("could not read"));
    assert_eq!(
        codes(&dir.path().join("missing.md"), Mode::Lenient)[0].0,
        Code::FileUnreadable
    );
}

#[test]
fn one_bad_skill_never_stops_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "skills/broken/SKILL.md",
        b"---\nname: [unclosed\n---\n",
    );
    write(
        dir.path(),
        "skills/binary/SKILL.md",
        &[0xff, 0xfe, 0x00, 0x01],
    );
    write(
        dir.path(),
        "skills/fine/SKILL.md",
        b"---\nname: fine\ndescription: Works.\n---\n",
    );
    let report = validate::validate(
        &[dir.path().to_path_buf()],
        Options { mode: Mode::Strict },
        None,
    );
    assert_eq!(report.skills.len(), 3);
    let fine = report
        .skills
        .iter()
        .find(|s| s.manifest_path.ends_with("fine/SKILL.md"))
        .unwrap();
    assert!(fine.diagnostics.is_empty(), "{:?}", fine.diagnostics);
    assert_eq!(fine.manifest.as_ref().unwrap().description, "Works.");
    for broken in ["broken/SKILL.md", "binary/SKILL.md"] {
        let skill = report
            .skills
            .iter()
            .find(|s| s.manifest_path.ends_with(broken))
            .unwrap();
        assert!(
            skill
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error),
            "{broken}"
        );
    }
}

#[test]
fn yaml_errors_point_into_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "demo/SKILL.md",
        b"---\nname: demo\ndescription: d\nlicense: \"open\n---\n",
    );
    let parsed = manifest::parse_file(&dir.path().join("demo/SKILL.md"), Mode::Lenient);
    let d = &parsed.diagnostics[0];
    assert_eq!(d.code, Code::YamlInvalid);
    let pos = d.pos.expect("a position");
    assert!(
        pos.line >= 4,
        "{pos:?} should be in the file, past the opening fence"
    );
}

/// Inputs the fuzzer once crashed on (`fuzz/fuzz_targets/frontmatter.rs`):
/// parsing them must not panic, every position must fall in the text, and
/// the line a diagnostic quotes must be the line its position names.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let normalized = manifest::source::normalize_newlines(&text);
        let lines: Vec<&str> = normalized.lines().collect();
        for mode in [Mode::Lenient, Mode::Strict] {
            let (_, diagnostics) = manifest::parse_text(&text, Path::new("SKILL.md"), None, mode);
            for d in &diagnostics {
                let Some(pos) = d.pos else { continue };
                assert!(
                    pos.line >= 1 && pos.line <= lines.len() + 1,
                    "{d:?} points past line {}",
                    lines.len()
                );
                if let Some(line) = lines.get(pos.line - 1) {
                    assert_eq!(
                        d.source_line.as_deref(),
                        Some(*line),
                        "{d:?} quotes the wrong line"
                    );
                }
            }
        }
        seen += 1;
    }
    assert!(seen > 0, "the regression inputs are missing");
}

/// Many skills each naming many parents: checking mixin depth must not walk
/// every path (60 parents over 3 levels is 60^3 paths per skill).
#[test]
fn wide_mixin_graphs_are_checked_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let (layers, width) = (4, 60);
    for layer in 0..layers {
        for i in 0..width {
            let name = format!("l{layer}-s{i}");
            let parents = if layer + 1 < layers {
                let names: Vec<String> =
                    (0..width).map(|j| format!("l{}-s{j}", layer + 1)).collect();
                format!("  parents: {}\n", names.join(" "))
            } else {
                String::new()
            };
            let manifest = format!(
                "---\nname: {name}\ndescription: d\nmetadata:\n  version: \"1.0.0\"\n{parents}---\n"
            );
            write(
                dir.path(),
                &format!("skills/{name}/SKILL.md"),
                manifest.as_bytes(),
            );
        }
    }
    let report = validate::validate(
        &[dir.path().to_path_buf()],
        Options { mode: Mode::Strict },
        None,
    );
    let too_deep: Vec<_> = report
        .all()
        .filter(|d| d.code == Code::ParentTooDeep)
        .collect();
    assert_eq!(
        too_deep.len(),
        width,
        "only the bottom layer has three levels of parents above it (four levels in all)"
    );
    assert!(
        too_deep
            .iter()
            .all(|d| d.file.to_string_lossy().contains("/l0-"))
    );
}
