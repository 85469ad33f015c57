//! The limits of one run and where each came from: the tier's default, the
//! skill's own `metadata.resources` (which only lowers), the operator's
//! approval for that skill (`grant NAME fuel=…`), the bot's settings, or a
//! flag. Nothing passes the tier's ceiling, which only the operator's
//! `config.toml` moves. A run that hits a limit is told which one, from
//! where, and the exact way to raise it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits::tier::{LimitName, LimitRequest, Limits, TrustTier};

const MIB: u64 = 1024 * 1024;

/// Where a limit's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitOrigin {
    /// The tier's default (as the runtime's configuration sets it).
    Tier,
    /// The skill's `metadata.resources`, lower than the tier's.
    Skill,
    /// What the operator approved for this skill (`cargo skill grant`).
    Approved,
    /// The bot's settings for the skill.
    Bot,
    /// A flag of this run (`--fuel`, `--memory`, `--timeout`).
    Flag,
}

/// Each limit's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitOrigins {
    pub memory: LimitOrigin,
    pub fuel: LimitOrigin,
    pub timeout: LimitOrigin,
}

/// Resources approved for an installed skill above (or below) its tier's
/// defaults, as `grant NAME fuel=2M` records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ApprovedResources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl ApprovedResources {
    pub fn is_empty(&self) -> bool {
        *self == ApprovedResources::default()
    }

    pub fn request(&self) -> LimitRequest {
        LimitRequest {
            fuel: self.fuel,
            memory_bytes: self.memory_bytes,
            timeout: self.timeout_ms.map(Duration::from_millis),
            output_bytes: None,
        }
    }

    /// Adds what `req` names (a later grant replaces an earlier one).
    pub fn merge(&mut self, req: &LimitRequest) {
        self.fuel = req.fuel.or(self.fuel);
        self.memory_bytes = req.memory_bytes.or(self.memory_bytes);
        self.timeout_ms = req
            .timeout
            .map(|t| t.as_millis() as u64)
            .or(self.timeout_ms);
    }
}

/// Everything that decides one run's limits.
#[derive(Debug, Clone, Copy)]
pub struct LimitInputs<'a> {
    pub tier: TrustTier,
    /// The tier's default and ceiling, as the runtime is configured.
    pub default: Limits,
    pub ceiling: Limits,
    /// `metadata.resources`: lowers on its own; asks for more.
    pub skill: &'a LimitRequest,
    pub approved: &'a LimitRequest,
    pub bot: &'a LimitRequest,
    pub flags: &'a LimitRequest,
    /// The installed skill's name, when it is one (for `grant NAME`).
    pub installed: Option<&'a str>,
}

/// One run's limits and what to say when it hits one.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedLimits {
    pub limits: Limits,
    pub origins: LimitOrigins,
    pub tier: TrustTier,
    pub ceiling: Limits,
    /// What the skill asks for above its limits that nobody approved.
    pub unapproved: LimitRequest,
    pub installed: Option<String>,
}

/// A flag or a grant asked for more than the tier's ceiling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{asked} is above the {tier} tier's ceiling of {ceiling}; only `{key}` under `[tiers.{tier}]` in the home's config.toml raises it"
)]
pub struct AboveCeiling {
    /// As the operator wrote it: `--memory 1024` or `memory=1024MiB`.
    pub asked: String,
    pub ceiling: String,
    pub tier: TrustTier,
    pub key: &'static str,
}

/// How an operator's request is written back in a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// `--fuel N`, `--memory MB`, `--timeout MS`.
    Flags,
    /// `fuel=N`, `memory=NMiB`, `timeout=Nms` (`grant NAME …`).
    Grant,
}

