//! Core modules built for `wasm32-wasip1` or `wasm32-unknown-unknown` become
//! components: wit-bindgen embedded the world in a custom section, and
//! wit-component encodes the component from it (with the WASI preview 1
//! adapter for wasip1, which turns its imports into WASI 0.2 ones).

use anyhow::{Context, Result};
use clap::ValueEnum;
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::ComponentEncoder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum BuildTarget {
    /// Components directly (the linker componentizes)
    #[default]
    #[value(name = "wasm32-wasip2")]
    Wasip2,
    /// A core module, componentized with the WASI preview 1 adapter
    #[value(name = "wasm32-wasip1")]
    Wasip1,
    /// A core module with no WASI imports, componentized as is
    #[value(name = "wasm32-unknown-unknown")]
    Unknown,
}

impl BuildTarget {
    pub fn triple(self) -> &'static str {
        match self {
            BuildTarget::Wasip2 => "wasm32-wasip2",
            BuildTarget::Wasip1 => "wasm32-wasip1",
            BuildTarget::Unknown => "wasm32-unknown-unknown",
        }
    }
}

/// A component from a core module built with wit-bindgen for `target`.
pub fn componentize(module: &[u8], target: BuildTarget) -> Result<Vec<u8>> {
    let encoder = ComponentEncoder::default()
        .validate(true)
        .module(module)
        .context("the core module carries no component type: build it with wit-bindgen's `generate!` for the boternity:skill world")?;
    let mut encoder = match target {
        BuildTarget::Wasip1 => encoder.adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?,
        BuildTarget::Wasip2 | BuildTarget::Unknown => encoder,
    };
    encoder.encode().context("encoding the component failed")
}
