//! A web site's well-known skills, as the ecosystem's installer (`npx
//! skills add https://SITE`) reads them: `index.json` under
//! `/.well-known/agent-skills/` or `/.well-known/skills/`, at the URL's path
//! and then at the host's root. Version 1 lists each skill's files (served
//! beside the index, under the skill's name); version 2 (a `$schema` of the
//! agentskills.io discovery schema) points at each `SKILL.md` with its
//! sha256 digest. Every skill is downloaded into a temporary folder that
//! then goes through the same checks as any other source.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::web;

/// The index folders tried, in order, at each base.
const INDEX_DIRS: [&str; 2] = [".well-known/agent-skills", ".well-known/skills"];
const MAX_INDEX_BYTES: u64 = 4 << 20;
const MAX_SKILLS: usize = 1_000;
const MAX_FILES_PER_SKILL: usize = 256;
const MAX_FILE_BYTES: u64 = 4 << 20;
/// All the files of one site's skills: a thousand skills of 256 files of
/// 4 MiB would otherwise fill a disk.
pub const MAX_SITE_BYTES: u64 = 256 << 20;
const MAX_DESCRIPTION: usize = 1_024;

/// A skill the index lists, checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// Path in the skill folder → absolute URL.
    pub files: Vec<(String, String)>,
    /// `sha256:…` of `SKILL.md` (version 2).
    pub digest: Option<String>,
}

/// The site's index: where it was found and its skills.
#[derive(Debug)]
pub struct Index {
    pub url: String,
    pub skills: Vec<Entry>,
    /// Entries skipped, and why (archives, which this tool does not unpack).
    pub skipped: Vec<String>,
}

/// Finds and reads the site's index.
pub fn index(site: &str) -> Result<Index> {
    let base = web::check_url(site)?;
    let path = base.path().trim_end_matches('/').to_string();
    let mut bases = vec![path.clone()];
    if !path.is_empty() {
        bases.push(String::new());
    }
    let mut tried = Vec::new();
    for base_path in &bases {
        for dir in INDEX_DIRS {
            let mut url = base.clone();
            url.set_query(None);
            url.set_fragment(None);
            url.set_path(&format!("{base_path}/{dir}/index.json"));
            let Some(bytes) = web::get(url.as_str(), MAX_INDEX_BYTES)? else {
                tried.push(url.to_string());
                continue;
            };
            // As `npx skills` does, a page that is not an index (a site's
            // HTML for unknown paths) means: look at the next place.
            match index_json(&bytes) {
                Ok(json) => return from_json(&url, &json),
                Err(why) => tried.push(format!("{url} ({why})")),
            }
        }
    }
    bail!(
        "{site} publishes no skills index (tried {}): a site lists its skills as {{\"skills\": [...]}} in /.well-known/skills/index.json",
        tried.join(", ")
    )
}

/// The document if it has the shape of an index, else why not.
fn index_json(bytes: &[u8]) -> Result<Value, String> {
    let json: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if json.get("skills").and_then(Value::as_array).is_none() {
        return Err("no `skills` list".into());
    }
    Ok(json)
}

/// Checks an index; any entry that could reach outside its folder or
/// is not a skill refuses the whole index, naming the entry.
fn from_json(url: &url::Url, json: &Value) -> Result<Index> {
    let entries = json["skills"].as_array().expect("checked by index_json");
    if entries.len() > MAX_SKILLS {
        bail!(
            "{url} lists {} skills, more than the {MAX_SKILLS} this tool reads",
            entries.len()
        );
    }
    let v2 = json.get("$schema").and_then(Value::as_str).is_some();
    let mut index = Index {
        url: url.to_string(),
        skills: Vec::new(),
        skipped: Vec::new(),
    };
    let mut names = BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let wrong = |what: String| anyhow::anyhow!("{url}: skill {} {what}", i + 1);
        let field = |key: &str| {
            entry
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let name = field("name").ok_or_else(|| wrong("has no `name`".into()))?;
        skill_runtime::manifest::skill_name::check(name)
            .map_err(|e| wrong(format!("(`{}`): {e}", name.escape_default())))?;
        let description = field("description")
            .ok_or_else(|| wrong(format!("(`{name}`) has no `description`")))?;
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(wrong(format!(
                "(`{name}`) has a description over {MAX_DESCRIPTION} characters"
            )));
        }
        if !names.insert(name.to_string()) {
            return Err(wrong(format!("(`{name}`) is listed twice")));
        }
        let parsed = if v2 {
            v2_entry(url, name, entry)
        } else {
            v1_entry(url, name, entry)
        };
        match parsed.map_err(|e| wrong(format!("(`{name}`): {e}")))? {
            Some(skill) => index.skills.push(skill),
            None => index.skipped.push(format!(
                "`{name}` is published as an archive, which cargo-skill does not unpack; it is skipped"
            )),
        }
    }
    Ok(index)
}