/// Whether an operator's request stays within the tier's ceiling.
pub fn check_ceiling(
    req: &LimitRequest,
    ceiling: &Limits,
    tier: TrustTier,
    written: Written,
) -> Result<(), AboveCeiling> {
    let above = |key, asked: String, ceiling: String| AboveCeiling {
        asked,
        ceiling,
        tier,
        key,
    };
    let flags = written == Written::Flags;
    if let Some(m) = req.memory_bytes.filter(|&m| m > ceiling.memory_bytes) {
        let asked = match flags {
            true => format!("--memory {}", m.div_ceil(MIB)),
            false => format!("memory={}MiB", m.div_ceil(MIB)),
        };
        return Err(above("max-memory", asked, mib(ceiling.memory_bytes)));
    }
    if let (Some(f), Some(c)) = (req.fuel, ceiling.fuel)
        && f > c
    {
        let asked = match flags {
            true => format!("--fuel {f}"),
            false => format!("fuel={f}"),
        };
        return Err(above("max-fuel", asked, c.to_string()));
    }
    if let Some(t) = req.timeout.filter(|&t| t > ceiling.timeout) {
        let asked = match flags {
            true => format!("--timeout {}", t.as_millis()),
            false => format!("timeout={}ms", t.as_millis()),
        };
        return Err(above("max-timeout", asked, ms(ceiling.timeout)));
    }
    Ok(())
}

impl LimitInputs<'_> {
    pub fn resolve(&self) -> Result<ResolvedLimits, AboveCeiling> {
        let mut limits = self.default;
        let mut origins = LimitOrigins {
            memory: LimitOrigin::Tier,
            fuel: LimitOrigin::Tier,
            timeout: LimitOrigin::Tier,
        };
        let mut unapproved = LimitRequest::default();
        let d = self.default;
        // The skill's own lowering, then the operator's approval for it.
        if let Some(m) = self.skill.memory_bytes {
            if m < d.memory_bytes {
                (limits.memory_bytes, origins.memory) = (m, LimitOrigin::Skill);
            } else if m > d.memory_bytes {
                unapproved.memory_bytes = Some(m);
            }
        }
        match (self.skill.fuel, d.fuel) {
            (Some(f), Some(tier)) if f < tier => {
                (limits.fuel, origins.fuel) = (Some(f), LimitOrigin::Skill)
            }
            (Some(f), None) => (limits.fuel, origins.fuel) = (Some(f), LimitOrigin::Skill),
            (Some(f), Some(tier)) if f > tier => unapproved.fuel = Some(f),
            _ => {}
        }
        if let Some(t) = self.skill.timeout {
            if t < d.timeout {
                (limits.timeout, origins.timeout) = (t, LimitOrigin::Skill);
            } else if t > d.timeout {
                unapproved.timeout = Some(t);
            }
        }
        if let Some(m) = self.approved.memory_bytes {
            (limits.memory_bytes, origins.memory) =
                (m.min(self.ceiling.memory_bytes), LimitOrigin::Approved);
            unapproved.memory_bytes = unapproved.memory_bytes.filter(|&asked| asked > m);
        }
        if let Some(f) = self.approved.fuel {
            let capped = self.ceiling.fuel.map_or(f, |c| f.min(c));
            (limits.fuel, origins.fuel) = (Some(capped), LimitOrigin::Approved);
            unapproved.fuel = unapproved.fuel.filter(|&asked| asked > f);
        }
        if let Some(t) = self.approved.timeout {
            (limits.timeout, origins.timeout) =
                (t.min(self.ceiling.timeout), LimitOrigin::Approved);
            unapproved.timeout = unapproved.timeout.filter(|&asked| asked > t);
        }
        // The bot only lowers.
        if let Some(m) = self.bot.memory_bytes.filter(|&m| m < limits.memory_bytes) {
            (limits.memory_bytes, origins.memory) = (m, LimitOrigin::Bot);
        }
        if let Some(f) = self.bot.fuel.filter(|&f| limits.fuel.is_none_or(|l| f < l)) {
            (limits.fuel, origins.fuel) = (Some(f), LimitOrigin::Bot);
        }
        if let Some(t) = self.bot.timeout.filter(|&t| t < limits.timeout) {
            (limits.timeout, origins.timeout) = (t, LimitOrigin::Bot);
        }
        limits.output_bytes = limits
            .output_bytes
            .min(self.skill.output_bytes.unwrap_or(u64::MAX))
            .min(self.bot.output_bytes.unwrap_or(u64::MAX));
        // Flags may raise, up to the ceiling.
        check_ceiling(self.flags, &self.ceiling, self.tier, Written::Flags)?;
        if let Some(m) = self.flags.memory_bytes {
            (limits.memory_bytes, origins.memory) = (m, LimitOrigin::Flag);
        }
        if let Some(f) = self.flags.fuel {
            (limits.fuel, origins.fuel) = (Some(f), LimitOrigin::Flag);
        }
        if let Some(t) = self.flags.timeout {
            (limits.timeout, origins.timeout) = (t, LimitOrigin::Flag);
        }
        if let Some(o) = self.flags.output_bytes {
            limits.output_bytes = o.min(self.ceiling.output_bytes);
        }
        Ok(ResolvedLimits {
            limits,
            origins,
            tier: self.tier,
            ceiling: self.ceiling,
            unapproved,
            installed: self.installed.map(str::to_string),
        })
    }
}

