//! Checks a skill binary before it may run: it is a component, it imports
//! nothing beyond the host interface and the WASI 0.2 interfaces the host
//! links, and it exports the world's three functions.

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};

/// The skill world's host interface, the only non-WASI import allowed.
pub const HOST_INTERFACE: &str = "boternity:skill/host";

/// WASI 0.2 interfaces provided over an empty context: no environment,
/// arguments, preopened folders or stdin; stdout and stderr go to the log.
/// Rust std imports these even when unused.
pub const PROVIDED_WASI: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// WASI 0.2 interfaces present but refusing every use: creating a socket,
/// resolving a name or sending a request fails with access denied and is
/// recorded as a denied host call. Toolchains import them whether or not the
/// skill's code uses them (componentize-py's libc, componentize-js's fetch);
/// a skill reaches the network only through `http-get`/`http-post`.
pub const DENIED_WASI: &[&str] = &[
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
];

/// How the host answers one import of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// `boternity:skill/host`: capability-gated.
    Host,
    /// Linked over an empty context ([`PROVIDED_WASI`]).
    Provided,
    /// Linked, every use refused ([`DENIED_WASI`]).
    Denied,
}

impl ImportKind {
    /// How reports name it: "provided", "provided, denied".
    pub fn label(self) -> &'static str {
        match self {
            ImportKind::Host => "host interface",
            ImportKind::Provided => "provided",
            ImportKind::Denied => "provided, denied",
        }
    }
}

/// The host interface's functions and their WIT signatures (parameter names
/// aside), as in `wit/boternity-skill.wit`.
pub const HOST_FUNCTIONS: [(&str, &str); 9] = [
    ("get-context", "func() -> record"),
    ("recall-memory", "func(string, u32) -> list<string>"),
    ("http-get", "func(string) -> result<string, string>"),
    (
        "http-post",
        "func(string, string) -> result<string, string>",
    ),
    ("read-file", "func(string) -> result<string, string>"),
    ("write-file", "func(string, string) -> result<_, string>"),
    ("get-secret", "func(string) -> result<string, string>"),
    ("read-env", "func(string) -> result<string, string>"),
    ("log", "func(string, string)"),
];

/// The world's exports and their WIT signatures (parameter names aside).
pub const EXPORTS: [(&str, &str); 3] = [
    ("get-name", "func() -> string"),
    ("get-description", "func() -> string"),
    ("execute", "func(string) -> result<string, string>"),
];

/// Why a binary cannot run as a skill. Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error(
        "not a WebAssembly binary (it does not start with `\\0asm`): a skill's wasm must be a component built for the boternity:skill world"
    )]
    NotWasm,
    #[error(
        "this is a core WebAssembly module, not a component: build it for wasm32-wasip2, or componentize it (with the wasm32-wasip1 adapter, e.g. `wasm-tools component new`)"
    )]
    CoreModule,
    #[error(
        "the component is malformed or uses features this runtime disables: {0}; rebuild it (untrusted skills may not use SIMD, threads, GC or memory64)"
    )]
    Malformed(String),
    #[error("the component does not match the boternity:skill world: {0}")]
    World(WorldReport),
    #[error(
        "the core module does not follow the core ABI (docs/core-abi.md): {}; fix that, or build a component instead (target wasm32-wasip2)",
        .0.join("; ")
    )]
    CoreAbi(Vec<String>),
    /// The host could not set up its engine; nothing is wrong with the skill.
    #[error(transparent)]
    Engine(#[from] crate::engine::runtime_error::RuntimeError),
    #[error(
        "the component's imports do not link against the boternity:skill host: {0}; rebuild it against wit/boternity-skill.wit"
    )]
    Link(String),
}

/// Every way a component departs from the world, not just the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorldReport {
    /// Imports outside the host interface and the allowed WASI set.
    pub disallowed_imports: Vec<String>,
    /// Functions imported from the host interface that it does not have.
    pub unknown_host_functions: Vec<String>,
    pub missing_exports: Vec<String>,
    pub mismatched: Vec<TypeMismatch>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMismatch {
    /// `execute`, or `boternity:skill/host#log` for an import.
    pub item: String,
    pub expected: String,
    pub found: String,
}

impl WorldReport {
    pub fn is_empty(&self) -> bool {
        self == &WorldReport::default()
    }

