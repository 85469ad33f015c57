//! Registries on web sites, served by a real HTTP server on loopback: a
//! site's well-known skills (version 1 at the host root behind a base
//! path, version 2 with digests) and a skills directory's search API with
//! install counts; a site that serves garbage, a crafted index, and going
//! offline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use sha2::{Digest, Sha256};
use skill_test_support::http_server::{Request, Response, TestServer};

use crate::registry::{FLAGGED, cli, ok, results, skill_md};
use crate::stderr;

/// What the site answers: as published, garbage, or an error.
const SERVING: u8 = 0;
const GARBAGE: u8 = 1;
const DOWN: u8 = 2;

fn summary(results: &[serde_json::Value]) -> Vec<(String, String)> {
    results
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["registry"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn sha256(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The files of the site, by request path.
fn site() -> Vec<(String, String)> {
    let pdf = skill_md("pdf", "Read and fill PDF files.", "", "Use pypdf.\n");
    let slides = skill_md("slides", "Make slide decks.", "", "Decks.\n");
    let tampered = skill_md("charts", "Draw charts.", "", "Charts.\n");
    let v1 = serde_json::json!({"skills": [
        {"name": "pdf", "description": "Read and fill PDF files.", "files": ["SKILL.md", "scripts/fill.py"]},
        {"name": "pdf-helper", "description": "The fastest PDF helper.", "files": ["SKILL.md"]},
    ]});
    let v2 = serde_json::json!({
        "$schema": "https://schemas.agentskills.io/discovery/0.2.0/schema.json",
        "skills": [
            {"name": "slides", "description": "Make slide decks.", "type": "skill-md",
             "url": "slides/SKILL.md", "digest": sha256(&slides)},
            {"name": "charts", "description": "Draw charts.", "type": "skill-md",
             "url": "/elsewhere/charts.md", "digest": sha256("what the index promised")},
        ]
    });
    let crafted = serde_json::json!({"skills": [
        {"name": "pdf", "description": "d", "files": ["SKILL.md", "../../../../etc/passwd"]},
    ]});
    vec![
        ("/.well-known/skills/index.json".into(), v1.to_string()),
        ("/.well-known/skills/pdf/SKILL.md".into(), pdf),
        (
            "/.well-known/skills/pdf/scripts/fill.py".into(),
            "print('fill')\n".into(),
        ),
        (
            "/.well-known/skills/pdf-helper/SKILL.md".into(),
            skill_md("pdf-helper", "The fastest PDF helper.", "", FLAGGED),
        ),
        (
            "/v2/.well-known/agent-skills/index.json".into(),
            v2.to_string(),
        ),
        (
            "/v2/.well-known/agent-skills/slides/SKILL.md".into(),
            slides,
        ),
        ("/elsewhere/charts.md".into(), tampered),
        (
            "/bad/.well-known/skills/index.json".into(),
            crafted.to_string(),
        ),
    ]
}

fn serve(mode: Arc<AtomicU8>) -> TestServer {
    let files = site();
    TestServer::start(move |request: &Request| {
        match mode.load(Ordering::SeqCst) {
            GARBAGE => return Response::ok("<html>we moved</html>"),
            DOWN => {
                return Response {
                    status: 503,
                    ..Response::ok("down")
                };
            }
            _ => {}
        }
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        if path == "/api/search" {
            assert!(
                query.contains("q=pdf") && query.contains("limit="),
                "{query}"
            );
            return Response::ok(
                serde_json::json!({"skills": [
                    {"id": "acme/pdf-skills/pdf", "name": "pdf", "source": "acme/pdf-skills", "installs": 1200},
                    {"id": "big/tools/pdf-tools", "name": "pdf-tools", "source": "big/tools", "installs": 50000},
                    {"id": "x", "name": "../escape", "source": "a/b", "installs": 9},
                    {"id": "y", "name": "pdf-url", "source": "https://evil.example/x", "installs": 9},
                ]})
                .to_string(),
            );
        }
        match files.iter().find(|(p, _)| p == path) {
            Some((_, body)) => Response::ok(body.clone()),
            None => Response {
                status: 404,
                ..Response::ok("not found")
            },
        }
    })
}

#[test]
fn web_registries_are_searched_installed_from_and_kept_when_they_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let h = &tmp.path().join("home");
    std::fs::create_dir_all(h).unwrap();
    let mode = Arc::new(AtomicU8::new(SERVING));
    let server = serve(mode.clone());
    for name in ["anthropics", "composio", "skills-sh"] {
        ok(&cli(h, &["registry", "remove", name]));
    }
    // The index is not under /docs: the site's root has it, as npx finds it.
    let docs = server.url("/docs");
    let v2 = server.url("/v2/");
    for (name, kind, url) in [
        ("site", "well-known", docs.as_str()),
        ("site-v2", "well-known", v2.as_str()),
        ("directory", "skills-sh", &server.url("")),
    ] {
        ok(&cli(h, &["registry", "add", name, url, "--kind", kind]));
    }
    let out = cli(
        h,
        &[
            "registry",
            "add",
            "local",
            "file:///etc",
            "--kind",
            "well-known",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an http or https URL"),
        "{}",
        stderr(&out)
    );

    // Exact names first; between equals, the one with its files read and
    // scanned; then popularity; the flagged last.
    let out = cli(h, &["search", "pdf", "--message-format", "json"]);
    let found = results(&out);
    let said = stderr(&out);
    assert_eq!(
        summary(&found),
        [
            ("pdf".into(), "site".into()),
            ("pdf".into(), "directory".into()),
            ("pdf-tools".into(), "directory".into()),
            ("pdf-helper".into(), "site".into()),
        ],
        "{said}"
    );
    assert_eq!(found[0]["source"], format!("well-known:{docs}"));
    assert_eq!(found[0]["tier"], "untrusted");
    assert_eq!(found[1]["source"], "acme/pdf-skills");
    assert_eq!(found[1]["installs"], 1200);
    assert_eq!(found[1]["tier"], "unknown");
    assert_eq!(found[3]["flagged"], true);
    // The directory's crafted entries were dropped before anything kept them.
    let cached = std::fs::read_to_string(h.join("cache/registries/directory.json")).unwrap();
    assert!(cached.contains("pdf-tools"), "{cached}");
    assert!(
        !cached.contains("escape") && !cached.contains("evil"),
        "{cached}"
    );
    assert_eq!(found[0]["category"], "documents");

    // Version 2: the digest is checked; the tampered skill is left out, said.
    let found = results(&cli(
        h,
        &[
            "search",
            "--registry",
            "site-v2",
            "--message-format",
            "json",
        ],
    ));
    let names: Vec<&str> = found.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["slides"]);
    let out = cli(h, &["search", "--registry", "site-v2", "--refresh"]);
    assert!(
        stderr(&out).contains("`charts` from") && stderr(&out).contains("not the sha256:"),
        "{}",
        stderr(&out)
    );

    // What search suggests installs, and preview reads the same way.
    let human = ok(&cli(h, &["search", "pdf", "--registry", "site"]));
    assert!(
        human.contains(&format!(
            "cargo skill install well-known:{docs} --skill pdf"
        )),
        "{human}"
    );
    let p: serde_json::Value = serde_json::from_str(&ok(&cli(
        h,
        &[
            "preview",
            &format!("well-known:{docs}@pdf"),
            "--message-format",
            "json",
        ],
    )))
    .unwrap();
    assert_eq!(p["source"], format!("well-known:{docs}"));
    let files: Vec<&str> = p["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["SKILL.md", "scripts/fill.py"]);
    ok(&cli(
        h,
        &[
            "install",
            &format!("well-known:{docs}"),
            "--skill",
            "pdf",
            "--yes",
        ],
    ));
    assert_eq!(
        std::fs::read_to_string(h.join("skills/pdf/scripts/fill.py")).unwrap(),
        "print('fill')\n"
    );
    let lock = std::fs::read_to_string(h.join("skills.lock")).unwrap();
    assert!(lock.contains(&format!("well-known:{docs}")), "{lock}");

    // Offline: the caches answer, the directory's for the words it was asked.
    let hits = server.hits();
    let found = results(&cli(
        h,
        &["search", "pdf", "--offline", "--message-format", "json"],
    ));
    assert_eq!(found.len(), 4);
    assert_eq!(server.hits(), hits, "offline reached the network");
    let out = cli(
        h,
        &[
            "install",
            &format!("well-known:{docs}"),
            "--offline",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("drop --offline"), "{}", stderr(&out));

    // Garbage, then down: each registry keeps its index and says so.
    for (m, why) in [
        (GARBAGE, "index.json (not JSON: "),
        (DOWN, "answered HTTP 503"),
    ] {
        mode.store(m, Ordering::SeqCst);
        let out = cli(
            h,
            &["search", "pdf", "--refresh", "--message-format", "json"],
        );
        assert_eq!(results(&out).len(), 4, "{}", stderr(&out));
        let said = stderr(&out);
        assert!(said.contains("could not refresh registry `site`"), "{said}");
        assert!(
            said.contains("could not refresh registry `directory`"),
            "{said}"
        );
        assert!(said.contains("using its index from"), "{said}");
        assert!(said.contains(why), "{said}");
    }
    mode.store(SERVING, Ordering::SeqCst);

    // A crafted index reaching out of its folder is refused whole.
    ok(&cli(
        h,
        &[
            "registry",
            "add",
            "bad",
            &server.url("/bad"),
            "--kind",
            "well-known",
        ],
    ));
    let out = cli(h, &["search", "pdf", "--registry", "bad"]);
    assert_eq!(out.status.code(), Some(2));
    let said = stderr(&out);
    assert!(
        said.contains("skill 1 (`pdf`)") && said.contains("not a plain relative path"),
        "{said}"
    );
    assert!(!tmp.path().join("etc").exists());
}