fn mib(bytes: u64) -> String {
    if bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

impl LimitOrigin {
    fn describe(self, tier: TrustTier) -> String {
        match self {
            LimitOrigin::Tier => format!("the {tier} tier's default"),
            LimitOrigin::Skill => "the skill's own `metadata.resources`".into(),
            LimitOrigin::Approved => "what the operator approved for this skill".into(),
            LimitOrigin::Bot => "the bot's settings for this skill".into(),
            LimitOrigin::Flag => "this run's flag".into(),
        }
    }
}

/// One limit as a failure explains it.
struct Which {
    name: LimitName,
    shown: String,
    origin: LimitOrigin,
    /// The next value to suggest, `None` at the ceiling.
    next: Option<u64>,
    asked: Option<u64>,
    grant: fn(u64) -> String,
    /// In the unit an operator writes for one run: MiB, ms.
    unit: fn(u64) -> u64,
    key: &'static str,
}

/// What a run that hit a limit is told: which limit, from where, and
/// (below the ceiling) how to raise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitHit {
    /// Words to add to the failure's message.
    pub words: String,
    pub raise: Option<Raise>,
}

/// Raise `limit` to `to` (fuel units, MiB, or milliseconds): for every run
/// of the installed `skill` by approving `grant` (`fuel=4000000`), or for
/// one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    pub limit: LimitName,
    pub to: u64,
    pub grant: String,
    pub skill: Option<String>,
}

impl ResolvedLimits {
    /// What a run that hit `limit` is told; `None` when the run had no
    /// such limit (fuel off).
    pub fn hit(&self, limit: LimitName) -> Option<LimitHit> {
        let l = &self.limits;
        let c = &self.ceiling;
        let twice = |now: u64, ceiling: Option<u64>, asked: Option<u64>| {
            let want = asked.unwrap_or(0).max(now.saturating_mul(2));
            match ceiling {
                Some(c) if now >= c => None,
                Some(c) => Some(want.min(c)),
                None => Some(want),
            }
        };
        let which = match limit {
            LimitName::Fuel => {
                let fuel = l.fuel?;
                Which {
                    name: LimitName::Fuel,
                    shown: format!("{fuel} units"),
                    origin: self.origins.fuel,
                    next: twice(fuel, c.fuel, self.unapproved.fuel),
                    asked: self.unapproved.fuel,
                    grant: |n| format!("fuel={n}"),
                    unit: |n| n,
                    key: "max-fuel",
                }
            }
            LimitName::Memory => Which {
                name: LimitName::Memory,
                shown: mib(l.memory_bytes),
                origin: self.origins.memory,
                next: twice(
                    l.memory_bytes,
                    Some(c.memory_bytes),
                    self.unapproved.memory_bytes,
                )
                .map(|b| b.div_ceil(MIB) * MIB),
                asked: self.unapproved.memory_bytes,
                grant: |n| format!("memory={}MiB", n.div_ceil(MIB)),
                unit: |n| n.div_ceil(MIB),
                key: "max-memory",
            },
            LimitName::Timeout => {
                let now = l.timeout.as_millis() as u64;
                Which {
                    name: LimitName::Timeout,
                    shown: ms(l.timeout),
                    origin: self.origins.timeout,
                    next: twice(
                        now,
                        Some(c.timeout.as_millis() as u64),
                        self.unapproved.timeout.map(|t| t.as_millis() as u64),
                    ),
                    asked: self.unapproved.timeout.map(|t| t.as_millis() as u64),
                    grant: |n| format!("timeout={n}ms"),
                    unit: |n| n,
                    key: "max-timeout",
                }
            }
        };
        let mut words = format!(
            ". The {} limit is {}, from {}",
            which.name.as_str(),
            which.shown,
            which.origin.describe(self.tier)
        );
        if let Some(asked) = which.asked {
            words.push_str(&format!(
                "; the skill asks for {} in `metadata.resources`, which the operator has not approved",
                (which.grant)(asked)
            ));
        }
        // How to raise it is the front end's to word.
        let raise = which.next.map(|next| Raise {
            limit: which.name,
            to: (which.unit)(next),
            grant: (which.grant)(next),
            skill: self.installed.clone(),
        });
        if raise.is_none() {
            words.push_str(&format!(
                ". That is the {tier} tier's ceiling; only `{key}` under `[tiers.{tier}]` in the home's config.toml raises it",
                tier = self.tier,
                key = which.key
            ));
        }
        Some(LimitHit { words, raise })
    }
}

