//! Test cases: `<skill>/tests/*.json` or `*.yaml`, one case or a list of
//! cases per file. A file that does not parse fails only its own cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use skill_runtime::{Capability, ErrorKind, Grant, Grants, TrustTier};

use crate::author::test_fixtures::{HttpFixture, check_file_path};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestCase {
    pub name: String,
    #[serde(default)]
    pub input: Value,
    pub expect: Expect,
    /// Default: the skill's declared trust tier, else untrusted.
    pub tier: Option<TrustTier>,
    /// A budget: a case that costs more fails, so regressions fail tests.
    #[serde(alias = "budget")]
    pub limits: Option<Budget>,
    /// `cap[:scope]` grants for this case instead of the skill's declared ones.
    pub grants: Option<Vec<String>>,
    #[serde(default)]
    pub fixtures: Fixtures,
}

/// Exactly one of the four forms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    /// The output, as exact JSON.
    pub output: Option<Value>,
    /// A JSON subset the output must contain.
    pub output_contains: Option<Value>,
    /// An error kind such as `capability-denied` or `fuel-exhausted`.
    pub error: Option<String>,
    /// Text the guest's `err` message must contain.
    pub skill_error: Option<String>,
    /// Files the data folder must hold afterwards (`null`: must not exist);
    /// checked in addition to the form above.
    pub files: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Budget {
    pub fuel: Option<u64>,
    /// Peak memory in bytes.
    pub memory: Option<u64>,
    /// Wall time in milliseconds.
    pub ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Fixtures {
    /// What `get-context` returns for the bot.
    pub context: Option<ContextFixture>,
    /// What `read-env` sees (the real environment never leaks into a test).
    pub env: Option<BTreeMap<String, String>>,
    /// What `get-secret` returns.
    pub secrets: Option<BTreeMap<String, String>>,
    /// Responses to `http-get` and `http-post`; any other request fails the case.
    pub http: Option<Vec<HttpFixture>>,
    /// Files in the case's fresh data folder, by relative path.
    pub files: Option<BTreeMap<String, String>>,
    /// What `recall-memory` ranks and returns.
    pub memory: Option<Vec<String>>,
}

impl Fixtures {
    /// Checked when the case file is read.
    fn check(&self, expect: &Expect) -> Result<(), String> {
        for fixture in self.http.iter().flatten() {
            fixture.check()?;
        }
        let fixture_paths = self.files.iter().flat_map(|f| f.keys());
        let expected_paths = expect.files.iter().flat_map(|f| f.keys());
        for path in fixture_paths.chain(expected_paths) {
            check_file_path(path).map_err(|e| format!("file `{path}`: {e}"))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContextFixture {
    #[serde(default)]
    pub bot_name: String,
    #[serde(default)]
    pub bot_slug: String,
}

impl TestCase {
    /// The case's own `grants`, parsed.
    pub fn listed_grants(&self) -> Result<Option<Vec<Grant>>, String> {
        let Some(list) = &self.grants else {
            return Ok(None);
        };
        let mut grants = Vec::new();
        for text in list {
            let grant: Grant = text.parse().map_err(|e| format!("grant `{text}`: {e}"))?;
            grants.push(grant);
        }
        Ok(Some(grants))
    }

    /// The grants the case runs with (its own list, else the skill's declared
    /// capabilities), after checking its fixtures against them: a fixture the
    /// skill could never read, or a secret the skill does not declare, is an
    /// error, since bots would not hand it over either.
    pub fn grants_for(
        &self,
        declared: &[Grant],
        declared_secrets: &[String],
    ) -> Result<Grants, String> {
        let listed = self.listed_grants()?;
        let grants = Grants::from_declared(listed.as_deref().unwrap_or(declared));
        let f = &self.fixtures;
        let fixtures = [
            ("env", f.env.is_some(), Capability::ReadEnv),
            ("secrets", f.secrets.is_some(), Capability::GetSecret),
            ("files", f.files.is_some(), Capability::ReadFile),
            ("memory", f.memory.is_some(), Capability::RecallMemory),
        ]
        .into_iter()
        .chain(
            f.http
                .iter()
                .flatten()
                .map(|h| ("http", true, h.capability())),
        );
        for (fixture, present, cap) in fixtures {
            if present && !grants.is_granted(cap) {
                return Err(format!(
                    "the `{fixture}` fixture is for `{cap}`, which this case does not grant; add it to `grants` or to the skill's capabilities"
                ));
            }
        }
        if let Some(undeclared) = self
            .fixtures
            .secrets
            .iter()
            .flat_map(|s| s.keys())
            .find(|k| !declared_secrets.contains(k))
        {
            return Err(format!(
                "the `secrets` fixture sets `{undeclared}`, which SKILL.md does not declare in `metadata.secrets`"
            ));
        }
        Ok(grants)
    }
}

/// What a case must produce, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    Output(Value),
    OutputContains(Value),
    Error(ErrorKind),
    SkillError(String),
}

impl Expect {
    pub fn expectation(&self) -> Result<Expectation, String> {
        let forms = [
            self.output.is_some(),
            self.output_contains.is_some(),
            self.error.is_some(),
            self.skill_error.is_some(),
        ];
        if forms.iter().filter(|f| **f).count() != 1 {
            return Err(
                "`expect` needs exactly one of `output`, `output-contains`, `error`, `skill-error`"
                    .into(),
            );
        }
        if let Some(v) = &self.output {
            return Ok(Expectation::Output(v.clone()));
        }
        if let Some(v) = &self.output_contains {
            return Ok(Expectation::OutputContains(v.clone()));
        }
        if let Some(kind) = &self.error {
            let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
            return ErrorKind::parse(kind)
                .map(Expectation::Error)
                .ok_or_else(|| {
                    format!(
                        "unknown error kind `{kind}`; expected one of {}",
                        names.join(", ")
                    )
                });
        }
        Ok(Expectation::SkillError(
            self.skill_error.clone().expect("one form is set"),
        ))
    }
}

/// One file's cases, or why the file cannot be read.
#[derive(Debug)]
pub struct CaseFile {
    pub path: PathBuf,
    pub cases: Result<Vec<TestCase>, String>,
}

/// The case files in `<skill>/tests`, sorted.
pub fn load_cases(skill_dir: &Path) -> Vec<CaseFile> {
    let Ok(entries) = std::fs::read_dir(skill_dir.join("tests")) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            )
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| CaseFile {
            cases: parse_file(&path),
            path,
        })
        .collect()
}

fn parse_file(path: &Path) -> Result<Vec<TestCase>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: could not read it: {e}", path.display()))?;
    // Deserialized straight into the right shape, so errors keep their position and field.
    let cases: Vec<TestCase> = if path.extension().is_some_and(|e| e == "json") {
        let at =
            |e: serde_json::Error| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column());
        if text.trim_start().starts_with('[') {
            serde_json::from_str(&text).map_err(at)?
        } else {
            vec![serde_json::from_str::<TestCase>(&text).map_err(at)?]
        }
    } else {
        let at = |e: serde_yaml_ng::Error| match e.location() {
            Some(l) => format!("{}:{}:{}: {e}", path.display(), l.line(), l.column()),
            None => format!("{}: {e}", path.display()),
        };
        let shape: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).map_err(at)?;
        if shape.is_sequence() {
            serde_yaml_ng::from_str(&text).map_err(at)?
        } else {
            vec![serde_yaml_ng::from_str::<TestCase>(&text).map_err(at)?]
        }
    };
    for case in &cases {
        case.listed_grants()
            .map_err(|e| format!("{}: case `{}`: {e}", path.display(), case.name))?;
        case.expect
            .expectation()
            .map_err(|e| format!("{}: case `{}`: {e}", path.display(), case.name))?;
        case.fixtures
            .check(&case.expect)
            .map_err(|e| format!("{}: case `{}`: {e}", path.display(), case.name))?;
    }
    Ok(cases)
}

