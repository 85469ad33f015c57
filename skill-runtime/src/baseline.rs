//! The floor that benchmarks compare the runtime against: plain wasmtime on
//! the same engine and compiled code (pooling allocator, `InstancePre`, a
//! fresh store per call) with none of the runtime's policy: no limiter, no
//! log capture, no call record, a bare WASI context.

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{SkillContext, SkillPluginPre, boternity::skill::host::Host};
use crate::component_check::LoadError;
use crate::runtime::{LoadedSkill, Runtime};

pub struct Floor {
    pre: SkillPluginPre<FloorData>,
}

struct FloorData {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for FloorData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

const REFUSED: &str = "not available in the baseline";

impl Host for FloorData {
    fn get_context(&mut self) -> wasmtime::Result<SkillContext> {
        Ok(SkillContext {
            bot_name: String::new(),
            bot_slug: String::new(),
            skill_name: String::new(),
            invocation_id: String::new(),
        })
    }
    fn log(&mut self, _level: String, _message: String) -> wasmtime::Result<()> {
        Ok(())
    }
    fn recall_memory(&mut self, _query: String, _limit: u32) -> wasmtime::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn http_get(&mut self, _url: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
    fn http_post(&mut self, _: String, _: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
    fn read_file(&mut self, _path: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
    fn write_file(&mut self, _: String, _: String) -> wasmtime::Result<Result<(), String>> {
        Ok(Err(REFUSED.into()))
    }
    fn get_secret(&mut self, _name: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
    fn read_env(&mut self, _name: String) -> wasmtime::Result<Result<String, String>> {
        Ok(Err(REFUSED.into()))
    }
}

impl Floor {
    /// Links the skill's compiled component with a plain linker.
    pub fn new(runtime: &Runtime, skill: &LoadedSkill) -> Result<Floor, LoadError> {
        let engine = runtime
            .engine(skill.tier())
            .map_err(|e| LoadError::Malformed(e.to_string()))?;
        let mut linker = Linker::new(engine);
        let mismatch = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(mismatch)?;
        crate::bindings::SkillPlugin::add_to_linker::<FloorData, HasSelf<FloorData>>(
            &mut linker,
            |d| d,
        )
        .map_err(mismatch)?;
        let pre = linker
            .instantiate_pre(skill.component())
            .map_err(mismatch)?;
        Ok(Floor {
            pre: SkillPluginPre::new(pre).map_err(mismatch)?,
        })
    }

    /// One `execute` in a fresh store. Fuel and epochs are on in the engine,
    /// so the store gets the most of both.
    pub fn invoke(&self, input: &str) -> wasmtime::Result<Result<String, String>> {
        let data = FloorData {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(self.pre.engine(), data);
        store.set_fuel(u64::MAX)?;
        store.set_epoch_deadline(u64::MAX / 2);
        let plugin = self.pre.instantiate(&mut store)?;
        plugin.call_execute(&mut store, input)
    }
}
