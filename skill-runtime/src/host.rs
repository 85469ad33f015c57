//! What a store holds for one invocation, and the host side of the skill
//! world's imports.

use wasmtime::component::{HasData, HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use std::sync::Arc;
use std::time::Instant;

use crate::bindings::{SkillContext, SkillPlugin, boternity::skill::host::Host};
use crate::files::{self, FileError};
use crate::grants::{Capability, CapabilityDenied, Policy};
use crate::http::{self, HostPattern, HttpError, Method};
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

/// Raised by a host function blocked past the invocation's deadline (a slow
/// HTTP server): the invocation ends as a timeout.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the skill ran past its deadline while waiting for `{0}`")]
pub(crate) struct DeadlineReached(pub(crate) &'static str);

/// The host's half of one invocation: its log, context and call record.
pub(crate) struct HostState {
    pub(crate) log: LogSink,
    pub(crate) context: SkillContext,
    pub(crate) calls: Vec<HostCall>,
    pub(crate) policy: Arc<Policy>,
    pub(crate) deadline: Instant,
    pub(crate) http_requests: u32,
    pub(crate) written_bytes: u64,
}

impl HostState {
    pub(crate) fn new(
        log: LogSink,
        context: SkillContext,
        policy: Arc<Policy>,
        deadline: Instant,
    ) -> HostState {
        HostState {
            log,
            context,
            calls: Vec::new(),
            policy,
            deadline,
            http_requests: 0,
            written_bytes: 0,
        }
    }

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
        self.denial(capability, detail, None)
    }

    /// Like [`Self::deny`], for a granted capability refusing this call.
    fn refuse(&mut self, capability: Capability, detail: &str, why: String) -> wasmtime::Error {
        self.denial(capability, detail, Some(why))
    }

    fn denial(
        &mut self,
        capability: Capability,
        detail: &str,
        reason: Option<String>,
    ) -> wasmtime::Error {
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
            reason,
        }
        .into()
    }

    fn http(
        &mut self,
        capability: Capability,
        url: &str,
        body: Option<&str>,
    ) -> wasmtime::Result<Result<String, String>> {
        let scopes: Vec<HostPattern> = self
            .policy
            .grants
            .scopes(capability)
            .filter_map(|scope| match scope {
                None => Some(HostPattern::any()),
                // Unparseable scopes were reported by validation; they match nothing.
                Some(scope) => HostPattern::parse(scope).ok(),
            })
            .collect();
        if scopes.is_empty() {
            return Err(self.deny(capability, url));
        }
        let limits = self.policy.http;
        if self.http_requests >= limits.max_requests {
            self.record(capability.as_str(), true);
            return Ok(Err(format!(
                "request limit reached: at most {} HTTP requests per invocation",
                limits.max_requests
            )));
        }
        self.http_requests += 1;
        let method = match capability {
            Capability::HttpPost => Method::Post,
            _ => Method::Get,
        };
        let request = http::Request { method, url, body };
        let cx = http::Context {
            scopes: &scopes,
            limits: &limits,
            deadline: self.deadline,
            fixtures: self.policy.http_fixtures.as_deref(),
            recorder: self.policy.http_recorder.as_deref(),
        };
        match http::fetch(&cx, request) {
            Ok(text) => {
                self.record(capability.as_str(), true);
                Ok(Ok(text))
            }
            Err(HttpError::Failed(message)) => {
                self.record(capability.as_str(), true);
                Ok(Err(message))
            }
            Err(HttpError::Denied(why)) => Err(self.refuse(capability, url, why)),
            Err(HttpError::Deadline) => {
                self.record(capability.as_str(), true);
                Err(DeadlineReached(capability.as_str()).into())
            }
        }
    }

    /// Checks a file call against the grants and the data folder.
    fn file_path(
        &mut self,
        capability: Capability,
        path: &str,
    ) -> wasmtime::Result<(std::path::PathBuf, std::path::PathBuf)> {
        let scopes: Vec<Option<&str>> = self.policy.grants.scopes(capability).collect();
        let (Some(root), false) = (self.policy.data_dir.clone(), scopes.is_empty()) else {
            return Err(self.deny(capability, path));
        };
        match files::checked_path(path, &scopes) {
            Ok(relative) => Ok((root, relative)),
            Err(FileError::Denied(why) | FileError::Failed(why)) => {
                Err(self.refuse(capability, path, why))
            }
        }
    }

    fn file_result<T>(
        &mut self,
        capability: Capability,
        path: &str,
        result: Result<T, FileError>,
    ) -> wasmtime::Result<Result<T, String>> {
        match result {
            Ok(value) => {
                self.record(capability.as_str(), true);
                Ok(Ok(value))
            }
            Err(FileError::Failed(message)) => {
                self.record(capability.as_str(), true);
                Ok(Err(message))
            }
            Err(FileError::Denied(why)) => Err(self.refuse(capability, path, why)),
        }
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

    fn recall_memory(&mut self, query: String, limit: u32) -> wasmtime::Result<Vec<String>> {
        if !self.policy.grants.is_granted(Capability::RecallMemory) {
            return Err(self.deny(Capability::RecallMemory, &query));
        }
        self.record(Capability::RecallMemory.as_str(), true);
        let Some(provider) = self.policy.memory.clone() else {
            return Ok(Vec::new());
        };
        let context = &self.context;
        match provider.recall(&context.bot_slug, &context.skill_name, &query, limit) {
            Ok(mut memories) => {
                memories.truncate(limit.min(crate::memory::MAX_RECALL) as usize);
                Ok(memories)
            }
            Err(message) => {
                self.log
                    .log("warn", &format!("recall-memory failed: {message}"));
                Ok(Vec::new())
            }
        }
    }

    fn http_get(&mut self, url: String) -> wasmtime::Result<Result<String, String>> {
        self.http(Capability::HttpGet, &url, None)
    }

    fn http_post(&mut self, url: String, body: String) -> wasmtime::Result<Result<String, String>> {
        self.http(Capability::HttpPost, &url, Some(&body))
    }

    fn read_file(&mut self, path: String) -> wasmtime::Result<Result<String, String>> {
        let (root, relative) = self.file_path(Capability::ReadFile, &path)?;
        let read = files::read(&root, &relative, &self.policy.files);
        self.file_result(Capability::ReadFile, &path, read)
    }

    fn write_file(
        &mut self,
        path: String,
        content: String,
    ) -> wasmtime::Result<Result<(), String>> {
        let (root, relative) = self.file_path(Capability::WriteFile, &path)?;
        let limits = self.policy.files;
        let size = content.len() as u64;
        let written = if size > limits.max_write_bytes {
            Err(FileError::Failed(format!(
                "{size} bytes is over the write limit of {} bytes",
                limits.max_write_bytes
            )))
        } else if self.written_bytes + size > limits.max_written_bytes {
            Err(FileError::Failed(format!(
                "this invocation may write at most {} bytes in all",
                limits.max_written_bytes
            )))
        } else {
            self.written_bytes += size;
            files::write(&root, &relative, &content)
        };
        self.file_result(Capability::WriteFile, &path, written)
    }

    fn get_secret(&mut self, name: String) -> wasmtime::Result<Result<String, String>> {
        let declared = self.policy.secrets.contains(&name);
        if !(declared && self.policy.grants.allows(Capability::GetSecret, &name)) {
            return Err(self.deny(Capability::GetSecret, &name));
        }
        self.record(Capability::GetSecret.as_str(), true);
        Ok(match self.policy.secret(&name) {
            Ok(Some(value)) => {
                // From now on the value never reaches a log line.
                self.log.redact(&value);
                Ok(value)
            }
            Ok(None) => Err(format!(
                "secret `{name}` is not set: run `cargo skill secret set {name}` or set SKILL_SECRET_{name} for the bot"
            )),
            Err(store) => Err(store.to_string()),
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
