//! The home's `config.toml`: which bot this is (`[bot]`, read by
//! [`bots::identity`](crate::store::bots::identity)) and the operator's
//! tier ceilings (`[tiers.<tier>]`).

use crate::limits::tier::{Limits, TrustTier};
use crate::manifest::extensions::{parse_count, parse_duration, parse_size};
use crate::store::error::{Repair, Result, StoreError};
use crate::store::home::Home;
use crate::store::toml_file::read_if_present;

/// The home's `config.toml` (empty when there is none).
pub(crate) fn read(home: &Home) -> Result<toml::Table> {
    let path = home.config_file();
    let Some(text) = read_if_present(&path)? else {
        return Ok(toml::Table::new());
    };
    toml::from_str(&text).map_err(|e| {
        StoreError::malformed(
            crate::store::toml_file::located(&path, &text, &e),
            format!("{} is not valid TOML: {}", path.display(), e.message()),
            Repair::FixOrRemove,
        )
    })
}

/// Each tier's ceiling: the defaults, moved only by the operator's
/// `[tiers.<tier>]` `max-fuel` (a count, or `"none"` for no fuel limit),
/// `max-memory` (`"1GiB"`) and `max-timeout` (`"120s"`) in `config.toml`.
pub fn tier_ceilings(home: &Home) -> Result<[Limits; 3]> {
    let config = read(home)?;
    let mut ceilings = TrustTier::ALL.map(TrustTier::default_ceiling);
    let Some(tiers) = config.get("tiers") else {
        return Ok(ceilings);
    };
    let path = home.config_file();
    let wrong = |message: String| {
        StoreError::malformed(path.display().to_string(), message, Repair::FixOrRemove)
    };
    let tiers = tiers
        .as_table()
        .ok_or_else(|| wrong("`tiers` is not a table".into()))?;
    for (name, table) in tiers {
        let tier: TrustTier = name
            .parse()
            .map_err(|e| wrong(format!("[tiers.{name}]: {e}")))?;
        let table = table
            .as_table()
            .ok_or_else(|| wrong(format!("[tiers.{name}] is not a table")))?;
        let ceiling = &mut ceilings[tier.index()];
        for (key, value) in table {
            let text = match value {
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::String(s) => s.clone(),
                _ => String::new(),
            };
            let bad = |e: String| wrong(format!("[tiers.{name}] {key} = {value}: {e}"));
            match key.as_str() {
                "max-fuel" if text == "none" => ceiling.fuel = None,
                "max-fuel" => ceiling.fuel = Some(parse_count(&text).map_err(bad)?),
                "max-memory" => ceiling.memory_bytes = parse_size(&text).map_err(bad)?,
                "max-timeout" => ceiling.timeout = parse_duration(&text).map_err(bad)?,
                _ => {
                    return Err(bad("expected max-fuel, max-memory or max-timeout".into()));
                }
            }
        }
    }
    Ok(ceilings)
}
