//! Runs a skill's test cases through the runtime bots use: same engine
//! configuration, tier limits (lowered by the skill's own resources), and
//! deny-by-default capabilities as `cargo skill run`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use skill_runtime::limits::sources::LimitInputs;
use skill_runtime::manifest::SkillManifest;
use skill_runtime::manifest::io_schema::IoSchemas;
use skill_runtime::{
    BotIdentity, Invocation, LimitRequest, LoadedSkill, Metrics, Policy, Report, Runtime,
    StaticMemory, TrustTier, Values,
};

use crate::author::test_case::{Budget, Expectation, TestCase, contains, load_cases};
use crate::author::test_fixtures::{
    FixtureResponder, HttpFixture, Recording, check_files, seed_files,
};

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub skill: String,
    pub file: PathBuf,
    pub name: String,
    pub passed: bool,
    /// Why it failed, or why its file could not be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub tier: Option<TrustTier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// The output it produced, for `--update-snapshots`.
    #[serde(skip)]
    pub actual_output: Option<Value>,
    /// The real HTTP exchanges it made, for `--record`.
    #[serde(skip)]
    pub recorded: Option<Vec<HttpFixture>>,
}

/// Which cases run, and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions<'a> {
    /// Only cases whose name contains this.
    pub filter: Option<&'a str>,
    /// Every case under this tier instead of its own (the operator's choice:
    /// it may raise the tier; a case or manifest only lowers it).
    pub tier: Option<TrustTier>,
    /// `--fuel`, `--memory`, `--timeout`: may raise the tier's defaults.
    pub limits: LimitRequest,
    /// Real HTTP under the case's grants instead of its fixtures, recorded.
    pub record: bool,
}

/// Runs every case of one skill that the options select.
pub fn run_skill(
    manifest: &SkillManifest,
    runtime: &Runtime,
    options: RunOptions<'_>,
) -> Vec<CaseResult> {
    let RunOptions {
        filter,
        tier: tier_override,
        ..
    } = options;
    let wasm = std::fs::read(manifest.wasm_path());
    // The capability set after mixins, as `run` and install compute it;
    // read once per skill, not per case.
    let capabilities = skill_runtime::prepare::declared_capabilities(manifest);
    let schemas = IoSchemas::load(manifest)
        .map_err(|e| format!("{e}; `cargo skill validate` shows every schema problem"));
    let mut loaded: HashMap<TrustTier, Result<Arc<LoadedSkill>, String>> = HashMap::new();
    let mut results = Vec::new();
    for file in load_cases(&manifest.dir) {
        let cases = match file.cases {
            Ok(cases) => cases,
            Err(e) => {
                results.push(broken(manifest, &file.path, "(file)", e));
                continue;
            }
        };
        for case in cases
            .into_iter()
            .filter(|c| filter.is_none_or(|f| c.name.contains(f)))
        {
            // A skill folder earns no trust: its own tiers (the manifest's,
            // the case's) only lower untrusted; `--tier` is the operator's.
            let declared = [case.tier, manifest.ext.trust_tier]
                .into_iter()
                .flatten()
                .min();
            let tier = TrustTier::choose(TrustTier::Untrusted, declared, tier_override).tier;
            let skill = loaded.entry(tier).or_insert_with(|| {
                let wasm = wasm.as_ref().map_err(|e| {
                    format!(
                        "cannot read {}: {e}; run `cargo skill build`",
                        manifest.wasm_path().display()
                    )
                })?;
                runtime.load(wasm, tier).map_err(|e| e.to_string())
            });
            let result = match (&*skill, &schemas) {
                (Ok(skill), Ok(schemas)) => {
                    let run = CaseRun {
                        manifest,
                        declared: &capabilities,
                        schemas,
                        runtime,
                        skill,
                        tier,
                        file: &file.path,
                        record: options.record,
                        flags: &options.limits,
                    };
                    run.run(&case)
                }
                (Err(e), _) | (_, Err(e)) => broken(manifest, &file.path, &case.name, e.clone()),
            };
            results.push(result);
        }
    }
    results
}

fn broken(manifest: &SkillManifest, file: &Path, name: &str, failure: String) -> CaseResult {
    CaseResult {
        skill: manifest.name.clone(),
        file: file.to_path_buf(),
        name: name.to_string(),
        passed: false,
        failure: Some(failure),
        tier: None,
        metrics: None,
        actual_output: None,
        recorded: None,
    }
}

/// One case's run: the skill loaded for its tier, and where it came from.
struct CaseRun<'a> {
    manifest: &'a SkillManifest,
    /// What the skill declares after mixins: the grants a case gets by default.
    declared: &'a [skill_runtime::Grant],
    schemas: &'a IoSchemas,
    runtime: &'a Runtime,
    skill: &'a LoadedSkill,
    tier: TrustTier,
    file: &'a Path,
    record: bool,
    flags: &'a LimitRequest,
}

