//! Core-module skills in the other agent runtime's ABI (blufio's
//! `crates/blufio-skill/src/sandbox.rs`): a plain WebAssembly module
//! exporting `run()` and `memory`, importing its host functions from module
//! `blufio` (see `docs/core-abi.md`). The functions here only move bytes in
//! and out of the guest's memory, every pointer and length checked; gated
//! calls go to the same [`Capabilities`](crate::capabilities::calls::Capabilities)
//! as components', so the policy, the broker and the audit are shared.

use wasmtime::{Caller, Engine, Extern, ExternType, FuncType, Linker, Module, ValType};

use crate::capabilities::calls::{CapabilityCall, CapabilityReply, HostTrap};
use crate::capabilities::grants::Capability;
use crate::capabilities::http::Method;
use crate::engine::host::StoreData;

/// The import module every ABI function comes from.
pub const IMPORT_MODULE: &str = "blufio";
/// Called once per invocation.
pub const RUN: &str = "run";
pub const MEMORY: &str = "memory";

/// `http_request`'s `method` argument for POST. blufio ignores the argument
/// and always sends GET; every other value is GET here too.
pub const METHOD_POST: i32 = 1;
/// `get_env`: the variable is not granted, or not set.
pub const ENV_UNAVAILABLE: i32 = -1;
/// `get_env`: the value is longer than the guest's buffer.
pub const ENV_BUFFER_TOO_SMALL: i32 = -2;
/// What the result is when `run()` neither set an output nor logged.
pub const NO_OUTPUT: &str = "Skill completed successfully (no output)";

const I32: ValType = ValType::I32;

/// Every function of the ABI: name, parameters, results.
pub const FUNCTIONS: &[(&str, &[ValType], &[ValType])] = &[
    ("log", &[I32, I32, I32], &[]),
    ("get_input_len", &[], &[I32]),
    ("get_input", &[I32], &[]),
    ("set_output", &[I32, I32], &[]),
    ("http_request", &[I32, I32, I32, I32, I32], &[I32]),
    ("read_file", &[I32, I32, I32, I32], &[I32]),
    ("write_file", &[I32, I32, I32, I32], &[I32]),
    ("get_env", &[I32, I32, I32, I32], &[I32]),
];

/// `log`'s levels 0 to 4; any other is `info`, as in blufio.
const LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// The guest broke the ABI (a pointer outside its memory, no memory): the
/// invocation ends as a trap with this message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the module broke the core ABI: {0}")]
pub struct AbiViolation(pub String);

/// A granted call that failed (a missing file, a refused connection). blufio
/// ends the run there, and so does this host: the invocation is a
/// `skill-error` with this message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{function} failed: {message}")]
pub struct HostCallFailed {
    pub function: &'static str,
    pub message: String,
}

fn signature(name: &str) -> Option<(&'static [ValType], &'static [ValType])> {
    FUNCTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, params, results)| (*params, *results))
}

fn same_types(found: impl ExactSizeIterator<Item = ValType>, expected: &[ValType]) -> bool {
    found.len() == expected.len() && found.zip(expected).all(|(a, b)| ValType::eq(&a, b))
}

