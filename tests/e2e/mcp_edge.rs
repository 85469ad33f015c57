//! `cargo skill mcp` at its edge, over raw stdio lines: JSON-RPC error
//! codes as the specification gives them, and a flood of large requests
//! from a client that does not read its answers.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use crate::cargo_skill;
use crate::mcp::{cli, source};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn installed_home(root: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let home = root.join("home");
    let src = source(root);
    cli(
        &home,
        &[&["install", src.to_str().unwrap(), "--yes"], extra].concat(),
    );
    home
}

fn server(home: &std::path::Path, args: &[&str]) -> Child {
    let mut cmd: Command = cargo_skill(home);
    cmd.arg("mcp")
        .args(["--no-audit", "-j", "2"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd.spawn().expect("the server starts")
}

fn next(lines: &mut BufReader<ChildStdout>) -> Value {
    let mut line = String::new();
    assert!(
        lines.read_line(&mut line).unwrap() > 0,
        "the server closed stdout"
    );
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn malformed_lines_get_the_error_codes_of_the_specification() {
    let root = tempfile::tempdir().unwrap();
    let home = installed_home(root.path(), &[]);
    let mut child = server(&home, &["--max-request-bytes", "4096"]);
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "{INITIALIZE}\n{INITIALIZED}").unwrap();
    assert!(next(&mut lines)["result"]["serverInfo"].is_object());

    let long = format!(
        r#"{{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{{"name":"probe","arguments":{{"pad":"{}"}}}}}}"#,
        "x".repeat(10_000)
    );
    let cases: [(&str, Value, i64); 9] = [
        ("{not json", Value::Null, -32700),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"probe","arguments":"x"}}"#,
            json!(2),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}}"#,
            json!(3),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":4,"method":"skills/get","params":{}}"#,
            json!(4),
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":5,"method":"no/such/method"}"#,
            json!(5),
            -32601,
        ),
        (r#"{"jsonrpc":"2.0","id":6,"method":7}"#, json!(6), -32600),
        (r#"{"id":7,"method":"ping"}"#, json!(7), -32600),
        (&long, json!(8), -32600),
        ("[]", Value::Null, -32600),
    ];
    for (line, _, _) in &cases {
        writeln!(stdin, "{line}").unwrap();
    }
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":9,"method":"ping"}}"#).unwrap();
    let mut answers: Vec<Value> = (0..=cases.len()).map(|_| next(&mut lines)).collect();
    // The server still serves: the ping is answered.
    let ping = answers
        .iter()
        .position(|a| a["id"] == json!(9))
        .expect("the ping is answered");
    assert_eq!(answers.remove(ping)["result"], json!({}));
    for (line, id, code) in &cases {
        let at = answers
            .iter()
            .position(|a| a["id"] == *id && a["error"]["code"] == json!(code))
            .unwrap_or_else(|| panic!("no {code} for id {id} ({line:.60}): {answers:#?}"));
        let answer = answers.remove(at);
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_link_inside_one_prompt_skill_leaves_the_others_served_and_says_so() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    for name in ["alpha", "beta"] {
        let dir = root.path().join("src").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("SKILL.md"),
            format!(
                "---\nname: {name}\ndescription: Does {name}. Use for {name}.\n---\n# {name}\n"
            ),
        )
        .unwrap();
    }
    cli(
        &home,
        &[
            "install",
            root.path().join("src").to_str().unwrap(),
            "--yes",
        ],
    );
    // An operator's link inside one installed skill.
    std::os::unix::fs::symlink("/etc/passwd", home.join("skills/alpha/link.txt")).unwrap();
    let mut child = cargo_skill(&home)
        .args(["mcp", "--no-audit"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "{INITIALIZE}\n{INITIALIZED}").unwrap();
    next(&mut lines);
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"resources/list"}}"#
    )
    .unwrap();
    let listed = next(&mut lines);
    let uris: Vec<&str> = listed["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["skill://beta/SKILL.md"], "{listed}");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the files of alpha are not served"),
        "{stderr}"
    );
}

/// Peak memory is read from /proc.
#[cfg(target_os = "linux")]
mod flood {
    use std::collections::HashMap;
    use std::io::{BufReader, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::{INITIALIZE, INITIALIZED, installed_home, next, server};

    /// The ceiling `docs/mcp.md` documents for the default limits.
    const CEILING_KIB: u64 = 256 << 10;

    /// Peak resident memory of a process so far, in KiB.
    fn peak_kib(pid: u32) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn a_flood_of_large_unread_requests_stays_under_the_memory_ceiling() {
        const REQUESTS: usize = 4_000;
        let root = tempfile::tempdir().unwrap();
        // In process, with no fuel limit, so a 1 MiB echo succeeds and the
        // guest's memory counts in the server's.
        let home = installed_home(root.path(), &["--trust-tier", "local"]);
        let mut child = server(&home, &[]);
        let pid = child.id();
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let started = Instant::now();
        let written = Arc::new(AtomicUsize::new(0));
        let writer = {
            let written = written.clone();
            std::thread::spawn(move || {
                writeln!(stdin, "{INITIALIZE}\n{INITIALIZED}").unwrap();
                let pad = "p".repeat(1 << 20);
                for id in 1..=REQUESTS {
                    let request = json!({
                        "jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": "probe", "arguments": {"mode": "echo", "pad": pad}},
                    });
                    writeln!(stdin, "{request}").unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                }
                stdin
            })
        };
        // Nothing is read until the writer is stuck: the server stopped reading.
        let mut last = (0, Instant::now());
        while last.1.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(100));
            let now = written.load(Ordering::Relaxed);
            assert!(
                now < REQUESTS,
                "the server read all {REQUESTS} requests without answers being read"
            );
            if now != last.0 {
                last = (now, Instant::now());
            }
        }
        let paused_at = last.0;
        let paused_peak = peak_kib(pid);
        assert!(paused_peak < CEILING_KIB, "{paused_peak} KiB while paused");

        let mut answered: HashMap<i64, bool> = HashMap::new();
        while answered.len() < REQUESTS + 1 {
            let answer = next(&mut lines);
            let id = answer["id"].as_i64().expect("every answer has its id");
            let ok = answer["result"].is_object() && answer["result"]["isError"] != json!(true);
            assert!(answered.insert(id, ok).is_none(), "answered twice: {id}");
        }
        let stdin = writer.join().unwrap();
        let peak = peak_kib(pid);
        drop(stdin);
        assert!(child.wait().unwrap().success());
        assert!(answered.values().all(|ok| *ok), "every call succeeds");
        assert!(peak < CEILING_KIB, "peak {peak} KiB");
        eprintln!(
            "flood: paused after {paused_at} requests at {paused_peak} KiB; {REQUESTS} × 1 MiB answered in {:?}, peak {peak} KiB",
            started.elapsed()
        );
    }
}
