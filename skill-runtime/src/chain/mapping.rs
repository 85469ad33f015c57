//! A step's input built from the previous step's output and the chain's
//! input: a JSON template in which a string `"$prev"` or `"$input"`,
//! optionally followed by a JSON Pointer (`"$prev/items/0"`), stands for
//! the value found there, of any type. `"$$…"` is a literal string
//! starting with `$`; every other value is literal.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    template: Value,
}

/// Where a reference looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The previous step's output (the chain's input for the first step).
    Prev,
    /// The chain's input.
    Input,
}

impl Origin {
    fn word(self) -> &'static str {
        match self {
            Origin::Prev => "$prev",
            Origin::Input => "$input",
        }
    }
}

/// A reference in a template, and where in the built input it lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// JSON Pointer into the built input (`""` when the whole input).
    pub lands_at: String,
    pub origin: Origin,
    /// JSON Pointer into the origin.
    pub pointer: String,
}

impl Mapping {
    /// Checks every reference's syntax.
    pub fn new(template: Value) -> Result<Mapping, String> {
        let mapping = Mapping { template };
        let mut problem = None;
        visit(&mapping.template, String::new(), &mut |_, text| {
            if let Err(e) = parse_reference(text)
                && problem.is_none()
            {
                problem = Some(e);
            }
        });
        match problem {
            Some(e) => Err(e),
            None => Ok(mapping),
        }
    }

    /// Every reference, in template order.
    pub fn references(&self) -> Vec<Reference> {
        let mut found = Vec::new();
        visit(&self.template, String::new(), &mut |lands_at, text| {
            if let Ok(Some((origin, pointer))) = parse_reference(text) {
                found.push(Reference {
                    lands_at: lands_at.to_string(),
                    origin,
                    pointer: pointer.to_string(),
                });
            }
        });
        found
    }

    /// The template with each reference replaced by what it names;
    /// `previous` is `None` when the previous output is not JSON.
    pub fn build(&self, previous: Option<&Value>, input: Option<&Value>) -> Result<Value, String> {
        fill(&self.template, previous, input)
    }

    /// The top-level keys the built input always has, when it is an object.
    pub fn object_keys(&self) -> Option<Vec<&str>> {
        Some(
            self.template
                .as_object()?
                .keys()
                .map(String::as_str)
                .collect(),
        )
    }
}

fn fill(value: &Value, previous: Option<&Value>, input: Option<&Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => match parse_reference(text).expect("checked in new") {
            Some((origin, pointer)) => {
                let (source, what) = match origin {
                    Origin::Prev => (previous, "the previous step's output"),
                    Origin::Input => (input, "the chain's input"),
                };
                let source = source.ok_or_else(|| format!("`{text}`: {what} is not JSON"))?;
                source
                    .pointer(pointer)
                    .cloned()
                    .ok_or_else(|| format!("`{text}`: {what} has nothing at `{pointer}`"))?
            }
            None => Value::String(
                text.strip_prefix('$')
                    .filter(|t| t.starts_with('$'))
                    .unwrap_or(text)
                    .to_string(),
            ),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill(v, previous, input))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill(v, previous, input)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Calls `f(pointer, text)` for every string in `value`.
fn visit(value: &Value, at: String, f: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::String(text) => f(&at, text),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                visit(item, format!("{at}/{i}"), f);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                visit(item, format!("{at}/{key}"), f);
            }
        }
        _ => {}
    }
}

/// `Some((origin, pointer))` for a reference, `None` for a literal.
fn parse_reference(text: &str) -> Result<Option<(Origin, &str)>, String> {
    let Some(rest) = text.strip_prefix('$') else {
        return Ok(None);
    };
    if rest.starts_with('$') {
        return Ok(None);
    }
    for origin in [Origin::Prev, Origin::Input] {
        if let Some(pointer) = text.strip_prefix(origin.word())
            && (pointer.is_empty() || pointer.starts_with('/'))
        {
            check_pointer(pointer).map_err(|e| format!("`{text}`: {e}"))?;
            return Ok(Some((origin, pointer)));
        }
    }
    Err(format!(
        "`{text}` is not a reference: write `$prev` or `$input`, optionally followed by a JSON Pointer such as `/items/0`, or `$${rest}` for a literal string starting with `$`"
    ))
}

/// RFC 6901: `~` only as `~0` or `~1`.
fn check_pointer(pointer: &str) -> Result<(), String> {
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(
                "in a JSON Pointer `~` must be written `~0`, and `/` inside a key `~1`".into(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_replaced_by_values_of_any_type() {
        let mapping = Mapping::new(json!({
            "mode": "work",
            "iterations": "$prev/words",
            "all": "$prev",
            "lang": "$input/lang",
            "price": "$$5",
            "list": ["$input/lang", 1],
        }))
        .unwrap();
        let built = mapping
            .build(Some(&json!({"words": 3})), Some(&json!({"lang": "nb"})))
            .unwrap();
        assert_eq!(
            built,
            json!({"mode": "work", "iterations": 3, "all": {"words": 3}, "lang": "nb", "price": "$5", "list": ["nb", 1]})
        );
        assert_eq!(mapping.references().len(), 4);
        assert_eq!(mapping.references()[0].lands_at, "/all");
    }

    #[test]
    fn a_missing_value_or_a_bad_reference_is_an_error_that_says_which() {
        let mapping = Mapping::new(json!({"x": "$prev/body"})).unwrap();
        let e = mapping.build(Some(&json!({"text": 1})), None).unwrap_err();
        assert!(
            e.contains("`$prev/body`") && e.contains("nothing at `/body`"),
            "{e}"
        );
        let e = mapping.build(None, None).unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
        let e = Mapping::new(json!({"x": "$previous"})).unwrap_err();
        assert!(e.contains("`$previous` is not a reference"), "{e}");
        let e = Mapping::new(json!(["$input/a~2"])).unwrap_err();
        assert!(e.contains("~0"), "{e}");
        assert!(Mapping::new(json!("$input")).is_ok());
    }
}
