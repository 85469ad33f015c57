//! The operator's approval of what the skills of a plan may do: `--grant`
//! approves exactly those capabilities, `--yes` every one, else a terminal
//! prompt; with nothing new to approve, nothing is asked.

use anyhow::{Result, bail};

use crate::install::plan::{InstallOptions, Pending};
use skill_runtime::store::installed::{self, capability_name};

/// `--grant WANTED` approves `declared`: the same `cap:scope`, or a bare
/// `cap` for every scope of it.
pub fn grant_covers(wanted: &str, declared: &str) -> bool {
    wanted == declared || capability_name(declared) == wanted
}

/// Shows the plan and what each skill may do, then takes the approval:
/// `--grant` approves exactly those capabilities, `--yes` every one, else
/// a terminal prompt; with nothing new to approve, nothing is asked.
pub fn approve(plan: &mut [Pending], options: &InstallOptions<'_>) -> Result<()> {
    let none = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    for p in plan.iter() {
        let m = &p.located.manifest;
        eprintln!(
            "  {} {} ({:?}, {} tier): capabilities: {}{}; secrets: {}",
            m.name,
            p.version_label(),
            p.verification,
            p.tier.tier,
            none(&p.located.capabilities),
            if p.new.len() < p.located.capabilities.len() {
                format!(" (new: {})", none(&p.new))
            } else {
                String::new()
            },
            none(&m.ext.secrets)
        );
        let host_folders: Vec<&str> = p
            .located
            .capabilities
            .iter()
            .filter(|c| installed::host_folder(c).is_some())
            .map(String::as_str)
            .collect();
        let asks = skill_runtime::limits::sources::asks_above(
            &m.ext.resources,
            &p.tier.tier.default_limits(),
        );
        if !asks.is_empty() {
            eprintln!(
                "    note: {} asks for more than the {} tier gives ({}); it runs with the tier's limits until you approve them with `cargo skill grant {} {}`",
                m.name,
                p.tier.tier,
                asks.join(" "),
                m.name,
                asks.join(" ")
            );
        }
        if !host_folders.is_empty() {
            eprintln!(
                "    warning: {} asks for folders of this machine, outside its data folder: {}",
                m.name,
                host_folders.join(", ")
            );
        }
    }
    if !options.grants.is_empty() {
        for wanted in options.grants {
            let declared = plan.iter().any(|p| {
                p.located
                    .capabilities
                    .iter()
                    .any(|d| grant_covers(wanted, d))
            });
            if !declared {
                let all: Vec<String> = plan
                    .iter()
                    .flat_map(|p| p.located.capabilities.clone())
                    .collect();
                bail!(
                    "--grant {wanted}: no skill being installed declares it; they declare: {}",
                    none(&all)
                );
            }
        }
        for p in plan.iter_mut() {
            let chosen: Vec<String> = p
                .located
                .capabilities
                .iter()
                .filter(|d| options.grants.iter().any(|g| grant_covers(g, d)))
                .cloned()
                .collect();
            p.grants = chosen;
            p.grants.sort();
        }
        return Ok(());
    }
    let asks: Vec<&str> = plan
        .iter()
        .filter(|p| !p.new.is_empty() || !p.new_secrets.is_empty())
        .map(|p| p.located.manifest.name.as_str())
        .collect();
    if !asks.is_empty() && !options.yes {
        if !crate::tty::interactive() {
            bail!(
                "approving the capabilities of {} needs a terminal: pass --yes to approve them non-interactively, or --grant CAP for each one to approve",
                asks.join(", ")
            );
        }
        if !crate::tty::confirm("  approve? [y/N] ") {
            bail!("not approved: nothing was installed");
        }
    }
    for p in plan.iter_mut() {
        p.grants.extend(p.new.iter().cloned());
        p.grants.sort();
        p.grants.dedup();
    }
    Ok(())
}
