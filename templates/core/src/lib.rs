//! The `{{name}}` skill: a core WebAssembly module of the `blufio` host ABI
//! (docs/core-abi.md), the one the other agent runtime runs too. The host
//! calls `run()`; input, output and host functions are the imports below.

use serde_json::{Value, json};

#[link(wasm_import_module = "blufio")]
unsafe extern "C" {
    fn log(level: i32, ptr: *const u8, len: i32);
    fn get_input_len() -> i32;
    fn get_input(ptr: *mut u8);
    fn set_output(ptr: *const u8, len: i32);
    fn get_env(key: *const u8, key_len: i32, buf: *mut u8, buf_len: i32) -> i32;
}

const INFO: i32 = 2;

fn input() -> Result<Value, String> {
    // SAFETY: the buffer is exactly as long as the host says the input is.
    let bytes = unsafe {
        let mut bytes = vec![0u8; get_input_len() as usize];
        get_input(bytes.as_mut_ptr());
        bytes
    };
    serde_json::from_slice(&bytes).map_err(|e| format!("the input is not JSON: {e}"))
}

fn output(value: &Value) {
    let text = value.to_string();
    // SAFETY: a live buffer and its length.
    unsafe { set_output(text.as_ptr(), text.len() as i32) }
}

fn info(message: &str) {
    // SAFETY: a live buffer and its length.
    unsafe { log(INFO, message.as_ptr(), message.len() as i32) }
}

/// `get_env` writes the value into our buffer and returns its length, or
/// -1 (not granted, or unset) or -2 (the buffer is too small).
fn env(name: &str) -> Result<String, String> {
    let mut buffer = vec![0u8; 4096];
    // SAFETY: both buffers are live, with their lengths.
    let len = unsafe {
        get_env(name.as_ptr(), name.len() as i32, buffer.as_mut_ptr(), buffer.len() as i32)
    };
    match len {
        -2 => Err(format!("`{name}` is longer than 4096 bytes")),
        n if n < 0 => Err(format!("`{name}` is not granted to this skill, or not set")),
        n => Ok(String::from_utf8_lossy(&buffer[..n as usize]).into_owned()),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn run() {
    let result = match input() {
        Ok(Value::Object(fields)) => {
            info(&format!("{{name}} called with {} field(s)", fields.len()));
            let mut out = json!({"ok": true, "fields": fields.len()});
            if let Some(name) = fields.get("env").and_then(Value::as_str) {
                match env(name) {
                    Ok(value) => out["value"] = json!(value),
                    Err(error) => out["error"] = json!(error),
                }
            }
            out
        }
        Ok(_) => json!({"ok": false, "error": "the input must be a JSON object"}),
        Err(error) => json!({"ok": false, "error": error}),
    };
    output(&result);
}
