//! Faults the double injects (contract section 6.3): random ones at a seeded
//! rate, and one-shot ones from a FIFO queue, which take precedence.

use super::state::Endpoint;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One way the real path (proxy, Edubadges, SURFconext) fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 with `Retry-After`; nothing processed.
    #[serde(alias = "429")]
    TooManyRequests,
    /// 500 with Django's HTML error page; nothing processed.
    #[serde(alias = "500")]
    ServerErrorHtml,
    /// 502 with an empty body, as from a reverse proxy; nothing processed.
    #[serde(alias = "502")]
    BadGateway,
    /// 503 with an HTML body; nothing processed.
    #[serde(alias = "503")]
    ServiceUnavailable,
    /// 504 with an empty body; nothing processed.
    #[serde(alias = "504")]
    GatewayTimeout,
    /// SURFconext's introspection endpoint unreachable: 400 with the
    /// `HTTPConnectionPool(…)` error for JSON requests, Django's 500 HTML page
    /// for others. Nothing processed.
    #[serde(alias = "introspect")]
    IntrospectOutage,
    /// The presented token has expired: 403, and it stays invalid.
    #[serde(alias = "expired-token", alias = "expired")]
    ExpiredToken,
    /// Processed, then answered late (after [`Faults::slow`]).
    Slow,
    /// Processed, then the connection is closed without any response.
    #[serde(alias = "drop", alias = "drop-after-commit")]
    DropAfterCommit,
}

impl FaultKind {
    /// Every kind, in declaration order.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::TooManyRequests,
        FaultKind::ServerErrorHtml,
        FaultKind::BadGateway,
        FaultKind::ServiceUnavailable,
        FaultKind::GatewayTimeout,
        FaultKind::IntrospectOutage,
        FaultKind::ExpiredToken,
        FaultKind::Slow,
        FaultKind::DropAfterCommit,
    ];

    /// The short name the command line uses (`429`, `drop`, …).
    pub fn short_name(self) -> &'static str {
        match self {
            FaultKind::TooManyRequests => "429",
            FaultKind::ServerErrorHtml => "500",
            FaultKind::BadGateway => "502",
            FaultKind::ServiceUnavailable => "503",
            FaultKind::GatewayTimeout => "504",
            FaultKind::IntrospectOutage => "introspect",
            FaultKind::ExpiredToken => "expired-token",
            FaultKind::Slow => "slow",
            FaultKind::DropAfterCommit => "drop",
        }
    }

    /// Whether the fault can happen on this endpoint: the token and
    /// introspection faults only where a bearer token is checked.
    pub fn applies_to(self, endpoint: Endpoint) -> bool {
        match self {
            FaultKind::IntrospectOutage | FaultKind::ExpiredToken => endpoint.requires_token(),
            _ => true,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// An unknown fault name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?}; known: 429, 500, 502, 503, 504, introspect, expired-token, slow, drop")]
pub struct UnknownFault(pub String);

impl FromStr for FaultKind {
    type Err = UnknownFault;

    /// Accepts the short names (`429`, `drop`, …) and the snake_case names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        FaultKind::ALL
            .into_iter()
            .find(|kind| {
                kind.short_name() == wanted
                    || serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(|n| n.replace('_', "-")))
                        == Some(wanted.clone())
            })
            .or(match wanted.as_str() {
                "expired" => Some(FaultKind::ExpiredToken),
                _ => None,
            })
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// Random faults: each request to an Edubadges API endpoint fails with
/// probability `rate`, with a kind drawn uniformly from `kinds` (those that
/// apply to the endpoint). Deterministic for a given seed and request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// 0.0 (never, the default) to 1.0 (always).
    pub rate: f64,
    /// The kinds to draw from; empty means none.
    pub kinds: Vec<FaultKind>,
    /// The `Retry-After` of 429 answers, in seconds.
    pub retry_after_secs: u64,
    /// How late a `Slow` answer comes.
    #[serde(rename = "slow_ms", with = "duration_ms")]
    pub slow: Duration,
    pub seed: u64,
    /// Also fail requests to the token endpoint (with the kinds that apply
    /// there: all but `introspect_outage` and `expired_token`).
    pub include_token_endpoint: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate: 0.0,
            kinds: FaultKind::ALL.to_vec(),
            retry_after_secs: 1,
            slow: Duration::from_secs(5),
            seed: 0,
            include_token_endpoint: false,
        }
    }
}