/// Whether `actual` contains `expected`: objects by key (recursively),
/// arrays element by element over the expected length, scalars equal.
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| contains(av, ev))),
        (Value::Array(a), Value::Array(e)) => {
            e.len() <= a.len() && a.iter().zip(e).all(|(av, ev)| contains(av, ev))
        }
        (a, e) => a == e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subsets_match_by_key_and_position() {
        let actual = json!({"a": 1, "b": {"c": [1, 2, 3], "d": "x"}});
        assert!(contains(&actual, &json!({"b": {"c": [1, 2]}})));
        assert!(contains(&actual, &json!({})));
        assert!(!contains(&actual, &json!({"b": {"c": [2]}})));
        assert!(!contains(&actual, &json!({"a": "1"})));
        assert!(!contains(&actual, &json!({"z": null})));
    }

    #[test]
    fn expect_needs_exactly_one_known_form() {
        let two = Expect {
            output: Some(json!(1)),
            error: Some("trap".into()),
            ..Default::default()
        };
        assert!(two.expectation().unwrap_err().contains("exactly one"));
        let unknown = Expect {
            error: Some("exploded".into()),
            ..Default::default()
        };
        assert!(
            unknown
                .expectation()
                .unwrap_err()
                .contains("fuel-exhausted")
        );
        let ok = Expect {
            error: Some("capability-denied".into()),
            ..Default::default()
        };
        assert_eq!(
            ok.expectation(),
            Ok(Expectation::Error(ErrorKind::CapabilityDenied))
        );
    }

    fn case(json: serde_json::Value) -> TestCase {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_malformed_grant_is_an_error_naming_it() {
        let c = case(
            json!({"name": "c", "grants": ["http-get:api.example.com/v1"], "expect": {"output": 1}}),
        );
        let err = c.listed_grants().unwrap_err();
        assert!(
            err.contains("grant `http-get:api.example.com/v1`") && err.contains("is a URL"),
            "{err}"
        );
        let fine = case(
            json!({"name": "c", "grants": ["http-get:*.example.com"], "expect": {"output": 1}}),
        );
        assert_eq!(fine.listed_grants().unwrap().unwrap().len(), 1);
    }

    #[test]
    fn fixtures_are_checked_against_grants_and_declared_secrets() {
        let env_only =
            case(json!({"name": "c", "fixtures": {"env": {"TZ": "UTC"}}, "expect": {"output": 1}}));
        let err = env_only.grants_for(&[], &[]).unwrap_err();
        assert!(err.contains("`env` fixture is for `read-env`"), "{err}");
        let declared: Vec<Grant> = vec!["read-env:TZ".parse().unwrap()];
        assert!(
            env_only
                .grants_for(&declared, &[])
                .unwrap()
                .allows(Capability::ReadEnv, "TZ")
        );

        let secret = case(
            json!({"name": "c", "grants": ["get-secret"], "fixtures": {"secrets": {"KEY": "v"}}, "expect": {"output": 1}}),
        );
        assert!(
            secret
                .grants_for(&[], &[])
                .unwrap_err()
                .contains("does not declare")
        );
        assert!(secret.grants_for(&[], &["KEY".to_string()]).is_ok());
    }

    #[test]
    fn broken_files_say_where() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        std::fs::write(
            dir.path().join("tests/a.json"),
            "{\"name\": \"x\",\n \"expect\": {\"outptu\": 1}}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("tests/b.yaml"),
            "- name: y\n  input: {}\n  expect:\n    output-contains: {ok: true}\n",
        )
        .unwrap();
        let files = load_cases(dir.path());
        let err = files[0].cases.as_ref().unwrap_err();
        assert!(err.contains("a.json:2:") && err.contains("outptu"), "{err}");
        assert_eq!(files[1].cases.as_ref().unwrap()[0].name, "y");
    }
}
