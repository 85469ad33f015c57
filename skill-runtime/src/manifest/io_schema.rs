//! A tool skill's declared input and output: JSON Schema files named by
//! `metadata.input-schema` and `metadata.output-schema`, relative to the
//! skill folder. `validate` checks they are schemas; `test` and `mcp` check
//! values against them. Schemas resolve no remote or file `$ref`: a skill's
//! schema never makes the host fetch anything.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::manifest::SkillManifest;

/// Larger schema files are refused: they are read whole on every load.
const MAX_SCHEMA_BYTES: u64 = 1 << 20;
/// Problems listed per rejected value; the rest are counted.
const MAX_LISTED: usize = 3;

/// Which of a skill's two schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    /// The `metadata` key that names it.
    pub fn key(self) -> &'static str {
        match self {
            Direction::Input => "input-schema",
            Direction::Output => "output-schema",
        }
    }
}

/// One compiled schema and where it came from.
#[derive(Debug)]
pub struct Schema {
    pub path: PathBuf,
    /// The schema document, as advertised to MCP clients.
    pub document: serde_json::Map<String, Value>,
    validator: jsonschema::Validator,
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{}: cannot be read: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error("{}:{line}:{column}: not JSON: {message}", path.display())]
    NotJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: not a JSON Schema: {message}", path.display())]
    NotSchema { path: PathBuf, message: String },
}

impl Schema {
    /// Reads and compiles a schema file; a symlink is refused, since it
    /// could point outside the skill folder.
    pub fn load(path: &Path) -> Result<Schema, SchemaError> {
        let unreadable = |message: String| SchemaError::Unreadable {
            path: path.to_path_buf(),
            message,
        };
        let meta = std::fs::symlink_metadata(path).map_err(|e| unreadable(e.to_string()))?;
        if meta.file_type().is_symlink() {
            return Err(unreadable(
                "it is a symlink; ship the schema file itself".into(),
            ));
        }
        if !meta.is_file() || meta.len() > MAX_SCHEMA_BYTES {
            return Err(unreadable(format!(
                "not a file of at most {MAX_SCHEMA_BYTES} bytes"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| SchemaError::NotJson {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let not_schema = |message: String| SchemaError::NotSchema {
            path: path.to_path_buf(),
            message,
        };
        let Value::Object(document) = &value else {
            return Err(not_schema(
                "a tool's schema must be a JSON object such as {\"type\": \"object\"}".into(),
            ));
        };
        jsonschema::meta::validate(&value).map_err(|e| not_schema(located(&e)))?;
        let validator = jsonschema::validator_for(&value).map_err(|e| not_schema(e.to_string()))?;
        Ok(Schema {
            path: path.to_path_buf(),
            document: document.clone(),
            validator,
        })
    }

    /// `Ok` when `value` matches; else each problem with where it is
    /// (`/city: 5 is not of type "string"`), at most a few.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let problems: Vec<String> = self
            .validator
            .iter_errors(value)
            .map(|e| located(&e))
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        let mut text = problems[..problems.len().min(MAX_LISTED)].join("; ");
        if problems.len() > MAX_LISTED {
            text.push_str(&format!(" (and {} more)", problems.len() - MAX_LISTED));
        }
        Err(text)
    }
}

/// A validation error with its instance path first; the root is `/`.
fn located(e: &jsonschema::ValidationError<'_>) -> String {
    let at = e.instance_path().to_string();
    format!("{}: {e}", if at.is_empty() { "/" } else { at.as_str() })
}

/// A skill's two schemas, each when declared.
#[derive(Debug, Default)]
pub struct IoSchemas {
    pub input: Option<Schema>,
    pub output: Option<Schema>,
}

impl IoSchemas {
    /// Loads what the manifest declares; the first problem is the error.
    pub fn load(manifest: &SkillManifest) -> Result<IoSchemas, SchemaError> {
        Ok(IoSchemas {
            input: declared(manifest, Direction::Input)
                .map(|p| Schema::load(&p))
                .transpose()?,
            output: declared(manifest, Direction::Output)
                .map(|p| Schema::load(&p))
                .transpose()?,
        })
    }
}

/// The file a manifest names for `direction`, if it names one.
pub fn declared(manifest: &SkillManifest, direction: Direction) -> Option<PathBuf> {
    let relative = match direction {
        Direction::Input => manifest.ext.input_schema.as_deref(),
        Direction::Output => manifest.ext.output_schema.as_deref(),
    }?;
    Some(manifest.dir.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(text: &str) -> Result<Schema, SchemaError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.schema.json");
        std::fs::write(&path, text).unwrap();
        Schema::load(&path)
    }

    #[test]
    fn values_are_checked_with_the_failing_path() {
        let s = schema(
            r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#,
        )
        .unwrap();
        assert!(s.check(&serde_json::json!({"city": "Oslo"})).is_ok());
        let e = s.check(&serde_json::json!({"city": 5})).unwrap_err();
        assert!(e.starts_with("/city: 5 is not of type \"string\""), "{e}");
        let e = s.check(&serde_json::json!({})).unwrap_err();
        assert!(e.starts_with("/: \"city\" is a required property"), "{e}");
    }

    #[test]
    fn broken_schemas_say_what_and_where() {
        match schema("{\n  \"type\": \"object\",\n}") {
            Err(SchemaError::NotJson { line: 3, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            schema(r#"{"type": 5}"#),
            Err(SchemaError::NotSchema { .. })
        ));
        assert!(matches!(schema("[]"), Err(SchemaError::NotSchema { .. })));
        // No fetching: a remote reference does not resolve.
        let remote = schema(r#"{"$ref": "http://127.0.0.1:9/schema.json"}"#);
        assert!(
            matches!(remote, Err(SchemaError::NotSchema { .. })),
            "{remote:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real.json"), "{}").unwrap();
        let link = dir.path().join("input.schema.json");
        std::os::unix::fs::symlink(dir.path().join("real.json"), &link).unwrap();
        assert!(matches!(
            Schema::load(&link),
            Err(SchemaError::Unreadable { .. })
        ));
    }
}
