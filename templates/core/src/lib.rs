//! The `{{name}}` skill: a core WebAssembly module of the core ABI
//! (docs/core-abi.md). The host calls `run()`; input, output and host
//! functions go through the `env` imports below.

use serde_json::{Value, json};

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn get_input_len() -> i32;
    fn get_input(ptr: *mut u8);
    fn set_output(ptr: *const u8, len: i32);
    fn log(ptr: *const u8, len: i32);
    fn get_env(name: *const u8, name_len: i32, out: *mut u32) -> i32;
}

/// Where the host writes results of gated calls. Each invocation gets a
/// fresh instance, so nothing needs freeing.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: i32) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len.max(0) as usize);
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}

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
    unsafe { log(message.as_ptr(), message.len() as i32) }
}

/// `get_env`: the host writes the result buffer's pointer and length.
fn env(name: &str) -> Result<String, String> {
    let mut place = [0u32; 2];
    // SAFETY: `place` has room for the two u32 the host writes.
    let (status, bytes) = unsafe {
        let status = get_env(name.as_ptr(), name.len() as i32, place.as_mut_ptr());
        (status, std::slice::from_raw_parts(place[0] as *const u8, place[1] as usize))
    };
    let text = String::from_utf8_lossy(bytes).into_owned();
    if status == 0 { Ok(text) } else { Err(text) }
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
