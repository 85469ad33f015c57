//! Writing skills: scaffolding, building and componentizing, the
//! `<available_skills>` prompt block, and test cases and their runner.

pub mod build;
pub mod componentize;
pub mod convert;
pub mod inspection;
pub mod junit;
pub mod prompt;
pub mod scaffold;
pub mod strip;
pub mod test_case;
pub mod test_fixtures;
pub mod test_runner;
