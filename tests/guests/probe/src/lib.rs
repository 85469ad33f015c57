//! The runtime's test guest. Input: `{"mode": "...", ...}`; each mode is
//! one behaviour, benign or hostile, so one build serves every test.

use serde_json::{Value, json};

wit_bindgen::generate!({
    world: "skill-plugin",
    path: "../../../wit",
});

use boternity::skill::host;

struct Probe;

impl Guest for Probe {
    fn get_name() -> String {
        "probe".to_string()
    }

    fn get_description() -> String {
        "Does what its input asks; used to test the runtime".to_string()
    }

    fn execute(input: String) -> Result<String, String> {
        let input: Value = serde_json::from_str(&input).map_err(|e| format!("bad input: {e}"))?;
        let count = |key: &str, default: u64| input.get(key).and_then(Value::as_u64).unwrap_or(default);
        let text = |key: &str, default: &str| input.get(key).and_then(Value::as_str).unwrap_or(default).to_string();
        match input.get("mode").and_then(Value::as_str).unwrap_or("echo") {
            "echo" => Ok(input.to_string()),
            "fail" => Err("the probe was asked to fail".to_string()),
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => Ok(recurse(std::hint::black_box(1)).to_string()),
            "big-output" => Ok("x".repeat(count("bytes", 2 << 20) as usize)),
            "panic" => panic!("the probe was asked to panic"),
            "http" => host::http_get(&text("url", "https://example.com/")).map(|body| json!({"body": body}).to_string()),
            "http-post" => host::http_post(&text("url", "https://example.com/"), &text("body", ""))
                .map(|body| json!({"body": body}).to_string()),
            "read-file" => host::read_file(&text("path", "notes.txt")).map(|content| json!({"content": content}).to_string()),
            "write-file" => host::write_file(&text("path", "notes.txt"), &text("content", ""))
                .map(|()| json!({"written": true}).to_string()),
            "read-race" => {
                // Reads again and again while the host swaps the file for a
                // symlink: never may it see what lies outside.
                let mut seen = Vec::new();
                for _ in 0..count("times", 100) {
                    match host::read_file(&text("path", "x")) {
                        Ok(content) if !seen.contains(&content) => seen.push(content),
                        _ => {}
                    }
                }
                Ok(json!({"seen": seen}).to_string())
            }
            "recall" => Ok(json!({"memories": host::recall_memory(&text("query", ""), count("limit", 10) as u32)}).to_string()),
            "secret" => host::get_secret("API_KEY"),
            "env-var" => {
                let name = input.get("name").and_then(Value::as_str).unwrap_or("HOME");
                host::read_env(name).map(|value| json!({"value": value}).to_string())
            }
            "leak-secret" => {
                // Logs the secret it was given, which the host must redact.
                let name = input.get("name").and_then(Value::as_str).unwrap_or("API_KEY");
                let secret = host::get_secret(name)?;
                host::log("info", &format!("the secret is {secret}!"));
                println!("printed: {secret}");
                Ok(json!({"length": secret.len()}).to_string())
            }
            "log" => {
                for i in 0..count("times", 1) {
                    host::log("info", &format!("line {i}"));
                }
                Ok(json!({"logged": count("times", 1)}).to_string())
            }
            "print" => {
                println!("to stdout");
                eprintln!("to stderr");
                Ok("{}".to_string())
            }
            "context" => {
                let c = host::get_context();
                Ok(json!({
                    "bot_name": c.bot_name, "bot_slug": c.bot_slug,
                    "skill_name": c.skill_name, "invocation_id": c.invocation_id,
                })
                .to_string())
            }
            "env" => Ok(json!({"vars": std::env::vars().count(), "args": std::env::args().count()}).to_string()),
            // wasi:sockets is linked but refuses: the guest sees the error.
            "connect" => Ok(json!({
                "connect": std::net::TcpStream::connect(text("addr", "127.0.0.1:9").as_str()).err().map(|e| e.to_string()),
                "lookup": std::net::ToSocketAddrs::to_socket_addrs(&(text("host", "example.com").as_str(), 80)).err().map(|e| e.to_string()),
            }).to_string()),
            "fs" => Ok(json!({"root": std::fs::read_dir("/").is_ok(), "etc": std::fs::read("/etc/passwd").is_ok()}).to_string()),
            // Common work: the input parsed (above), its text's words counted.
            "words" => Ok(json!({"words": input.get("text").and_then(Value::as_str).unwrap_or("").split_whitespace().count()}).to_string()),
            "work" => {
                let mut acc: u64 = 0;
                for i in 0..count("iterations", 1000) {
                    acc = std::hint::black_box(acc.wrapping_mul(31).wrapping_add(i));
                }
                Ok(json!({"acc": acc}).to_string())
            }
            other => Err(format!("unknown mode `{other}`")),
        }
    }
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    // Not a tail call: the addition after the call keeps every frame alive.
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))) + 1
}

export!(Probe);
