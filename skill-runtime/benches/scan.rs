//! Scan throughput, next to `validate` over the same skills.
//!
//! `taskset -c 0 cargo bench -p skill-runtime --bench scan` scans a
//! generated tree of 3,000 skills (a SKILL.md, a reference and a script
//! each); with `SKILL_SCAN_CORPUS=DIR` it scans the skill repositories under
//! DIR instead (real ones: clones of public skill collections). It prints
//! skills per second on one thread for `scan`, for lenient `validate`
//! (no components) and for reading the same files (the floor), and the
//! ratios between them, median of 5.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use skill_runtime::manifest::Mode;
use skill_runtime::scan::scan_paths;
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
    median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let generated = tempfile::tempdir().unwrap();
    let roots: Vec<PathBuf> = match std::env::var_os("SKILL_SCAN_CORPUS") {
        Some(dir) => std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        None => {
            generate(generated.path());
            vec![generated.path().to_path_buf()]
        }
    };
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (scans, _) = scan_paths(&roots);
    let skills = scans.len();
    let findings: usize = scans.iter().map(|s| s.findings.len()).sum();
    let mut files = Vec::new();
    for s in &scans {
        files_under(&s.dir, &mut files);
    }
    let bytes: u64 = files
        .iter()
        .map(|f| f.metadata().map_or(0, |m| m.len()))
        .sum();
    let scan = time(|| {
        one_thread.install(|| assert_eq!(scan_paths(&roots).0.len(), skills));
    });
    let validate = time(|| {
        validate::validate(
            &roots,
            Options {
                mode: Mode::Lenient,
            },
            None,
        );
    });
    let floor = time(|| {
        for f in &files {
            std::hint::black_box(std::fs::read(f).ok());
        }
    });
    let parallel = time(|| assert_eq!(scan_paths(&roots).0.len(), skills));
    let rate = |d: Duration| skills as f64 / d.as_secs_f64();
    println!(
        "scan summary: {skills} skills, {} files, {:.1} MiB, {findings} findings",
        files.len(),
        bytes as f64 / (1 << 20) as f64
    );
    println!(
        "  scan, one thread        {:>8.0} skills/s ({:.1} ms)",
        rate(scan),
        scan.as_secs_f64() * 1e3
    );
    println!(
        "  scan, every core        {:>8.0} skills/s ({:.1} ms)",
        rate(parallel),
        parallel.as_secs_f64() * 1e3
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
