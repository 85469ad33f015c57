//! Trust tiers and the resource limits that go with them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

const MIB: u64 = 1024 * 1024;

/// How much the operator trusts a skill; decides its limits and its sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustTier {
    /// Unsigned or signed by an unknown key: the tightest limits.
    Untrusted,
    /// Signed by a key the operator trusts.
    Verified,
    /// Built on this machine by its own author.
    Local,
}

impl TrustTier {
    pub const ALL: [TrustTier; 3] = [TrustTier::Untrusted, TrustTier::Verified, TrustTier::Local];

    pub fn as_str(self) -> &'static str {
        match self {
            TrustTier::Untrusted => "untrusted",
            TrustTier::Verified => "verified",
            TrustTier::Local => "local",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The limits bots apply to this tier unless the operator configures others.
    /// Fuel is sized for common work: parsing 1 MB of JSON text and counting
    /// its words costs the template's Rust about 51 million units, a 1.2 MB
    /// document of objects about 100 million (docs/security.md); the
    /// deadline is the wall-clock guard.
    pub fn default_limits(self) -> Limits {
        match self {
            TrustTier::Untrusted => Limits {
                memory_bytes: 16 * MIB,
                fuel: Some(500_000_000),
                timeout: Duration::from_secs(10),
                output_bytes: MIB,
            },
            TrustTier::Verified => Limits {
                memory_bytes: 64 * MIB,
                fuel: Some(2_000_000_000),
                timeout: Duration::from_secs(30),
                output_bytes: 4 * MIB,
            },
            TrustTier::Local => Limits {
                memory_bytes: 256 * MIB,
                fuel: None,
                timeout: Duration::from_secs(300),
                output_bytes: 16 * MIB,
            },
        }
    }

    /// The most any grant or flag gives a skill of this tier; only the
    /// operator's `config.toml` moves it.
    pub fn default_ceiling(self) -> Limits {
        match self {
            TrustTier::Untrusted => Limits {
                memory_bytes: 256 * MIB,
                fuel: Some(20_000_000_000),
                timeout: Duration::from_secs(60),
                output_bytes: 16 * MIB,
            },
            TrustTier::Verified => Limits {
                memory_bytes: 1024 * MIB,
                fuel: Some(100_000_000_000),
                timeout: Duration::from_secs(300),
                output_bytes: 64 * MIB,
            },
            TrustTier::Local => Limits {
                memory_bytes: 4096 * MIB,
                fuel: None,
                timeout: Duration::from_secs(3600),
                output_bytes: 256 * MIB,
            },
        }
    }

    /// The tier a skill runs under. `earned` is what its source earns
    /// (verified when signed by a trusted key, else untrusted); the skill's
    /// own `declared` tier can only lower it; only the `operator` raises it,
    /// and then [`TierChoice::raised`] says what the skill escapes.
    pub fn choose(
        earned: TrustTier,
        declared: Option<TrustTier>,
        operator: Option<TrustTier>,
    ) -> TierChoice {
        let tier = match (operator, declared) {
            (Some(chosen), _) => chosen,
            (None, Some(declared)) => declared.min(earned),
            (None, None) => earned,
        };
        TierChoice { tier, earned }
    }

    /// Deepest wasm call stack the engine allows before `stack-overflow`.
    pub(crate) fn max_wasm_stack(self) -> usize {
        match self {
            TrustTier::Untrusted => 256 * 1024,
            TrustTier::Verified => 512 * 1024,
            TrustTier::Local => 1024 * 1024,
        }
    }
}

impl fmt::Display for TrustTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown trust tier `{0}`: expected untrusted, verified or local")]
pub struct UnknownTier(String);

impl FromStr for TrustTier {
    type Err = UnknownTier;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "untrusted" => Ok(TrustTier::Untrusted),
            "verified" => Ok(TrustTier::Verified),
            "local" => Ok(TrustTier::Local),
            other => Err(UnknownTier(other.to_string())),
        }
    }
}

