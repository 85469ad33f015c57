//! A skill checked and compiled for one tier, kept by the runtime and sent
//! to sandbox workers in its serialized form.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::engine::bindings::SkillPluginPre;
use crate::engine::compile_cache::{CompileSource, Serialized};
use crate::engine::host::StoreData;
use crate::limits::tier::TrustTier;

/// A component checked and compiled for one tier, ready to instantiate.
pub struct LoadedSkill {
    pub(crate) tier: TrustTier,
    pub(crate) sha256: [u8; 32],
    /// The compiled form sent to sandbox workers, made on first need.
    pub(crate) serialized: OnceLock<Result<Arc<Serialized>, String>>,
    /// None for a skill of a tier that runs in sandbox workers, loaded only
    /// to be sent to them ([`Runtime::load_to_invoke`]).
    ///
    /// [`Runtime::load_to_invoke`]: crate::Runtime::load_to_invoke
    pub(crate) code: Option<Code>,
    pub(crate) host_functions: Vec<String>,
    pub(crate) source: CompileSource,
    pub(crate) compile_time: Duration,
}

/// What runs: a component of the skill world, or a core module of the
/// core ABI (`docs/core-abi.md`).
pub(crate) enum Code {
    Component(SkillPluginPre<StoreData>),
    Core(wasmtime::InstancePre<StoreData>),
}

impl LoadedSkill {
    pub fn tier(&self) -> TrustTier {
        self.tier
    }

    /// A core module (core ABI), not a component.
    pub fn is_core(&self) -> bool {
        matches!(self.code, Some(Code::Core(_)))
    }

    /// Host functions of the skill world the component imports (for a core
    /// module, the `env` functions it imports); none known for a skill
    /// loaded only to be sent to workers ([`Runtime::load_to_invoke`]).
    ///
    /// [`Runtime::load_to_invoke`]: crate::Runtime::load_to_invoke
    pub fn host_functions(&self) -> &[String] {
        &self.host_functions
    }

    /// Whether this load compiled the wasm or found it in the disk cache.
    pub fn source(&self) -> CompileSource {
        self.source
    }

    /// Time spent compiling or deserializing.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    #[cfg(feature = "baseline")]
    pub(crate) fn component(&self) -> Option<&wasmtime::component::Component> {
        match &self.code {
            Some(Code::Component(pre)) => Some(pre.instance_pre().component()),
            _ => None,
        }
    }

    #[cfg(feature = "baseline")]
    pub(crate) fn module(&self) -> Option<&wasmtime::Module> {
        match &self.code {
            Some(Code::Core(pre)) => Some(pre.module()),
            _ => None,
        }
    }

    /// Loaded only to be sent to sandbox workers ([`Runtime::load_to_invoke`]):
    /// nothing of it can run in this process.
    ///
    /// [`Runtime::load_to_invoke`]: crate::Runtime::load_to_invoke
    pub fn for_workers_only(&self) -> bool {
        self.code.is_none()
    }

    pub(crate) fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    pub(crate) fn serialized(&self) -> Result<Arc<Serialized>, String> {
        self.serialized
            .get_or_init(|| {
                // One loaded for workers only is made with its serialized form.
                let bytes = match &self.code {
                    Some(Code::Component(pre)) => pre.instance_pre().component().serialize(),
                    Some(Code::Core(pre)) => pre.module().serialize(),
                    None => Err(wasmtime::Error::msg("no compiled form to send")),
                };
                bytes
                    .map(|bytes| Arc::new(Serialized::new(bytes)))
                    .map_err(|e| format!("{e:#}"))
            })
            .clone()
    }
}
