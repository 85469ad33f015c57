//! What to do about an error, in this command line's own words: the
//! runtime says what is wrong and where, and the remedies that name a
//! `cargo skill` verb are written here, once.

use skill_runtime::{Failure, PrepareError, Remedy, Report, StoreError};

/// The remedy for the first error in the chain that has one.
pub fn for_error(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(remedy)
}

/// The remedy for one error (not its causes).
pub fn remedy(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = error.downcast_ref::<PrepareError>() {
        return prepare(e);
    }
    if let Some(remedy) = error
        .downcast_ref::<Failure>()
        .and_then(|f| f.remedy.as_ref())
    {
        return words(remedy);
    }
    error.downcast_ref::<StoreError>().and_then(store)
}

/// Adds the remedy of a failed invocation to its message, as this command
/// line words it, before the report is shown (human or JSON).
pub fn word_report(report: &mut Report) {
    if let Err(failure) = &mut report.result
        && let Some(words) = failure.remedy.as_ref().and_then(words)
    {
        failure.message.push_str(". ");
        failure.message.push_str(&words);
    }
}

/// [`word_report`] for a chain's step: a limit is raised for the skill
/// (a one-run flag does not reach a chain's steps).
pub fn word_chain_step(report: &mut Report) {
    if let Err(failure) = &mut report.result
        && let Some(Remedy::RaiseLimit {
            grant,
            skill: Some(name),
            ..
        }) = &failure.remedy
    {
        failure.message.push_str(&format!(
            ". To raise it: `cargo skill grant {name} {grant}`"
        ));
    }
}

/// Where no OS sandbox holds: the operator's way out, for trusted skills only.
pub const UNSANDBOXED: &str = "a verified skill you trust can run without the sandbox, at your own risk: `cargo skill run --sandbox none`";

/// What to do about a failed invocation, in this CLI's commands.
fn words(remedy: &Remedy) -> Option<String> {
    Some(match remedy {
        Remedy::RaiseLimit {
            limit,
            to,
            grant,
            skill,
        } => {
            let once = format!("--{} {to}", limit.as_str());
            match skill {
                Some(name) => {
                    format!(
                        "To raise it: `cargo skill grant {name} {grant}`, or for one run `{once}`"
                    )
                }
                None => format!("To raise it for one run: `{once}` (run, test and bench take it)"),
            }
        }
        Remedy::CheckSandbox => {
            format!("`cargo skill doctor` says what this machine lacks; {UNSANDBOXED}")
        }
        _ => return None,
    })
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

    #[test]
    fn a_failure_remedy_is_worded_with_this_cli_s_commands() {
        let mut report = Report::refused(
            skill_runtime::TrustTier::Untrusted,
            skill_runtime::TrustTier::Untrusted.default_limits(),
            Failure {
                remedy: Some(Remedy::RaiseLimit {
                    limit: skill_runtime::LimitName::Memory,
                    to: 64,
                    grant: "memory=64MiB".into(),
                    skill: Some("py-probe".into()),
                }),
                ..Failure::new(skill_runtime::ErrorKind::MemoryLimit, "out of memory")
            },
        );
        word_report(&mut report);
        let message = &report.result.as_ref().unwrap_err().message;
        assert_eq!(
            message,
            "out of memory. To raise it: `cargo skill grant py-probe memory=64MiB`, or for one run `--memory 64`"
        );
        let sandbox = Failure {
            remedy: Some(Remedy::CheckSandbox),
            ..Failure::new(skill_runtime::ErrorKind::SandboxFailure, "refused")
        };
        let error = anyhow::Error::from(sandbox).context("measuring");
        assert_eq!(
            for_error(&error).as_deref(),
            Some(
                "`cargo skill doctor` says what this machine lacks; a verified skill you trust can run without the sandbox, at your own risk: `cargo skill run --sandbox none`"
            )
        );
    }
}
