//! `cargo skill mcp` driven by the official Rust MCP SDK's client over the
//! real binary's stdio: what an agent (Claude Code, Codex, VS Code) sees.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::*;
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{cargo_skill, probe_skill_folder};

/// Records the list changes the server announces.
pub(crate) struct Client {
    version: ProtocolVersion,
    changes: mpsc::UnboundedSender<&'static str>,
}

impl ClientHandler for Client {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("cargo-skill-e2e", "1"),
        )
        .with_protocol_version(self.version.clone())
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.changes.send("tools");
    }
}

pub(crate) type Session = RunningService<RoleClient, Client>;

pub(crate) async fn connect(
    home: &Path,
    version: ProtocolVersion,
    args: &[&str],
) -> (Session, mpsc::UnboundedReceiver<&'static str>) {
    let mut cmd = cargo_skill(home);
    cmd.arg("mcp").args(args);
    connect_to(cmd, version).await
}

async fn connect_to(
    server: std::process::Command,
    version: ProtocolVersion,
) -> (Session, mpsc::UnboundedReceiver<&'static str>) {
    session_over(server_process(server), version).await
}

fn server_process(mut server: std::process::Command) -> TokioChildProcess {
    server.env("TZ", "Europe/Oslo");
    TokioChildProcess::new(tokio::process::Command::from(server)).expect("the server starts")
}

async fn session_over(
    transport: TokioChildProcess,
    version: ProtocolVersion,
) -> (Session, mpsc::UnboundedReceiver<&'static str>) {
    let (changes, received) = mpsc::unbounded_channel();
    let client = Client { version, changes };
    let session = client
        .serve(transport)
        .await
        .expect("the handshake completes");
    (session, received)
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub(crate) async fn call(session: &Session, tool: &str, arguments: Value) -> CallToolResult {
    session
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(object(arguments)))
        .await
        .expect("a tool call gets a result, error or not")
}

pub(crate) fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// The result is an `isError` whose text starts with `kind: `.
pub(crate) fn assert_error(result: &CallToolResult, kind: &str) {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    assert!(
        text(result).starts_with(&format!("{kind}: ")),
        "{}",
        text(result)
    );
}

