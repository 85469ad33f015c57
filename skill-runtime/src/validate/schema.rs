//! Checks on a skill's declared input and output schemas: each file exists
//! and is a JSON Schema object that compiles without fetching anything.

use crate::manifest::diagnostic::{Pos, Reporter};
use crate::manifest::io_schema::{Direction, Schema, SchemaError, declared};
use crate::manifest::{Code, Diagnostic, Mode, SkillManifest};

pub fn check(manifest: &SkillManifest, mode: Mode) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for direction in [Direction::Input, Direction::Output] {
        let Some(path) = declared(manifest, direction) else {
            continue;
        };
        let key = direction.key();
        match Schema::load(&path) {
            Ok(_) => {}
            Err(SchemaError::Unreadable { message, .. }) => {
                let mut r = Reporter::new(mode, manifest.path.clone());
                r.report(
                    Code::SchemaMissing,
                    Some(manifest.pos(&format!("metadata.{key}"))),
                    format!(
                        "`metadata.{key}` names {}, which cannot be read: {message}",
                        path.display()
                    ),
                    Some(format!(
                        "add the file to the skill folder, or remove `metadata.{key}`"
                    )),
                );
                out.append(&mut r.diagnostics);
            }
            Err(SchemaError::NotJson {
                line,
                column,
                message,
                ..
            }) => {
                let mut r = Reporter::new(mode, path.clone());
                r.report(
                    Code::SchemaInvalid,
                    Some(Pos::new(line, column)),
                    format!("the {key} is not JSON: {message}"),
                    Some("fix the JSON syntax at this position".into()),
                );
                out.append(&mut r.diagnostics);
            }
            Err(SchemaError::NotSchema { message, .. }) => {
                let mut r = Reporter::new(mode, path.clone());
                r.report(
                    Code::SchemaInvalid,
                    Some(Pos::new(1, 1)),
                    format!("the {key} is not a valid JSON Schema: {message}"),
                    Some("write a JSON Schema object (draft 2020-12), e.g. {\"type\": \"object\", \"properties\": {...}}; remote `$ref`s are not fetched".into()),
                );
                out.append(&mut r.diagnostics);
            }
        }
    }
    out
}
