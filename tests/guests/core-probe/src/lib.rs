//! A core-module skill: `run()` reads the JSON input, does what `mode`
//! says through the core ABI's `env` imports, and sets the JSON output.

use serde_json::{Value, json};

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn get_input_len() -> i32;
    fn get_input(ptr: *mut u8);
    fn set_output(ptr: *const u8, len: i32);
    fn log(ptr: *const u8, len: i32);
    fn get_env(name: *const u8, name_len: i32, out: *mut u32) -> i32;
}

/// Buffers the host writes gated results into; they are leaked, which is
/// fine for a module instantiated once per invocation.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: i32) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len.max(0) as usize);
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
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

fn env(name: &str) -> Result<String, String> {
    let mut place = [0u32; 2];
    // SAFETY: the host writes the result buffer's pointer and length to `place`.
    unsafe {
        let status = get_env(name.as_ptr(), name.len() as i32, place.as_mut_ptr());
        let bytes = std::slice::from_raw_parts(place[0] as *const u8, place[1] as usize);
        let text = String::from_utf8_lossy(bytes).into_owned();
        if status == 0 { Ok(text) } else { Err(text) }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn run() {
    let input = input();
    let message = format!("mode {}", input["mode"]);
    // SAFETY: a live buffer and its length.
    unsafe { log(message.as_ptr(), message.len() as i32) };
    let result = match input["mode"].as_str().unwrap_or("echo") {
        "env" => match env(input["name"].as_str().unwrap_or("")) {
            Ok(value) => json!({"value": value}),
            Err(error) => json!({"error": error}),
        },
        _ => input,
    };
    output(&result);
}