fn describe(params: &[ValType], results: &[ValType]) -> String {
    let list = |v: &[ValType]| {
        v.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

fn func_matches(ty: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    same_types(ty.params(), params) && same_types(ty.results(), results)
}

/// Why WASI imports are refused, with what usually pulls them in.
fn wasi_problem(names: &[String]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!(
        "imports {} (WASI): core-module skills get only the `blufio` functions, no WASI (blufio links none either, so the module fails there too); std's I/O pulls these in (println!, a panic message, std::env, std::fs): build for wasm32-unknown-unknown, or avoid those calls",
        list.join(", ")
    )
}

/// Every way a module departs from the ABI, one sentence each.
pub fn check(module: &Module) -> Vec<String> {
    let mut problems = Vec::new();
    let mut wasi = Vec::new();
    let mut needs_memory = false;
    for import in module.imports() {
        let name = format!("{}.{}", import.module(), import.name());
        let expected = (import.module() == IMPORT_MODULE)
            .then(|| signature(import.name()))
            .flatten();
        needs_memory |= expected.is_some() && import.name() != "get_input_len";
        match (expected, import.ty()) {
            (None, _) if import.module().starts_with("wasi") => wasi.push(name),
            (None, _) => problems.push(format!(
                "imports `{name}`, which the core ABI does not provide (module `{IMPORT_MODULE}` has: {})",
                FUNCTIONS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
            )),
            (Some((params, results)), ExternType::Func(ty)) if !func_matches(&ty, params, results) => {
                problems.push(format!(
                    "imports `{name}` as {}, but the ABI's is {}",
                    describe(&ty.params().collect::<Vec<_>>(), &ty.results().collect::<Vec<_>>()),
                    describe(params, results)
                ))
            }
            (Some(_), ExternType::Func(_)) => {}
            (Some(_), other) => problems.push(format!("imports `{name}` as a {other:?}, not a function")),
        }
    }
    if !wasi.is_empty() {
        problems.insert(0, wasi_problem(&wasi));
    }
    match module.get_export(RUN) {
        Some(ExternType::Func(ty)) if func_matches(&ty, &[], &[]) => {}
        Some(_) => problems.push("exports `run`, but not as `run() -> ()`".into()),
        None => problems
            .push("exports no `run` function: the host calls `run()` once per invocation".into()),
    }
    if needs_memory && !matches!(module.get_export(MEMORY), Some(ExternType::Memory(_))) {
        problems
            .push("exports no `memory`: the host reads input, output and arguments there".into());
    }
    problems
}

/// The capabilities a gated `blufio` function needs (none for the others).
pub fn capabilities_of(function: &str) -> &'static [Capability] {
    match function {
        "http_request" => &[Capability::HttpGet, Capability::HttpPost],
        "read_file" => &[Capability::ReadFile],
        "write_file" => &[Capability::WriteFile],
        "get_env" => &[Capability::ReadEnv],
        _ => &[],
    }
}

/// The `blufio` imports a module uses (for reports and capability lint).
pub fn imported_functions(module: &Module) -> Vec<String> {
    let mut names: Vec<String> = module
        .imports()
        .filter(|i| i.module() == IMPORT_MODULE)
        .map(|i| i.name().to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The result of a run that set no output: its log lines as blufio joins
/// them (`[INFO] message`), else [`NO_OUTPUT`].
pub(crate) fn output_without_set_output(logs: &[crate::outcome::LogLine]) -> String {
    if logs.is_empty() {
        return NO_OUTPUT.to_string();
    }
    logs.iter()
        .map(|l| format!("[{}] {}", l.level.to_ascii_uppercase(), l.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn memory(caller: &mut Caller<'_, StoreData>) -> wasmtime::Result<wasmtime::Memory> {
    match caller.get_export(MEMORY) {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(AbiViolation("the module exports no `memory`".into()).into()),
    }
}

/// `len` bytes at `ptr`, or a violation naming them.
fn range(ptr: i32, len: i32, size: usize) -> wasmtime::Result<std::ops::Range<usize>> {
    let (start, count) = (ptr as u32 as usize, len as u32 as usize);
    match start.checked_add(count) {
        Some(end) if end <= size && len >= 0 => Ok(start..end),
        _ => Err(AbiViolation(format!(
            "{len} bytes at {ptr:#x} are outside its memory of {size} bytes"
        ))
        .into()),
    }
}

fn read(caller: &mut Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    let data = memory.data(&caller);
    Ok(data[range(ptr, len, data.len())?].to_vec())
}

fn read_text(
    caller: &mut Caller<'_, StoreData>,
    ptr: i32,
    len: i32,
    what: &str,
) -> wasmtime::Result<String> {
    String::from_utf8(read(caller, ptr, len)?)
        .map_err(|_| AbiViolation(format!("the {what} is not UTF-8")).into())
}

fn write(caller: &mut Caller<'_, StoreData>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    let data = memory.data_mut(&mut *caller);
    let range = range(ptr, bytes.len() as i32, data.len())?;
    data[range].copy_from_slice(bytes);
    Ok(())
}

fn local(caller: &mut Caller<'_, StoreData>, name: &str) {
    caller.data_mut().host.calls.record(name, true);
}

fn call(
    caller: &mut Caller<'_, StoreData>,
    call: CapabilityCall,
) -> Result<CapabilityReply, HostTrap> {
    caller.data_mut().host.caps.call(call)
}

fn unexpected(reply: CapabilityReply) -> wasmtime::Error {
    wasmtime::Error::msg(format!("the host answered a core call with {reply:?}"))
}

fn failed(function: &'static str, message: String) -> wasmtime::Error {
    HostCallFailed { function, message }.into()
}

/// The body (or file) a gated call returned becomes the run's result, as in
/// blufio, until `set_output` or another such call replaces it.
fn set_result(caller: &mut Caller<'_, StoreData>, text: String) {
    caller.data_mut().core.output = Some(text.into_bytes());
}

fn http_request(
    c: &mut Caller<'_, StoreData>,
    (url, url_len, method, body, body_len): (i32, i32, i32, i32, i32),
) -> wasmtime::Result<i32> {
    let url = read_text(c, url, url_len, "URL")?;
    // blufio never reads the body; here it is read only for a POST.
    let (method, body) = match method {
        METHOD_POST => (Method::Post, Some(read_text(c, body, body_len, "body")?)),
        _ => (Method::Get, None),
    };
    match call(c, CapabilityCall::HttpExchange { method, url, body })? {
        CapabilityReply::Response(Ok(response)) => {
            set_result(c, response.body);
            Ok(i32::from(response.status))
        }
        CapabilityReply::Response(Err(message)) => Err(failed("http_request", message)),
        other => Err(unexpected(other)),
    }
}

fn read_file(c: &mut Caller<'_, StoreData>, path: i32, path_len: i32) -> wasmtime::Result<i32> {
    let path = read_text(c, path, path_len, "path")?;
    match call(c, CapabilityCall::ReadFile { path })? {
        CapabilityReply::Text(Ok(content)) => {
            let len = i32::try_from(content.len()).unwrap_or(i32::MAX);
            set_result(c, content);
            Ok(len)
        }
        CapabilityReply::Text(Err(message)) => Err(failed("read_file", message)),
        other => Err(unexpected(other)),
    }
}

fn write_file(
    c: &mut Caller<'_, StoreData>,
    (path, path_len, data, data_len): (i32, i32, i32, i32),
) -> wasmtime::Result<i32> {
    let path = read_text(c, path, path_len, "path")?;
    let content = read_text(c, data, data_len, "data")?;
    match call(c, CapabilityCall::WriteFile { path, content })? {
        CapabilityReply::Written(Ok(())) => Ok(0),
        CapabilityReply::Written(Err(message)) => Err(failed("write_file", message)),
        other => Err(unexpected(other)),
    }
}

/// blufio's `get_env` never ends the run: a variable it may not read, or
/// that is unset, is -1. The denial is still recorded as a denied call.
fn get_env(
    c: &mut Caller<'_, StoreData>,
    (name, name_len, buf, buf_len): (i32, i32, i32, i32),
) -> wasmtime::Result<i32> {
    let name = read_text(c, name, name_len, "name")?;
    let value = match call(c, CapabilityCall::ReadEnv { name }) {
        Ok(CapabilityReply::Text(Ok(value))) => value,
        Ok(CapabilityReply::Text(Err(_))) | Err(HostTrap::Denied { .. }) => {
            return Ok(ENV_UNAVAILABLE);
        }
        Ok(other) => return Err(unexpected(other)),
        Err(trap) => return Err(trap.into()),
    };
    if value.len() > buf_len.max(0) as usize {
        return Ok(ENV_BUFFER_TOO_SMALL);
    }
    write(c, buf, value.as_bytes())?;
    Ok(value.len() as i32)
}

/// The linker for core skills: exactly the `blufio` functions above.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreData>> {
    type C<'a> = Caller<'a, StoreData>;
    let mut linker = Linker::new(engine);
    let m = IMPORT_MODULE;
    linker.func_wrap(m, "log", |mut c: C<'_>, level: i32, ptr: i32, len: i32| {
        let bytes = read(&mut c, ptr, len)?;
        local(&mut c, "log");
        let level = usize::try_from(level)
            .ok()
            .and_then(|l| LEVELS.get(l))
            .unwrap_or(&"info");
        c.data()
            .host
            .log
            .log(level, &String::from_utf8_lossy(&bytes));
        Ok(())
    })?;
    linker.func_wrap(m, "get_input_len", |mut c: C<'_>| {
        local(&mut c, "get_input_len");
        Ok(c.data().core.input.len() as i32)
    })?;
    linker.func_wrap(m, "get_input", |mut c: C<'_>, ptr: i32| {
        local(&mut c, "get_input");
        let input = std::mem::take(&mut c.data_mut().core.input);
        let written = write(&mut c, ptr, &input);
        c.data_mut().core.input = input;
        written
    })?;
    linker.func_wrap(m, "set_output", |mut c: C<'_>, ptr: i32, len: i32| {
        let output = read(&mut c, ptr, len)?;
        local(&mut c, "set_output");
        c.data_mut().core.output = Some(output);
        Ok(())
    })?;
    linker.func_wrap(
        m,
        "http_request",
        |mut c: C<'_>, u: i32, ul: i32, method: i32, b: i32, bl: i32| {
            http_request(&mut c, (u, ul, method, b, bl))
        },
    )?;
    // blufio ignores the buffer arguments: the content becomes the result.
    linker.func_wrap(
        m,
        "read_file",
        |mut c: C<'_>, p: i32, pl: i32, _buf: i32, _buf_len: i32| read_file(&mut c, p, pl),
    )?;
    linker.func_wrap(
        m,
        "write_file",
        |mut c: C<'_>, p: i32, pl: i32, d: i32, dl: i32| write_file(&mut c, (p, pl, d, dl)),
    )?;
    linker.func_wrap(
        m,
        "get_env",
        |mut c: C<'_>, n: i32, nl: i32, v: i32, vl: i32| get_env(&mut c, (n, nl, v, vl)),
    )?;
    Ok(linker)
}
