//! Every diagnostic code, in both modes: a minimal failing example must raise
//! it with the mode's severity, and a minimal passing neighbour must not.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use skill_runtime::manifest::{Code, Mode, Severity};
use skill_runtime::validate::{self, Options};
use skill_runtime::{Runtime, RuntimeConfig};

/// Files to write under a fresh folder, and the path to validate (relative).
struct Tree {
    files: Vec<(String, Vec<u8>)>,
    links: Vec<(String, PathBuf)>,
    input: String,
}

fn tree(files: &[(&str, &str)]) -> Tree {
    Tree {
        files: files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect(),
        links: Vec::new(),
        input: ".".into(),
    }
}

/// One skill folder `demo` with the given SKILL.md.
fn demo(manifest: &str) -> Tree {
    tree(&[("demo/SKILL.md", manifest)])
}

/// A valid manifest for folder `demo` with extra frontmatter lines and body.
fn fm(extra: &str, body: &str) -> String {
    format!("---\nname: demo\ndescription: A demo skill.\n{extra}---\n# Demo\n{body}")
}

fn meta(lines: &str) -> String {
    fm(&format!("metadata:\n{lines}"), "")
}

fn probe_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| skill_test_support::guest_wasm("probe"))
}

/// A core skill `demo` with only this skill.toml.
fn core(toml: &str) -> Tree {
    tree(&[("demo/skill.toml", toml)])
}

/// A valid skill.toml for `demo` v1.0.0 with extra sections.
fn core_toml(extra: &str) -> String {
    format!(
        "[skill]\nname = \"demo\"\nversion = \"1.0.0\"\ndescription = \"A demo skill.\"\n{extra}"
    )
}

/// The probe component in a folder, with extra metadata lines.
fn tool(folder: &str, name: &str, metadata: &str) -> Tree {
    let manifest = format!(
        "---\nname: {name}\ndescription: The probe.\nmetadata:\n  skill-type: tool\n{metadata}---\n"
    );
    let mut t = tree(&[(&format!("{folder}/SKILL.md"), &manifest)]);
    t.files
        .push((format!("{folder}/skill.wasm"), probe_wasm().to_vec()));
    t
}

/// The `quiet` guest, which imports only `log`, in a folder.
fn quiet(metadata: &str) -> Tree {
    let mut t = tool("quiet", "quiet", metadata);
    t.files[1].1 = skill_test_support::guest_wasm("quiet");
    t
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::new(RuntimeConfig {
            concurrency: 2,
            sandbox: common::sandbox(),
            ..Default::default()
        })
    })
}

fn diagnose(t: &Tree, mode: Mode) -> Vec<(Code, Severity)> {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in &t.files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    for (link, target) in &t.links {
        let link = dir.path().join(link);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, link).unwrap();
    }
    let report = validate::validate(
        &[dir.path().join(&t.input)],
        Options { mode },
        Some(runtime()),
    );
    report.all().map(|d| (d.code, d.severity)).collect()
}

use Severity::{Error as E, Warning as W};