fn v1_entry(url: &url::Url, name: &str, entry: &Value) -> Result<Option<Entry>> {
    let files = entry
        .get("files")
        .and_then(Value::as_array)
        .filter(|f| !f.is_empty())
        .ok_or_else(|| anyhow::anyhow!("has no `files` list"))?;
    if files.len() > MAX_FILES_PER_SKILL {
        bail!(
            "lists {} files, more than {MAX_FILES_PER_SKILL}",
            files.len()
        );
    }
    let mut out = Vec::new();
    for file in files {
        let file = file
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("lists a file that is not a string"))?;
        check_file(file)?;
        let at = url
            .join(&format!("{name}/{file}"))
            .with_context(|| format!("`{file}` does not make a URL"))?;
        out.push((file.to_string(), at.to_string()));
    }
    if !out.iter().any(|(f, _)| f.eq_ignore_ascii_case("SKILL.md")) {
        bail!("lists no SKILL.md");
    }
    Ok(Some(Entry {
        name: name.to_string(),
        files: out,
        digest: None,
    }))
}

fn v2_entry(url: &url::Url, name: &str, entry: &Value) -> Result<Option<Entry>> {
    let kind = entry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "skill-md" => {}
        "archive" => return Ok(None),
        other => bail!(
            "has the unknown type `{}` (skill-md or archive)",
            other.escape_default()
        ),
    }
    let at = entry
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("has no `url`"))?;
    let at = url
        .join(at)
        .with_context(|| format!("`{}` is not a URL", at.escape_default()))?;
    web::check_url(at.as_str())?;
    let digest = entry
        .get("digest")
        .and_then(Value::as_str)
        .filter(|d| {
            d.strip_prefix("sha256:")
                .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .ok_or_else(|| anyhow::anyhow!("has no `digest` of the form sha256:<64 hex digits>"))?;
    Ok(Some(Entry {
        name: name.to_string(),
        files: vec![("SKILL.md".into(), at.to_string())],
        digest: Some(digest.to_ascii_lowercase()),
    }))
}

/// A file path stays inside its skill's folder.
fn check_file(file: &str) -> Result<()> {
    let plain = !file.is_empty()
        && !file.contains('\\')
        && !file.chars().any(char::is_control)
        && file
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..");
    if !plain {
        bail!(
            "lists the file `{}`, which is not a plain relative path",
            file.escape_default()
        );
    }
    Ok(())
}

/// Downloads every skill of `index` into `into/<name>/`, `budget` bytes
/// in all. A skill whose files cannot all be fetched (or whose digest
/// differs) is left out; once the budget is spent, so is every skill
/// after it; the returned warnings say which and why.
pub fn download(index: &Index, into: &Path, budget: u64) -> Result<Vec<String>> {
    let mut warnings = index.skipped.clone();
    let mut left = budget;
    for (i, skill) in index.skills.iter().enumerate() {
        if left == 0 {
            let rest: Vec<&str> = index.skills[i..].iter().map(|s| s.name.as_str()).collect();
            warnings.push(format!(
                "{} holds more than {budget} bytes of skills; left out: {}",
                index.url,
                rest.join(", ")
            ));
            break;
        }
        let dir = into.join(&skill.name);
        if let Err(e) = download_skill(skill, &dir, &mut left) {
            warnings.push(format!(
                "`{}` from {} is left out: {e:#}",
                skill.name, index.url
            ));
            std::fs::remove_dir_all(&dir).ok();
        }
    }
    Ok(warnings)
}

fn download_skill(skill: &Entry, dir: &Path, left: &mut u64) -> Result<()> {
    for (file, url) in &skill.files {
        let bytes = web::get(url, MAX_FILE_BYTES)?
            .ok_or_else(|| anyhow::anyhow!("{url} is listed but answers 404"))?;
        if bytes.len() as u64 > *left {
            *left = 0;
            bail!("{url} would pass the bytes this site's skills may take");
        }
        *left -= bytes.len() as u64;
        if let Some(digest) = &skill.digest {
            let got = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
            if &got != digest {
                bail!("{url} has the digest {got}, not the {digest} the index lists");
            }
        }
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
        std::fs::write(&path, &bytes)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &url::Url, bytes: &[u8]) -> Result<Index> {
        let json = index_json(bytes).map_err(|why| anyhow::anyhow!("{url}: {why}"))?;
        from_json(url, &json)
    }

    fn at() -> url::Url {
        url::Url::parse("https://example.com/docs/.well-known/skills/index.json").unwrap()
    }

    #[test]
    fn v1_files_resolve_beside_the_index() {
        let index = parse(
            &at(),
            br#"{"skills":[{"name":"pdf","description":"PDFs.","files":["SKILL.md","ref/forms.md"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            index.skills[0].files[1],
            (
                "ref/forms.md".to_string(),
                "https://example.com/docs/.well-known/skills/pdf/ref/forms.md".to_string()
            )
        );
    }

    #[test]
    fn an_entry_that_reaches_out_refuses_the_index() {
        for bad in [
            r#"{"name":"pdf","description":"d","files":["SKILL.md","../../etc/passwd"]}"#,
            r#"{"name":"pdf","description":"d","files":["SKILL.md","/abs"]}"#,
            r#"{"name":"pdf","description":"d","files":["SKILL.md","a\\b"]}"#,
            r#"{"name":"../pdf","description":"d","files":["SKILL.md"]}"#,
            r#"{"name":"Pdf","description":"d","files":["SKILL.md"]}"#,
            r#"{"name":"pdf","description":"d","files":["README.md"]}"#,
            r#"{"name":"pdf","files":["SKILL.md"]}"#,
        ] {
            let text = format!(r#"{{"skills":[{bad}]}}"#);
            assert!(parse(&at(), text.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse(&at(), b"<html>").is_err());
    }

    #[test]
    fn a_page_that_is_not_an_index_sends_the_search_on() {
        use skill_test_support::http_server::{Response, TestServer};
        // Every unknown path of the site under /docs answers its HTML page.
        let server = TestServer::start(|r| match r.target.as_str() {
            "/.well-known/skills/index.json" => Response::ok(
                r#"{"skills":[{"name":"pdf","description":"d","files":["SKILL.md"]}]}"#,
            ),
            t if t.starts_with("/docs/") => Response::ok("<!doctype html><p>docs</p>"),
            _ => Response {
                status: 404,
                ..Response::ok("")
            },
        });
        let found = index(&server.url("/docs")).unwrap();
        assert_eq!(found.url, server.url("/.well-known/skills/index.json"));
        assert_eq!(found.skills[0].name, "pdf");

        let none = TestServer::start(|_| Response::ok("<!doctype html>"));
        let err = index(&none.url("/")).unwrap_err().to_string();
        assert!(
            err.contains("publishes no skills index") && err.contains("(not JSON: "),
            "{err}"
        );
    }

    #[test]
    fn a_site_gets_a_byte_budget_for_all_its_skills() {
        use skill_test_support::http_server::{Response, TestServer};
        let server = TestServer::start(|_| Response::ok("0123456789"));
        let index = url::Url::parse(&server.url("/.well-known/skills/index.json")).unwrap();
        let entry =
            |name: &str| format!(r#"{{"name":"{name}","description":"d","files":["SKILL.md"]}}"#);
        let text = format!(
            r#"{{"skills":[{},{},{},{}]}}"#,
            entry("a"),
            entry("b"),
            entry("c"),
            entry("d")
        );
        let index = parse(&index, text.as_bytes()).unwrap();
        let into = tempfile::tempdir().unwrap();
        let warnings = download(&index, into.path(), 25).unwrap();
        assert!(
            into.path().join("a/SKILL.md").is_file() && into.path().join("b/SKILL.md").is_file()
        );
        assert!(!into.path().join("c").exists() && !into.path().join("d").exists());
        assert!(
            warnings[0].contains("`c`") && warnings[0].contains("would pass"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("more than 25 bytes") && warnings[1].ends_with("left out: d"),
            "{warnings:?}"
        );
    }

    #[test]
    fn v2_needs_a_digest_and_skips_archives() {
        let good = format!(
            r#"{{"$schema":"https://schemas.agentskills.io/discovery/0.2.0/schema.json","skills":[
            {{"name":"pdf","description":"d","type":"skill-md","url":"pdf/SKILL.md","digest":"sha256:{}"}},
            {{"name":"big","description":"d","type":"archive","url":"big.tar.gz","digest":"sha256:{}"}}]}}"#,
            "a".repeat(64),
            "b".repeat(64)
        );
        let index = parse(&at(), good.as_bytes()).unwrap();
        assert_eq!(index.skills.len(), 1);
        assert_eq!(index.skipped.len(), 1);
        let bad = good.replace(&"a".repeat(64), "abc");
        assert!(parse(&at(), bad.as_bytes()).is_err());
    }
}
