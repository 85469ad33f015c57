//! What a store holds for one invocation, and the host side of the skill
//! world's imports.

use wasmtime::component::{HasData, HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::{SkillContext, SkillPlugin, boternity::skill::host::Host};
use std::sync::Arc;

use crate::grants::{Capability, CapabilityDenied, Policy};
use crate::limiter::Limiter;
use crate::log::LogSink;
use crate::outcome::HostCall;

/// Longest argument echoed into a denial message (URLs, paths, names).
const MAX_DETAIL: usize = 200;

/// Store data of one invocation.
pub(crate) struct StoreData {
    pub(crate) host: HostState,
    pub(crate) limiter: Limiter,
    wasi: WasiCtx,
    table: ResourceTable,
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
            wasi,
            table: ResourceTable::new(),
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

/// The host's half of one invocation: its log, context and call record.
pub(crate) struct HostState {
    pub(crate) log: LogSink,
    pub(crate) context: SkillContext,
    pub(crate) calls: Vec<HostCall>,
    pub(crate) policy: Arc<Policy>,
}

impl HostState {
    fn record(&mut self, function: &str, allowed: bool) {
        match self
            .calls
            .iter_mut()
            .find(|c| c.function == function && c.allowed == allowed)
        {
            Some(call) => call.count += 1,
            None => self.calls.push(HostCall {
                function: function.to_string(),
                allowed,
                count: 1,
            }),
        }
    }

    /// Records the denial and returns the error that ends the invocation.
    fn deny(&mut self, capability: Capability, detail: &str) -> wasmtime::Error {
        self.record(capability.as_str(), false);
        let shown: String = detail.chars().take(MAX_DETAIL).collect();
        let cut = if shown.len() < detail.len() {
            "…"
        } else {
            ""
        };
        CapabilityDenied {
            capability,
            call: format!("{capability}({shown}{cut})"),
        }
        .into()
    }
}

impl Host for HostState {
    fn get_context(&mut self) -> wasmtime::Result<SkillContext> {
        self.record("get-context", true);
        Ok(self.context.clone())
    }

    fn log(&mut self, level: String, message: String) -> wasmtime::Result<()> {
        self.record("log", true);
        self.log.log(&level, &message);
        Ok(())
    }

    fn recall_memory(&mut self, query: String, _limit: u32) -> wasmtime::Result<Vec<String>> {
        Err(self.deny(Capability::RecallMemory, &query))
    }

    fn http_get(&mut self, url: String) -> wasmtime::Result<Result<String, String>> {
        Err(self.deny(Capability::HttpGet, &url))
    }

    fn http_post(
        &mut self,
        url: String,
        _body: String,
    ) -> wasmtime::Result<Result<String, String>> {
        Err(self.deny(Capability::HttpPost, &url))
    }

    fn read_file(&mut self, path: String) -> wasmtime::Result<Result<String, String>> {
        Err(self.deny(Capability::ReadFile, &path))
    }

    fn write_file(
        &mut self,
        path: String,
        _content: String,
    ) -> wasmtime::Result<Result<(), String>> {
        Err(self.deny(Capability::WriteFile, &path))
    }

    fn get_secret(&mut self, name: String) -> wasmtime::Result<Result<String, String>> {
        let declared = self.policy.secrets.contains(&name);
        if !(declared && self.policy.grants.allows(Capability::GetSecret, &name)) {
            return Err(self.deny(Capability::GetSecret, &name));
        }
        self.record(Capability::GetSecret.as_str(), true);
        Ok(match self.policy.secret(&name) {
            Some(value) => {
                // From now on the value never reaches a log line.
                self.log.redact(&value);
                Ok(value)
            }
            None => Err(format!(
                "secret `{name}` is not set: set SKILL_SECRET_{name} for the bot"
            )),
        })
    }

    fn read_env(&mut self, name: String) -> wasmtime::Result<Result<String, String>> {
        if !self.policy.grants.allows(Capability::ReadEnv, &name) {
            return Err(self.deny(Capability::ReadEnv, &name));
        }
        self.record(Capability::ReadEnv.as_str(), true);
        Ok(self
            .policy
            .env_var(&name)
            .ok_or_else(|| format!("`{name}` is not set")))
    }
}

struct Table;

impl HasData for Table {
    type Data<'a> = &'a mut ResourceTable;
}

/// The linker for skills: the host interface and exactly the WASI interfaces
/// in [`crate::component_check::ALLOWED_WASI`]. Sockets and anything else are
/// not linked at all, so a component importing them cannot be instantiated.
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
    Ok(linker)
}
