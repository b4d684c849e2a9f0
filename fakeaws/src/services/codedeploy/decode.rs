//! Decoding CodeDeploy's request documents: group settings, revisions, rollback settings, enumerated
//! lists, status filters, pages and batch limits, each refused with CodeDeploy's exception naming
//! what is wrong.

use serde_json::{json, Value};

use crate::model::codedeploy::*;
use crate::protocol::error::AwsError;
use crate::protocol::json::{str_of, strings_of, Body};
use crate::world::codedeploy::GroupInput;

/// Page size of the List actions (AWS pages CodeDeploy lists by 100).
const PAGE: usize = 100;

/// Most items a BatchGet action takes.
const BATCH: usize = 100;

/// A deployment whose instances can be listed: one the engine has started.
pub(super) fn started(d: &Deployment) -> Result<&Deployment, AwsError> {
    if d.status == DeploymentStatus::Created {
        return Err(AwsError::new(
            400,
            "DeploymentNotStartedException",
            "The specified deployment has not started.",
        ));
    }
    Ok(d)
}

pub(super) fn batch_limit(n: usize) -> Result<(), AwsError> {
    if n > BATCH {
        return Err(AwsError::new(
            400,
            "BatchLimitExceededException",
            format!("The maximum number of names or IDs allowed for this request ({BATCH}) was exceeded."),
        ));
    }
    Ok(())
}

