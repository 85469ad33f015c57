//! What searching the registries costs: an index of 5,000 skills.
//!
//! `cargo bench -p cargo-skill --bench search` generates a git repository
//! of 5,000 skills (names, descriptions and bodies drawn from a word list,
//! the same every run), adds it as the only registry, then measures:
//! - building its index once (clone, discovery, frontmatter, scan, digests);
//! - the floor: `cargo skill --version`, a process that starts and exits;
//! - `cargo skill search WORDS --offline --message-format json` against the
//!   cached index, end to end, for a few queries;
//! - `cargo skill browse --offline` in a real terminal (tmux): the time to
//!   its first screen, as it reports it with `CARGO_SKILL_BROWSE_TIMING`
//!   (from the command's start; add the floor for the whole process).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SKILLS: usize = 5000;
const RUNS: usize = 30;
const WORDS: &[&str] = &[
    "pdf",
    "forms",
    "slides",
    "spreadsheet",
    "invoice",
    "calendar",
    "weather",
    "email",
    "github",
    "review",
    "deploy",
    "docker",
    "kubernetes",
    "sql",
    "graph",
    "chart",
    "image",
    "audio",
    "video",
    "translate",
    "summarize",
    "notes",
    "meeting",
    "budget",
    "tax",
    "legal",
    "contract",
    "design",
    "brand",
    "test",
    "lint",
    "security",
    "audit",
    "backup",
    "search",
    "index",
    "crawl",
    "scrape",
];

fn word(seed: usize, i: usize) -> &'static str {
    WORDS[(seed.wrapping_mul(2654435761).wrapping_add(i * 40503)) % WORDS.len()]
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn generate(repo: &Path) {
    for n in 0..SKILLS {
        let name = format!("{}-{}-{n}", word(n, 0), word(n, 1));
        let dir = repo.join("skills").join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let body: Vec<&str> = (2..60).map(|i| word(n, i)).collect();
        std::fs::write(
            dir.join("SKILL.md"),
            format!(
                "---\nname: {name}\ndescription: Helps with {} and {} for the user. Use when asked about {}.\n---\n\n# {name}\n\n{}\n",
                word(n, 2),
                word(n, 3),
                word(n, 4),
                body.join(" ")
            ),
        )
        .unwrap();
    }
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "-A"]);
    git(
        repo,
        &[
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@example.com",
            "commit",
            "-q",
            "-m",
            "skills",
        ],
    );
}

fn cargo_skill(home: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-skill"))
        .env("CARGO_SKILL_HOME", home)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Median and 95th percentile of `RUNS` runs.
fn time(home: &Path, args: &[&str]) -> (Duration, Duration, usize) {
    let mut times = Vec::new();
    let mut lines = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let out = cargo_skill(home, args);
        times.push(started.elapsed());
        lines = String::from_utf8_lossy(&out.stdout).lines().count();
    }
    times.sort();
    (times[RUNS / 2], times[RUNS * 95 / 100], lines)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, repo) = (tmp.path().join("home"), tmp.path().join("big"));
    std::fs::create_dir_all(&home).unwrap();
    let started = Instant::now();
    generate(&repo);
    println!(
        "generated {SKILLS} skills in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for name in ["anthropics", "composio", "skills-sh"] {
        cargo_skill(&home, &["registry", "remove", name]);
    }
    cargo_skill(
        &home,
        &[
            "registry",
            "add",
            "big",
            &format!("file://{}", repo.display()),
        ],
    );
    let started = Instant::now();
    cargo_skill(&home, &["-q", "search", "--refresh", "--limit", "1"]);
    let build = started.elapsed();
    let cache = home.join("cache/registries/big.json");
    println!(
        "index build (clone, discover, read, scan, digest): {:.2} s; cached index {} KiB",
        build.as_secs_f64(),
        std::fs::metadata(&cache).unwrap().len() / 1024
    );
    let (floor, floor95, _) = time(&home, &["--version"]);
    println!(
        "floor `cargo skill --version`: median {:.1} ms, p95 {:.1} ms",
        ms(floor),
        ms(floor95)
    );
    for query in [
        &["pdf"][..],
        &["pdf", "forms"],
        &["kubernetes", "deploy", "audit"],
        &[],
    ] {
        let mut args = vec![
            "search",
            "--offline",
            "--message-format",
            "json",
            "--limit",
            "20",
        ];
        args.extend_from_slice(query);
        let (median, p95, lines) = time(&home, &args);
        println!(
            "search {:<28} median {:6.1} ms (x{:.2} floor, {:+.1} ms), p95 {:6.1} ms, {lines} results",
            format!("{query:?}"),
            ms(median),
            median.as_secs_f64() / floor.as_secs_f64(),
            ms(median) - ms(floor),
            ms(p95)
        );
    }
    let mut firsts: Vec<f64> = (0..10).map(|i| first_screen(&home, i)).collect();
    firsts.sort_by(f64::total_cmp);
    println!(
        "browse: first screen of {SKILLS} skills in {:.1} ms median, {:.1} ms worst (of 10), after the floor",
        firsts[5], firsts[9]
    );
}

/// Runs `browse --offline` in tmux and reads the time it reports.
fn first_screen(home: &Path, run: usize) -> f64 {
    let session = format!("bench-browse-{}-{run}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").args(args).output().expect("tmux");
    let command = format!(
        "CARGO_SKILL_BROWSE_TIMING=1 CARGO_SKILL_HOME='{}' '{}' browse --offline",
        home.display(),
        env!("CARGO_BIN_EXE_cargo-skill")
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let ms = loop {
        let shown = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout)
            .into_owned();
        if let Some(rest) = shown.split("first screen in ").nth(1) {
            break rest.split(' ').next().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "browse showed nothing:\n{shown}");
        std::thread::sleep(Duration::from_millis(20));
    };
    tmux(&["kill-session", "-t", &session]);
    ms
}