impl Faults {
    /// No random faults.
    pub fn none() -> Self {
        Faults::default()
    }

    /// Random faults of these kinds at this rate.
    pub fn random(rate: f64, kinds: &[FaultKind]) -> Self {
        Faults { rate, kinds: kinds.to_vec(), ..Faults::default() }
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// A queued fault for the next request it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneShotFault {
    pub kind: FaultKind,
    /// Only this endpoint; `None`: any Edubadges API endpoint (not the token
    /// endpoint, `/health` or the test hooks).
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
}

/// The fault configuration and the generator behind it.
#[derive(Debug)]
pub(super) struct FaultState {
    pub faults: Faults,
    pub queue: VecDeque<OneShotFault>,
    rng: XorShift,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        let rng = XorShift::new(faults.seed);
        FaultState { faults, queue: VecDeque::new(), rng }
    }

    /// Replaces the random faults and restarts the generator from their seed.
    pub fn set(&mut self, faults: Faults) {
        self.rng = XorShift::new(faults.seed);
        self.faults = faults;
    }

    /// The fault for a request to `endpoint`, if any: the first queued one
    /// that applies, else a random draw.
    pub fn pick(&mut self, endpoint: Endpoint) -> Option<FaultKind> {
        let queued = self.queue.iter().position(|f| {
            f.kind.applies_to(endpoint)
                && match f.endpoint {
                    Some(only) => only == endpoint,
                    None => endpoint.is_api(),
                }
        });
        if let Some(i) = queued {
            return self.queue.remove(i).map(|f| f.kind);
        }
        let eligible = endpoint.is_api() || (endpoint == Endpoint::Token && self.faults.include_token_endpoint);
        if !eligible || self.faults.rate <= 0.0 {
            return None;
        }
        let kinds: Vec<FaultKind> = self.faults.kinds.iter().copied().filter(|k| k.applies_to(endpoint)).collect();
        if kinds.is_empty() || self.rng.next_f64() >= self.faults.rate {
            return None;
        }
        let i = usize::try_from(self.rng.next_u64() % kinds.len() as u64).unwrap_or(0);
        kinds.get(i).copied()
    }
}

/// xorshift64*: small, seedable, and plenty for picking faults.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that 0 and nearby seeds start well apart.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_both_ways() {
        for kind in FaultKind::ALL {
            assert_eq!(kind.short_name().parse::<FaultKind>(), Ok(kind));
            let snake = serde_json::to_value(kind).unwrap();
            assert_eq!(snake.as_str().unwrap().parse::<FaultKind>(), Ok(kind));
            assert_eq!(serde_json::from_value::<FaultKind>(serde_json::json!(kind.short_name())).unwrap(), kind);
        }
        assert!("418".parse::<FaultKind>().is_err());
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let draw = |seed| {
            let mut state = FaultState::new(Faults { seed, ..Faults::random(0.5, &FaultKind::ALL) });
            (0..64).map(|_| state.pick(Endpoint::CreateDirectAwards)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let hits = draw(7).iter().filter(|f| f.is_some()).count();
        assert!((16..=48).contains(&hits), "about half of the requests fail: {hits}");
    }

    #[test]
    fn one_shot_faults_wait_for_a_request_they_apply_to() {
        let mut state = FaultState::new(Faults::none());
        state.queue.push_back(OneShotFault { kind: FaultKind::ExpiredToken, endpoint: None });
        state.queue.push_back(OneShotFault { kind: FaultKind::BadGateway, endpoint: Some(Endpoint::Token) });
        assert_eq!(state.pick(Endpoint::PublicBadge), None, "no token is checked there");
        assert_eq!(state.pick(Endpoint::Token), Some(FaultKind::BadGateway));
        assert_eq!(state.pick(Endpoint::Bundle), Some(FaultKind::ExpiredToken));
        assert_eq!(state.pick(Endpoint::Bundle), None);
    }
}
