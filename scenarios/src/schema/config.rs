//! Deployment configurations as scenario files spell them: a built-in name, or a custom minimum of
//! healthy hosts with an optional zonal part (CodeDeploy's `zonalConfig`), read and checked here.

use fakeaws::model::codedeploy::{MinimumHealthyHosts, MinimumHealthyHostsType, ZonalConfig};
use serde::{Deserialize, Serialize};

/// A deployment configuration: `"OneAtATime"`, `"HalfAtATime"`, `"AllAtOnce"`, or
/// `{ type = "HOST_COUNT" | "FLEET_PERCENT", value = N }` (minimum healthy hosts), with
/// `zonal = { ... }` for one Availability Zone at a time.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ConfigSpec {
    Named(String),
    Custom {
        #[serde(rename = "type")]
        kind: String,
        value: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zonal: Option<ZonalSpec>,
    },
}

/// A name, or a table read with its own field checks (an untagged enum would only say "did not
/// match any variant" for a misspelt field).
impl<'de> Deserialize<'de> for ConfigSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Custom {
            #[serde(rename = "type")]
            kind: String,
            value: u32,
            #[serde(default)]
            zonal: Option<ZonalSpec>,
        }
        match toml::Value::deserialize(d)? {
            toml::Value::String(name) => Ok(ConfigSpec::Named(name)),
            toml::Value::Table(t) => {
                let c: Custom = t.try_into().map_err(serde::de::Error::custom)?;
                Ok(ConfigSpec::Custom {
                    kind: c.kind,
                    value: c.value,
                    zonal: c.zonal,
                })
            }
            other => Err(serde::de::Error::custom(format!(
                "a deployment configuration is a name or {{ type = ..., value = N }}, not {}",
                other.type_str()
            ))),
        }
    }
}

/// CodeDeploy's `zonalConfig` of a custom configuration: the zones one at a time (in name order),
/// a wait after each, and a minimum of healthy instances per zone.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZonalSpec {
    /// `monitorDurationInSeconds`: the wait after each zone before the next starts (none: at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_seconds: Option<u32>,
    /// `firstZoneMonitorDurationInSeconds`: the wait after the first zone (none: `monitor_seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_zone_monitor_seconds: Option<u32>,
    /// `minimumHealthyHostsPerZone`: `{ type = "HOST_COUNT" | "FLEET_PERCENT", value = N }` (none:
    /// 0 percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_zone: Option<HostsSpec>,
}

/// A minimum of healthy hosts as a file spells it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostsSpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: u32,
}

/// A minimum's type, parsed (`HOST_COUNT` or `FLEET_PERCENT`, the two a configuration can take).
fn hosts_type(kind: &str) -> Option<MinimumHealthyHostsType> {
    MinimumHealthyHostsType::parse(kind).filter(|k| *k != MinimumHealthyHostsType::MostConcurrency)
}

impl Default for ConfigSpec {
    fn default() -> Self {
        ConfigSpec::Named("OneAtATime".into())
    }
}

impl ConfigSpec {
    /// How reports name it: the built-in name, or `TYPE=VALUE`.
    pub fn name(&self) -> String {
        match self {
            ConfigSpec::Named(n) => n.clone(),
            ConfigSpec::Custom { kind, value, zonal } => {
                let mut name = format!("{kind}={value}");
                if let Some(z) = zonal {
                    name.push_str(&format!(" zonal({})", z.describe()));
                }
                name
            }
        }
    }

    /// A custom configuration's minimum, typed (checked by `validate` when the file was read).
    pub fn hosts(&self) -> Option<MinimumHealthyHosts> {
        match self {
            ConfigSpec::Named(_) => None,
            ConfigSpec::Custom { kind, value, .. } => Some(MinimumHealthyHosts {
                kind: hosts_type(kind)?,
                value: *value as i64,
            }),
        }
    }

    /// A custom configuration's zonal part, as CodeDeploy keeps it.
    pub fn zonal(&self) -> Option<ZonalConfig> {
        match self {
            ConfigSpec::Custom { zonal: Some(z), .. } => Some(ZonalConfig {
                first_zone_monitor_seconds: z.first_zone_monitor_seconds.map(i64::from),
                monitor_seconds: z.monitor_seconds.map(i64::from),
                per_zone: z.per_zone.as_ref().and_then(|h| {
                    Some(MinimumHealthyHosts {
                        kind: hosts_type(&h.kind)?,
                        value: h.value as i64,
                    })
                }),
            }),
            _ => None,
        }
    }

    /// Checks the name of a built-in configuration or the type of a custom one, naming the valid
    /// choices.
    pub fn validate(&self, at: &str) -> anyhow::Result<()> {
        match self {
            ConfigSpec::Named(n) => {
                let known: Vec<&str> = fakeaws::model::codedeploy::BUILT_IN_CONFIGS
                    .iter()
                    .filter_map(|(name, _, _)| name.strip_prefix("CodeDeployDefault."))
                    .collect();
                anyhow::ensure!(
                    known.contains(&n.as_str()),
                    "{at}: unknown deployment configuration \"{n}\" (one of {}, or {{ type = \"HOST_COUNT\" | \"FLEET_PERCENT\", value = N }})",
                    known.join(", ")
                );
            }
            ConfigSpec::Custom { kind, value, zonal } => {
                check_hosts(at, kind, *value)?;
                if let Some(h) = zonal.as_ref().and_then(|z| z.per_zone.as_ref()) {
                    check_hosts(&format!("{at}.zonal.per_zone"), &h.kind, h.value)?;
                }
            }
        }
        Ok(())
    }
}

impl ZonalSpec {
    /// `monitor 300s, first zone 600s, per zone HOST_COUNT=1` (the parts given).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.monitor_seconds {
            parts.push(format!("monitor {s}s"));
        }
        if let Some(s) = self.first_zone_monitor_seconds {
            parts.push(format!("first zone {s}s"));
        }
        if let Some(h) = &self.per_zone {
            parts.push(format!("per zone {}={}", h.kind, h.value));
        }
        parts.join(", ")
    }
}

/// A minimum's type is one a configuration takes, and a percentage is at most 100.
fn check_hosts(at: &str, kind: &str, value: u32) -> anyhow::Result<()> {
    anyhow::ensure!(
        hosts_type(kind).is_some(),
        "{at}: unknown minimum healthy hosts type \"{kind}\" (HOST_COUNT or FLEET_PERCENT)"
    );
    anyhow::ensure!(
        kind == "HOST_COUNT" || value <= 100,
        "{at}: FLEET_PERCENT {value} is above 100"
    );
    Ok(())
}

/// A configuration's zonal part as CodeDeploy keeps it, spelt as a scenario file spells it (the
/// inverse of [`ConfigSpec::zonal`]): for deployments created through the API.
impl From<ZonalConfig> for ZonalSpec {
    fn from(z: ZonalConfig) -> Self {
        let secs = |s: Option<i64>| s.map(|s| s.clamp(0, u32::MAX as i64) as u32);
        ZonalSpec {
            monitor_seconds: secs(z.monitor_seconds),
            first_zone_monitor_seconds: secs(z.first_zone_monitor_seconds),
            per_zone: z.per_zone.map(|h| HostsSpec {
                kind: h.kind.as_str().to_string(),
                value: h.value.max(0) as u32,
            }),
        }
    }
}
