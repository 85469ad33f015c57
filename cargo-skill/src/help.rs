//! What to do about an error, in this command line's own words: the
//! runtime says what is wrong and where, and the remedies that name a
//! `cargo skill` verb are written here, once.

use skill_runtime::{PrepareError, StoreError};

/// The remedy for the first error in the chain that has one.
pub fn for_error(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(remedy)
}

/// The remedy for one error (not its causes).
pub fn remedy(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = error.downcast_ref::<PrepareError>() {
        return prepare(e);
    }
    error.downcast_ref::<StoreError>().and_then(store)
}

fn prepare(e: &PrepareError) -> Option<String> {
    Some(match e {
        PrepareError::NoManifest(_) => {
            "create one with `cargo skill new`, or pass a .wasm file".into()
        }
        PrepareError::UnreadableManifest { folder, .. } => {
            format!("run `cargo skill validate {}` to see why", folder.display())
        }
        PrepareError::NotBuilt { folder, .. } => {
            format!("run `cargo skill build` in {}", folder.display())
        }
        PrepareError::Store(e) => return store(e),
        _ => return None,
    })
}

fn store(e: &StoreError) -> Option<String> {
    Some(match e {
        StoreError::NotInstalled { .. } => "`cargo skill list` shows what is installed".into(),
        StoreError::Disabled { name, bot } => {
            format!("`cargo skill enable {name} --bot {bot}` enables it")
        }
        StoreError::PinMismatch { name, bot, pin, .. } => format!(
            "install a matching version (`cargo skill install SOURCE --skill {name} --version '{pin}'`), or change the pin with `cargo skill enable {name} --bot {bot} --version REQ`"
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_remedy_is_found_through_context_and_wrapping() {
        let not_built = PrepareError::NotBuilt {
            wasm: PathBuf::from("/s/skill.wasm"),
            folder: PathBuf::from("/s"),
        };
        let error = anyhow::Error::from(not_built).context("preparing `s`");
        assert_eq!(
            for_error(&error).as_deref(),
            Some("run `cargo skill build` in /s")
        );
        let disabled: PrepareError = StoreError::Disabled {
            name: "clock".into(),
            bot: "night".into(),
        }
        .into();
        assert_eq!(
            remedy(&disabled).as_deref(),
            Some("`cargo skill enable clock --bot night` enables it")
        );
        assert_eq!(for_error(&anyhow::anyhow!("plain")), None);
    }
}
