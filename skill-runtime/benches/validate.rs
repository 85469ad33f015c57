//! Validation throughput on a generated tree of 3,000 skills.
//!
//! `taskset -c 0 cargo bench -p skill-runtime --bench validate` prints
//! criterion's estimate, then skills per second for a full lenient and
//! strict validation (discovery, parsing, every manifest and body check,
//! relations; no components) next to the floor measured in the same run:
//! discovering and reading the same files without checking them.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use skill_runtime::discover::{Found, discover};
use skill_runtime::manifest::Mode;
use skill_runtime::validate::{self, Options};

const SKILLS: usize = 3000;

/// Realistic manifests: extensions, a folded description, a body with links.
fn generate(root: &Path) {
    for i in 0..SKILLS {
        let name = format!("skill-{i:04}");
        let dir = root.join("skills").join(&name);
        std::fs::create_dir_all(dir.join("references")).unwrap();
        let dependency = if i > 0 {
            format!("  dependencies: skill-{:04}@^1\n", i - 1)
        } else {
            String::new()
        };
        let manifest = format!(
            "---\nname: {name}\ndescription: >\n  Handles task number {i}: reads input, calls the API and\n  summarises the result. Use it when the user asks for task {i}.\nlicense: Apache-2.0\nmetadata:\n  version: \"1.{i}.0\"\n  skill-type: prompt\n  capabilities: http-get:api{i}.example.com read-env:TZ\n  secrets: API_KEY_{i}\n{dependency}  resources: fuel=2000000 memory=32MiB timeout=5s\n---\n\n# {name}\n\n## When to use\n\nWhen the user asks for task {i}. See [the guide](references/guide.md)\nand [examples](references/examples.md).\n\n## Steps\n\n1. Read the input.\n2. Call the API.\n3. Summarise.\n"
        );
        std::fs::write(dir.join("SKILL.md"), manifest).unwrap();
        std::fs::write(
            dir.join("references/guide.md"),
            "# Guide\nNo further links.\n",
        )
        .unwrap();
        std::fs::write(dir.join("references/examples.md"), "# Examples\n").unwrap();
    }
}

fn read_only(root: &Path) -> usize {
    discover(root)
        .into_iter()
        .filter_map(|f| match f {
            Found::Manifest(p) => std::fs::read(p).ok(),
            Found::OutsideTree { .. } => None,
        })
        .count()
}

fn full(root: &Path, mode: Mode) -> usize {
    let report = validate::validate(&[root.to_path_buf()], Options { mode }, None);
    assert_eq!(report.skills.len(), SKILLS);
    assert_eq!(
        report.count(skill_runtime::manifest::Severity::Error),
        0,
        "the generated tree is valid"
    );
    report.skills.len()
}

fn criterion_benches(c: &mut Criterion) {
    let tree = tempfile::tempdir().unwrap();
    generate(tree.path());
    let mut group = c.benchmark_group("validate-3000");
    group.sample_size(10);
    group.bench_function("lenient", |b| b.iter(|| full(tree.path(), Mode::Lenient)));
    group.bench_function("read-only-floor", |b| b.iter(|| read_only(tree.path())));
    group.finish();
}

criterion_group!(benches, criterion_benches);

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(runs: usize, f: impl Fn()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn summary() {
    let tree = tempfile::tempdir().unwrap();
    generate(tree.path());
    let root = tree.path();
    let lenient = time(7, || assert_eq!(full(root, Mode::Lenient), SKILLS));
    let strict = time(7, || assert_eq!(full(root, Mode::Strict), SKILLS));
    let floor = time(7, || assert_eq!(read_only(root), SKILLS));
    let rate = |d: Duration| SKILLS as f64 / d.as_secs_f64();
    println!("\nvalidate summary ({SKILLS} skills, one thread, median of 7)");
    println!(
        "  lenient              {:>9.0} skills/s ({:.1} ms)",
        rate(lenient),
        lenient.as_secs_f64() * 1e3
    );
    println!(
        "  strict               {:>9.0} skills/s ({:.1} ms)",
        rate(strict),
        strict.as_secs_f64() * 1e3
    );
    println!(
        "  read-only floor      {:>9.0} skills/s ({:.1} ms)",
        rate(floor),
        floor.as_secs_f64() * 1e3
    );
    println!(
        "  ratio lenient/floor  {:>9.2} (target: at least 5000 skills/s)",
        lenient.as_secs_f64() / floor.as_secs_f64()
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
