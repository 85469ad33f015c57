//! A core module's input and output during one invocation.

/// What a core module's input and output are during one invocation.
#[derive(Debug, Default)]
pub(crate) struct CoreIo {
    pub(crate) input: Vec<u8>,
    pub(crate) output: Option<Vec<u8>>,
}
