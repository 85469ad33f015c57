//! Host-side bindings generated from `wit/boternity-skill.wit`.
//! Imports are trappable: a host function can end the invocation.

wasmtime::component::bindgen!({
    world: "skill-plugin",
    path: "../wit",
    imports: { default: trappable },
});

pub use boternity::skill::host::SkillContext;
