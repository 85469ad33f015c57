//! The sandbox worker: a runtime configured with
//! `WorkerCommand { program: "skill-worker", args: [] }` starts this.

fn main() {
    std::process::exit(skill_runtime::sandbox::worker::main());
}
