//! Whether what one step gives fits what the next one takes, judged from
//! their declared JSON Schemas before anything runs. "Compatible" is a
//! shallow check of what the schemas promise, not a proof:
//! - their `type`s overlap (an `integer` output fits a `number` input);
//! - every property the input schema `required`s, the output schema
//!   `required`s too (or the step's input mapping always writes it);
//! - a property both describe has overlapping `type`s;
//! - an input schema with `additionalProperties: false` describes every
//!   property the output schema does.
//!
//! A value is checked against the input schema at run time as well.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::chain::mapping::{Mapping, Origin};
use crate::manifest::io_schema::Schema;

/// One way the output does not fit, with both schemas' positions.
pub struct Mismatch {
    pub what: String,
}

/// What does not fit when `output` (the previous step's, or the part a
/// mapping takes of it) is passed as the input `input` describes.
pub fn mismatches(output: &Schema, input: &Schema, mapping: Option<&Mapping>) -> Vec<Mismatch> {
    let out = &output.document;
    let inp = &input.document;
    let mut found = Vec::new();
    let mut say = |what: String| found.push(Mismatch { what });
    let Some(mapping) = mapping else {
        fits(out, output, inp, input, "", &mut say);
        return found;
    };
    let keys = mapping.object_keys();
    for reference in mapping.references() {
        if reference.origin != Origin::Prev {
            continue;
        }
        let Some(given) = at_pointer(out, &reference.pointer) else {
            continue;
        };
        let taken = if reference.lands_at.is_empty() {
            Some(inp)
        } else {
            at_pointer(inp, &reference.lands_at)
        };
        if let Some(taken) = taken {
            let label = format!("`$prev{}`", reference.pointer);
            fits(given, output, taken, input, &label, &mut say);
        }
    }
    if let Some(keys) = keys {
        for required in strings(inp, "required") {
            if !keys.contains(&required) {
                say(format!(
                    "the input requires `{required}` ({}), which the step's `input` mapping never writes",
                    place_required(input, required)
                ));
            }
        }
    }
    found
}

/// `given` (a part of `output`'s document) against `taken` (of `input`'s).
fn fits(
    given: &Map<String, Value>,
    output: &Schema,
    taken: &Map<String, Value>,
    input: &Schema,
    label: &str,
    say: &mut dyn FnMut(String),
) {
    let what = if label.is_empty() {
        "the output".to_string()
    } else {
        label.to_string()
    };
    if !overlap(&types(given), &types(taken)) {
        say(format!(
            "{what} is {} ({}), the input takes {} ({})",
            types(given).join(" or "),
            place(output, "\"type\""),
            types(taken).join(" or "),
            place(input, "\"type\""),
        ));
        return;
    }
    let promised = strings(given, "required");
    let describes_object = types(given).contains(&"object") || given.contains_key("properties");
    if describes_object {
        for required in strings(taken, "required") {
            if !promised.contains(&required) {
                say(format!(
                    "the input requires `{required}` ({}), which {what} does not promise: its schema ({}) does not list it in `required`",
                    place_required(input, required),
                    place(output, "\"required\""),
                ));
            }
        }
    }
    let given_props = properties(given);
    let taken_props = properties(taken);
    for (key, schema) in &given_props {
        match taken_props.get(key) {
            Some(wanted) if !overlap(&types(schema), &types(wanted)) => say(format!(
                "property `{key}` is {} in {what} ({}), the input takes {} ({})",
                types(schema).join(" or "),
                place(output, &format!("\"{key}\"")),
                types(wanted).join(" or "),
                place(input, &format!("\"{key}\"")),
            )),
            None if taken.get("additionalProperties") == Some(&Value::Bool(false)) => say(format!(
                "{what} may have property `{key}` ({}), which the input refuses: `additionalProperties: false` ({})",
                place(output, &format!("\"{key}\"")),
                place(input, "\"additionalProperties\""),
            )),
            _ => {}
        }
    }
}

/// The declared types; empty when any type goes.
fn types(schema: &Map<String, Value>) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn overlap(given: &[&str], taken: &[&str]) -> bool {
    given.is_empty()
        || taken.is_empty()
        || given
            .iter()
            .any(|g| taken.contains(g) || (*g == "integer" && taken.contains(&"number")))
}

fn strings<'a>(schema: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    schema
        .get(key)
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn properties(schema: &Map<String, Value>) -> BTreeMap<&str, &Map<String, Value>> {
    let Some(Value::Object(props)) = schema.get("properties") else {
        return BTreeMap::new();
    };
    props
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_object()?)))
        .collect()
}

/// The subschema describing the value at `pointer`, through `properties`
/// and `items`; `None` where the schema does not say.
fn at_pointer<'a>(schema: &'a Map<String, Value>, pointer: &str) -> Option<&'a Map<String, Value>> {
    let mut here = schema;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let next = match here.get("properties").and_then(|p| p.get(&token)) {
            Some(next) => next,
            None if token.parse::<usize>().is_ok() => here.get("items")?,
            None => return None,
        };
        here = next.as_object()?;
    }
    Some(here)
}

/// `file:line:column` of the first `needle` in a schema file, else of its start.
fn place(schema: &Schema, needle: &str) -> String {
    place_after(schema, "", needle)
}

/// Where `name` is listed in the schema's `required`.
fn place_required(schema: &Schema, name: &str) -> String {
    place_after(schema, "\"required\"", &format!("\"{name}\""))
}

/// The first `needle` after the first `after` (a textual search: good
/// enough to point a reader at the line).
fn place_after(schema: &Schema, after: &str, needle: &str) -> String {
    let text = std::fs::read_to_string(&schema.path).unwrap_or_default();
    let start = text.find(after).unwrap_or(0);
    let offset = text[start..].find(needle).map_or(start, |i| start + i);
    crate::store::toml_file::position(&schema.path, &text, offset)
}
