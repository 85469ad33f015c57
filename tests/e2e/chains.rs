//! `cargo skill run --chain`: installed skills (the probe component under
//! several names) run one after another as one call, under one budget,
//! with one trace id in the audit log.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::{cargo_skill, probe_skill_folder, stderr, stdout_json};

/// A source folder with two components: the probe (it promises
/// `{"words": integer}`, which only its `words` mode gives) and `quiet`,
/// which echoes its input and requires `mode`; and a prompt skill, `guide`.
/// Nothing is granted.
fn source(root: &Path) -> PathBuf {
    let src = root.join("src");
    let manifest = |name: &str, extra: &str| {
        format!(
            "---\nname: {name}\ndescription: The {name} guest. Use it in tests.\nmetadata:\n  version: \"1.0.0\"\n  skill-type: tool\n{extra}---\n"
        )
    };
    let probe = probe_skill_folder(
        &src,
        "probe",
        &manifest("probe", "  output-schema: output.schema.json\n"),
    );
    std::fs::write(
        probe.join("output.schema.json"),
        "{\n  \"type\": \"object\",\n  \"properties\": {\"words\": {\"type\": \"integer\"}},\n  \"required\": [\"words\"]\n}\n",
    )
    .unwrap();
    let quiet = src.join("quiet");
    std::fs::create_dir_all(&quiet).unwrap();
    std::fs::write(
        quiet.join("SKILL.md"),
        manifest("quiet", "  input-schema: input.schema.json\n"),
    )
    .unwrap();
    std::fs::copy(
        skill_test_support::guest_wasm_path("quiet"),
        quiet.join("skill.wasm"),
    )
    .unwrap();
    std::fs::write(
        quiet.join("input.schema.json"),
        "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"mode\": {\"type\": \"string\"},\n    \"acc\": {\"type\": \"integer\"}\n  },\n  \"required\": [\"mode\"]\n}\n",
    )
    .unwrap();
    let guide = src.join("guide");
    std::fs::create_dir_all(&guide).unwrap();
    std::fs::write(
        guide.join("SKILL.md"),
        "---\nname: guide\ndescription: How to write commit messages. Use when committing.\n---\n# Guide\n",
    )
    .unwrap();
    src
}