async fn next_change(changes: &mut mpsc::UnboundedReceiver<&'static str>) -> &'static str {
    tokio::time::timeout(Duration::from_secs(20), changes.recv())
        .await
        .expect("a list_changed notification within 20 s")
        .expect("the session is open")
}

pub(crate) fn cli(home: &Path, args: &[&str]) {
    let out = cargo_skill(home).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", crate::stderr(&out));
}

const INPUT_SCHEMA: &str =
    r#"{"type":"object","properties":{"mode":{"type":"string"},"name":{"type":"string"}}}"#;

/// A source folder with the probe as a tool skill (schemas, `read-env:TZ`)
/// and a prompt skill with a reference file.
pub(crate) fn source(root: &Path) -> std::path::PathBuf {
    let src = root.join("src");
    let probe = probe_skill_folder(
        &src,
        "probe",
        "---\nname: probe\ndescription: The probe. Use it in tests.\nmetadata:\n  version: \"1.0.0\"\n  skill-type: tool\n  capabilities: read-env:TZ\n  input-schema: input.schema.json\n  output-schema: output.schema.json\n---\n",
    );
    std::fs::write(probe.join("input.schema.json"), INPUT_SCHEMA).unwrap();
    std::fs::write(probe.join("output.schema.json"), r#"{"type":"object"}"#).unwrap();
    let guide = src.join("guide");
    std::fs::create_dir_all(guide.join("references")).unwrap();
    std::fs::write(
        guide.join("SKILL.md"),
        "---\nname: guide\ndescription: How to write commit messages. Use when committing.\n---\n# Guide\n\nKeep the subject under 50 characters. See [the reference](references/REF.md).\n",
    )
    .unwrap();
    std::fs::write(
        guide.join("references/REF.md"),
        "# Reference\n\nImperative mood.\n",
    )
    .unwrap();
    src
}

fn audit_count(home: &Path) -> usize {
    let out = cargo_skill(home)
        .args([
            "audit",
            "--skill",
            "probe",
            "--bot",
            "coder",
            "--limit",
            "100000",
            "--message-format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::stderr(&out));
    crate::stdout_json(&out)
        .as_array()
        .expect("a JSON array")
        .len()
}

/// `skill-runtime`'s `examples/mcp_bot.rs`, which serves with the library
/// alone, answers the same client as `cargo skill mcp` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_serves_its_skills_over_mcp_with_the_library_alone() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let src = source(root.path());
    cli(&home, &["install", src.to_str().unwrap(), "--yes"]);
    cli(&home, &["disable", "guide", "--bot", "coder"]);
    let example = Path::new(env!("CARGO_BIN_EXE_cargo-skill"))
        .parent()
        .unwrap()
        .join("examples/mcp_bot");
    assert!(
        example.is_file(),
        "{} is missing: `cargo test --workspace` builds it",
        example.display()
    );
    let mut server = std::process::Command::new(&example);
    server.arg("coder").env("CARGO_SKILL_HOME", &home);
    let (session, _changes) = connect_to(server, ProtocolVersion::V_2025_06_18).await;
    let tools = session.list_all_tools().await.unwrap();
    assert_eq!(
        tools.iter().map(|t| t.name.as_ref()).collect::<Vec<_>>(),
        ["probe"]
    );
    // Untrusted, so in the sandbox worker the example found beside it.
    let tz = call(&session, "probe", json!({"mode": "env-var", "name": "TZ"})).await;
    assert_eq!(
        tz.structured_content,
        Some(json!({"value": "Europe/Oslo"})),
        "{tz:?}"
    );
    assert_error(
        &call(&session, "probe", json!({"mode": "loop"})).await,
        "fuel-exhausted",
    );
    // The bot disabled the prompt skill: it is not offered.
    let prompts = session.list_all_prompts().await.unwrap();
    assert!(prompts.is_empty(), "{prompts:?}");
    session.cancel().await.unwrap();
    assert_eq!(audit_count(&home), 2, "both calls are audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_lists_calls_reads_and_hears_about_changes() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let src = source(root.path());
    cli(&home, &["install", src.to_str().unwrap(), "--yes"]);
    let (session, mut changes) = connect(
        &home,
        ProtocolVersion::V_2025_06_18,
        &["--bot", "coder", "--poll-ms", "200"],
    )
    .await;
    let info = session.peer_info().expect("initialized");
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_06_18);
    assert_eq!(
        info.capabilities.tools.as_ref().unwrap().list_changed,
        Some(true)
    );

    // tools/list: the tool skill, with its schemas; the prompt skill is not a tool.
    let tools = session.list_all_tools().await.unwrap();
    assert_eq!(
        tools.iter().map(|t| t.name.as_ref()).collect::<Vec<_>>(),
        ["probe"]
    );
    assert_eq!(
        tools[0].description.as_deref(),
        Some("The probe. Use it in tests.")
    );
    let schema: Value = serde_json::from_str(INPUT_SCHEMA).unwrap();
    assert_eq!(Value::Object((*tools[0].input_schema).clone()), schema);
    assert_eq!(
        tools[0]
            .output_schema
            .as_deref()
            .cloned()
            .map(Value::Object),
        Some(json!({"type": "object"}))
    );

    // A call that succeeds: text and structured content.
    let ok = call(&session, "probe", json!({"mode": "echo", "n": 1})).await;
    assert_eq!(ok.is_error, Some(false), "{ok:?}");
    assert_eq!(ok.structured_content, Some(json!({"mode": "echo", "n": 1})));
    assert_eq!(
        serde_json::from_str::<Value>(&text(&ok)).unwrap(),
        json!({"mode": "echo", "n": 1})
    );
    // The granted variable is readable; one outside the grant is denied.
    let tz = call(&session, "probe", json!({"mode": "env-var", "name": "TZ"})).await;
    assert_eq!(
        tz.structured_content,
        Some(json!({"value": "Europe/Oslo"})),
        "{tz:?}"
    );
    let home_var = call(
        &session,
        "probe",
        json!({"mode": "env-var", "name": "HOME"}),
    )
    .await;
    assert_error(&home_var, "capability-denied");
    // The untrusted tier's fuel ends an endless loop.
    assert_error(
        &call(&session, "probe", json!({"mode": "loop"})).await,
        "fuel-exhausted",
    );
    // The skill's own error, and arguments the input schema rejects (never run).
    assert_error(
        &call(&session, "probe", json!({"mode": "fail"})).await,
        "skill-error",
    );
    let invalid = call(&session, "probe", json!({"mode": 5})).await;
    assert_error(&invalid, "invalid-arguments");
    assert!(text(&invalid).contains("/mode"), "{}", text(&invalid));
    // An unknown tool is a protocol error; the prompt skill is not callable.
    for name in ["nope", "guide"] {
        let unknown = session
            .call_tool(
                CallToolRequestParams::new(name.to_string()).with_arguments(JsonObject::new()),
            )
            .await;
        assert!(unknown.is_err(), "{name}: {unknown:?}");
    }

    // 200 calls, 50 in flight: every one answered and audited.
    let before = audit_count(&home);
    let session = Arc::new(session);
    let gate = Arc::new(tokio::sync::Semaphore::new(50));
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (session, gate) = (session.clone(), gate.clone());
        calls.spawn(async move {
            let _slot = gate.acquire_owned().await.unwrap();
            let mode = if i % 10 == 0 { "fail" } else { "echo" };
            let result = call(&session, "probe", json!({"mode": mode, "i": i})).await;
            (i, mode, result)
        });
    }
    let mut answered = 0;
    while let Some(joined) = calls.join_next().await {
        let (i, mode, result) = joined.unwrap();
        if mode == "fail" {
            assert_error(&result, "skill-error");
        } else {
            assert_eq!(
                result.structured_content,
                Some(json!({"mode": "echo", "i": i}))
            );
        }
        answered += 1;
    }
    assert_eq!(answered, 200);
    assert_eq!(audit_count(&home), before + 200);

    // Prompt skills: resources confined to the skill folder, and prompts.
    let resources = session.list_resources(None).await.unwrap().resources;
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        ["skill://guide/SKILL.md", "skill://guide/references/REF.md"]
    );
    let read = session
        .read_resource(ReadResourceRequestParams::new(
            "skill://guide/references/REF.md",
        ))
        .await
        .unwrap();
    match &read.contents[0] {
        ResourceContents::TextResourceContents { text, .. } => {
            assert_eq!(text, "# Reference\n\nImperative mood.\n")
        }
        other => panic!("{other:?}"),
    }
    for outside in [
        "skill://probe/SKILL.md",
        "skill://guide/../probe/SKILL.md",
        "skill://guide/.boternity-meta.toml",
        "file:///etc/passwd",
    ] {
        let refused = session
            .read_resource(ReadResourceRequestParams::new(outside))
            .await;
        assert!(refused.is_err(), "{outside}: {refused:?}");
    }
    let prompts = session.list_prompts(None).await.unwrap().prompts;
    assert_eq!(
        prompts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["guide"]
    );
    let prompt = session
        .get_prompt(GetPromptRequestParams::new("guide"))
        .await
        .unwrap();
    assert_eq!(prompt.messages.len(), 1);
    assert_eq!(prompt.messages[0].role, Role::User);
    let body = prompt.messages[0].content.as_text().unwrap().text.clone();
    assert!(body.starts_with("# Guide\n\nKeep the subject"), "{body}");

    // A revoke while serving: the next call is denied, and clients hear of it.
    cli(&home, &["revoke", "probe", "read-env"]);
    let tz = call(&session, "probe", json!({"mode": "env-var", "name": "TZ"})).await;
    assert_error(&tz, "capability-denied");
    assert_eq!(next_change(&mut changes).await, "tools");

    // An install while serving appears in tools/list.
    let more = root.path().join("more/quiet");
    std::fs::create_dir_all(&more).unwrap();
    std::fs::write(
        more.join("SKILL.md"),
        "---\nname: quiet\ndescription: A second tool.\nmetadata:\n  version: \"1.0.0\"\n  skill-type: tool\n---\n",
    )
    .unwrap();
    std::fs::copy(
        skill_test_support::guest_wasm_path("quiet"),
        more.join("skill.wasm"),
    )
    .unwrap();
    cli(&home, &["install", more.to_str().unwrap(), "--yes"]);
    assert_eq!(next_change(&mut changes).await, "tools");
    let tools = session.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["probe", "quiet"]);
    assert_eq!(
        Value::Object((*tools[1].input_schema).clone()),
        json!({"type": "object"}),
        "no declared schema: any object"
    );
    let two = call(&session, "quiet", json!({"mode": "echo"})).await;
    assert_eq!(two.is_error, Some(false), "{two:?}");

    Arc::into_inner(session).unwrap().cancel().await.unwrap();
}

