//! Scan results for people, scripts, GitHub annotations and code scanning
//! (SARIF), and the gate installs and publishes pass through.

pub mod gate;
pub mod report;
pub mod sarif;
