//! A target group's attributes: the ones the fake acts on typed, the rest kept as given; read and
//! written (saved worlds, DescribeTargetGroupAttributes) as AWS's key/value pairs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Algorithm;

/// AWS's default `deregistration_delay.timeout_seconds`.
pub const DEFAULT_DEREGISTRATION_DELAY_S: i64 = 300;

const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";
const CONNECTION_TERMINATION: &str = "deregistration_delay.connection_termination.enabled";
const SLOW_START: &str = "slow_start.duration_seconds";
const ALGORITHM: &str = "load_balancing.algorithm.type";

/// A target group's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, String>", into = "BTreeMap<String, String>")]
pub struct TargetGroupAttributes {
    /// How long a deregistered target drains (`deregistration_delay.timeout_seconds`).
    pub deregistration_delay_s: i64,
    /// NLB: connections closed when the delay ends.
    pub connection_termination: bool,
    /// ALB: a new target's share ramps up over this many seconds (0: off).
    pub slow_start_s: i64,
    /// How a target is picked. The fake routes the same way under each: its requests are answered
    /// at the instant they arrive, so no target ever has more outstanding than another, and
    /// `weighted_random` would break the same outcome on every run (docs/fakeaws.md).
    pub algorithm: Algorithm,
    /// Every other attribute (stickiness, cross-zone ...), as given.
    pub other: BTreeMap<String, String>,
}

impl TargetGroupAttributes {
    /// A new target group's attributes, as AWS gives them for `protocol`.
    pub fn defaults(protocol: &str) -> TargetGroupAttributes {
        let network = protocol == "TCP" || protocol == "UDP";
        let other = BTreeMap::from([
            ("stickiness.enabled".to_string(), "false".to_string()),
            (
                "stickiness.type".to_string(),
                if network { "source_ip" } else { "lb_cookie" }.to_string(),
            ),
        ]);
        TargetGroupAttributes {
            other,
            ..TargetGroupAttributes::from(BTreeMap::new())
        }
    }

    /// Sets one attribute (already validated by the caller: an integer where one is due, `true`
    /// or `false` where a flag is).
    pub fn set(&mut self, key: &str, value: &str) {
        match key {
            DEREGISTRATION_DELAY => self.deregistration_delay_s = value.parse().unwrap_or(self.deregistration_delay_s),
            CONNECTION_TERMINATION => self.connection_termination = value == "true",
            SLOW_START => self.slow_start_s = value.parse().unwrap_or(self.slow_start_s),
            ALGORITHM => self.algorithm = Algorithm::parse(value).unwrap_or(self.algorithm),
            _ => {
                self.other.insert(key.to_string(), value.to_string());
            }
        }
    }

    /// Every attribute as AWS's key/value pairs, in key order.
    pub fn pairs(&self) -> BTreeMap<String, String> {
        self.clone().into()
    }
}

impl From<BTreeMap<String, String>> for TargetGroupAttributes {
    fn from(pairs: BTreeMap<String, String>) -> TargetGroupAttributes {
        let mut a = TargetGroupAttributes {
            deregistration_delay_s: DEFAULT_DEREGISTRATION_DELAY_S,
            connection_termination: false,
            slow_start_s: 0,
            algorithm: Algorithm::RoundRobin,
            other: BTreeMap::new(),
        };
        for (k, v) in &pairs {
            a.set(k, v);
        }
        a
    }
}

impl From<TargetGroupAttributes> for BTreeMap<String, String> {
    fn from(a: TargetGroupAttributes) -> BTreeMap<String, String> {
        let mut out = a.other;
        out.insert(DEREGISTRATION_DELAY.into(), a.deregistration_delay_s.to_string());
        out.insert(CONNECTION_TERMINATION.into(), a.connection_termination.to_string());
        out.insert(SLOW_START.into(), a.slow_start_s.to_string());
        out.insert(ALGORITHM.into(), a.algorithm.as_str().into());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_read_and_write_as_awss_pairs() {
        let a = TargetGroupAttributes::defaults("HTTP");
        assert_eq!(a.deregistration_delay_s, 300);
        let pairs = a.pairs();
        assert_eq!(pairs["deregistration_delay.timeout_seconds"], "300");
        assert_eq!(pairs["stickiness.type"], "lb_cookie");
        assert_eq!(pairs.len(), 6);
        assert_eq!(TargetGroupAttributes::from(pairs), a);
        let mut b = TargetGroupAttributes::defaults("TCP");
        b.set("deregistration_delay.timeout_seconds", "30");
        b.set("stickiness.enabled", "true");
        assert_eq!(b.deregistration_delay_s, 30);
        assert_eq!(b.pairs()["stickiness.type"], "source_ip");
        assert_eq!(b.pairs()["stickiness.enabled"], "true");
    }
}