/// A home with the skills installed, and `chains` as bot `coder`'s chains file.
fn home_with(root: &Path, chains: &str) -> PathBuf {
    let home = root.join("home");
    let src = source(root);
    let out = cargo_skill(&home)
        .args(["install", src.to_str().unwrap(), "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "install: {}", stderr(&out));
    write_chains(&home, chains);
    home
}

fn write_chains(home: &Path, chains: &str) {
    std::fs::create_dir_all(home.join("bots/coder")).unwrap();
    std::fs::write(home.join("bots/coder/chains.toml"), chains).unwrap();
}

fn run_chain(home: &Path, chain: &str, input: &str, format: &str) -> Output {
    cargo_skill(home)
        .args(["run", "--chain", chain, "--bot", "coder"])
        .args(["--input", input, "--message-format", format])
        .output()
        .unwrap()
}

fn trace(home: &Path, id: &str) -> Vec<Value> {
    let out = cargo_skill(home)
        .args(["audit", "--trace", id, "--message-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "audit: {}", stderr(&out));
    stdout_json(&out).as_array().expect("an array").clone()
}

const THREE: &str = r#"
[[chain]]
name = "count-then-work"
description = "Counts the words, works that many times, then echoes both"
steps = [
  { skill = "probe", input = { mode = "words", text = "$input/text" } },
  { skill = "probe", input = { mode = "work", iterations = "$prev/words" } },
  { skill = "quiet", input = { mode = "echo", acc = "$prev/acc", text = "$input/text" } },
]
"#;

#[test]
fn a_three_step_chain_passes_data_through_and_is_one_trace_in_the_audit_log() {
    let root = tempfile::tempdir().unwrap();
    let home = home_with(root.path(), THREE);
    let input = r#"{"text": "one two three"}"#;
    let out = run_chain(&home, "count-then-work", input, "json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout_json(&out);
    // 3 words; the probe's work loop over 0..3 gives ((0·31+0)·31+1)·31+2 = 33.
    assert_eq!(
        report["output"],
        json!({"mode": "echo", "acc": 33, "text": "one two three"}),
        "{report}"
    );
    assert_eq!(report["outcome"], "ok");
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);
    assert_eq!(report["steps"][1]["output"], json!({"acc": 33}));
    let id = report["trace_id"].as_str().expect("a trace id").to_string();

    let records = trace(&home, &id);
    let skills: Vec<&str> = records
        .iter()
        .map(|r| r["skill"].as_str().unwrap())
        .collect();
    assert_eq!(skills, ["probe", "probe", "quiet"], "{records:?}");
    for (record, step) in records.iter().zip(&report["steps"].as_array().unwrap()[..]) {
        assert_eq!(record["trace_id"], id.as_str());
        assert_eq!(record["outcome"], "ok");
        assert_eq!(record["bot"], "coder");
        assert_eq!(record["invocation_id"], step["invocation_id"]);
    }

    // A lone run has no trace; the human output names the chain's.
    let human = run_chain(&home, "count-then-work", input, "human");
    assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
    let text = stderr(&human);
    let printed = text
        .split("trace ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no trace id in: {text}"));
    assert_eq!(trace(&home, printed).len(), 3);
    assert_ne!(printed, id);
}

#[test]
fn a_denied_capability_ends_the_chain_at_that_step() {
    let root = tempfile::tempdir().unwrap();
    let home = home_with(
        root.path(),
        r#"
[[chain]]
name = "count-fetch-finish"
steps = [
  { skill = "probe", input = { mode = "words", text = "a b" } },
  { skill = "probe", input = { mode = "http", url = "http://127.0.0.1:9/" } },
  { skill = "quiet", input = { mode = "echo" } },
]
"#,
    );
    let out = run_chain(&home, "count-fetch-finish", "{}", "json");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["outcome"], "error");
    assert_eq!(report["kind"], "capability-denied", "{report}");
    assert_eq!(report["step"], 2);
    assert_eq!(report["skill"], "probe");
    assert_eq!(
        report["steps"].as_array().unwrap().len(),
        2,
        "step 3 never ran"
    );
    let records = trace(&home, report["trace_id"].as_str().unwrap());
    let outcomes: Vec<&str> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["ok", "capability-denied"]);
    assert_eq!(records[1]["capabilities_denied"], json!(["http-get"]));
}

#[test]
fn the_chains_fuel_budget_ends_it_in_step_3_although_each_step_alone_fits() {
    let root = tempfile::tempdir().unwrap();
    let home = home_with(root.path(), "");
    let work = r#"{"mode": "work", "iterations": 200000}"#;
    // What one step costs alone, and that it fits its own limits.
    let alone = cargo_skill(&home)
        .args(["run", "probe", "--bot", "coder", "--input", work])
        .args(["--message-format", "json"])
        .output()
        .unwrap();
    assert_eq!(alone.status.code(), Some(0), "{}", stderr(&alone));
    let fuel = stdout_json(&alone)["fuel_consumed"].as_u64().unwrap();
    assert!(fuel > 100_000, "the work loop costs fuel: {fuel}");
    let step = r#"{ skill = "probe", input = "$input" }"#;
    write_chains(
        &home,
        &format!(
            "[[chain]]\nname = \"three-works\"\nsteps = [{step}, {step}, {step}]\nfuel = {}\n",
            fuel * 5 / 2
        ),
    );
    let out = run_chain(&home, "three-works", work, "json");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["kind"], "fuel-exhausted", "{report}");
    assert_eq!(report["step"], 3);
    let message = report["message"].as_str().unwrap();
    assert!(
        message.contains("chain `three-works`'s fuel budget") && message.contains("chains.toml:"),
        "{message}"
    );
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps[0]["outcome"], "ok");
    assert_eq!(steps[1]["outcome"], "ok");
    assert!(report["fuel_consumed"].as_u64().unwrap() <= fuel * 5 / 2);
}

#[test]
fn a_schema_mismatch_between_steps_is_an_error_with_both_places_and_runs_nothing() {
    let root = tempfile::tempdir().unwrap();
    let home = home_with(
        root.path(),
        "[[chain]]\nname = \"mismatch\"\nsteps = [\"probe\", \"quiet\"]\n",
    );
    let out = run_chain(
        &home,
        "mismatch",
        r#"{"mode": "words", "text": "a"}"#,
        "json",
    );
    assert_eq!(out.status.code(), Some(2), "nothing ran: {}", stderr(&out));
    let text = stderr(&out);
    let chains = home.join("bots/coder/chains.toml");
    let input = home.join("skills/quiet/input.schema.json");
    let output = home.join("skills/probe/output.schema.json");
    for place in [
        format!("{}:3:", chains.display()),
        format!("{}:7:16", input.display()),
        format!("{}:4:", output.display()),
    ] {
        assert!(text.contains(&place), "{place} missing from: {text}");
    }
    assert!(
        text.contains("step 2 `quiet`") && text.contains("requires `mode`"),
        "{text}"
    );
    assert!(
        !home.join("audit.db").exists() || trace_count(&home) == 0,
        "a refused chain records nothing"
    );
}

fn trace_count(home: &Path) -> usize {
    let out = cargo_skill(home)
        .args(["audit", "--message-format", "json"])
        .output()
        .unwrap();
    stdout_json(&out).as_array().map_or(0, Vec::len)
}

