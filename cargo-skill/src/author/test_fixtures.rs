//! The capability fixtures of a test case made real: HTTP responses served
//! through the runtime's HTTP path, files seeded into a fresh data folder,
//! and recordings of real exchanges for `--record`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use skill_runtime::Capability;
use skill_runtime::capabilities::http::{Exchange, HttpFixtures, HttpRecorder, Method};
use url::Url;

/// One canned response: `method` + `url` → `status`, `headers`, `body`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpFixture {
    #[serde(default = "get")]
    pub method: String,
    pub url: String,
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A string, or any JSON value (sent as its JSON text).
    #[serde(default)]
    pub body: Value,
}

fn get() -> String {
    "GET".into()
}

fn ok() -> u16 {
    200
}

impl HttpFixture {
    fn method(&self) -> Result<Method, String> {
        match self.method.to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            other => Err(format!(
                "http fixture for {}: method `{other}` is not GET or POST",
                self.url
            )),
        }
    }

    /// The capability a request needs to be answered by this fixture.
    pub fn capability(&self) -> Capability {
        match self.method() {
            Ok(Method::Post) => Capability::HttpPost,
            _ => Capability::HttpGet,
        }
    }

    /// Checked when the case file is read.
    pub fn check(&self) -> Result<(), String> {
        self.method()?;
        Url::parse(&self.url)
            .map(|_| ())
            .map_err(|e| format!("http fixture `{}` is not a URL: {e}", self.url))
    }

    fn body_text(&self) -> String {
        match &self.body {
            Value::Null => String::new(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }

    fn from_exchange(exchange: &Exchange) -> HttpFixture {
        HttpFixture {
            method: exchange.method.as_str().to_string(),
            url: exchange.url.clone(),
            status: exchange.status,
            headers: exchange
                .location
                .iter()
                .map(|l| ("location".to_string(), l.clone()))
                .collect(),
            // Kept as JSON when it is JSON, so recordings stay readable.
            body: serde_json::from_str(&exchange.body)
                .ok()
                .filter(|v: &Value| v.is_object() || v.is_array())
                .unwrap_or_else(|| Value::String(exchange.body.clone())),
        }
    }
}

/// Answers from a case's fixtures; remembers requests nothing answered, so
/// the case fails even if the skill swallowed the error.
#[derive(Debug, Default)]
pub struct FixtureResponder {
    fixtures: Vec<HttpFixture>,
    unmatched: Mutex<Vec<String>>,
}

impl FixtureResponder {
    pub fn new(fixtures: Vec<HttpFixture>) -> FixtureResponder {
        FixtureResponder {
            fixtures,
            unmatched: Mutex::default(),
        }
    }

    pub fn unmatched(&self) -> Vec<String> {
        self.unmatched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl HttpFixtures for FixtureResponder {
    fn respond(&self, method: Method, url: &str, _body: Option<&str>) -> Result<Exchange, String> {
        let wanted = Url::parse(url).ok();
        let found = self
            .fixtures
            .iter()
            .find(|f| f.method().ok() == Some(method) && Url::parse(&f.url).ok() == wanted);
        let Some(fixture) = found else {
            let request = format!("{} {url}", method.as_str());
            self.unmatched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(request.clone());
            return Err(format!(
                "no fixture answers {request}: add it to the case's `fixtures.http`, or run `cargo skill test --record`"
            ));
        };
        let location = fixture
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("location"))
            .map(|(_, value)| value.clone());
        Ok(Exchange {
            method,
            url: url.to_string(),
            status: fixture.status,
            location,
            body: fixture.body_text(),
        })
    }
}

/// Collects real exchanges as fixtures.
#[derive(Debug, Default)]
pub struct Recording(Mutex<Vec<HttpFixture>>);

impl Recording {
    pub fn fixtures(&self) -> Vec<HttpFixture> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl HttpRecorder for Recording {
    fn record(&self, exchange: &Exchange) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(HttpFixture::from_exchange(exchange));
    }
}

/// Checks a `files` fixture or `expect.files` path: the same rules as the
/// skill's own file calls, so a fixture cannot reach outside either.
pub fn check_file_path(path: &str) -> Result<(), String> {
    skill_runtime::capabilities::files::checked_path(path, &[None])
        .map(|_| ())
        .map_err(|e| match e {
            skill_runtime::capabilities::files::FileError::Denied(why)
            | skill_runtime::capabilities::files::FileError::Failed(why) => why,
        })
}

pub fn seed_files(data_dir: &Path, files: &BTreeMap<String, String>) -> Result<(), String> {
    for (path, content) in files {
        let target = data_dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("seeding {path}: {e}"))?;
        }
        std::fs::write(&target, content).map_err(|e| format!("seeding {path}: {e}"))?;
    }
    Ok(())
}

