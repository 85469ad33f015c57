//! A core-module skill of the `blufio` host ABI: `run()` reads the JSON
//! input and does what `mode` says through the imports.

use serde_json::{Value, json};

#[link(wasm_import_module = "blufio")]
unsafe extern "C" {
    fn log(level: i32, ptr: *const u8, len: i32);
    fn get_input_len() -> i32;
    fn get_input(ptr: *mut u8);
    fn set_output(ptr: *const u8, len: i32);
    fn get_env(key: *const u8, key_len: i32, buf: *mut u8, buf_len: i32) -> i32;
    fn http_request(url: *const u8, url_len: i32, method: i32, body: *const u8, body_len: i32)
    -> i32;
}

fn input() -> Value {
    // SAFETY: the buffer is as long as the host says the input is.
    unsafe {
        let len = get_input_len() as usize;
        let mut bytes = vec![0u8; len];
        get_input(bytes.as_mut_ptr());
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

fn output(value: &Value) {
    let text = value.to_string();
    // SAFETY: a live buffer and its length.
    unsafe { set_output(text.as_ptr(), text.len() as i32) }
}

fn env(name: &str) -> Value {
    let mut buffer = vec![0u8; 256];
    // SAFETY: live buffers with their lengths.
    let n = unsafe {
        get_env(name.as_ptr(), name.len() as i32, buffer.as_mut_ptr(), buffer.len() as i32)
    };
    match n {
        n if n < 0 => json!({"status": n}),
        n => json!({"value": String::from_utf8_lossy(&buffer[..n as usize])}),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn run() {
    let input = input();
    let message = format!("mode {}", input["mode"]);
    // SAFETY: a live buffer and its length.
    unsafe { log(1, message.as_ptr(), message.len() as i32) };
    match input["mode"].as_str().unwrap_or("echo") {
        "env" => output(&env(input["name"].as_str().unwrap_or(""))),
        // The response body becomes the result; the status is logged.
        "http" => {
            let url = input["url"].as_str().unwrap_or("");
            let body = input["body"].as_str().unwrap_or("");
            let method = if body.is_empty() { 0 } else { 1 };
            // SAFETY: live buffers with their lengths.
            let status = unsafe {
                http_request(url.as_ptr(), url.len() as i32, method, body.as_ptr(), body.len() as i32)
            };
            let line = format!("status {status}");
            // SAFETY: a live buffer and its length.
            unsafe { log(2, line.as_ptr(), line.len() as i32) };
        }
        // Logs only: the result is the log, as blufio joins it.
        "quiet" => {}
        _ => output(&input),
    }
}
