//! Writing skills: scaffolding, building and componentizing, and test
//! cases and their runner.

pub mod build;
pub mod componentize;
pub mod convert;
pub mod inspection;
pub mod junit;
pub mod scaffold;
pub mod strip;
pub mod test_case;
pub mod test_fixtures;
pub mod test_runner;