/// A call that runs for seconds holds up no other request, call or ping:
/// calls run on the server's one async thread, and each wait in them (for
/// a sandboxed guest, a guest run in process, the one busy worker) hands
/// the thread's other tasks on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_call_holds_up_no_other_request() {
    long_call_beside(&[], &[]).await;
    long_call_beside(&["--trust-tier", "local"], &[]).await;
    long_call_beside(&[], &["-j", "1"]).await;
}

/// Waits until process `pid` and the processes under it have used `cpu`
/// more CPU time than now: a guest's loop has started. (Where there is no
/// `/proc`, waits half a second instead.)
async fn running_for(pid: u32, cpu: Duration, context: &str) {
    if !Path::new("/proc/self/stat").exists() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        return;
    }
    // USER_HZ, the unit of /proc's CPU times, is 100 on Linux.
    let ticks = (cpu.as_millis() / 10) as u64;
    let before = cpu_ticks(pid);
    let start = std::time::Instant::now();
    while cpu_ticks(pid) < before + ticks {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{context}: the long call did not start running within 3 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// CPU time in clock ticks used by process `pid` and its live descendants.
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // After the command name's `)`: the state (field 3), then on to utime
    // and stime (fields 14 and 15).
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    let own: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let children: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    own + children.into_iter().map(cpu_ticks).sum::<u64>()
}

