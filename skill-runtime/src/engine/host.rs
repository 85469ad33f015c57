//! What a store holds for one invocation, and the host side of the skill
//! world's imports.

use wasmtime::component::{HasData, HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities::calls::{
    CallLog, Capabilities, CapabilityCall, CapabilityReply, merge_calls,
};
use crate::engine::bindings::{SkillContext, SkillPlugin, boternity::skill::host::Host};
use crate::engine::core_io::CoreIo;
use crate::engine::limiter::Limiter;
use crate::engine::log::LogSink;
use crate::engine::wasi_denied::{self, Denied, DeniedView, Refusals};
use crate::outcome::HostCall;

/// Store data of one invocation.
pub(crate) struct StoreData {
    pub(crate) host: HostState,
    pub(crate) limiter: Limiter,
    /// Input and output of a core-module skill.
    pub(crate) core: CoreIo,
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    /// Refused calls into the sockets and `wasi:http` interfaces.
    refusals: Refusals,
}

impl StoreData {
    pub(crate) fn new(host: HostState, limiter: Limiter) -> StoreData {
        // Nothing from the host leaks in: no env, args, preopens, stdin or
        // sockets; random bytes are capped per call.
        let wasi = WasiCtxBuilder::new()
            .stdout(host.log.stdout())
            .stderr(host.log.stderr())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .max_random_size(64 * 1024)
            .build();
        StoreData {
            host,
            limiter,
            core: CoreIo::default(),
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            refusals: Refusals::default(),
        }
    }

    /// Every host call of the invocation: the skill interface's, the
    /// capabilities' and the refused WASI ones.
    pub(crate) fn take_calls(&mut self) -> Vec<HostCall> {
        let mut calls = self.host.take_calls();
        merge_calls(&mut calls, self.refusals.calls.take());
        calls
    }
}

impl DeniedView for StoreData {
    fn denied(&mut self) -> Denied<'_> {
        Denied {
            calls: &mut self.refusals.calls,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.refusals,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The host's half of one invocation: its log and context here, the
/// capability calls answered by `caps` (in process, or over the broker).
pub(crate) struct HostState {
    pub(crate) log: LogSink,
    pub(crate) context: SkillContext,
    pub(crate) calls: CallLog,
    pub(crate) caps: Box<dyn Capabilities>,
}

impl HostState {
    pub(crate) fn new(
        log: LogSink,
        context: SkillContext,
        caps: Box<dyn Capabilities>,
    ) -> HostState {
        HostState {
            log,
            context,
            calls: CallLog::default(),
            caps,
        }
    }

    /// Every host call of the invocation, local and capability.
    pub(crate) fn take_calls(&mut self) -> Vec<HostCall> {
        let mut calls = self.calls.take();
        merge_calls(&mut calls, self.caps.take_calls());
        calls
    }

    fn text(&mut self, call: CapabilityCall) -> wasmtime::Result<Result<String, String>> {
        match self.caps.call(call)? {
            CapabilityReply::Text(result) => Ok(result),
            other => Err(unexpected(&other)),
        }
    }
}

/// A reply of the wrong shape: only a broken or hostile broker peer sends one.
fn unexpected(reply: &CapabilityReply) -> wasmtime::Error {
    wasmtime::Error::msg(format!(
        "the host answered a call with the wrong reply: {reply:?}"
    ))
}

impl Host for HostState {
    fn get_context(&mut self) -> wasmtime::Result<SkillContext> {
        self.calls.record("get-context", true);
        Ok(self.context.clone())
    }

    fn log(&mut self, level: String, message: String) -> wasmtime::Result<()> {
        self.calls.record("log", true);
        self.log.log(&level, &message);
        Ok(())
    }

    fn recall_memory(&mut self, query: String, limit: u32) -> wasmtime::Result<Vec<String>> {
        match self
            .caps
            .call(CapabilityCall::RecallMemory { query, limit })?
        {
            CapabilityReply::Memories { items, warning } => {
                if let Some(warning) = warning {
                    self.log.log("warn", &warning);
                }
                Ok(items)
            }
            other => Err(unexpected(&other)),
        }
    }

    fn http_get(&mut self, url: String) -> wasmtime::Result<Result<String, String>> {
        self.text(CapabilityCall::HttpGet { url })
    }

    fn http_post(&mut self, url: String, body: String) -> wasmtime::Result<Result<String, String>> {
        self.text(CapabilityCall::HttpPost { url, body })
    }

    fn read_file(&mut self, path: String) -> wasmtime::Result<Result<String, String>> {
        self.text(CapabilityCall::ReadFile { path })
    }

    fn write_file(
        &mut self,
        path: String,
        content: String,
    ) -> wasmtime::Result<Result<(), String>> {
        match self
            .caps
            .call(CapabilityCall::WriteFile { path, content })?
        {
            CapabilityReply::Written(result) => Ok(result),
            other => Err(unexpected(&other)),
        }
    }

    fn get_secret(&mut self, name: String) -> wasmtime::Result<Result<String, String>> {
        let value = self.text(CapabilityCall::GetSecret { name })?;
        if let Ok(value) = &value {
            // From now on the value never reaches a log line.
            self.log.redact(value);
        }
        Ok(value)
    }

    fn read_env(&mut self, name: String) -> wasmtime::Result<Result<String, String>> {
        self.text(CapabilityCall::ReadEnv { name })
    }
}

struct Table;

impl HasData for Table {
    type Data<'a> = &'a mut ResourceTable;
}

/// The linker for skills: the host interface, the WASI interfaces in
/// [`crate::engine::component_check::PROVIDED_WASI`] over an empty context, and those
/// in [`crate::engine::component_check::DENIED_WASI`], present but refusing every
/// use. Anything else is not linked, so a component importing it cannot be
/// instantiated.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<StoreData>> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sync};
    use wasmtime_wasi::random::{WasiRandom, WasiRandomView};

    let mut linker = Linker::new(engine);
    let l = &mut linker;
    SkillPlugin::add_to_linker::<StoreData, HasSelf<HostState>>(l, |d| &mut d.host)?;

    sync::io::error::add_to_linker::<StoreData, Table>(l, |d| &mut d.table)?;
    sync::io::poll::add_to_linker::<StoreData, Table>(l, |d| &mut d.table)?;
    sync::io::streams::add_to_linker::<StoreData, Table>(l, |d| &mut d.table)?;
    clocks::wall_clock::add_to_linker::<StoreData, WasiClocks>(l, StoreData::clocks)?;
    clocks::monotonic_clock::add_to_linker::<StoreData, WasiClocks>(l, StoreData::clocks)?;
    filesystem::preopens::add_to_linker::<StoreData, WasiFilesystem>(l, StoreData::filesystem)?;
    sync::filesystem::types::add_to_linker::<StoreData, WasiFilesystem>(l, StoreData::filesystem)?;
    random::random::add_to_linker::<StoreData, WasiRandom>(l, StoreData::random)?;
    random::insecure::add_to_linker::<StoreData, WasiRandom>(l, StoreData::random)?;
    random::insecure_seed::add_to_linker::<StoreData, WasiRandom>(l, StoreData::random)?;
    cli::exit::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::environment::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::stdin::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::stdout::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::stderr::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::terminal_input::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::terminal_output::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::terminal_stdin::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::terminal_stdout::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    cli::terminal_stderr::add_to_linker::<StoreData, WasiCli>(l, StoreData::cli)?;
    wasi_denied::add_to_linker(l)?;
    Ok(linker)
}