/// (code, strict severity, lenient severity, failing, passing)
fn cases() -> Vec<(Code, Severity, Severity, Tree, Tree)> {
    let good = || demo(&fm("", ""));
    let outside = {
        let dir = std::env::temp_dir().join(format!("skill-outside-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("SKILL.md"), fm("", "")).unwrap();
        dir.join("SKILL.md")
    };
    let mut linked = tree(&[]);
    linked.links.push(("demo/SKILL.md".into(), outside.clone()));
    let mut linked_inside = tree(&[("shared/SKILL.md", &fm("", ""))]);
    linked_inside
        .links
        .push(("demo/SKILL.md".into(), PathBuf::from("../shared/SKILL.md")));

    let mut huge = demo("");
    huge.files[0].1 = format!("{}\n", fm("", &"x".repeat(1 << 20))).into_bytes();
    let mut latin1 = demo("");
    latin1.files[0].1 = b"---\nname: demo\ndescription: caf\xe9\n---\n".to_vec();
    let mut bom = demo("");
    bom.files[0].1 = [b"\xef\xbb\xbf".as_slice(), fm("", "").as_bytes()].concat();

    let mut broken_component = tool("probe", "probe", "");
    broken_component.files[1].1 = wat::parse_str("(module)").unwrap();
    let mut foreign_component = tool("probe", "probe", "");
    foreign_component.files[1].1 =
        wat::parse_str(r#"(component (import "wasi:sockets/tcp@0.2.0" (instance)))"#).unwrap();

    let long_body = fm("", &"line\n".repeat(600));
    let two = |a: &str, b: &str| tree(&[("skills/a/SKILL.md", a), ("skills/b/SKILL.md", b)]);
    let named = |name: &str, metadata: &str| {
        format!("---\nname: {name}\ndescription: d\nmetadata:\n{metadata}---\n")
    };
    let chain = |n: usize| {
        let files: Vec<(String, String)> = (0..n)
            .map(|i| {
                let parents = if i + 1 < n {
                    format!("  parents: s{}\n", i + 1)
                } else {
                    "  version: \"1.0.0\"\n".into()
                };
                (
                    format!("skills/s{i}/SKILL.md"),
                    named(&format!("s{i}"), &parents),
                )
            })
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        tree(&refs)
    };

    vec![
        (Code::FileTooLarge, E, E, huge, good()),
        (Code::FileNotUtf8, E, E, latin1, good()),
        (Code::Utf8Bom, E, W, bom, good()),
        (Code::ManifestOutsideTree, E, E, linked, linked_inside),
        (
            Code::FrontmatterMissing,
            E,
            E,
            demo("# Demo\nno frontmatter\n"),
            good(),
        ),
        (
            Code::FrontmatterUnclosed,
            E,
            E,
            demo("---\nname: demo\ndescription: d\n"),
            good(),
        ),
        (
            Code::FrontmatterTooLarge,
            E,
            E,
            demo(&fm(&"# filler comment line\n".repeat(4000), "")),
            good(),
        ),
        (
            Code::FrontmatterNotMapping,
            E,
            E,
            demo("---\n- name\n- description\n---\n"),
            good(),
        ),
        (
            Code::YamlInvalid,
            E,
            E,
            demo("---\nname: demo\ndescription: \"unclosed\n---\n"),
            good(),
        ),
        (
            Code::YamlDuplicateKey,
            E,
            E,
            demo(&fm("name: demo\n", "")),
            good(),
        ),
        (
            Code::YamlFlowStyle,
            E,
            W,
            demo(&fm("metadata: {a: b}\n", "")),
            demo(&fm("metadata:\n  a: b\n", "")),
        ),
        (
            Code::YamlAnchor,
            E,
            W,
            demo(&fm("license: &l MIT\n", "")),
            demo(&fm("license: MIT\n", "")),
        ),
        (
            Code::YamlAlias,
            E,
            W,
            demo(&fm("license: &l MIT\ncompatibility: *l\n", "")),
            demo(&fm("license: MIT\ncompatibility: MIT\n", "")),
        ),
        (
            Code::YamlTag,
            E,
            W,
            demo(&fm("license: !!str MIT\n", "")),
            demo(&fm("license: MIT\n", "")),
        ),
        (
            Code::YamlTypedValue,
            W,
            W,
            demo(&meta("  version: 1.1\n")),
            demo(&meta("  version: \"1.1.0\"\n")),
        ),
        (
            Code::UnexpectedField,
            E,
            W,
            demo(&fm("author: me\n", "")),
            demo(&meta("  author: me\n")),
        ),
        (
            Code::NameMissing,
            E,
            E,
            demo("---\ndescription: d\n---\n"),
            good(),
        ),
        (
            Code::NameEmpty,
            E,
            E,
            demo("---\nname: \"\"\ndescription: d\n---\n"),
            good(),
        ),
        (
            Code::NameTooLong,
            E,
            W,
            tree(&[(
                &format!("{0}/SKILL.md", "a".repeat(65)),
                &format!("---\nname: {}\ndescription: d\n---\n", "a".repeat(65)),
            )]),
            tree(&[(
                &format!("{0}/SKILL.md", "a".repeat(64)),
                &format!("---\nname: {}\ndescription: d\n---\n", "a".repeat(64)),
            )]),
        ),
        (
            Code::NameNotLowercase,
            E,
            W,
            tree(&[("Demo/SKILL.md", "---\nname: Demo\ndescription: d\n---\n")]),
            good(),
        ),
        (
            Code::NameInvalidChars,
            E,
            W,
            tree(&[(
                "my_skill/SKILL.md",
                "---\nname: my_skill\ndescription: d\n---\n",
            )]),
            tree(&[(
                "über-skill/SKILL.md",
                "---\nname: über-skill\ndescription: d\n---\n",
            )]),
        ),
        (
            Code::NameHyphens,
            E,
            W,
            tree(&[("a--b/SKILL.md", "---\nname: a--b\ndescription: d\n---\n")]),
            tree(&[("a-b/SKILL.md", "---\nname: a-b\ndescription: d\n---\n")]),
        ),
        (
            Code::NameDirMismatch,
            E,
            W,
            tree(&[("other/SKILL.md", &fm("", ""))]),
            good(),
        ),
        (
            Code::DescriptionMissing,
            E,
            E,
            demo("---\nname: demo\n---\n"),
            good(),
        ),
        (
            Code::DescriptionEmpty,
            E,
            E,
            demo("---\nname: demo\ndescription:   \n---\n"),
            good(),
        ),
        (
            Code::DescriptionTooLong,
            E,
            W,
            demo(&format!(
                "---\nname: demo\ndescription: {}\n---\n",
                "d".repeat(1025)
            )),
            demo(&format!(
                "---\nname: demo\ndescription: {}\n---\n",
                "d".repeat(1024)
            )),
        ),
        (
            Code::CompatibilityInvalid,
            E,
            W,
            demo(&fm("compatibility:\n  os: linux\n", "")),
            demo(&fm("compatibility: linux\n", "")),
        ),
        (
            Code::CompatibilityTooLong,
            E,
            W,
            demo(&fm(&format!("compatibility: {}\n", "c".repeat(501)), "")),
            demo(&fm(&format!("compatibility: {}\n", "c".repeat(500)), "")),
        ),
        (
            Code::LicenseInvalid,
            W,
            W,
            demo(&fm("license:\n  - MIT\n", "")),
            demo(&fm("license: MIT\n", "")),
        ),
        (
            Code::AllowedToolsInvalid,
            W,
            W,
            demo(&fm("allowed-tools:\n  read: true\n", "")),
            demo(&fm("allowed-tools:\n  - Read\n  - Bash\n", "")),
        ),
        (
            Code::MetadataNotMapping,
            W,
            W,
            demo(&fm("metadata: just text\n", "")),
            demo(&meta("  a: b\n")),
        ),
        (
            Code::MetadataValueNotString,
            W,
            W,
            demo(&meta("  nested:\n    deep: x\n")),
            demo(&meta("  nested-deep: x\n")),
        ),
        (
            Code::VersionInvalid,
            W,
            E,
            demo(&meta("  version: \"one\"\n")),
            demo(&meta("  version: \"1.0.0\"\n")),
        ),
        (
            Code::VersionLoose,
            W,
            W,
            demo(&meta("  version: \"1.0\"\n")),
            demo(&meta("  version: \"1.0.0\"\n")),
        ),
        (
            Code::SkillTypeInvalid,
            W,
            E,
            demo(&meta("  skill-type: script\n")),
            demo(&meta("  skill-type: prompt\n")),
        ),
        (
            Code::CapabilityUnknown,
            W,
            E,
            demo(&meta("  capabilities: socket\n")),
            demo(&meta("  capabilities: http-get:api.example.com\n")),
        ),
        (
            Code::CapabilityScopeInvalid,
            W,
            E,
            demo(&meta("  capabilities: read-file:../up\n")),
            demo(&meta("  capabilities: read-file:cache\n")),
        ),
        (
            Code::SecretInvalid,
            W,
            E,
            demo(&meta("  secrets: api_key\n")),
            demo(&meta("  secrets: API_KEY\n")),
        ),
        (
            Code::DependencyInvalid,
            W,
            E,
            demo(&meta("  dependencies: Geo@1\n")),
            demo(&meta("  dependencies: geo@^1\n")),
        ),
        (
            Code::ConflictInvalid,
            W,
            E,
            demo(&meta("  conflicts-with: Other_One\n")),
            demo(&meta("  conflicts-with: other-one\n")),
        ),
        (
            Code::ParentInvalid,
            W,
            E,
            demo(&meta("  parents: -base\n")),
            tree(&[
                ("skills/demo/SKILL.md", &meta("  parents: base\n")),
                (
                    "skills/base/SKILL.md",
                    "---\nname: base\ndescription: d\n---\n",
                ),
            ]),
        ),
        (
            Code::TrustTierInvalid,
            W,
            E,
            demo(&meta("  trust-tier: trusted\n")),
            demo(&meta("  trust-tier: verified\n")),
        ),
        (
            Code::ResourcesInvalid,
            W,
            E,
            demo(&meta("  resources: fuel=lots\n")),
            demo(&meta("  resources: fuel=2000000 memory=32MiB timeout=5s\n")),
        ),
        (
            Code::WasmPathInvalid,
            W,
            E,
            demo(&meta("  wasm: /abs/skill.wasm\n")),
            demo(&meta("  wasm: out/skill.wasm\n")),
        ),
        (
            Code::SchemaPathInvalid,
            W,
            E,
            demo(&meta("  input-schema: ../input.schema.json\n")),
            tree(&[
                (
                    "demo/SKILL.md",
                    &meta("  input-schema: input.schema.json\n"),
                ),
                ("demo/input.schema.json", r#"{"type":"object"}"#),
            ]),
        ),
        (
            Code::SchemaMissing,
            W,
            E,
            demo(&meta("  output-schema: output.schema.json\n")),
            tree(&[
                (
                    "demo/SKILL.md",
                    &meta("  output-schema: output.schema.json\n"),
                ),
                ("demo/output.schema.json", r#"{"type":"object"}"#),
            ]),
        ),
        (
            Code::SchemaInvalid,
            W,
            E,
            tree(&[
                (
                    "demo/SKILL.md",
                    &meta("  input-schema: input.schema.json\n"),
                ),
                (
                    "demo/input.schema.json",
                    r#"{"type":"object","properties":{"city":{"type":7}}}"#,
                ),
            ]),
            tree(&[
                (
                    "demo/SKILL.md",
                    &meta("  input-schema: input.schema.json\n"),
                ),
                (
                    "demo/input.schema.json",
                    r#"{"type":"object","properties":{"city":{"type":"string"}}}"#,
                ),
            ]),
        ),
        (
            Code::ExtensionList,
            W,
            W,
            demo(&meta("  secrets:\n    - API_KEY\n")),
            demo(&meta("  secrets: API_KEY\n")),
        ),
        (
            Code::DependencyCycle,
            W,
            E,
            two(
                &named("a", "  dependencies: b\n"),
                &named("b", "  dependencies: a\n"),
            ),
            two(
                &named("a", "  dependencies: b\n"),
                &named("b", "  version: \"1.0.0\"\n"),
            ),
        ),
        (
            Code::DependencyUnsatisfied,
            W,
            E,
            two(
                &named("a", "  dependencies: b@^2\n"),
                &named("b", "  version: \"1.4.0\"\n"),
            ),
            two(
                &named("a", "  dependencies: b@^1.2\n"),
                &named("b", "  version: \"1.4.0\"\n"),
            ),
        ),
        (
            Code::ParentMissing,
            W,
            E,
            two(
                &named("a", "  parents: c\n"),
                &named("b", "  version: \"1.0.0\"\n"),
            ),
            two(
                &named("a", "  parents: b\n"),
                &named("b", "  version: \"1.0.0\"\n"),
            ),
        ),
        (
            Code::ParentCycle,
            W,
            E,
            two(&named("a", "  parents: b\n"), &named("b", "  parents: a\n")),
            two(
                &named("a", "  parents: b\n"),
                &named("b", "  version: \"1.0.0\"\n"),
            ),
        ),
        (Code::ParentTooDeep, W, E, chain(4), chain(3)),
        (
            Code::ConflictInChain,
            W,
            E,
            two(
                &named("a", "  dependencies: b\n  conflicts-with: b\n"),
                &named("b", "  version: \"1.0.0\"\n"),
            ),
            two(
                &named("a", "  dependencies: b\n  conflicts-with: c\n"),
                &named("b", "  version: \"1.0.0\"\n"),
            ),
        ),
        (
            Code::DuplicateSkill,
            W,
            E,
            two(
                &named("a", "  version: \"1.0.0\"\n"),
                &named("a", "  version: \"1.0.0\"\n"),
            ),
            two(
                &named("a", "  version: \"1.0.0\"\n"),
                &named("b", "  version: \"1.0.0\"\n"),
            ),
        ),
        (
            Code::ComponentMissing,
            W,
            E,
            demo(&meta("  skill-type: tool\n")),
            demo(&meta("  skill-type: prompt\n")),
        ),
        (
            Code::ComponentInvalid,
            W,
            E,
            broken_component,
            tool(
                "probe",
                "probe",
                "  capabilities: http-get get-secret read-env\n",
            ),
        ),
        (
            Code::WorldMismatch,
            W,
            E,
            foreign_component,
            tool(
                "probe",
                "probe",
                "  capabilities: http-get get-secret read-env\n",
            ),
        ),
        (
            Code::CapabilityUndeclared,
            W,
            W,
            tool("probe", "probe", "  capabilities: http-get\n"),
            tool(
                "probe",
                "probe",
                "  capabilities: http-get:example.com http-post get-secret:API_KEY read-env read-file write-file recall-memory\n",
            ),
        ),
        (
            Code::CapabilityUnused,
            W,
            W,
            quiet("  capabilities: http-get\n"),
            quiet(""),
        ),
        (
            Code::ComponentNameMismatch,
            W,
            E,
            tool(
                "other",
                "other",
                "  capabilities: http-get get-secret read-env\n",
            ),
            tool(
                "probe",
                "probe",
                "  capabilities: http-get get-secret read-env\n",
            ),
        ),
        (Code::BodyTooLong, W, W, demo(&long_body), good()),
        (
            Code::LinkBroken,
            W,
            W,
            demo(&fm("", "See [the guide](references/guide.md).\n")),
            tree(&[
                (
                    "demo/SKILL.md",
                    &fm("", "See [the guide](references/guide.md).\n"),
                ),
                ("demo/references/guide.md", "# Guide\n"),
            ]),
        ),
        (
            Code::ReferenceTooDeep,
            W,
            W,
            tree(&[
                (
                    "demo/SKILL.md",
                    &fm("", "See [the guide](references/guide.md).\n"),
                ),
                ("demo/references/guide.md", "Then [more](more.md).\n"),
                ("demo/references/more.md", "x\n"),
            ]),
            tree(&[
                (
                    "demo/SKILL.md",
                    &fm("", "See [the guide](references/guide.md).\n"),
                ),
                ("demo/references/guide.md", "No links.\n"),
            ]),
        ),
        (
            Code::TomlInvalid,
            W,
            E,
            core("[skill]\nname = \"demo\"\nversion = 1\n"),
            core(&core_toml("")),
        ),
        (
            Code::TomlFieldMissing,
            W,
            E,
            core("[skill]\nname = \"demo\"\ndescription = \"d\"\n"),
            core(&core_toml("")),
        ),
        (
            Code::CoreNameInvalid,
            W,
            E,
            core("[skill]\nname = \"de mo\"\nversion = \"1.0.0\"\ndescription = \"d\"\n"),
            core(&core_toml("")),
        ),
        (
            Code::CoreCapabilityInvalid,
            W,
            E,
            core(&core_toml(
                "[capabilities.network]\ndomains = [\"not a host!\"]\n",
            )),
            core(&core_toml(
                "[capabilities.network]\ndomains = [\"api.example.com\"]\n",
            )),
        ),
        (
            Code::CoreResourcesInvalid,
            W,
            E,
            core(&core_toml("[resources]\nfuel = 0\n")),
            core(&core_toml("[resources]\nfuel = 5000\n")),
        ),
        (
            Code::ManifestsDisagree,
            W,
            E,
            tree(&[
                ("demo/SKILL.md", &meta("  version: \"2.0.0\"\n")),
                ("demo/skill.toml", &core_toml("")),
            ]),
            tree(&[
                (
                    "demo/SKILL.md",
                    &meta(
                        "  version: \"1.0.0\"\n  resources: \"fuel=1000000000 memory=16MiB timeout=5s\"\n",
                    ),
                ),
                ("demo/skill.toml", &core_toml("")),
            ]),
        ),
        (
            Code::NoSkillFound,
            E,
            E,
            tree(&[("README.md", "# nothing here\n")]),
            good(),
        ),
    ]
}

#[test]
fn every_code_fails_and_passes_in_both_modes() {
    let cases = cases();
    let mut failures = Vec::new();
    for (code, strict, lenient, bad, good) in &cases {
        for (mode, severity) in [(Mode::Strict, *strict), (Mode::Lenient, *lenient)] {
            let found = diagnose(bad, mode);
            if !found.contains(&(*code, severity)) {
                failures.push(format!(
                    "{code} ({mode:?}): expected {severity}, got {found:?}"
                ));
            }
            let found = diagnose(good, mode);
            if found.iter().any(|(c, _)| c == code) {
                failures.push(format!(
                    "{code} ({mode:?}): the passing example raised it: {found:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_code_is_left_without_a_case() {
    let covered: BTreeSet<Code> = cases().iter().map(|c| c.0).collect();
    // Reading errors that need an unreadable file are covered in `bad_input.rs`.
    let elsewhere = [Code::FileUnreadable];
    let missing: Vec<_> = Code::ALL
        .iter()
        .filter(|c| !covered.contains(c) && !elsewhere.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
}

#[test]
fn severities_in_the_table_match_the_codes() {
    for (code, strict, lenient, _, _) in cases() {
        assert_eq!(code.severity(Mode::Strict), strict, "{code}");
        assert_eq!(code.severity(Mode::Lenient), lenient, "{code}");
    }
}

#[test]
fn docs_list_every_code_with_its_severities() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/validate.md"))
        .unwrap();
    for &code in Code::ALL {
        let name = |s: Severity| if s == E { "error" } else { "warning" };
        let row = format!(
            "| `{code}` | {} | {} |",
            name(code.severity(Mode::Strict)),
            name(code.severity(Mode::Lenient))
        );
        assert!(
            docs.contains(&row),
            "docs/validate.md lacks the row starting {row}"
        );
    }
}