#[test]
fn chains_files_that_do_not_hold_are_refused_with_their_place() {
    let root = tempfile::tempdir().unwrap();
    let home = home_with(root.path(), "");
    let cases = [
        (
            "[[chain]]\nname = \"x\"\nsteps = [\"nope\"]\n",
            "3:",
            "no skill of that name is installed",
        ),
        (
            "[[chain]]\nname = \"quiet\"\nsteps = [\"probe\"]\n",
            "2:",
            "named like an installed skill",
        ),
        (
            "[[chain]]\nname = \"x\"\nsteps = []\n",
            "3:",
            "has no steps",
        ),
        (
            "[[chain]]\nname = \"x\"\nsteps = [\"probe\", \"guide\"]\n",
            "3:",
            "step 2 `guide`: is a prompt skill",
        ),
        (
            "[[chain]]\nname = \"x\"\nsteps = [{ skill = \"probe\", input = \"$nope\" }]\n",
            "3:",
            "is not a reference",
        ),
        (
            "[[chain]]\nname = \"x\"\nsteps = [\"probe\"]\nretries = 3\n",
            "4:",
            "unknown field `retries`",
        ),
        (
            "[[chain]]\nname = \"x\"\nsteps = [\"probe\"]\n[[chain]]\nname = \"x\"\nsteps = [\"probe\"]\n",
            "5:",
            "a second chain named `x`",
        ),
    ];
    for (file, line, words) in cases {
        write_chains(&home, file);
        let name = if file.contains("\"quiet\"\nsteps") {
            "quiet"
        } else {
            "x"
        };
        let out = run_chain(&home, name, "{}", "human");
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {text}");
        assert!(
            text.contains(&format!("chains.toml:{line}")) && text.contains(words),
            "{file}: expected `{words}` at line {line} in: {text}"
        );
    }
    write_chains(&home, "");
    let out = run_chain(&home, "missing", "{}", "human");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has no chain named `missing`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_is_served_over_mcp_as_one_tool() {
    use rmcp::model::ProtocolVersion;
    let root = tempfile::tempdir().unwrap();
    let home = home_with(root.path(), THREE);
    let (session, _changes) = crate::mcp::connect(
        &home,
        ProtocolVersion::LATEST,
        &["--bot", "coder", "--poll-ms", "200"],
    )
    .await;
    let tools = session.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["probe", "quiet", "count-then-work"]);
    let chain = &tools[2];
    assert_eq!(
        chain.description.as_deref(),
        Some("Counts the words, works that many times, then echoes both")
    );
    let result = crate::mcp::call(
        &session,
        "count-then-work",
        json!({"text": "one two three"}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let output: Value = serde_json::from_str(&crate::mcp::text(&result)).unwrap();
    assert_eq!(output["acc"], 33);

    // An edit to the chains file is seen by the next call: the same chain
    // with a budget too small for its first step.
    write_chains(&home, &format!("{THREE}fuel = 1\n"));
    let result = crate::mcp::call(
        &session,
        "count-then-work",
        json!({"text": "one two three"}),
    )
    .await;
    crate::mcp::assert_error(&result, "fuel-exhausted");
    assert!(
        crate::mcp::text(&result).contains("step 1 `probe`"),
        "{result:?}"
    );

    // A failing step is named, with the trace its records share.
    write_chains(
        &home,
        "[[chain]]\nname = \"fetch-twice\"\nsteps = [{ skill = \"probe\", input = { mode = \"http\" } }, \"probe\"]\n",
    );
    let mut listed = Vec::new();
    for _ in 0..100 {
        let tools = session.list_all_tools().await.unwrap();
        listed = tools.iter().map(|t| t.name.to_string()).collect();
        if listed.iter().any(|n| n == "fetch-twice") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listed.iter().any(|n| n == "fetch-twice"), "{listed:?}");
    assert!(!listed.iter().any(|n| n == "count-then-work"), "{listed:?}");
    let result = crate::mcp::call(&session, "fetch-twice", json!({})).await;
    crate::mcp::assert_error(&result, "capability-denied");
    let text = crate::mcp::text(&result);
    assert!(text.contains("step 1 `probe`"), "{text}");
    let id = text
        .split("(trace ")
        .nth(1)
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no trace id in: {text}"));
    assert_eq!(trace(&home, id).len(), 1);
    session.cancel().await.unwrap();

    // `--skill` selects chains too; a chain whose steps are left out is not served.
    write_chains(&home, THREE);
    for (only, served) in [
        (
            &["probe", "quiet", "count-then-work"][..],
            &["probe", "quiet", "count-then-work"][..],
        ),
        (&["count-then-work"], &[]),
    ] {
        let mut args = vec!["--bot", "coder"];
        for name in only {
            args.extend(["--skill", name]);
        }
        let (session, _changes) = crate::mcp::connect(&home, ProtocolVersion::LATEST, &args).await;
        let tools = session.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, served, "--skill {only:?}");
        session.cancel().await.unwrap();
    }
}
