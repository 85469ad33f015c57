//! `cargo skill test`: case files, every expectation form, budgets,
//! fixtures, snapshots, JUnit and exit codes.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{cargo_skill, probe_skill_folder, stderr};

/// The probe guest as a skill folder with the given case files.
fn probe_skill(root: &Path, cases: &[(&str, &str)]) -> PathBuf {
    let manifest =
        "---\nname: probe\ndescription: The probe.\nmetadata:\n  skill-type: tool\n---\n";
    let dir = probe_skill_folder(root, "probe", manifest);
    for (file, text) in cases {
        std::fs::write(dir.join("tests").join(file), text).unwrap();
    }
    dir
}

fn test(dir: &Path, args: &[&str]) -> std::process::Output {
    cargo_skill(dir.parent().unwrap())
        .args(["skill", "test", "--skill"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const PASSING: &str = r#"[
  {"name": "echo exact", "input": {"mode": "echo", "x": 1}, "expect": {"output": {"mode": "echo", "x": 1}}},
  {"name": "context subset", "input": {"mode": "context"}, "fixtures": {"context": {"bot-name": "Ada", "bot-slug": "ada"}},
   "expect": {"output-contains": {"bot_name": "Ada", "bot_slug": "ada", "skill_name": "probe"}}},
  {"name": "denied capability", "input": {"mode": "http"}, "expect": {"error": "capability-denied"}},
  {"name": "guest error", "input": {"mode": "fail"}, "expect": {"skill-error": "asked to fail"}},
  {"name": "loop runs out", "input": {"mode": "loop"}, "expect": {"error": "fuel-exhausted"}},
  {"name": "within budget", "input": {"mode": "work", "iterations": 10}, "limits": {"fuel": 400000}, "expect": {"output-contains": {}}}
]"#;

#[test]
fn every_expectation_form_passes_and_exits_zero() {
    let root = tempfile::tempdir().unwrap();
    let dir = probe_skill(
        root.path(),
        &[
            ("all.json", PASSING),
            (
                "more.yaml",
                "name: yaml case\ninput:\n  mode: echo\nexpect:\n  output-contains:\n    mode: echo\n",
            ),
        ],
    );
    let out = test(&dir, &["--message-format", "json"]);
    let lines = json_lines(&out);
    let summary = lines.last().unwrap();
    assert_eq!(
        (summary["passed"].as_u64(), summary["failed"].as_u64()),
        (Some(7), Some(0)),
        "{lines:#?}"
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(lines[0]["metrics"]["fuel_consumed"].as_u64().unwrap() > 0);
}

#[test]
fn failures_say_what_differed_and_exit_one() {
    let root = tempfile::tempdir().unwrap();
    let cases = r#"[
      {"name": "wrong output", "input": {"mode": "echo"}, "expect": {"output": {"mode": "nope"}}},
      {"name": "wrong kind", "input": {"mode": "http"}, "expect": {"error": "timeout"}},
      {"name": "over budget", "input": {"mode": "work", "iterations": 5000}, "budget": {"fuel": 1000}, "expect": {"output-contains": {}}}
    ]"#;
    let dir = probe_skill(root.path(), &[("fail.json", cases)]);
    let out = test(&dir, &["--color", "never"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r#"expected output {"mode":"nope"}, got output {"mode":"echo"}"#),
        "{text}"
    );
    assert!(
        text.contains("expected error `timeout`, got capability-denied"),
        "{text}"
    );
    assert!(text.contains("over its budget of 1000"), "{text}");
    assert!(
        text.contains("skill test result: FAILED. 0 passed; 3 failed"),
        "{text}"
    );

    // `--fuel` applies to every case, says so when it is the limit hit,
    // and never passes the tier's ceiling.
    let out = test(
        &dir,
        &["--color", "never", "--fuel", "1000", "wrong output"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fuel-exhausted") && text.contains("from this run's flag"),
        "{text}"
    );
    let out = test(
        &dir,
        &[
            "--color",
            "never",
            "--fuel",
            "100000000000000",
            "wrong output",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("`max-fuel` under `[tiers.untrusted]`"),
        "{text}"
    );
}

#[test]
fn inputs_and_ok_outputs_are_checked_against_the_declared_schemas() {
    let root = tempfile::tempdir().unwrap();
    let manifest = "---\nname: probe\ndescription: The probe.\nmetadata:\n  skill-type: tool\n  input-schema: in.json\n  output-schema: out.json\n---\n";
    let dir = probe_skill_folder(root.path(), "probe", manifest);
    std::fs::write(
        dir.join("in.json"),
        r#"{"type":"object","properties":{"mode":{"enum":["echo","fail","env"]}},"required":["mode"]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("out.json"),
        r#"{"type":"object","properties":{"mode":{"const":"echo"}},"required":["mode"]}"#,
    )
    .unwrap();
    let cases = r#"[
      {"name": "fits both", "input": {"mode": "echo"}, "expect": {"output-contains": {"mode": "echo"}}},
      {"name": "errors are not outputs", "input": {"mode": "fail"}, "expect": {"skill-error": "asked to fail"}},
      {"name": "input outside the schema", "input": {"mode": "loop"}, "expect": {"error": "fuel-exhausted"}},
      {"name": "output outside the schema", "input": {"mode": "env"}, "expect": {"output-contains": {}}}
    ]"#;
    std::fs::write(dir.join("tests/schemas.json"), cases).unwrap();
    let out = test(&dir, &["--color", "never"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 passed; 2 failed"), "{text}");
    assert!(
        text.contains("the input does not match") && text.contains("/mode: \"loop\" is not one of"),
        "{text}"
    );
    assert!(
        text.contains("the output does not match")
            && text.contains("/: \"mode\" is a required property"),
        "{text}"
    );
}

#[test]
fn a_broken_case_file_fails_only_its_own_cases() {
    let root = tempfile::tempdir().unwrap();
    let broken = "{\"name\": \"typo\",\n \"expect\": {\"outptu\": 1}}";
    let unknown_kind = r#"{"name": "bad kind", "expect": {"error": "exploded"}}"#;
    let good = r#"{"name": "fine", "input": {"mode": "echo"}, "expect": {"output-contains": {"mode": "echo"}}}"#;
    let dir = probe_skill(
        root.path(),
        &[
            ("a-broken.json", broken),
            ("b-kind.json", unknown_kind),
            ("c-good.json", good),
        ],
    );
    let out = test(&dir, &["--message-format", "json"]);
    let lines = json_lines(&out);
    assert_eq!(out.status.code(), Some(1));
    let failure = |i: usize| lines[i]["failure"].as_str().unwrap_or("").to_string();
    assert!(
        failure(0).contains("a-broken.json:2:") && failure(0).contains("outptu"),
        "{}",
        failure(0)
    );
    assert!(
        failure(1).contains("unknown error kind `exploded`"),
        "{}",
        failure(1)
    );
    assert_eq!(lines[2]["passed"], true);
}

#[test]
fn the_filter_selects_cases_by_name() {
    let root = tempfile::tempdir().unwrap();
    let dir = probe_skill(root.path(), &[("all.json", PASSING)]);
    let lines = json_lines(&test(&dir, &["--message-format", "json", "context"]));
    assert_eq!(lines.len(), 2, "one case and the summary");
    assert_eq!(lines[0]["name"], "context subset");
}

#[test]
fn snapshots_update_and_then_pass() {
    let root = tempfile::tempdir().unwrap();
    let stale = r#"[{"name": "snap", "input": {"mode": "echo", "v": 2}, "expect": {"output": {"mode": "echo", "v": 1}}}]"#;
    let dir = probe_skill(root.path(), &[("snap.json", stale)]);
    let out = test(&dir, &["--update-snapshots"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the run that updates still reports the failure"
    );
    assert!(stderr(&out).contains("Updated 1 snapshot"));
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tests/snap.json")).unwrap())
            .unwrap();
    assert_eq!(
        file[0]["expect"]["output"],
        serde_json::json!({"mode": "echo", "v": 2})
    );
    assert_eq!(test(&dir, &[]).status.code(), Some(0));
}

#[test]
fn junit_is_valid_xml_with_failures_marked() {
    let root = tempfile::tempdir().unwrap();
    let cases = r#"[
      {"name": "passes <&>", "input": {"mode": "echo"}, "expect": {"output-contains": {}}},
      {"name": "fails", "input": {"mode": "fail"}, "expect": {"output": 1}}
    ]"#;
    let dir = probe_skill(root.path(), &[("x.json", cases)]);
    let out = test(&dir, &["--message-format", "junit"]);
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    assert_eq!(
        (suites.attribute("tests"), suites.attribute("failures")),
        (Some("2"), Some("1"))
    );
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases[0].attribute("name"), Some("passes <&>"));
    let failure = cases[1]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure element");
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .contains("skill-error")
    );
}

#[test]
fn bench_prints_the_documented_json() {
    let home = tempfile::tempdir().unwrap();
    let out = cargo_skill(home.path())
        .args([
            "skill",
            "bench",
            "--iterations",
            "20",
            "--message-format",
            "json",
            "--input",
            r#"{"mode":"work","iterations":100}"#,
        ])
        .arg(skill_test_support::guest_wasm_path("probe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "compile_us",
        "load_us",
        "invoke_p50_us",
        "invoke_p99_us",
        "floor_p50_us",
        "ratio_p50",
        "fuel_per_call",
    ] {
        assert!(v[key].as_f64().is_some_and(|n| n > 0.0), "{key} in {v}");
    }

    let out = cargo_skill(home.path())
        .args([
            "skill",
            "bench",
            "--iterations",
            "5",
            "--input",
            r#"{"mode":"loop"}"#,
        ])
        .arg(skill_test_support::guest_wasm_path("probe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    // The limit it hit, where it came from, and the flag that raises it.
    assert!(err.contains("fuel-exhausted"), "{err}");
    assert!(err.contains("from the untrusted tier's default"), "{err}");
    assert!(err.contains("`--fuel 1000000000`"), "{err}");
    assert!(!err.contains("bench an input it handles"), "{err}");
    let out = cargo_skill(home.path())
        .args(["skill", "bench", "--iterations", "5", "--fuel", "1000"])
        .args(["--input", r#"{"mode":"work","iterations":5000}"#])
        .arg(skill_test_support::guest_wasm_path("probe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("from this run's flag"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn grants_and_fixtures_stand_in_for_the_bot() {
    let root = tempfile::tempdir().unwrap();
    let cases = r#"[
      {"name": "env from the fixture", "input": {"mode": "env-var", "name": "TZ"}, "grants": ["read-env:TZ"],
       "fixtures": {"env": {"TZ": "UTC"}}, "expect": {"output": {"value": "UTC"}}},
      {"name": "the real environment never leaks", "input": {"mode": "env-var", "name": "PATH"}, "grants": ["read-env"],
       "expect": {"skill-error": "not set"}},
      {"name": "no grant, denied", "input": {"mode": "env-var", "name": "TZ"}, "grants": [], "expect": {"error": "capability-denied"}}
    ]"#;
    let fixture_without_grant = r#"{"name": "orphan fixture", "input": {}, "grants": [], "fixtures": {"env": {"TZ": "UTC"}}, "expect": {"output-contains": {}}}"#;
    let dir = probe_skill(
        root.path(),
        &[("a.json", cases), ("b.json", fixture_without_grant)],
    );
    let lines = json_lines(&test(&dir, &["--message-format", "json"]));
    for line in &lines[..3] {
        assert_eq!(line["passed"], true, "{line}");
    }
    assert!(
        lines[3]["failure"]
            .as_str()
            .unwrap()
            .contains("`env` fixture is for `read-env`, which this case does not grant"),
        "{}",
        lines[3]
    );
}

const CAPABILITY_FIXTURES: &str = r#"[
  {"name": "http fixture", "grants": ["http-get:api.example.com"],
   "input": {"mode": "http", "url": "https://api.example.com/w?city=Oslo"},
   "fixtures": {"http": [{"url": "https://api.example.com/w?city=Oslo", "body": {"temp": 3}}]},
   "expect": {"output": {"body": "{\"temp\":3}"}}},
  {"name": "redirect fixture", "grants": ["http-get:api.example.com"],
   "input": {"mode": "http", "url": "https://api.example.com/old"},
   "fixtures": {"http": [
     {"url": "https://api.example.com/old", "status": 301, "headers": {"Location": "/new"}},
     {"url": "https://api.example.com/new", "body": "moved"}]},
   "expect": {"output": {"body": "moved"}}},
  {"name": "fixtures still obey the grant", "grants": ["http-get:api.example.com"],
   "input": {"mode": "http", "url": "https://other.example.com/"},
   "fixtures": {"http": [{"url": "https://other.example.com/", "body": "never"}]},
   "expect": {"error": "capability-denied"}},
  {"name": "post fixture", "grants": ["http-post:api.example.com"],
   "input": {"mode": "http-post", "url": "https://api.example.com/log", "body": "x"},
   "fixtures": {"http": [{"method": "POST", "url": "https://api.example.com/log", "status": 500, "body": "down"}]},
   "expect": {"skill-error": "HTTP 500: down"}},
  {"name": "seeded file", "grants": ["read-file"], "input": {"mode": "read-file", "path": "notes/a.txt"},
   "fixtures": {"files": {"notes/a.txt": "seeded"}}, "expect": {"output": {"content": "seeded"}}},
  {"name": "written file", "grants": ["write-file:out"],
   "input": {"mode": "write-file", "path": "out/r.txt", "content": "report"},
   "expect": {"output": {"written": true}, "files": {"out/r.txt": "report", "out/other.txt": null}}},
  {"name": "memory", "grants": ["recall-memory"], "input": {"mode": "recall", "query": "tea"},
   "fixtures": {"memory": ["owns a cat", "likes green tea"]},
   "expect": {"output": {"memories": ["likes green tea"]}}}
]"#;

#[test]
fn http_files_and_memory_fixtures_run_through_the_real_capabilities() {
    let root = tempfile::tempdir().unwrap();
    let dir = probe_skill(root.path(), &[("caps.json", CAPABILITY_FIXTURES)]);
    let out = test(&dir, &["--message-format", "json"]);
    let lines = json_lines(&out);
    let failed: Vec<&Value> = lines.iter().filter(|l| l["passed"] == false).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(lines.last().unwrap()["passed"], 7);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn fixture_mistakes_fail_their_case_and_say_why() {
    let root = tempfile::tempdir().unwrap();
    let cases = r#"[
  {"name": "unanswered", "grants": ["http-get:api.example.com"],
   "input": {"mode": "http", "url": "https://api.example.com/missing"},
   "expect": {"skill-error": "no fixture answers"}},
  {"name": "ungranted fixture", "input": {"mode": "echo"},
   "fixtures": {"http": [{"method": "POST", "url": "https://api.example.com/"}]},
   "expect": {"output-contains": {}}},
  {"name": "wrong file", "grants": ["write-file"],
   "input": {"mode": "write-file", "path": "a.txt", "content": "actual"},
   "expect": {"output-contains": {}, "files": {"a.txt": "wanted"}}}
]"#;
    let escaping = r#"{"name": "escaping fixture", "input": {}, "fixtures": {"files": {"../x": "y"}}, "expect": {"output-contains": {}}}"#;
    let dir = probe_skill(
        root.path(),
        &[("bad.json", cases), ("escape.json", escaping)],
    );
    let out = test(&dir, &["--message-format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let failure = |name: &str| -> String {
        let line = lines
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {lines:#?}"));
        line["failure"].as_str().unwrap_or_default().to_string()
    };
    assert!(
        failure("unanswered").contains("no fixture answers: GET https://api.example.com/missing")
    );
    assert!(
        failure("ungranted fixture").contains("is for `http-post`, which this case does not grant")
    );
    assert!(failure("wrong file").contains(r#"file a.txt: expected "wanted", found "actual""#));
    let broken = failure("(file)");
    assert!(
        broken.contains("escape.json") && broken.contains("file `../x`"),
        "{broken}"
    );
}

#[test]
fn record_saves_real_responses_as_fixtures() {
    let root = tempfile::tempdir().unwrap();
    let server = skill_test_support::http_server::TestServer::start(|_| {
        skill_test_support::http_server::Response::ok(r#"{"live":true}"#)
    });
    let case = format!(
        r#"{{"name": "live", "grants": ["http-get:127.0.0.1"], "input": {{"mode": "http", "url": "{}"}}, "expect": {{"output-contains": {{}}}}}}"#,
        server.url("/data")
    );
    let dir = probe_skill(root.path(), &[("live.json", &case)]);
    let unrecorded = test(&dir, &[]);
    assert_eq!(
        unrecorded.status.code(),
        Some(1),
        "no fixture yet, and no network"
    );
    assert_eq!(server.hits(), 0);

    let recorded = test(&dir, &["--record"]);
    assert_eq!(recorded.status.code(), Some(0), "{}", stderr(&recorded));
    assert_eq!(server.hits(), 1);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tests/live.json")).unwrap())
            .unwrap();
    assert_eq!(saved["fixtures"]["http"][0]["url"], server.url("/data"));
    assert_eq!(
        saved["fixtures"]["http"][0]["body"],
        serde_json::json!({"live": true})
    );

    let replayed = test(&dir, &[]);
    assert_eq!(
        replayed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replayed.stdout)
    );
    assert_eq!(server.hits(), 1, "replays never touch the network");
}
