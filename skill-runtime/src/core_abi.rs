//! Core-module skills: a plain WebAssembly module exporting `run()` and
//! `memory`, importing from module `env` (see `docs/core-abi.md`). The host
//! functions here only move bytes in and out of the guest's memory, every
//! pointer and length checked; capability calls go to the same
//! [`Capabilities`](crate::capability_calls::Capabilities) as components'.

use wasmtime::{Caller, Engine, Extern, ExternType, FuncType, Linker, Module, ValType};

use crate::capability_calls::{CapabilityCall, CapabilityReply};
use crate::grants::Capability;
use crate::host::StoreData;

/// The import module every ABI function comes from.
pub const IMPORT_MODULE: &str = "env";
/// Called once per invocation.
pub const RUN: &str = "run";
/// `alloc(len: i32) -> i32`: where the host writes results of gated calls.
pub const ALLOC: &str = "alloc";
pub const MEMORY: &str = "memory";

/// Gated calls return this: the result buffer holds the value.
pub const STATUS_OK: i32 = 0;
/// Gated calls return this: the result buffer holds an error message.
pub const STATUS_ERROR: i32 = 1;

const I32: ValType = ValType::I32;

/// Every function of the ABI: name, parameters, results; the gated ones
/// take a pointer to 8 bytes last, where the host writes the result
/// buffer's pointer and length (u32, little endian).
pub const FUNCTIONS: &[(&str, &[ValType], &[ValType])] = &[
    ("log", &[I32, I32], &[]),
    ("get_input_len", &[], &[I32]),
    ("get_input", &[I32], &[]),
    ("set_output", &[I32, I32], &[]),
    ("http_request", &[I32, I32, I32, I32, I32, I32, I32], &[I32]),
    ("read_file", &[I32, I32, I32], &[I32]),
    ("write_file", &[I32, I32, I32, I32, I32], &[I32]),
    ("get_env", &[I32, I32, I32], &[I32]),
];

/// The guest broke the ABI (a pointer outside its memory, a missing
/// export): the invocation ends as a trap with this message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the module broke the core ABI: {0}")]
pub struct AbiViolation(pub String);

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

