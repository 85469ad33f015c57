//! The home folder's installed state: where things live ([`home`]), one
//! writer at a time ([`home_lock`]), installed skills and the lock
//! ([`installed`]), bots' settings ([`bots`]), and the typed errors all
//! of it shares.

pub mod bots;
pub mod config;
pub mod error;
pub mod home;
pub(crate) mod home_lock;
pub mod installed;
pub(crate) mod toml_file;
