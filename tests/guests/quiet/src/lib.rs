//! Echoes its input and logs once; imports no gated host function.

wit_bindgen::generate!({
    world: "skill-plugin",
    path: "../../../wit",
});

struct Quiet;

impl Guest for Quiet {
    fn get_name() -> String {
        "quiet".to_string()
    }

    fn get_description() -> String {
        "Echoes its input".to_string()
    }

    fn execute(input: String) -> Result<String, String> {
        boternity::skill::host::log("info", "echo");
        Ok(input)
    }
}

export!(Quiet);
