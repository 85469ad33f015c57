//! Compiled components on disk, keyed by the wasm's sha256 and the engine's
//! compatibility hash. `Component::deserialize` trusts its input completely,
//! so every entry carries a sha256 of its payload, checked before loading;
//! a corrupt or tampered entry is recompiled and replaced.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"SKILLC01";
const HEADER_LEN: usize = MAGIC.len() + 32;

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

    /// The cached component, if a sound entry exists.
    pub(crate) fn load(&self, engine: &Engine, wasm_sha256: &[u8; 32]) -> Option<Component> {
        let bytes = std::fs::read(self.entry_path(engine, wasm_sha256)).ok()?;
        let payload = verified_payload(&bytes)?;
        // SAFETY: the payload's sha256 matched the one written beside it by
        // `store`, which wrote the output of `Component::serialize` for this
        // engine's configuration (the file name carries its compatibility hash).
        unsafe { Component::deserialize(engine, payload) }.ok()
    }

    /// Writes an entry atomically; a failure only costs a recompile later.
    pub(crate) fn store(&self, engine: &Engine, wasm_sha256: &[u8; 32], component: &Component) {
        let Ok(payload) = component.serialize() else {
            return;
        };
        let _ = self.write_entry(&self.entry_path(engine, wasm_sha256), &payload);
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