    /// One sentence per problem, each saying what to change.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in &self.disallowed_imports {
            out.push(format!("imports `{name}`, which this host does not link: skills may import `{HOST_INTERFACE}` and WASI 0.2 cli, io, clocks, filesystem, random, sockets and http (the last two present but denied); check the toolchain targets WASI 0.2 (not 0.3 or preview 1) and that the world is wit/boternity-skill.wit"));
        }
        for name in &self.unknown_host_functions {
            out.push(format!("imports `{HOST_INTERFACE}#{name}`, which the host does not provide: regenerate bindings from wit/boternity-skill.wit"));
        }
        for name in &self.missing_exports {
            let signature = EXPORTS
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, s)| s);
            out.push(format!(
                "does not export `{name}` ({signature}): implement the skill-plugin world"
            ));
        }
        for m in &self.mismatched {
            out.push(format!(
                "`{}` has type {}; expected {}",
                m.item, m.found, m.expected
            ));
        }
        out
    }
}

impl std::fmt::Display for WorldReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problems().join("; "))
    }
}

/// What the bytes claim to be, read from the preamble alone.
pub fn check_preamble(bytes: &[u8]) -> Result<(), LoadError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(LoadError::NotWasm);
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(LoadError::CoreModule);
    }
    if !wasmparser::Parser::is_component(bytes) {
        return Err(LoadError::Malformed(
            "unknown WebAssembly version or layer".into(),
        ));
    }
    Ok(())
}

/// The world checks that need no compiling: the component's own imports
/// (not those of the modules and components nested in it) are all linked,
/// and it exports the world's functions. Types are checked after compiling
/// ([`check_world`]); this lets a foreign component be refused in
/// milliseconds instead of after seconds of Cranelift.
pub fn check_names(wasm: &[u8]) -> Result<(), LoadError> {
    let (imports, exports) = top_level_names(wasm)?;
    let mut report = WorldReport {
        disallowed_imports: imports
            .into_iter()
            .filter(|name| !import_allowed(name))
            .collect(),
        ..WorldReport::default()
    };
    for (name, _) in EXPORTS {
        if !exports.iter().any(|e| e == name) {
            report.missing_exports.push(name.to_string());
        }
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(LoadError::World(report))
    }
}