/// A long call with `install` and `mcp` given `install_args` and
/// `mcp_args`; while it runs, a ping and calls are answered (with `-j 1`,
/// a ping while a second call waits for the one worker).
async fn long_call_beside(install_args: &[&str], mcp_args: &[&str]) {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let src = source(root.path());
    let mut install = vec!["install", src.to_str().unwrap(), "--yes"];
    install.extend(install_args);
    cli(&home, &install);
    // A loop that only the 4 s deadline ends.
    std::fs::write(
        home.join("config.toml"),
        "[tiers.untrusted]\nmax-fuel = 1000000000000000\n",
    )
    .unwrap();
    cli(&home, &["grant", "probe", "fuel=1000000G", "timeout=4s"]);
    let mut server = cargo_skill(&home);
    server.arg("mcp").args(mcp_args);
    let server = server_process(server);
    let pid = server.id().expect("the server runs");
    let (session, _changes) = session_over(server, ProtocolVersion::V_2025_06_18).await;
    let session = Arc::new(session);
    let context = format!("install {install_args:?}, mcp {mcp_args:?}");
    // Prepared and loaded first: a first call leaves the async thread at
    // once, for that, and would hide a wait that does not.
    let first = call(&session, "probe", json!({"mode": "echo"})).await;
    assert_eq!(first.is_error, Some(false), "{context}: {first:?}");
    let long = tokio::spawn({
        let session = session.clone();
        async move { call(&session, "probe", json!({"mode": "loop"})).await }
    });
    // Sent once the long call runs, lest they be answered before it starts.
    running_for(pid, Duration::from_millis(200), &context).await;
    let one_worker = mcp_args.contains(&"-j");
    let waiting = one_worker.then(|| {
        let session = session.clone();
        tokio::spawn(async move { call(&session, "probe", json!({"mode": "echo"})).await })
    });
    if one_worker {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Twice: the first may be answered before the waiting call's task runs.
    for _ in 0..2 {
        session
            .send_request(ClientRequest::PingRequest(Default::default()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !one_worker {
        for i in 0..20 {
            let echo = call(&session, "probe", json!({"mode": "echo", "i": i})).await;
            assert_eq!(
                echo.structured_content,
                Some(json!({"mode": "echo", "i": i})),
                "{context}"
            );
        }
    }
    assert!(
        !long.is_finished(),
        "{context}: the ping and the calls were answered only once the long call ended: {:?}",
        long.await
    );
    assert_error(&long.await.unwrap(), "timeout");
    if let Some(waiting) = waiting {
        let echo = waiting.await.unwrap();
        assert_eq!(
            echo.structured_content,
            Some(json!({"mode": "echo"})),
            "{context}"
        );
    }
    Arc::into_inner(session).unwrap().cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_protocol_and_a_skill_subset_are_served() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let src = source(root.path());
    cli(&home, &["install", src.to_str().unwrap(), "--yes"]);
    // --skill limits what is served: the prompt skill alone.
    let (session, _changes) = connect(&home, ProtocolVersion::LATEST, &["--skill", "guide"]).await;
    assert!(session.list_all_tools().await.unwrap().is_empty());
    let prompts = session.list_prompts(None).await.unwrap().prompts;
    assert_eq!(prompts.len(), 1);
    session.cancel().await.unwrap();

    let (session, _changes) = connect(&home, ProtocolVersion::LATEST, &[]).await;
    let ok = call(&session, "probe", json!({"mode": "echo"})).await;
    assert_eq!(
        ok.structured_content,
        Some(json!({"mode": "echo"})),
        "{ok:?}"
    );
    session.cancel().await.unwrap();

    // A --skill that is not installed refuses to start, saying so.
    let out = cargo_skill(&home)
        .args(["mcp", "--skill", "absent"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a command that cannot run exits 2"
    );
    assert!(
        crate::stderr(&out).contains("`absent` is not installed"),
        "{}",
        crate::stderr(&out)
    );
    let out = cargo_skill(&home)
        .args(["mcp", "--skill", "../escape"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