impl CaseRun<'_> {
    fn broken(&self, case: &TestCase, failure: String) -> CaseResult {
        broken(self.manifest, self.file, &case.name, failure)
    }

    /// An `ok` output that the declared output schema rejects.
    fn output_mismatch(&self, output: Option<&Value>) -> Option<String> {
        let (schema, output) = (self.schemas.output.as_ref()?, output?);
        let e = schema.check(output).err()?;
        Some(format!(
            "the output does not match {}: {e}",
            schema.path.display()
        ))
    }

    fn run(&self, case: &TestCase) -> CaseResult {
        let manifest = self.manifest;
        let context = case.fixtures.context.clone().unwrap_or_default();
        let bot = BotIdentity {
            name: context.bot_name,
            slug: context.bot_slug,
        };
        if let Some(schema) = &self.schemas.input
            && let Err(e) = schema.check(&case.input)
        {
            return self.broken(
                case,
                format!("the input does not match {}: {e}", schema.path.display()),
            );
        }
        let input = case.input.to_string();
        let version = manifest
            .ext
            .version
            .as_ref()
            .map_or("0.0.0".to_string(), ToString::to_string);
        let config = self.runtime.config();
        let resolved = LimitInputs {
            tier: self.tier,
            default: config.tier_limits[self.tier as usize],
            ceiling: config.tier_ceilings[self.tier as usize],
            skill: &manifest.ext.resources,
            approved: &LimitRequest::default(),
            bot: &LimitRequest::default(),
            flags: self.flags,
            installed: None,
        }
        .resolve();
        let limits = match resolved {
            Ok(resolved) => resolved,
            Err(e) => return self.broken(case, e.to_string()),
        };
        let grants = match case.grants_for(self.declared, &manifest.ext.secrets) {
            Ok(grants) => grants,
            Err(e) => return self.broken(case, e),
        };
        // Every case gets a fresh data folder, seeded from its fixtures.
        let data = match tempfile::tempdir() {
            Ok(data) => data,
            Err(e) => return self.broken(case, format!("could not create a data folder: {e}")),
        };
        if let Some(files) = &case.fixtures.files
            && let Err(e) = seed_files(data.path(), files)
        {
            return self.broken(case, e);
        }
        let fixed = |map: &Option<std::collections::BTreeMap<String, String>>| {
            Values::Map(map.clone().unwrap_or_default())
        };
        // Without --record no request leaves the machine: unanswered ones fail the case.
        let responder = Arc::new(FixtureResponder::new(
            case.fixtures.http.clone().unwrap_or_default(),
        ));
        let recording = Arc::new(Recording::default());
        let policy = Policy {
            grants,
            secrets: manifest.ext.secrets.iter().cloned().collect(),
            env: fixed(&case.fixtures.env),
            secret_values: fixed(&case.fixtures.secrets),
            data_dir: Some(data.path().to_path_buf()),
            memory: Some(Arc::new(StaticMemory(
                case.fixtures.memory.clone().unwrap_or_default(),
            ))),
            http_fixtures: (!self.record).then(|| responder.clone() as _),
            http_recorder: self.record.then(|| recording.clone() as _),
            ..Policy::default()
        };
        let mut report = self.runtime.invoke(
            self.skill,
            &Invocation {
                input: &input,
                skill_name: &manifest.name,
                skill_version: &version,
                bot: &bot,
                limits: limits.limits,
                policy: Arc::new(policy),
                trace_id: None,
            },
        );
        if let Err(failure) = &mut report.result {
            failure.explain(&limits);
        }
        crate::help::word_report(&mut report);
        let expectation = case
            .expect
            .expectation()
            .expect("checked when the file was read");
        // Parsed once: checked here, kept for `--update-snapshots`.
        let output: Option<Value> = report
            .result
            .as_ref()
            .ok()
            .map(|o| serde_json::from_str(o).unwrap_or_else(|_| Value::String(o.clone())));
        let unmatched = responder.unmatched();
        let failure = check(&expectation, &report, output.as_ref())
            .or_else(|| self.output_mismatch(output.as_ref().filter(|_| report.is_ok())))
            .or_else(|| {
                (!unmatched.is_empty()).then(|| {
                    format!(
                        "the skill made requests no fixture answers: {}; add them to `fixtures.http` or run with --record",
                        unmatched.join(", ")
                    )
                })
            })
            .or_else(|| {
                case.expect
                    .files
                    .as_ref()
                    .and_then(|files| check_files(data.path(), files))
            })
            .or_else(|| over_budget(case.limits.unwrap_or_default(), &report.metrics));
        CaseResult {
            skill: manifest.name.clone(),
            file: self.file.to_path_buf(),
            name: case.name.clone(),
            passed: failure.is_none(),
            failure,
            tier: Some(self.tier),
            actual_output: output,
            recorded: self.record.then(|| recording.fixtures()),
            metrics: Some(report.metrics),
        }
    }
}