/// The component's own import and export names, in order (those of the
/// modules and components nested in it are theirs, not the skill's).
fn top_level_names(wasm: &[u8]) -> Result<(Vec<String>, Vec<String>), LoadError> {
    use wasmparser::{Parser, Payload};
    let malformed = |e: wasmparser::BinaryReaderError| LoadError::Malformed(e.to_string());
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(malformed)? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    imports.push(import.map_err(malformed)?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    exports.push(export.map_err(malformed)?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

/// Each import of the component and how the host answers it (`None`: not
/// linked), sorted by name: the world report `inspect` prints.
pub fn imports(wasm: &[u8]) -> Result<Vec<(String, Option<ImportKind>)>, LoadError> {
    let (mut names, _) = top_level_names(wasm)?;
    names.sort();
    Ok(names
        .into_iter()
        .map(|n| {
            let kind = import_kind(&n);
            (n, kind)
        })
        .collect())
}

/// How the host answers an import (`wasi:cli/stdout@0.2.3`), or `None`
/// when it does not link it.
pub fn import_kind(name: &str) -> Option<ImportKind> {
    if name == HOST_INTERFACE {
        return Some(ImportKind::Host);
    }
    let (interface, version) = name.split_once('@')?;
    if !version.starts_with("0.2.") {
        None
    } else if PROVIDED_WASI.contains(&interface) {
        Some(ImportKind::Provided)
    } else if DENIED_WASI.contains(&interface) {
        Some(ImportKind::Denied)
    } else {
        None
    }
}

/// Whether the host links an import at all.
pub fn import_allowed(name: &str) -> bool {
    import_kind(name).is_some()
}

/// Host functions of `boternity:skill/host` the component really imports, sorted.
/// The linker drops unused imports, so this is what the skill can call.
pub fn host_functions(engine: &Engine, component: &Component) -> Vec<String> {
    let ty = component.component_type();
    let Some(ComponentItem::ComponentInstance(host)) = ty
        .get_import(engine, HOST_INTERFACE)
        .map(|import| import.ty)
    else {
        return Vec::new();
    };
    let mut functions: Vec<String> = host
        .exports(engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
        .map(|(name, _)| name.to_string())
        .collect();
    // Sorted: reports and JSON output must not depend on declaration order.
    functions.sort();
    functions
}

/// Imports and exports of a compiled component against the world.
pub fn check_world(engine: &Engine, component: &Component) -> Result<(), LoadError> {
    let ty = component.component_type();
    let mut report = WorldReport::default();
    for (name, import) in ty.imports(engine) {
        if !import_allowed(name) {
            report.disallowed_imports.push(name.to_string());
        } else if name == HOST_INTERFACE
            && let ComponentItem::ComponentInstance(host) = import.ty
        {
            // Types (the `skill-context` record) are checked through the
            // signatures that use them.
            let functions = host
                .exports(engine)
                .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)));
            for (function, item) in functions {
                check_item(
                    &format!("{HOST_INTERFACE}#{function}"),
                    function,
                    item.ty,
                    &HOST_FUNCTIONS,
                    &mut report,
                );
            }
        }
    }
    for (name, _) in EXPORTS {
        match ty.get_export(engine, name) {
            Some(export) => check_item(name, name, export.ty, &EXPORTS, &mut report),
            None => report.missing_exports.push(name.to_string()),
        }
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(LoadError::World(report))
    }
}

fn check_item(
    item: &str,
    name: &str,
    ty: ComponentItem,
    table: &[(&str, &str)],
    report: &mut WorldReport,
) {
    let Some((_, expected)) = table.iter().find(|(n, _)| *n == name) else {
        report.unknown_host_functions.push(name.to_string());
        return;
    };
    let found = match ty {
        ComponentItem::ComponentFunc(func) => signature_of(&func),
        _ => "something other than a function".to_string(),
    };
    if found != *expected {
        report.mismatched.push(TypeMismatch {
            item: item.to_string(),
            expected: expected.to_string(),
            found,
        });
    }
}

/// A function type in WIT syntax without parameter names, which the
/// component model does not check.
fn signature_of(func: &ComponentFunc) -> String {
    let params: Vec<String> = func.params().map(|(_, ty)| wit_type(&ty)).collect();
    let results: Vec<String> = func.results().map(|ty| wit_type(&ty)).collect();
    match results.as_slice() {
        [] => format!("func({})", params.join(", ")),
        [one] => format!("func({}) -> {one}", params.join(", ")),
        many => format!("func({}) -> ({})", params.join(", "), many.join(", ")),
    }
}

fn wit_type(ty: &Type) -> String {
    let optional = |t: Option<Type>| t.map_or_else(|| "_".to_string(), |t| wit_type(&t));
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(list) => format!("list<{}>", wit_type(&list.ty())),
        Type::Option(option) => format!("option<{}>", wit_type(&option.ty())),
        Type::Result(result) => format!(
            "result<{}, {}>",
            optional(result.ok()),
            optional(result.err())
        ),
        Type::Tuple(tuple) => {
            format!(
                "tuple<{}>",
                tuple
                    .types()
                    .map(|t| wit_type(&t))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Type::Record(_) => "record".into(),
        Type::Variant(_) => "variant".into(),
        Type::Enum(_) => "enum".into(),
        Type::Flags(_) => "flags".into(),
        Type::Own(_) | Type::Borrow(_) => "resource".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_checked_by_interface_and_version() {
        assert!(import_allowed("boternity:skill/host"));
        assert!(import_allowed("wasi:cli/stdout@0.2.3"));
        assert!(import_allowed("wasi:io/streams@0.2.0"));
        assert!(!import_allowed("wasi:cli/stdout"));
        assert!(!import_allowed("wasi:cli/stdout@0.3.0"));
        assert_eq!(
            import_kind("wasi:sockets/tcp@0.2.9"),
            Some(ImportKind::Denied)
        );
        assert_eq!(
            import_kind("wasi:http/outgoing-handler@0.2.10"),
            Some(ImportKind::Denied)
        );
        assert_eq!(
            import_kind("wasi:random/random@0.2.12"),
            Some(ImportKind::Provided)
        );
        assert!(!import_allowed("wasi:http/incoming-handler@0.2.0"));
        assert!(!import_allowed("wasi:sockets/tcp@0.3.0"));
        assert!(!import_allowed("evil:pkg/iface"));
        assert!(!import_allowed("boternity:skill/host@1.0.0"));
    }

    #[test]
    fn preamble_tells_modules_from_components() {
        assert_eq!(check_preamble(b"hello"), Err(LoadError::NotWasm));
        assert_eq!(
            check_preamble(b"\0asm\x01\0\0\0"),
            Err(LoadError::CoreModule)
        );
        assert_eq!(check_preamble(b"\0asm\x0d\0\x01\0"), Ok(()));
        assert!(matches!(
            check_preamble(b"\0asm\x07\0\0\0"),
            Err(LoadError::Malformed(_))
        ));
    }
}
