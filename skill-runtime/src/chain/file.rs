//! `bots/<bot>/chains.toml`: a bot's chains, as the operator wrote them.
//! Its own file, so `enable`/`disable` (which rewrite `skills.toml`) never
//! touch it. Every entry keeps where it was written, for error messages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use crate::chain::mapping::Mapping;
use crate::chain::{ChainError, Problem};
use crate::manifest::skill_name;
use crate::store::error::{Repair, StoreError};
use crate::store::home::Home;
use crate::store::toml_file::{located, position, read_if_present};

pub const FILE: &str = "chains.toml";

/// Larger files are refused: an operator's list of chains is small.
const MAX_FILE_BYTES: usize = 1 << 20;
/// Steps per chain at most: each is a full invocation.
pub const MAX_STEPS: usize = 64;

/// A bot's chains, in the order the file lists them.
#[derive(Debug, Clone, Default)]
pub struct Chains {
    pub path: PathBuf,
    pub chains: Vec<Chain>,
}

/// One chain: its steps run one after another, each step's output the
/// next one's input, under one budget.
#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    pub description: String,
    pub steps: Vec<Step>,
    pub budget: Budget,
    /// `file:line:column` of its name.
    pub at: String,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// The installed skill it runs.
    pub skill: String,
    /// How its input is built; `None` passes the previous output (the
    /// chain's input for the first step) as it is.
    pub input: Option<Mapping>,
    /// `file:line:column` of the step.
    pub at: String,
}

/// What all the steps of one run may use together; each step also keeps
/// its own limits, and the lower of the two applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub fuel: Option<u64>,
    pub timeout: Option<Duration>,
    /// Bytes of output of all the steps together.
    pub output_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    chain: Vec<RawChain>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawChain {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    steps: Spanned<Vec<Spanned<toml::Value>>>,
    fuel: Option<u64>,
    timeout_ms: Option<u64>,
    output_bytes: Option<u64>,
}

/// Where `bot`'s chains are kept.
pub fn path(home: &Home, bot: &str) -> PathBuf {
    home.bot_dir(bot).join(FILE)
}

impl Chains {
    /// `bot`'s chains; no file is none. Each problem says file:line:column.
    pub fn read(home: &Home, bot: &str) -> Result<Chains, ChainError> {
        let path = path(home, bot);
        let Some(text) = read_if_present(&path)? else {
            return Ok(Chains {
                path,
                chains: Vec::new(),
            });
        };
        Chains::parse(&path, &text)
    }