/// A tier decided by [`TrustTier::choose`], with what the source earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierChoice {
    pub tier: TrustTier,
    pub earned: TrustTier,
}

impl TierChoice {
    /// When the operator gave more trust than the source earns: the one
    /// warning to print, naming what the skill escapes.
    pub fn raised(&self) -> Option<String> {
        if self.tier <= self.earned {
            return None;
        }
        let escapes = match self.tier {
            TrustTier::Local => {
                "it runs inside this process, outside the OS sandbox (Landlock and seccomp, or Seatbelt), with no fuel limit and the local tier's memory and time"
            }
            _ => {
                "it gets the verified tier's larger fuel, memory and time limits, and can be run outside the OS sandbox with `--sandbox none`"
            }
        };
        Some(format!(
            "running as {} although its source earns only {}: {escapes}",
            self.tier, self.earned
        ))
    }
}

/// A limit an operator raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitName {
    Fuel,
    Memory,
    Timeout,
}

impl LimitName {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitName::Fuel => "fuel",
            LimitName::Memory => "memory",
            LimitName::Timeout => "timeout",
        }
    }
}

/// The ceiling on one invocation's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Linear memory plus tables, in bytes.
    pub memory_bytes: u64,
    /// Wasm fuel (about one unit per instruction); `None` is unlimited.
    pub fuel: Option<u64>,
    /// Wall-clock deadline for the whole invocation.
    #[serde(with = "duration_ms")]
    pub timeout: Duration,
    /// Largest `execute` result (ok or err) accepted, in bytes.
    pub output_bytes: u64,
}

/// Limits asked for by a skill's manifest, an approval, a bot or a flag;
/// `limit_sources` decides which of them apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitRequest {
    pub memory_bytes: Option<u64>,
    pub fuel: Option<u64>,
    pub timeout: Option<Duration>,
    pub output_bytes: Option<u64>,
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_bots() {
        let u = TrustTier::Untrusted.default_limits();
        assert_eq!(
            (u.memory_bytes, u.fuel, u.timeout.as_secs()),
            (16 * MIB, Some(500_000_000), 10)
        );
        let v = TrustTier::Verified.default_limits();
        assert_eq!(
            (v.memory_bytes, v.fuel, v.timeout.as_secs()),
            (64 * MIB, Some(2_000_000_000), 30)
        );
        let l = TrustTier::Local.default_limits();
        assert_eq!(
            (l.memory_bytes, l.fuel, l.timeout.as_secs()),
            (256 * MIB, None, 300)
        );
    }

    #[test]
    fn a_skill_only_lowers_its_tier_and_the_operator_raises_it_with_a_warning() {
        use TrustTier::*;
        let choose = |earned, declared, operator| TrustTier::choose(earned, declared, operator);
        assert_eq!(choose(Untrusted, Some(Local), None).tier, Untrusted);
        assert_eq!(choose(Verified, Some(Local), None).tier, Verified);
        assert_eq!(choose(Verified, Some(Untrusted), None).tier, Untrusted);
        assert_eq!(choose(Verified, None, None).raised(), None);
        let raised = choose(Untrusted, None, Some(Local));
        assert_eq!(raised.tier, Local);
        let warning = raised.raised().unwrap();
        assert!(warning.contains("outside the OS sandbox") && warning.contains("no fuel limit"));
        assert!(choose(Untrusted, None, Some(Verified)).raised().is_some());
        assert_eq!(choose(Verified, None, Some(Untrusted)).raised(), None);
    }

    #[test]
    fn tiers_parse_and_print() {
        for t in TrustTier::ALL {
            assert_eq!(t.as_str().parse::<TrustTier>().unwrap(), t);
        }
        assert!(
            "trusted"
                .parse::<TrustTier>()
                .unwrap_err()
                .to_string()
                .contains("untrusted")
        );
    }
}
