//! One module per subcommand: a clap `Args` struct and an `exec`.

pub mod run;
