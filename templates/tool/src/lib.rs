//! The `{{name}}` skill: a WebAssembly component of the boternity:skill world.
//! `execute` takes JSON and returns JSON; host functions come from `host`.

wit_bindgen::generate!({
    world: "skill-plugin",
    path: "wit",
});

use boternity::skill::host;
use serde_json::{Value, json};

struct Skill;

impl Guest for Skill {
    fn get_name() -> String {
        "{{name}}".to_string()
    }

    fn get_description() -> String {
        {{description_rust}}.to_string()
    }

    fn execute(input: String) -> Result<String, String> {
        let input: Value = serde_json::from_str(&input).map_err(|e| format!("the input is not JSON: {e}"))?;
        let Value::Object(fields) = input else {
            return Err("the input must be a JSON object".to_string());
        };
        host::log("info", &format!("{{name}} called with {} field(s)", fields.len()));
        let mut output = json!({"ok": true, "fields": fields.len()});
        if let Some(url) = fields.get("fetch").and_then(Value::as_str) {
            // Only hosts granted in SKILL.md are reachable; others end the call.
            output["fetched"] = host::http_get(url)?.into();
        }
        Ok(output.to_string())
    }
}

export!(Skill);
