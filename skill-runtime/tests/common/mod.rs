//! Helpers shared by the runtime's integration tests: one runtime, the probe
//! guest, and invocations under a given policy.
#![allow(dead_code)] // each test binary uses its own subset

use std::sync::{Arc, OnceLock};

use serde_json::Value;
use skill_runtime::{
    BotIdentity, ErrorKind, Grants, Invocation, LoadedSkill, Policy, Report, Runtime,
    RuntimeConfig, TrustTier, Values,
};

pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::new(RuntimeConfig {
            concurrency: 8,
            sandbox: sandbox(),
            ..Default::default()
        })
    })
}

/// Sandbox workers are this crate's `skill-worker` binary.
pub fn sandbox() -> skill_runtime::sandbox::SandboxConfig {
    skill_runtime::sandbox::SandboxConfig {
        worker: Some(skill_runtime::sandbox::WorkerCommand {
            program: env!("CARGO_BIN_EXE_skill-worker").into(),
            args: vec![],
        }),
        ..Default::default()
    }
}

pub fn probe_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| skill_test_support::guest_wasm("probe"))
}

pub fn probe(tier: TrustTier) -> Arc<LoadedSkill> {
    runtime().load(probe_wasm(), tier).expect("the probe loads")
}

pub fn assert_kind(report: &Report, kind: ErrorKind) {
    assert_eq!(report.error_kind(), Some(kind), "report: {report:#?}");
}

/// Runs the probe on `runtime` under `policy`.
pub fn invoke_on(
    runtime: &Runtime,
    tier: TrustTier,
    input: Value,
    policy: Policy,
    tweak: impl FnOnce(&mut skill_runtime::Limits),
) -> Report {
    invoke_wasm(
        runtime,
        probe_wasm(),
        tier,
        &input.to_string(),
        policy,
        tweak,
    )
}

/// Runs `wasm` (a component or a core module) once on `runtime`.
pub fn invoke_wasm(
    runtime: &Runtime,
    wasm: &[u8],
    tier: TrustTier,
    input: &str,
    policy: Policy,
    tweak: impl FnOnce(&mut skill_runtime::Limits),
) -> Report {
    let bot = BotIdentity {
        name: "Test Bot".into(),
        slug: "test-bot".into(),
    };
    let mut limits = runtime.limits_for(tier);
    tweak(&mut limits);
    let skill = runtime.load(wasm, tier).expect("the skill loads");
    runtime.invoke(
        &skill,
        &Invocation {
            input,
            skill_name: "probe",
            skill_version: "0.1.0",
            bot: &bot,
            limits,
            policy: Arc::new(policy),
            trace_id: None,
        },
    )
}

pub fn invoke_granted(input: Value, policy: Policy) -> Report {
    invoke_on(runtime(), TrustTier::Untrusted, input, policy, |_| {})
}

/// A policy granting `grants` (`cap[:scope]`), approving `secrets`, with
/// fixed env and secret values.
pub fn policy(
    grants: &[&str],
    secrets: &[&str],
    env: &[(&str, &str)],
    secret_values: &[(&str, &str)],
) -> Policy {
    let declared: Vec<skill_runtime::Grant> = grants.iter().map(|g| g.parse().unwrap()).collect();
    let map = |pairs: &[(&str, &str)]| {
        Values::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    Policy {
        grants: Grants::from_declared(&declared),
        secrets: secrets.iter().map(|s| s.to_string()).collect(),
        env: map(env),
        secret_values: map(secret_values),
        ..Default::default()
    }
}

pub fn granting(grants: &[&str]) -> Policy {
    policy(grants, &[], &[], &[])
}