    /// Parses the text of a chains file found at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Chains, ChainError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(ChainError::Invalid(vec![Problem {
                at: format!("{}:1:1", path.display()),
                message: format!("the file is over {MAX_FILE_BYTES} bytes"),
            }]));
        }
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            StoreError::malformed(located(path, text, &e), e.message(), Repair::FixOrRemove)
        })?;
        let at = |offset: usize| position(path, text, offset);
        let mut problems = Vec::new();
        let mut chains: Vec<Chain> = Vec::new();
        for raw in raw.chain {
            let name = raw.name.get_ref().clone();
            let name_at = at(raw.name.span().start);
            if let Err(e) = skill_name::check(&name) {
                problems.push(Problem::new(&name_at, format!("chain name: {e}")));
            }
            if let Some(first) = chains.iter().find(|c| c.name == name) {
                problems.push(Problem::new(
                    &name_at,
                    format!(
                        "a second chain named `{name}` (the first is at {}): rename one",
                        first.at
                    ),
                ));
            }
            let steps_at = at(raw.steps.span().start);
            let raw_steps = raw.steps.into_inner();
            if raw_steps.is_empty() {
                problems.push(Problem::new(
                    &steps_at,
                    format!("chain `{name}` has no steps: list the skills it runs"),
                ));
            }
            if raw_steps.len() > MAX_STEPS {
                problems.push(Problem::new(
                    &steps_at,
                    format!(
                        "chain `{name}` has {} steps; at most {MAX_STEPS}",
                        raw_steps.len()
                    ),
                ));
            }
            let mut steps = Vec::new();
            for (i, raw_step) in raw_steps.into_iter().enumerate() {
                let step_at = at(raw_step.span().start);
                match step(raw_step.into_inner()) {
                    Ok(step) => steps.push(Step {
                        at: step_at,
                        ..step
                    }),
                    Err(message) => problems.push(Problem::new(
                        &step_at,
                        format!("chain `{name}`, step {}: {message}", i + 1),
                    )),
                }
            }
            for (key, value) in [
                ("fuel", raw.fuel),
                ("timeout-ms", raw.timeout_ms),
                ("output-bytes", raw.output_bytes),
            ] {
                if value == Some(0) {
                    problems.push(Problem::new(
                        &name_at,
                        format!(
                            "chain `{name}`: `{key} = 0` leaves no budget; remove it or raise it"
                        ),
                    ));
                }
            }
            chains.push(Chain {
                name,
                description: raw.description,
                steps,
                budget: Budget {
                    fuel: raw.fuel,
                    timeout: raw.timeout_ms.map(Duration::from_millis),
                    output_bytes: raw.output_bytes,
                },
                at: name_at,
            });
        }
        if !problems.is_empty() {
            return Err(ChainError::Invalid(problems));
        }
        Ok(Chains {
            path: path.to_path_buf(),
            chains,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// A step as written: `"skill"`, or `{ skill = "…", input = … }`.
fn step(value: toml::Value) -> Result<Step, String> {
    let (skill, input) = match value {
        toml::Value::String(skill) => (skill, None),
        toml::Value::Table(mut table) => {
            let skill = match table.remove("skill") {
                Some(toml::Value::String(skill)) => skill,
                Some(_) => {
                    return Err("`skill` must be a string: the installed skill's name".into());
                }
                None => return Err("a step table needs `skill = \"<installed skill>\"`".into()),
            };
            let input = table.remove("input");
            if let Some(key) = table.keys().next() {
                return Err(format!(
                    "unknown key `{key}` in a step (expected `skill` and `input`)"
                ));
            }
            (skill, input)
        }
        _ => {
            return Err(
                "a step is a skill's name, or a table `{ skill = \"…\", input = … }`".into(),
            );
        }
    };
    skill_name::check(&skill).map_err(|e| format!("skill name: {e}"))?;
    let input = input.map(|v| Mapping::new(json(v))).transpose()?;
    Ok(Step {
        skill,
        input,
        at: String::new(),
    })
}

/// TOML as JSON: dates and times become their RFC 3339 text.
fn json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(json).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.into_iter().map(|(k, v)| (k, json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Chains, ChainError> {
        Chains::parse(Path::new("chains.toml"), text)
    }

    #[test]
    fn steps_budgets_and_templates_read_with_their_places() {
        let chains = parse(
            "[[chain]]\nname = \"digest\"\ndescription = \"d\"\nsteps = [\"fetch\", { skill = \"extract\", input = { html = \"$prev/body\", n = 2 } }]\nfuel = 10\ntimeout-ms = 2000\n",
        )
        .unwrap();
        let chain = chains.get("digest").unwrap();
        assert_eq!(chain.at, "chains.toml:2:8");
        assert_eq!(chain.steps[0].skill, "fetch");
        assert_eq!(chain.steps[0].at, "chains.toml:4:10");
        assert!(chain.steps[0].input.is_none());
        let mapping = chain.steps[1].input.as_ref().unwrap();
        assert_eq!(mapping.references()[0].pointer, "/body");
        assert_eq!(
            chain.budget,
            Budget {
                fuel: Some(10),
                timeout: Some(Duration::from_secs(2)),
                output_bytes: None
            }
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_place() {
        let e = parse(
            "[[chain]]\nname = \"Bad Name\"\nsteps = [3, { skill = \"x\", retries = 1 }, { input = \"$prev\" }]\nfuel = 0\n",
        )
        .unwrap_err();
        let text = e.to_string();
        for expected in [
            "chains.toml:2:8: chain name:",
            "chains.toml:3:10: chain `Bad Name`, step 1: a step is a skill's name",
            "step 2: unknown key `retries`",
            "step 3: a step table needs `skill",
            "`fuel = 0` leaves no budget",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
        let e = parse("[[chain]]\nname = \"a\"\nsteps = [\"b\"]\nnope = 1\n").unwrap_err();
        assert!(e.to_string().starts_with("chains.toml:4:1"), "{e}");
        let long = format!(
            "[[chain]]\nname = \"a\"\nsteps = [{}]\n",
            vec!["\"b\""; 65].join(", ")
        );
        assert!(parse(&long).unwrap_err().to_string().contains("at most 64"));
    }
}