/// Compares the data folder with `expect.files` (`null`: must not exist).
pub fn check_files(data_dir: &Path, expected: &BTreeMap<String, Option<String>>) -> Option<String> {
    let problems: Vec<String> = expected
        .iter()
        .filter_map(|(path, want)| {
            let got = std::fs::read_to_string(data_dir.join(path)).ok();
            match (want, got) {
                (Some(want), Some(got)) if *want == got => None,
                (None, None) => None,
                (Some(want), Some(got)) => {
                    Some(format!("file {path}: expected {want:?}, found {got:?}"))
                }
                (Some(want), None) => Some(format!(
                    "file {path}: expected {want:?}, but it was not written"
                )),
                (None, Some(_)) => Some(format!(
                    "file {path}: expected not to exist, but it was written"
                )),
            }
        })
        .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(value: Value) -> HttpFixture {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn fixtures_answer_by_method_and_normalised_url() {
        let responder = FixtureResponder::new(vec![
            fixture(json!({"url": "https://API.example.com/w?city=Oslo", "body": {"t": 3}})),
            fixture(json!({"method": "post", "url": "https://api.example.com/log", "status": 201})),
        ]);
        let got = responder
            .respond(Method::Get, "https://api.example.com/w?city=Oslo", None)
            .unwrap();
        assert_eq!((got.status, got.body.as_str()), (200, r#"{"t":3}"#));
        assert_eq!(
            responder
                .respond(Method::Post, "https://api.example.com/log", Some("x"))
                .unwrap()
                .status,
            201
        );
        let err = responder
            .respond(Method::Post, "https://api.example.com/w?city=Oslo", None)
            .unwrap_err();
        assert!(
            err.contains("no fixture answers POST https://api.example.com/w?city=Oslo"),
            "{err}"
        );
        assert_eq!(
            responder.unmatched(),
            ["POST https://api.example.com/w?city=Oslo"]
        );
    }

    #[test]
    fn bad_fixtures_and_paths_say_why() {
        assert!(
            fixture(json!({"method": "PUT", "url": "https://x.org/"}))
                .check()
                .unwrap_err()
                .contains("PUT")
        );
        assert!(
            fixture(json!({"url": "not a url"}))
                .check()
                .unwrap_err()
                .contains("not a URL")
        );
        assert!(check_file_path("../x").unwrap_err().contains(".."));
        assert!(check_file_path("notes/a.txt").is_ok());
    }

    #[test]
    fn expected_files_are_compared_and_absences_checked() {
        let dir = tempfile::tempdir().unwrap();
        seed_files(
            dir.path(),
            &BTreeMap::from([("a/b.txt".to_string(), "hi".to_string())]),
        )
        .unwrap();
        let expect = |pairs: &[(&str, Option<&str>)]| -> BTreeMap<String, Option<String>> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect()
        };
        assert_eq!(
            check_files(dir.path(), &expect(&[("a/b.txt", Some("hi")), ("c", None)])),
            None
        );
        let err = check_files(
            dir.path(),
            &expect(&[("a/b.txt", Some("yo")), ("a/b.txt2", Some("x"))]),
        )
        .unwrap();
        assert!(
            err.contains("expected \"yo\", found \"hi\"") && err.contains("not written"),
            "{err}"
        );
    }
}