/// What `metadata.resources` asks for above a tier's `default`, as the
/// tokens `grant NAME` takes (`fuel=2000000`, `memory=64MiB`, `timeout=30000ms`).
pub fn asks_above(skill: &LimitRequest, default: &Limits) -> Vec<String> {
    let mut asks = Vec::new();
    if let Some(f) = skill.fuel.filter(|&f| default.fuel.is_some_and(|d| f > d)) {
        asks.push(format!("fuel={f}"));
    }
    if let Some(m) = skill.memory_bytes.filter(|&m| m > default.memory_bytes) {
        asks.push(format!("memory={}MiB", m.div_ceil(MIB)));
    }
    if let Some(t) = skill.timeout.filter(|&t| t > default.timeout) {
        asks.push(format!("timeout={}ms", t.as_millis()));
    }
    asks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(
        skill: &'a LimitRequest,
        approved: &'a LimitRequest,
        bot: &'a LimitRequest,
        flags: &'a LimitRequest,
    ) -> LimitInputs<'a> {
        LimitInputs {
            tier: TrustTier::Untrusted,
            default: TrustTier::Untrusted.default_limits(),
            ceiling: TrustTier::Untrusted.default_ceiling(),
            skill,
            approved,
            bot,
            flags,
            installed: Some("py-probe"),
        }
    }

    #[test]
    fn a_skill_lowers_on_its_own_and_raises_only_with_approval() {
        let none = LimitRequest::default();
        let asks = LimitRequest {
            memory_bytes: Some(64 * MIB),
            fuel: Some(1000),
            ..none
        };
        let r = inputs(&asks, &none, &none, &none).resolve().unwrap();
        assert_eq!(r.limits.memory_bytes, 16 * MIB);
        assert_eq!(r.origins.memory, LimitOrigin::Tier);
        assert_eq!(r.unapproved.memory_bytes, Some(64 * MIB));
        assert_eq!(
            (r.limits.fuel, r.origins.fuel),
            (Some(1000), LimitOrigin::Skill)
        );

        let approved = LimitRequest {
            memory_bytes: Some(64 * MIB),
            ..none
        };
        let r = inputs(&asks, &approved, &none, &none).resolve().unwrap();
        assert_eq!(
            (r.limits.memory_bytes, r.origins.memory),
            (64 * MIB, LimitOrigin::Approved)
        );
        assert_eq!(r.unapproved.memory_bytes, None);

        // The bot lowers what was approved; a flag overrides, up to the ceiling.
        let bot = LimitRequest {
            memory_bytes: Some(32 * MIB),
            ..none
        };
        let r = inputs(&asks, &approved, &bot, &none).resolve().unwrap();
        assert_eq!(
            (r.limits.memory_bytes, r.origins.memory),
            (32 * MIB, LimitOrigin::Bot)
        );
        let flag = LimitRequest {
            memory_bytes: Some(128 * MIB),
            ..none
        };
        let r = inputs(&asks, &approved, &bot, &flag).resolve().unwrap();
        assert_eq!(
            (r.limits.memory_bytes, r.origins.memory),
            (128 * MIB, LimitOrigin::Flag)
        );
        let over = LimitRequest {
            fuel: Some(u64::MAX),
            ..none
        };
        let err = inputs(&none, &none, &none, &over).resolve().unwrap_err();
        assert!(err.to_string().contains("max-fuel"), "{err}");
    }

    #[test]
    fn a_limit_failure_names_the_limit_its_origin_and_the_command() {
        let none = LimitRequest::default();
        let asks = LimitRequest {
            fuel: Some(2_000_000_000),
            ..none
        };
        let r = inputs(&asks, &none, &none, &none).resolve().unwrap();
        let hit = r.hit(LimitName::Fuel).unwrap();
        let m = &hit.words;
        assert!(m.contains("the untrusted tier's default"), "{m}");
        assert!(m.contains("fuel=2000000000 in `metadata.resources`"), "{m}");
        assert_eq!(
            hit.raise,
            Some(Raise {
                limit: LimitName::Fuel,
                to: 2_000_000_000,
                grant: "fuel=2000000000".into(),
                skill: Some("py-probe".into()),
            })
        );

        // At the ceiling, only the config moves it.
        let flags = LimitRequest {
            timeout: Some(Duration::from_secs(60)),
            ..none
        };
        let r = inputs(&none, &none, &none, &flags).resolve().unwrap();
        let hit = r.hit(LimitName::Timeout).unwrap();
        assert!(hit.words.contains("this run's flag"), "{}", hit.words);
        assert!(
            hit.words
                .contains("`max-timeout` under `[tiers.untrusted]`")
        );
        assert_eq!(hit.raise, None);
    }

    #[test]
    fn a_skill_can_only_lower_its_limits() {
        let none = LimitRequest::default();
        let asked = LimitRequest {
            memory_bytes: Some(1024 * MIB),
            fuel: Some(100),
            timeout: Some(Duration::from_secs(3600)),
            output_bytes: None,
        };
        let ceiling = TrustTier::Untrusted.default_limits();
        let got = inputs(&asked, &none, &none, &none)
            .resolve()
            .unwrap()
            .limits;
        assert_eq!(got.memory_bytes, ceiling.memory_bytes);
        assert_eq!(got.fuel, Some(100));
        assert_eq!(got.timeout, ceiling.timeout);
        // An unlimited tier takes the skill's own fuel budget.
        let local = LimitInputs {
            tier: TrustTier::Local,
            default: TrustTier::Local.default_limits(),
            ceiling: TrustTier::Local.default_ceiling(),
            ..inputs(&asked, &none, &none, &none)
        };
        assert_eq!(local.resolve().unwrap().limits.fuel, Some(100));
    }

    #[test]
    fn an_operator_may_raise_them() {
        let none = LimitRequest::default();
        let ceiling = TrustTier::Untrusted.default_limits();
        let flags = LimitRequest {
            memory_bytes: Some(128 * MIB),
            ..none
        };
        let raised = inputs(&none, &none, &none, &flags)
            .resolve()
            .unwrap()
            .limits;
        assert_eq!(raised.memory_bytes, 128 * MIB);
        assert_eq!(raised.fuel, ceiling.fuel);
        let err = check_ceiling(
            &LimitRequest {
                memory_bytes: Some(1024 * MIB),
                ..none
            },
            &TrustTier::Untrusted.default_ceiling(),
            TrustTier::Untrusted,
            Written::Grant,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("memory=1024MiB is above the untrusted tier's ceiling of 256 MiB"),
            "{err}"
        );
    }

    #[test]
    fn asks_above_the_tier_are_written_as_grant_takes_them() {
        let asks = LimitRequest {
            memory_bytes: Some(64 * MIB),
            fuel: Some(10),
            timeout: Some(Duration::from_secs(30)),
            output_bytes: None,
        };
        assert_eq!(
            asks_above(&asks, &TrustTier::Untrusted.default_limits()),
            ["memory=64MiB", "timeout=30000ms"]
        );
    }
}
