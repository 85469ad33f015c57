//! Scan throughput and what the rules flag, over generated or real skills.
//!
//! `taskset -c 0 cargo bench -p skill-runtime --bench scan` scans a
//! generated tree of 3,000 skills (a SKILL.md, a reference and a script
//! each). With `SKILL_SCAN_CORPUS=DIR` it scans every folder holding a
//! `SKILL.md` (a file, not a link) beneath DIR instead, one scan per folder,
//! the way the install gate sees them: clones of public skill collections.
//!
//! It prints, per rule and severity, how many folders have such a finding;
//! how many have one at each severity, and how many would be refused at
//! install (`high` or above, links that stay inside DIR aside); then skill
//! folders per second on one thread for `scan`, next to lenient `validate`
//! (no components) and to reading the same files (the floor), median of 3
//! after a warm-up pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use skill_runtime::manifest::Mode;
use skill_runtime::scan::{Finding, Risk, SkillScan, scan_skill};
use skill_runtime::validate::{self, Options};

const GENERATED: usize = 3000;

fn generate(root: &Path) {
    for i in 0..GENERATED {
        let name = format!("skill-{i:04}");
        let dir = root.join("skills").join(&name);
        std::fs::create_dir_all(dir.join("references")).unwrap();
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        std::fs::write(
            dir.join("SKILL.md"),
            format!("---\nname: {name}\ndescription: Handles task {i}. Use it when the user asks for task {i}.\n---\n\n# {name}\n\n## Steps\n\n1. Read the input with `scripts/run.py`.\n2. Call the API; see [the guide](references/guide.md).\n3. Summarise for the user, and ask before changing files.\n\n```sh\npython3 scripts/run.py --input data.json\n```\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join("references/guide.md"),
            "# Guide\n\nThe API returns JSON. Retry twice on 503, then report the error.\n"
                .repeat(20),
        )
        .unwrap();
        std::fs::write(
            dir.join("scripts/run.py"),
            "import json, sys, subprocess\n\ndef main():\n    data = json.load(open(sys.argv[2]))\n    subprocess.run([\"jq\", \".\"], input=json.dumps(data).encode())\n\nmain()\n".repeat(5),
        )
        .unwrap();
    }
}

/// Every folder beneath `dir` holding a regular `SKILL.md`.
fn skill_folders(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() && entry.file_name() != ".git" => skill_folders(&path, out),
            Ok(t) if t.is_file() && entry.file_name() == "SKILL.md" => out.push(dir.to_path_buf()),
            _ => {}
        }
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() && entry.file_name() != ".git" => files_under(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(f: impl Fn()) -> Duration {
    f();
    median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// A link that resolves inside the corpus is judged by the operator loop,
/// not counted as a gated folder here.
fn inside(root: &Path, scan: &SkillScan, f: &Finding) -> bool {
    f.rule == "symlink"
        && std::fs::canonicalize(scan.dir.join(&f.path))
            .is_ok_and(|target| target.starts_with(root))
}

fn report(root: &Path, scans: &[SkillScan]) {
    let mut per_rule: BTreeMap<(&str, Risk), usize> = BTreeMap::new();
    let mut at_least = [0usize; 4];
    let mut gated = Vec::new();
    for scan in scans {
        let mut rules: Vec<(&str, Risk)> =
            scan.findings.iter().map(|f| (f.rule, f.severity)).collect();
        rules.sort();
        rules.dedup();
        for rule in rules {
            *per_rule.entry(rule).or_default() += 1;
        }
        for (i, severity) in Risk::ALL.iter().enumerate() {
            if scan.findings.iter().any(|f| f.severity == *severity) {
                at_least[i] += 1;
            }
        }
        let blocking: Vec<&Finding> = scan
            .blocking(Risk::High, &[])
            .filter(|f| !inside(root, scan, f))
            .collect();
        if !blocking.is_empty() {
            gated.push((scan.dir.clone(), blocking));
        }
    }
    let folders = scans.len();
    println!("scan findings over {folders} skill folders (folders with at least one):");
    let mut rows: Vec<_> = per_rule.into_iter().collect();
    rows.sort_by(|a, b| (b.0.1, b.1).cmp(&(a.0.1, a.1)));
    for ((rule, severity), count) in rows {
        println!("  {rule:<24} {:<9} {count:>6}", severity.as_str());
    }
    for (i, severity) in Risk::ALL.iter().enumerate().rev() {
        println!(
            "  folders with a {:<8} finding {:>6}",
            severity.as_str(),
            at_least[i]
        );
    }
    println!(
        "  refused at install (high or above, in-corpus links aside): {} ({:.2}%)",
        gated.len(),
        100.0 * gated.len() as f64 / folders.max(1) as f64
    );
    for (dir, findings) in &gated {
        let shown: Vec<String> = findings
            .iter()
            .take(3)
            .map(|f| format!("{} {}:{}", f.rule, f.path, f.line))
            .collect();
        println!(
            "    {}: {}",
            dir.strip_prefix(root).unwrap_or(dir).display(),
            shown.join(", ")
        );
    }
}

fn main() {
    let generated = tempfile::tempdir().unwrap();
    let root = match std::env::var_os("SKILL_SCAN_CORPUS") {
        Some(dir) => std::fs::canonicalize(dir).unwrap(),
        None => {
            generate(generated.path());
            generated.path().to_path_buf()
        }
    };
    let mut folders = Vec::new();
    skill_folders(&root, &mut folders);
    folders.sort();
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let scans: Vec<SkillScan> = folders.iter().map(|d| scan_skill(d)).collect();
    report(&root, &scans);
    let mut files = Vec::new();
    for d in &folders {
        files_under(d, &mut files);
    }
    let bytes: u64 = files
        .iter()
        .map(|f| f.metadata().map_or(0, |m| m.len()))
        .sum();
    let scan = time(|| {
        one_thread.install(|| {
            for d in &folders {
                std::hint::black_box(scan_skill(d));
            }
        })
    });
    let validate = time(|| {
        one_thread.install(|| {
            validate::validate(
                &folders,
                Options {
                    mode: Mode::Lenient,
                },
                None,
            );
        })
    });
    let floor = time(|| {
        for f in &files {
            std::hint::black_box(std::fs::read(f).ok());
        }
    });
    let rate = |d: Duration| folders.len() as f64 / d.as_secs_f64();
    println!(
        "scan summary: {} skill folders, {} files, {:.1} MiB",
        folders.len(),
        files.len(),
        bytes as f64 / (1 << 20) as f64
    );
    println!(
        "  scan, one thread        {:>8.0} skills/s ({:.1} ms)",
        rate(scan),
        scan.as_secs_f64() * 1e3
    );
    println!(
        "  validate (lenient)      {:>8.0} skills/s ({:.1} ms)",
        rate(validate),
        validate.as_secs_f64() * 1e3
    );
    println!(
        "  read every file (floor) {:>8.0} skills/s ({:.1} ms)",
        rate(floor),
        floor.as_secs_f64() * 1e3
    );
    println!(
        "  ratios: scan/validate {:.2}, scan/floor {:.2}",
        scan.as_secs_f64() / validate.as_secs_f64(),
        scan.as_secs_f64() / floor.as_secs_f64()
    );
}