/// Every way a module departs from the ABI, one sentence each.
pub fn check(module: &Module) -> Vec<String> {
    let mut problems = Vec::new();
    for import in module.imports() {
        let name = format!("{}.{}", import.module(), import.name());
        let expected = (import.module() == IMPORT_MODULE)
            .then(|| signature(import.name()))
            .flatten();
        match (expected, import.ty()) {
            (None, _) if import.module().starts_with("wasi") => problems.push(format!(
                "imports `{name}` (WASI): core skills get only the `env` functions; build for wasm32-unknown-unknown, or build a component with `cargo skill build`"
            )),
            (None, _) => problems.push(format!(
                "imports `{name}`, which the core ABI does not provide (it has: {})",
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
    let export = |name: &str| module.get_export(name);
    match export(RUN) {
        Some(ExternType::Func(ty)) if func_matches(&ty, &[], &[]) => {}
        Some(_) => problems.push("exports `run`, but not as `run() -> ()`".into()),
        None => problems
            .push("exports no `run` function: the host calls `run()` once per invocation".into()),
    }
    if !matches!(export(MEMORY), Some(ExternType::Memory(_))) {
        problems
            .push("exports no `memory`: the host reads input, output and arguments there".into());
    }
    match export(ALLOC) {
        Some(ExternType::Func(ty)) if !func_matches(&ty, &[I32], &[I32]) => {
            problems.push("exports `alloc`, but not as `alloc(i32) -> i32`".into())
        }
        _ => {}
    }
    problems
}

/// The capabilities a gated `env` function needs (none for the others).
pub fn capabilities_of(function: &str) -> &'static [Capability] {
    match function {
        "http_request" => &[Capability::HttpGet, Capability::HttpPost],
        "read_file" => &[Capability::ReadFile],
        "write_file" => &[Capability::WriteFile],
        "get_env" => &[Capability::ReadEnv],
        _ => &[],
    }
}

/// The `env` imports a module uses (for reports and capability lint).
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

/// Puts `bytes` in a buffer from the guest's `alloc`, writes where it is at
/// `out`, and returns `status`.
fn give(
    caller: &mut Caller<'_, StoreData>,
    out: i32,
    status: i32,
    bytes: &[u8],
) -> wasmtime::Result<i32> {
    let len = i32::try_from(bytes.len()).map_err(|_| AbiViolation("a result over 2 GiB".into()))?;
    let alloc = match caller.get_export(ALLOC).and_then(Extern::into_func) {
        Some(f) => f.typed::<i32, i32>(&caller)?,
        None => {
            return Err(AbiViolation(
                "it calls a gated function but exports no `alloc(i32) -> i32` for the result"
                    .into(),
            )
            .into());
        }
    };
    let ptr = alloc.call(&mut *caller, len)?;
    write(caller, ptr, bytes)?;
    let mut place = [0u8; 8];
    place[..4].copy_from_slice(&(ptr as u32).to_le_bytes());
    place[4..].copy_from_slice(&(len as u32).to_le_bytes());
    write(caller, out, &place)?;
    Ok(status)
}

/// Asks the capability provider and hands the text result to the guest.
fn gated(
    caller: &mut Caller<'_, StoreData>,
    call: CapabilityCall,
    out: i32,
) -> wasmtime::Result<i32> {
    let reply = caller.data_mut().host.caps.call(call)?;
    let (status, bytes) = match reply {
        CapabilityReply::Text(Ok(text)) => (STATUS_OK, text.into_bytes()),
        CapabilityReply::Written(Ok(())) => (STATUS_OK, Vec::new()),
        CapabilityReply::Text(Err(e)) | CapabilityReply::Written(Err(e)) => {
            (STATUS_ERROR, e.into_bytes())
        }
        CapabilityReply::Memories { .. } => {
            return Err(wasmtime::Error::msg(
                "the host answered a core call with memories",
            ));
        }
    };
    give(caller, out, status, &bytes)
}

fn local(caller: &mut Caller<'_, StoreData>, name: &str) {
    caller.data_mut().host.calls.record(name, true);
}

/// The linker for core skills: exactly the `env` functions above.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreData>> {
    let mut linker = Linker::new(engine);
    let env = IMPORT_MODULE;
    linker.func_wrap(
        env,
        "log",
        |mut c: Caller<'_, StoreData>, ptr: i32, len: i32| {
            let bytes = read(&mut c, ptr, len)?;
            local(&mut c, "log");
            c.data()
                .host
                .log
                .log("info", &String::from_utf8_lossy(&bytes));
            Ok(())
        },
    )?;
    linker.func_wrap(env, "get_input_len", |mut c: Caller<'_, StoreData>| {
        local(&mut c, "get_input_len");
        Ok(c.data().core.input.len() as i32)
    })?;
    linker.func_wrap(
        env,
        "get_input",
        |mut c: Caller<'_, StoreData>, ptr: i32| {
            local(&mut c, "get_input");
            let input = std::mem::take(&mut c.data_mut().core.input);
            let written = write(&mut c, ptr, &input);
            c.data_mut().core.input = input;
            written
        },
    )?;
    linker.func_wrap(
        env,
        "set_output",
        |mut c: Caller<'_, StoreData>, ptr: i32, len: i32| {
            let output = read(&mut c, ptr, len)?;
            local(&mut c, "set_output");
            c.data_mut().core.output = Some(output);
            Ok(())
        },
    )?;
    linker.func_wrap(
        env,
        "http_request",
        |mut c: Caller<'_, StoreData>,
         m: i32,
         ml: i32,
         u: i32,
         ul: i32,
         b: i32,
         bl: i32,
         out: i32| {
            let method = read_text(&mut c, m, ml, "method")?;
            let url = read_text(&mut c, u, ul, "URL")?;
            let body = read_text(&mut c, b, bl, "body")?;
            let call = match method.to_ascii_uppercase().as_str() {
                "GET" => CapabilityCall::HttpGet { url },
                "POST" => CapabilityCall::HttpPost { url, body },
                _ => {
                    return give(
                        &mut c,
                        out,
                        STATUS_ERROR,
                        format!("method `{method}` is not supported: GET or POST").as_bytes(),
                    );
                }
            };
            gated(&mut c, call, out)
        },
    )?;
    linker.func_wrap(
        env,
        "read_file",
        |mut c: Caller<'_, StoreData>, p: i32, pl: i32, out: i32| {
            let path = read_text(&mut c, p, pl, "path")?;
            gated(&mut c, CapabilityCall::ReadFile { path }, out)
        },
    )?;
    linker.func_wrap(
        env,
        "write_file",
        |mut c: Caller<'_, StoreData>, p: i32, pl: i32, d: i32, dl: i32, out: i32| {
            let path = read_text(&mut c, p, pl, "path")?;
            let content = read_text(&mut c, d, dl, "content")?;
            gated(&mut c, CapabilityCall::WriteFile { path, content }, out)
        },
    )?;
    linker.func_wrap(
        env,
        "get_env",
        |mut c: Caller<'_, StoreData>, n: i32, nl: i32, out: i32| {
            let name = read_text(&mut c, n, nl, "name")?;
            gated(&mut c, CapabilityCall::ReadEnv { name }, out)
        },
    )?;
    Ok(linker)
}