fn check(expectation: &Expectation, report: &Report, output: Option<&Value>) -> Option<String> {
    let actual = || match &report.result {
        Ok(output) => format!("output {output}"),
        Err(f) => format!("{} ({})", f.kind, f.message),
    };
    match expectation {
        Expectation::Output(expected) if output == Some(expected) => None,
        Expectation::Output(expected) => {
            Some(format!("expected output {expected}, got {}", actual()))
        }
        Expectation::OutputContains(expected) if output.is_some_and(|o| contains(o, expected)) => {
            None
        }
        Expectation::OutputContains(expected) => Some(format!(
            "expected output containing {expected}, got {}",
            actual()
        )),
        Expectation::Error(kind) if report.error_kind() == Some(*kind) => None,
        Expectation::Error(kind) => Some(format!("expected error `{kind}`, got {}", actual())),
        Expectation::SkillError(pattern) => match &report.result {
            Err(f)
                if f.kind == skill_runtime::ErrorKind::SkillError
                    && f.message.contains(pattern.as_str()) =>
            {
                None
            }
            _ => Some(format!(
                "expected a skill error containing {pattern:?}, got {}",
                actual()
            )),
        },
    }
}

fn over_budget(budget: Budget, metrics: &Metrics) -> Option<String> {
    let ms = metrics.duration.as_secs_f64() * 1000.0;
    let over = [
        budget
            .fuel
            .filter(|&max| metrics.fuel_consumed > max)
            .map(|max| {
                format!(
                    "used {} fuel, over its budget of {max}",
                    metrics.fuel_consumed
                )
            }),
        budget
            .memory
            .filter(|&max| metrics.peak_memory_bytes > max)
            .map(|max| {
                format!(
                    "peaked at {} bytes of memory, over its budget of {max}",
                    metrics.peak_memory_bytes
                )
            }),
        budget
            .ms
            .filter(|&max| ms > max as f64)
            .map(|max| format!("took {ms:.1} ms, over its budget of {max} ms")),
    ];
    let over: Vec<String> = over.into_iter().flatten().collect();
    (!over.is_empty()).then(|| over.join("; "))
}

/// Writes actual outputs into the `expect.output` of failed cases that
/// produced output. Returns how many cases were updated.
pub fn update_snapshots(results: &[CaseResult]) -> anyhow::Result<usize> {
    let failed = results
        .iter()
        .filter(|r| !r.passed && r.actual_output.is_some());
    rewrite_cases(failed, |entry, result| {
        if entry["expect"].get("output").is_none() {
            return false;
        }
        entry["expect"]["output"] = result.actual_output.clone().expect("filtered above");
        true
    })
}

/// Writes what `--record` saw into each case's `fixtures.http`. Returns how
/// many cases were updated.
pub fn save_recordings(results: &[CaseResult]) -> anyhow::Result<usize> {
    let recorded = results
        .iter()
        .filter(|r| r.recorded.as_ref().is_some_and(|f| !f.is_empty()));
    rewrite_cases(recorded, |entry, result| {
        let fixtures = serde_json::to_value(result.recorded.as_ref().expect("filtered above"))
            .expect("fixtures serialize");
        if !entry["fixtures"].is_object() {
            entry["fixtures"] = Value::Object(Default::default());
        }
        entry["fixtures"]["http"] = fixtures;
        true
    })
}

/// Applies `edit` to each result's entry in its case file, then rewrites
/// the file atomically. Returns how many entries `edit` changed.
fn rewrite_cases<'a>(
    results: impl Iterator<Item = &'a CaseResult>,
    edit: impl Fn(&mut Value, &CaseResult) -> bool,
) -> anyhow::Result<usize> {
    let mut updated = 0;
    let mut by_file: HashMap<&Path, Vec<&CaseResult>> = HashMap::new();
    for r in results {
        by_file.entry(r.file.as_path()).or_default().push(r);
    }
    for (file, cases) in by_file {
        let text = std::fs::read_to_string(file)?;
        let json = file.extension().is_some_and(|e| e == "json");
        let mut doc: Value = if json {
            serde_json::from_str(&text)?
        } else {
            serde_yaml_ng::from_str(&text)?
        };
        let entries: Vec<&mut Value> = match &mut doc {
            Value::Array(items) => items.iter_mut().collect(),
            single => vec![single],
        };
        for entry in entries {
            if let Some(result) = cases.iter().find(|r| entry["name"] == r.name.as_str())
                && edit(entry, result)
            {
                updated += 1;
            }
        }
        let text = if json {
            serde_json::to_string_pretty(&doc)? + "\n"
        } else {
            serde_yaml_ng::to_string(&doc)?
        };
        skill_runtime::atomic_file::write(file, text.as_bytes(), 0o644)?;
    }
    Ok(updated)
}
