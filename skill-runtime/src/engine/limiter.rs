//! Per-store memory, table and instance limits, and the peak-memory metric.

use wasmtime::ResourceLimiter;

use crate::engine::{
    MAX_CORE_INSTANCES_PER_COMPONENT, MAX_MEMORIES_PER_COMPONENT, MAX_TABLES_PER_COMPONENT,
};

/// Elements one table may hold; function tables of real programs are far smaller.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Raised by a growing `memory.grow` or table growth past the limit; it traps
/// the instruction, so the host reports `memory-limit` rather than whatever
/// the guest's allocator would do with a failed grow.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} would grow to {desired} bytes, over the limit of {limit} bytes")]
pub struct MemoryLimitExceeded {
    pub what: &'static str,
    pub desired: u64,
    pub limit: u64,
}

#[derive(Debug)]
pub(crate) struct Limiter {
    limit: usize,
    /// Sum of all linear memories' sizes: components may have several.
    in_use: usize,
    peak: usize,
}

impl Limiter {
    pub(crate) fn new(limit_bytes: u64) -> Limiter {
        Limiter {
            limit: usize::try_from(limit_bytes).unwrap_or(usize::MAX),
            in_use: 0,
            peak: 0,
        }
    }

    pub(crate) fn peak_bytes(&self) -> u64 {
        self.peak as u64
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.in_use - current.min(self.in_use) + desired;
        if total > self.limit {
            return Err(MemoryLimitExceeded {
                what: "linear memory",
                desired: total as u64,
                limit: self.limit as u64,
            }
            .into());
        }
        self.in_use = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(MemoryLimitExceeded {
                what: "a table",
                desired: desired as u64,
                limit: MAX_TABLE_ELEMENTS as u64,
            }
            .into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES_PER_COMPONENT as usize
    }

    fn tables(&self) -> usize {
        MAX_TABLES_PER_COMPONENT as usize
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES_PER_COMPONENT as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_summed_across_memories_and_capped() {
        let mut l = Limiter::new(100);
        assert!(l.memory_growing(0, 40, None).unwrap());
        assert!(l.memory_growing(0, 50, None).unwrap());
        assert_eq!(l.peak_bytes(), 90);
        let err = l.memory_growing(40, 60, None).unwrap_err();
        assert!(err.downcast_ref::<MemoryLimitExceeded>().is_some());
        assert_eq!(l.peak_bytes(), 90);
        assert!(l.table_growing(0, MAX_TABLE_ELEMENTS + 1, None).is_err());
    }
}