pub(super) fn enum_member<T>(b: &Body, key: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, AwsError> {
    match b.str(key)? {
        None => Ok(None),
        Some(s) => parse(s)
            .map(Some)
            .ok_or_else(|| AwsError::new(400, "InvalidInputException", format!("{key} {s} is not valid."))),
    }
}

pub(super) fn instance_statuses(list: Option<Vec<String>>) -> Result<Option<Vec<InstanceStatus>>, AwsError> {
    list.map(|l| {
        l.iter()
            .map(|s| {
                InstanceStatus::parse(s).ok_or_else(|| {
                    AwsError::new(
                        400,
                        "InvalidInstanceStatusException",
                        format!("The instance status {s} is not valid."),
                    )
                })
            })
            .collect()
    })
    .transpose()
}

/// A list answer, 100 at a time, `nextToken` the offset of the next page.
pub(super) fn page(b: &Body, items: Vec<String>, key: &str) -> Result<Value, AwsError> {
    page_values(b, items.into_iter().map(Value::String).collect(), key)
}

pub(super) fn page_values(b: &Body, items: Vec<Value>, key: &str) -> Result<Value, AwsError> {
    let start = match b.str("nextToken")? {
        None => 0,
        Some(t) => t.parse::<usize>().ok().filter(|n| *n <= items.len()).ok_or_else(|| {
            AwsError::new(
                400,
                "InvalidNextTokenException",
                "The next token was specified in an invalid format.",
            )
        })?,
    };
    let end = (start + PAGE).min(items.len());
    let mut v = json!({ key: items[start..end].to_vec() });
    if end < items.len() {
        v["nextToken"] = json!(end.to_string());
    }
    Ok(v)
}

pub(super) fn group_input(b: &Body) -> Result<GroupInput, AwsError> {
    let mut input = GroupInput {
        config: b.str("deploymentConfigName")?.map(str::to_string),
        service_role_arn: b.str("serviceRoleArn")?.map(str::to_string),
        autoscaling_groups: b.strings("autoScalingGroups")?,
        termination_hook_enabled: b.bool("terminationHookEnabled")?,
        ..GroupInput::default()
    };
    if let Some(filters) = b.get("ec2TagFilters") {
        let list = filters
            .as_array()
            .ok_or_else(|| AwsError::new(400, "InvalidEC2TagException", "ec2TagFilters must be a list."))?;
        let mut out = Vec::new();
        for f in list {
            let kind = match str_of(f, "Type", "ec2TagFilters")? {
                Some(t) => TagFilterType::parse(t).ok_or_else(|| {
                    AwsError::new(
                        400,
                        "InvalidEC2TagException",
                        format!("The tag filter type {t} is not valid."),
                    )
                })?,
                None => TagFilterType::KeyAndValue,
            };
            out.push(TagFilter {
                key: str_of(f, "Key", "ec2TagFilters")?.map(str::to_string),
                value: str_of(f, "Value", "ec2TagFilters")?.map(str::to_string),
                kind,
            });
        }
        input.ec2_tag_filters = Some(out);
    }
    if let Some(lb) = b.get("loadBalancerInfo") {
        let names = |key: &str| -> Result<Option<Vec<String>>, AwsError> {
            match lb.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.get("name")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .ok_or_else(|| {
                                AwsError::new(
                                    400,
                                    "InvalidLoadBalancerInfoException",
                                    format!("Each entry of loadBalancerInfo.{key} needs a name."),
                                )
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(AwsError::new(
                    400,
                    "InvalidLoadBalancerInfoException",
                    format!("loadBalancerInfo.{key} must be a list."),
                )),
            }
        };
        input.elb_names = Some(names("elbInfoList")?.unwrap_or_default());
        input.target_group_names = Some(names("targetGroupInfoList")?.unwrap_or_default());
    }
    if let Some(style) = b.get("deploymentStyle") {
        if let Some(t) = str_of(style, "deploymentType", "deploymentStyle")? {
            input.deployment_type = Some(DeploymentType::parse(t).ok_or_else(|| {
                AwsError::new(
                    400,
                    "InvalidDeploymentStyleException",
                    "Deployment type can only be IN_PLACE or BLUE_GREEN",
                )
            })?);
        }
        if let Some(o) = str_of(style, "deploymentOption", "deploymentStyle")? {
            input.deployment_option = Some(DeploymentOption::parse(o).ok_or_else(|| {
                AwsError::new(
                    400,
                    "InvalidDeploymentStyleException",
                    "Deployment option can only be WITH_TRAFFIC_CONTROL or WITHOUT_TRAFFIC_CONTROL",
                )
            })?);
        }
    }
    if let Some(r) = b.get("autoRollbackConfiguration") {
        input.auto_rollback = Some(auto_rollback_of(r)?);
    }
    if let Some(ts) = b.get("triggerConfigurations") {
        let list = ts.as_array().ok_or_else(|| {
            AwsError::new(
                400,
                "InvalidTriggerConfigException",
                "triggerConfigurations must be a list.",
            )
        })?;
        if list.len() > 10 {
            return Err(AwsError::new(
                400,
                "TriggerTargetsLimitExceededException",
                "The maximum allowed number of triggers was exceeded.",
            ));
        }
        let mut out = Vec::new();
        for t in list {
            let name = str_of(t, "triggerName", "triggerConfigurations")?.unwrap_or_default();
            let target = str_of(t, "triggerTargetArn", "triggerConfigurations")?.unwrap_or_default();
            if name.is_empty() || !target.starts_with("arn:aws:sns:") {
                return Err(AwsError::new(
                    400,
                    "InvalidTriggerConfigException",
                    format!("The trigger '{name}' needs a name and an SNS topic ARN (got '{target}')."),
                ));
            }
            let events = enum_list(
                t.get("triggerEvents"),
                "triggerEvents",
                TriggerEventType::parse,
                "InvalidTriggerConfigException",
                "trigger event type",
            )?;
            out.push(Trigger {
                name: name.to_string(),
                target_arn: target.to_string(),
                events,
            });
        }
        input.triggers = Some(out);
    }
    if let Some(s) = b.str("outdatedInstancesStrategy")? {
        input.outdated_instances_strategy = Some(OutdatedInstancesStrategy::parse(s).ok_or_else(|| {
            AwsError::new(
                400,
                "InvalidInputException",
                format!("outdatedInstancesStrategy {s} is not valid: use UPDATE or IGNORE."),
            )
        })?);
    }
    Ok(input)
}

/// A list of enumerated values; an unknown one is refused with `code`, naming it.
pub(super) fn enum_list<T>(
    v: Option<&Value>,
    key: &str,
    parse: fn(&str) -> Option<T>,
    code: &str,
    what: &str,
) -> Result<Vec<T>, AwsError> {
    strings_of(v, key)?
        .unwrap_or_default()
        .iter()
        .map(|e| parse(e).ok_or_else(|| AwsError::new(400, code, format!("The {what} {e} is not valid."))))
        .collect()
}

pub(super) fn auto_rollback_of(v: &Value) -> Result<AutoRollback, AwsError> {
    let events = enum_list(
        v.get("events"),
        "autoRollbackConfiguration.events",
        AutoRollbackEvent::parse,
        "InvalidAutoRollbackConfigException",
        "automatic rollback event",
    )?;
    let enabled = v.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    if enabled && events.is_empty() {
        return Err(AwsError::new(
            400,
            "InvalidAutoRollbackConfigException",
            "Automatic rollback is enabled but no events are specified.",
        ));
    }
    Ok(AutoRollback { enabled, events })
}

pub(super) fn revision_of(v: &Value) -> Result<Revision, AwsError> {
    let invalid = |m: String| AwsError::new(400, "InvalidRevisionException", m);
    let kind = match str_of(v, "revisionType", "revision")? {
        Some(t) => RevisionType::parse(t).ok_or_else(|| invalid(format!("The revision type {t} is not valid.")))?,
        None => return Err(invalid("The revision needs a revisionType.".into())),
    };
    let mut r = Revision {
        kind,
        bucket: None,
        key: None,
        bundle_type: None,
        version: None,
        etag: None,
        repository: None,
        commit_id: None,
        content: None,
    };
    match kind {
        RevisionType::S3 => {
            let s3 = v.get("s3Location").cloned().unwrap_or(Value::Null);
            r.bucket = str_of(&s3, "bucket", "revision.s3Location")?.map(str::to_string);
            r.key = str_of(&s3, "key", "revision.s3Location")?.map(str::to_string);
            r.version = str_of(&s3, "version", "revision.s3Location")?.map(str::to_string);
            r.etag = str_of(&s3, "eTag", "revision.s3Location")?.map(str::to_string);
            r.bundle_type = match str_of(&s3, "bundleType", "revision.s3Location")? {
                Some(t) => {
                    Some(BundleType::parse(t).ok_or_else(|| invalid(format!("The bundle type {t} is not valid.")))?)
                }
                None => None,
            };
        }
        RevisionType::GitHub => {
            let gh = v.get("gitHubLocation").cloned().unwrap_or(Value::Null);
            r.repository = str_of(&gh, "repository", "revision.gitHubLocation")?.map(str::to_string);
            r.commit_id = str_of(&gh, "commitId", "revision.gitHubLocation")?.map(str::to_string);
        }
        RevisionType::String => {
            let s = v.get("string").cloned().unwrap_or(Value::Null);
            r.content = str_of(&s, "content", "revision.string")?.map(str::to_string);
        }
        RevisionType::AppSpecContent => {
            let s = v.get("appSpecContent").cloned().unwrap_or(Value::Null);
            r.content = str_of(&s, "content", "revision.appSpecContent")?.map(str::to_string);
        }
    }
    Ok(r)
}

/// CreateDeploymentConfig's `minimumHealthyHosts` and `zonalConfig` (types only; the world checks
/// the values).
pub(super) fn deployment_config(b: &Body) -> Result<(MinimumHealthyHosts, Option<ZonalConfig>), AwsError> {
    const HOSTS: &str = "InvalidMinimumHealthyHostValueException";
    let Some(h) = b.get("minimumHealthyHosts") else {
        return Err(AwsError::new(
            400,
            HOSTS,
            "A server deployment configuration needs minimumHealthyHosts.",
        ));
    };
    let hosts = minimum_hosts(h, "minimumHealthyHosts", HOSTS)?;
    let zonal = match b.get("zonalConfig") {
        None | Some(Value::Null) => None,
        Some(z) => Some(zonal_config(z, b.str("computePlatform")?)?),
    };
    Ok((hosts, zonal))
}

/// A `{type, value}` minimum, refused with `code` when its type is not HOST_COUNT or FLEET_PERCENT
/// or its value is not an integer.
fn minimum_hosts(h: &Value, path: &str, code: &str) -> Result<MinimumHealthyHosts, AwsError> {
    let kind = match str_of(h, "type", path)? {
        Some("HOST_COUNT") => MinimumHealthyHostsType::HostCount,
        Some("FLEET_PERCENT") => MinimumHealthyHostsType::FleetPercent,
        other => {
            return Err(AwsError::new(
                400,
                code,
                format!(
                    "The minimum healthy hosts type {} is not valid: use HOST_COUNT or FLEET_PERCENT.",
                    other.unwrap_or("(none)")
                ),
            ))
        }
    };
    let value = h
        .get("value")
        .and_then(Value::as_i64)
        .ok_or_else(|| AwsError::new(400, code, format!("{path} needs an integer value.")))?;
    Ok(MinimumHealthyHosts { kind, value })
}

/// `zonalConfig`: only for the EC2/On-premises platform (zonal deployments are in-place
/// deployments to EC2 instances).
fn zonal_config(z: &Value, platform: Option<&str>) -> Result<ZonalConfig, AwsError> {
    const ZONAL: &str = "InvalidZonalDeploymentConfigurationException";
    if let Some(p) = platform.filter(|p| *p != "Server") {
        return Err(AwsError::new(
            400,
            ZONAL,
            format!(
                "The ZonalConfig object is not valid: zonal configuration is for the Server compute platform, not {p}."
            ),
        ));
    }
    let seconds = |key: &str| -> Result<Option<i64>, AwsError> {
        match z.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                AwsError::new(
                    400,
                    "SerializationException",
                    format!("Member 'zonalConfig.{key}' must be a number."),
                )
            }),
        }
    };
    let per_zone = match z.get("minimumHealthyHostsPerZone") {
        None | Some(Value::Null) => None,
        Some(h) => Some(minimum_hosts(h, "zonalConfig.minimumHealthyHostsPerZone", ZONAL)?),
    };
    Ok(ZonalConfig {
        first_zone_monitor_seconds: seconds("firstZoneMonitorDurationInSeconds")?,
        monitor_seconds: seconds("monitorDurationInSeconds")?,
        per_zone,
    })
}
