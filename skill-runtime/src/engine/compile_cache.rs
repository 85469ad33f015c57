//! Compiled components and core modules on disk, keyed by the wasm's sha256
//! and the engine's compatibility hash. `deserialize` trusts its input completely,
//! so every entry carries a sha256 of its payload, checked before loading;
//! a corrupt or tampered entry is recompiled and replaced.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// What the cache holds: wasmtime's compiled forms.
pub(crate) trait Compiled: Sized {
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;
    /// # Safety
    /// `bytes` must be `serialize` output for an engine configured as `engine`.
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
}

impl Compiled for Component {
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        Component::serialize(self)
    }
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: passed on from the caller.
        unsafe { Component::deserialize(engine, bytes) }
    }
}

impl Compiled for Module {
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        Module::serialize(self)
    }
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: passed on from the caller.
        unsafe { Module::deserialize(engine, bytes) }
    }
}

const MAGIC: &[u8; 8] = b"SKILLC01";
const HEADER_LEN: usize = MAGIC.len() + 32;

/// A compiled form as wasmtime serialized it: read from a cache entry
/// (checked, its header kept in front rather than copied away) or made here.
pub(crate) struct Serialized {
    bytes: Vec<u8>,
    start: usize,
}

impl Serialized {
    pub(crate) fn new(bytes: Vec<u8>) -> Serialized {
        Serialized { bytes, start: 0 }
    }
}

impl Deref for Serialized {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompileCache {
    dir: PathBuf,
}

/// Where a component came from, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    Compiled,
    DiskCache,
}

impl CompileCache {
    pub(crate) fn new(dir: PathBuf) -> CompileCache {
        CompileCache { dir }
    }

    fn entry_path(&self, engine: &Engine, wasm_sha256: &[u8; 32]) -> PathBuf {
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let name = format!("{}-{:016x}.cwasm", hex::encode(wasm_sha256), h.finish());
        self.dir.join(name)
    }

    /// The cached component or module, if a sound entry exists, and its
    /// serialized form (what sandbox workers are sent).
    pub(crate) fn load<T: Compiled>(
        &self,
        engine: &Engine,
        wasm_sha256: &[u8; 32],
    ) -> Option<(T, Serialized)> {
        let payload = self.payload(engine, wasm_sha256)?;
        // SAFETY: the payload's sha256 matched the one written beside it by
        // `store`, which wrote `serialize` output of the same kind (the key is
        // the sha256 of wasm bytes that are either a module or a component)
        // for this engine's configuration (the name carries its compatibility
        // hash). The check ran over these very bytes, in this process's memory.
        let compiled = unsafe { T::deserialize(engine, &payload) }.ok()?;
        Some((compiled, payload))
    }

    /// A sound entry's payload, checked but not deserialized: for a process
    /// that only sends it to the sandbox workers that run it.
    pub(crate) fn payload(&self, engine: &Engine, wasm_sha256: &[u8; 32]) -> Option<Serialized> {
        let bytes = std::fs::read(self.entry_path(engine, wasm_sha256)).ok()?;
        verified_payload(&bytes)?;
        Some(Serialized {
            bytes,
            start: HEADER_LEN,
        })
    }

    /// Writes an entry atomically; a failure only costs a recompile later.
    /// The serialized form, when it could be made.
    pub(crate) fn store<T: Compiled>(
        &self,
        engine: &Engine,
        wasm_sha256: &[u8; 32],
        compiled: &T,
    ) -> Option<Serialized> {
        let payload = compiled.serialize().ok()?;
        let _ = self.write_entry(&self.entry_path(engine, wasm_sha256), &payload);
        Some(Serialized::new(payload))
    }

    fn write_entry(&self, path: &Path, payload: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(MAGIC)?;
        tmp.write_all(&Sha256::digest(payload))?;
        tmp.write_all(payload)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

fn verified_payload(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (digest, payload) = bytes[MAGIC.len()..].split_at(32);
    (Sha256::digest(payload).as_slice() == digest).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flipped_byte_fails_the_check() {
        let payload = b"compiled code".to_vec();
        let mut entry = MAGIC.to_vec();
        entry.extend_from_slice(&Sha256::digest(&payload));
        entry.extend_from_slice(&payload);
        assert_eq!(verified_payload(&entry), Some(&payload[..]));
        let last = entry.len() - 1;
        entry[last] ^= 1;
        assert_eq!(verified_payload(&entry), None);
        assert_eq!(verified_payload(&entry[..10]), None);
    }
}
