//! CodeDeploy (JSON 1.1, `X-Amz-Target: CodeDeploy_20141006.*`): one function per action, each
//! decoding the request document, calling the world's CodeDeploy room and writing the answer.

use serde_json::{json, Value};

use crate::model::codedeploy::*;
use crate::protocol::error::AwsError;
use crate::protocol::json::{str_of, strings_of, Body};
use crate::world::codedeploy::{overview_json, DeploymentInput, GroupInput};
use crate::world::World;

/// The `X-Amz-Target` prefix.
pub const TARGET_PREFIX: &str = "CodeDeploy_20141006.";

/// Page size of the List actions (AWS pages CodeDeploy lists by 100).
const PAGE: usize = 100;

/// Most items a BatchGet action takes.
const BATCH: usize = 100;

/// Whether an action only reads.
pub fn read_only(action: &str) -> bool {
    ["Get", "List", "BatchGet"].iter().any(|p| action.starts_with(p))
}

/// Runs one action.
pub fn handle(w: &mut World, action: &str, b: &Body) -> Result<Value, AwsError> {
    match action {
        "CreateApplication" => {
            let name = app_name(b)?;
            let platform =
                enum_member(b, "computePlatform", ComputePlatform::parse)?.unwrap_or(ComputePlatform::Server);
            Ok(json!({ "applicationId": w.create_application(name, platform)? }))
        }
        "GetApplication" => {
            let name = app_name(b)?;
            let app = w.codedeploy_application(name)?;
            Ok(json!({ "application": application_json(app) }))
        }
        "BatchGetApplications" => {
            let names = b.strings("applicationNames")?.unwrap_or_default();
            batch_limit(names.len())?;
            let apps = names
                .iter()
                .map(|n| w.codedeploy_application(n).map(application_json))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({ "applicationsInfo": apps }))
        }
        "ListApplications" => {
            let names: Vec<String> = w.codedeploy_applications().map(|a| a.name.clone()).collect();
            page(b, names, "applications")
        }
        "DeleteApplication" => {
            w.delete_application(app_name(b)?)?;
            Ok(json!({}))
        }
        "CreateDeploymentGroup" => {
            let app = app_name(b)?;
            let name = group_name(b, "deploymentGroupName")?;
            let input = group_input(b)?;
            Ok(json!({ "deploymentGroupId": w.create_deployment_group(app, name, input)? }))
        }
        "GetDeploymentGroup" => {
            let app = app_name(b)?;
            let name = group_name(b, "deploymentGroupName")?;
            let g = w.deployment_group(app, name)?;
            Ok(json!({ "deploymentGroupInfo": group_json(w, g) }))
        }
        "BatchGetDeploymentGroups" => {
            let app = app_name(b)?;
            let names = b.strings("deploymentGroupNames")?.unwrap_or_default();
            batch_limit(names.len())?;
            let mut out = Vec::new();
            let mut missing = Vec::new();
            for n in &names {
                match w.deployment_group(app, n) {
                    Ok(g) => out.push(group_json(w, g)),
                    Err(_) => missing.push(n.clone()),
                }
            }
            let mut v = json!({ "deploymentGroupsInfo": out });
            if !missing.is_empty() {
                v["errorMessage"] = json!(format!("Deployment groups not found: {}", missing.join(", ")));
            }
            Ok(v)
        }
        "UpdateDeploymentGroup" => {
            let app = app_name(b)?;
            let name = group_name(b, "currentDeploymentGroupName")?;
            let mut input = group_input(b)?;
            input.new_name = b.str("newDeploymentGroupName")?.map(str::to_string);
            let not_cleaned = w.update_deployment_group(app, name, input)?;
            Ok(json!({ "hooksNotCleanedUp": hooks_json(&not_cleaned) }))
        }
        "DeleteDeploymentGroup" => {
            let app = app_name(b)?;
            let name = group_name(b, "deploymentGroupName")?;
            let not_cleaned = w.delete_deployment_group(app, name)?;
            Ok(json!({ "hooksNotCleanedUp": hooks_json(&not_cleaned) }))
        }
        "ListDeploymentGroups" => {
            let app = app_name(b)?;
            let names: Vec<String> = w.deployment_group_names(app)?;
            let mut v = page(b, names, "deploymentGroups")?;
            v["applicationName"] = json!(app);
            Ok(v)
        }
        "CreateDeploymentConfig" => {
            let name = config_name(b)?;
            let Some(h) = b.get("minimumHealthyHosts") else {
                return Err(AwsError::new(
                    400,
                    "InvalidMinimumHealthyHostValueException",
                    "A server deployment configuration needs minimumHealthyHosts.",
                ));
            };
            let kind = match str_of(h, "type", "minimumHealthyHosts")? {
                Some("HOST_COUNT") => MinimumHealthyHostsType::HostCount,
                Some("FLEET_PERCENT") => MinimumHealthyHostsType::FleetPercent,
                other => {
                    return Err(AwsError::new(
                        400,
                        "InvalidMinimumHealthyHostValueException",
                        format!(
                            "The minimum healthy hosts type {} is not valid: use HOST_COUNT or FLEET_PERCENT.",
                            other.unwrap_or("(none)")
                        ),
                    ))
                }
            };
            let value = h.get("value").and_then(Value::as_i64).ok_or_else(|| {
                AwsError::new(
                    400,
                    "InvalidMinimumHealthyHostValueException",
                    "minimumHealthyHosts needs an integer value.",
                )
            })?;
            let id = w.create_deployment_config(name, MinimumHealthyHosts { kind, value })?;
            Ok(json!({ "deploymentConfigId": id }))
        }
        "GetDeploymentConfig" => {
            let c = w.deployment_config(config_name(b)?)?;
            Ok(json!({ "deploymentConfigInfo": {
                "deploymentConfigId": c.id,
                "deploymentConfigName": c.name,
                "minimumHealthyHosts": {
                    "type": c.minimum_healthy_hosts.kind.as_str(),
                    "value": c.minimum_healthy_hosts.value,
                },
                "createTime": secs(c.created_ms),
                "computePlatform": c.compute_platform.as_str(),
            }}))
        }
        "ListDeploymentConfigs" => page(b, w.deployment_config_names(), "deploymentConfigsList"),
        "DeleteDeploymentConfig" => {
            w.delete_deployment_config(config_name(b)?)?;
            Ok(json!({}))
        }
        "CreateDeployment" => {
            let app = app_name(b)?;
            let group = group_name(b, "deploymentGroupName")?;
            let Some(r) = b.get("revision") else {
                return Err(AwsError::new(
                    400,
                    "RevisionRequiredException",
                    "A revision must be specified.",
                ));
            };
            let revision = revision_of(r)?;
            let description = b.str("description")?.map(str::to_string);
            if description.as_ref().is_some_and(|d| d.len() > 100) {
                return Err(AwsError::new(
                    400,
                    "DescriptionTooLongException",
                    "The description is too long: at most 100 characters.",
                ));
            }
            let id = w.create_deployment(DeploymentInput {
                application: app.to_string(),
                group: group.to_string(),
                revision,
                config: b.str("deploymentConfigName")?.map(str::to_string),
                description,
                creator: DeploymentCreator::User,
                ignore_application_stop_failures: b.bool("ignoreApplicationStopFailures")?.unwrap_or(false),
                update_outdated_instances_only: b.bool("updateOutdatedInstancesOnly")?.unwrap_or(false),
                auto_rollback: b.get("autoRollbackConfiguration").map(auto_rollback_of).transpose()?,
            })?;
            Ok(json!({ "deploymentId": id }))
        }
        "GetDeployment" => {
            let d = w.deployment(deployment_id(b)?)?;
            Ok(json!({ "deploymentInfo": deployment_json(w, d) }))
        }
        "BatchGetDeployments" => {
            let ids = b.strings("deploymentIds")?.unwrap_or_default();
            batch_limit(ids.len())?;
            let mut out = Vec::new();
            for id in &ids {
                crate::world::codedeploy::check_deployment_id(id)?;
                if let Ok(d) = w.deployment(id) {
                    out.push(deployment_json(w, d));
                }
            }
            Ok(json!({ "deploymentsInfo": out }))
        }
        "ListDeployments" => {
            let app = b.str("applicationName")?;
            let group = b.str("deploymentGroupName")?;
            match (app, group) {
                (Some(a), Some(g)) => {
                    w.deployment_group(a, g)?;
                }
                (Some(_), None) => {
                    return Err(AwsError::new(
                        400,
                        "DeploymentGroupNameRequiredException",
                        "If applicationName is specified, then deploymentGroupName must be specified.",
                    ))
                }
                (None, Some(_)) => {
                    return Err(AwsError::new(
                        400,
                        "ApplicationNameRequiredException",
                        "If deploymentGroupName is specified, applicationName must be specified.",
                    ))
                }
                (None, None) => {}
            }
            let statuses = match b.strings("includeOnlyStatuses")? {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .map(|s| {
                            DeploymentStatus::parse(s).ok_or_else(|| {
                                AwsError::new(
                                    400,
                                    "InvalidDeploymentStatusException",
                                    format!("The deployment status {s} is not valid."),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            let (from, to) = match b.get("createTimeRange") {
                Some(r) => (
                    r.get("start").and_then(Value::as_f64).map(|s| (s * 1000.0) as i64),
                    r.get("end").and_then(Value::as_f64).map(|s| (s * 1000.0) as i64),
                ),
                None => (None, None),
            };
            // Newest first, as AWS lists them.
            let ids: Vec<String> = w
                .codedeploy_deployments()
                .rev()
                .filter(|d| app.is_none_or(|a| d.application == a) && group.is_none_or(|g| d.group == g))
                .filter(|d| statuses.as_ref().is_none_or(|s| s.contains(&d.status)))
                .filter(|d| from.is_none_or(|f| d.created_ms >= f) && to.is_none_or(|t| d.created_ms <= t))
                .map(|d| d.id.clone())
                .collect();
            page(b, ids, "deployments")
        }
        "StopDeployment" => {
            let id = deployment_id(b)?;
            w.stop_deployment(id)?;
            Ok(json!({ "status": "Succeeded", "statusMessage": "Deployment stopped." }))
        }
        "ListDeploymentInstances" => {
            let d = started(w.deployment(deployment_id(b)?)?)?;
            let filter = instance_statuses(b.strings("instanceStatusFilter")?)?;
            let ids: Vec<String> = d
                .order
                .iter()
                .filter(|i| filter.as_ref().is_none_or(|f| f.contains(&d.instances[*i].status)))
                .cloned()
                .collect();
            page(b, ids, "instancesList")
        }
        "ListDeploymentTargets" => {
            let d = started(w.deployment(deployment_id(b)?)?)?;
            let filter = match b.get("targetFilters") {
                Some(f) => instance_statuses(strings_of(f.get("TargetStatus"), "targetFilters.TargetStatus")?)?,
                None => None,
            };
            let ids: Vec<String> = d
                .order
                .iter()
                .filter(|i| filter.as_ref().is_none_or(|f| f.contains(&d.instances[*i].status)))
                .cloned()
                .collect();
            page(b, ids, "targetIds")
        }
        "GetDeploymentInstance" => {
            let d = w.deployment(deployment_id(b)?)?;
            let instance = b.required(
                "instanceId",
                "InstanceIdRequiredException",
                "The instance ID was not specified.",
            )?;
            Ok(json!({ "instanceSummary": instance_summary(w, d, instance)? }))
        }
        "BatchGetDeploymentInstances" => {
            let d = w.deployment(deployment_id(b)?)?;
            let ids = b.strings("instanceIds")?.unwrap_or_default();
            if ids.is_empty() {
                return Err(AwsError::new(
                    400,
                    "InstanceIdRequiredException",
                    "The instance ID was not specified.",
                ));
            }
            batch_limit(ids.len())?;
            let mut out = Vec::new();
            let mut missing = Vec::new();
            for i in &ids {
                match instance_summary(w, d, i) {
                    Ok(s) => out.push(s),
                    Err(_) => missing.push(i.clone()),
                }
            }
            let mut v = json!({ "instancesSummary": out });
            if !missing.is_empty() {
                v["errorMessage"] = json!(format!("Instances not part of the deployment: {}", missing.join(", ")));
            }
            Ok(v)
        }
        "BatchGetDeploymentTargets" => {
            let d = w.deployment(deployment_id(b)?)?;
            let ids = b.strings("targetIds")?.unwrap_or_default();
            if ids.is_empty() {
                return Err(AwsError::new(
                    400,
                    "DeploymentTargetIdRequiredException",
                    "A deployment target ID was not provided.",
                ));
            }
            if ids.len() > 25 {
                return Err(AwsError::new(
                    400,
                    "DeploymentTargetListSizeExceededException",
                    "The maximum number of targets that can be associated with a deployment is 25.",
                ));
            }
            let out = ids
                .iter()
                .map(|t| target_json(w, d, t))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({ "deploymentTargets": out }))
        }
        "GetDeploymentTarget" => {
            let d = w.deployment(deployment_id(b)?)?;
            let t = b.required(
                "targetId",
                "DeploymentTargetIdRequiredException",
                "A deployment target ID was not provided.",
            )?;
            Ok(json!({ "deploymentTarget": target_json(w, d, t)? }))
        }
        "RegisterApplicationRevision" => {
            let app = app_name(b)?;
            let Some(r) = b.get("revision") else {
                return Err(AwsError::new(
                    400,
                    "RevisionRequiredException",
                    "A revision must be specified.",
                ));
            };
            let description = b.str("description")?.map(str::to_string);
            w.register_revision(app, revision_of(r)?, description)?;
            Ok(json!({}))
        }
        "GetApplicationRevision" => {
            let app = app_name(b)?;
            let Some(r) = b.get("revision") else {
                return Err(AwsError::new(
                    400,
                    "RevisionRequiredException",
                    "A revision must be specified.",
                ));
            };
            let reg = w.application_revision(app, &revision_of(r)?)?;
            Ok(json!({
                "applicationName": app,
                "revision": revision_json(&reg.revision),
                "revisionInfo": revision_info_json(reg),
            }))
        }
        "ListApplicationRevisions" => {
            let app = app_name(b)?;
            let bucket = b.str("s3Bucket")?;
            let prefix = b.str("s3KeyPrefix")?;
            let deployed = b.str("deployed")?.unwrap_or("ignore");
            let mut revs: Vec<&RegisteredRevision> = w
                .application_revisions(app)?
                .iter()
                .filter(|r| bucket.is_none_or(|x| r.revision.bucket.as_deref() == Some(x)))
                .filter(|r| prefix.is_none_or(|p| r.revision.key.as_deref().is_some_and(|k| k.starts_with(p))))
                .filter(|r| match deployed {
                    "include" => r.first_used_ms.is_some(),
                    "exclude" => r.first_used_ms.is_none(),
                    _ => true,
                })
                .collect();
            match b.str("sortBy")? {
                Some("firstUsedTime") => revs.sort_by_key(|r| r.first_used_ms),
                Some("lastUsedTime") => revs.sort_by_key(|r| r.last_used_ms),
                _ => revs.sort_by_key(|r| r.registered_ms),
            }
            if b.str("sortOrder")? == Some("descending") {
                revs.reverse();
            }
            let all: Vec<Value> = revs.iter().map(|r| revision_json(&r.revision)).collect();
            page_values(b, all, "revisions")
        }
        other => Err(AwsError::new(
            400,
            "UnknownOperationException",
            format!("fakeaws does not serve CodeDeploy action {other}."),
        )),
    }
}

/// The resource a CodeDeploy call acts on, as IAM evaluates it.
pub fn resource_of(w: &World, action: &str, b: &Body) -> String {
    let app = b.str("applicationName").ok().flatten();
    let group_of = |app: Option<&str>, group: Option<&str>| match (app, group) {
        (Some(a), Some(g)) => w.arn("codedeploy", &format!("deploymentgroup:{a}/{g}")),
        _ => "*".to_string(),
    };
    match action {
        "CreateApplication"
        | "GetApplication"
        | "DeleteApplication"
        | "RegisterApplicationRevision"
        | "GetApplicationRevision"
        | "ListApplicationRevisions"
        | "ListDeploymentGroups" => match app {
            Some(a) => w.arn("codedeploy", &format!("application:{a}")),
            None => "*".into(),
        },
        "CreateDeploymentGroup"
        | "GetDeploymentGroup"
        | "DeleteDeploymentGroup"
        | "CreateDeployment"
        | "ListDeployments" => group_of(app, b.str("deploymentGroupName").ok().flatten()),
        "UpdateDeploymentGroup" => group_of(app, b.str("currentDeploymentGroupName").ok().flatten()),
        "GetDeployment"
        | "StopDeployment"
        | "ListDeploymentInstances"
        | "GetDeploymentInstance"
        | "BatchGetDeploymentInstances"
        | "ListDeploymentTargets"
        | "BatchGetDeploymentTargets" => {
            match b
                .str("deploymentId")
                .ok()
                .flatten()
                .and_then(|id| w.deployment(id).ok())
            {
                Some(d) => group_of(Some(&d.application), Some(&d.group)),
                None => "*".into(),
            }
        }
        "CreateDeploymentConfig" | "GetDeploymentConfig" | "DeleteDeploymentConfig" => {
            match b.str("deploymentConfigName").ok().flatten() {
                Some(c) => w.arn("codedeploy", &format!("deploymentconfig:{c}")),
                None => "*".into(),
            }
        }
        _ => "*".into(),
    }
}

fn app_name(b: &Body) -> Result<&str, AwsError> {
    b.required(
        "applicationName",
        "ApplicationNameRequiredException",
        "The minimum number of required application names was not specified.",
    )
}

fn group_name<'a>(b: &'a Body, key: &str) -> Result<&'a str, AwsError> {
    b.required(
        key,
        "DeploymentGroupNameRequiredException",
        "The deployment group name was not specified.",
    )
}

fn config_name(b: &Body) -> Result<&str, AwsError> {
    b.required(
        "deploymentConfigName",
        "DeploymentConfigNameRequiredException",
        "The deployment configuration name was not specified.",
    )
}

fn deployment_id(b: &Body) -> Result<&str, AwsError> {
    b.required(
        "deploymentId",
        "DeploymentIdRequiredException",
        "At least one deployment ID must be specified.",
    )
}

/// A deployment whose instances can be listed: one the engine has started.
fn started(d: &Deployment) -> Result<&Deployment, AwsError> {
    if d.status == DeploymentStatus::Created {
        return Err(AwsError::new(
            400,
            "DeploymentNotStartedException",
            "The specified deployment has not started.",
        ));
    }
    Ok(d)
}

fn batch_limit(n: usize) -> Result<(), AwsError> {
    if n > BATCH {
        return Err(AwsError::new(
            400,
            "BatchLimitExceededException",
            format!("The maximum number of names or IDs allowed for this request ({BATCH}) was exceeded."),
        ));
    }
    Ok(())
}

fn enum_member<T>(b: &Body, key: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, AwsError> {
    match b.str(key)? {
        None => Ok(None),
        Some(s) => parse(s)
            .map(Some)
            .ok_or_else(|| AwsError::new(400, "InvalidInputException", format!("{key} {s} is not valid."))),
    }
}

fn instance_statuses(list: Option<Vec<String>>) -> Result<Option<Vec<InstanceStatus>>, AwsError> {
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
fn page(b: &Body, items: Vec<String>, key: &str) -> Result<Value, AwsError> {
    page_values(b, items.into_iter().map(Value::String).collect(), key)
}

fn page_values(b: &Body, items: Vec<Value>, key: &str) -> Result<Value, AwsError> {
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

fn group_input(b: &Body) -> Result<GroupInput, AwsError> {
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
fn enum_list<T>(
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

fn auto_rollback_of(v: &Value) -> Result<AutoRollback, AwsError> {
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

fn revision_of(v: &Value) -> Result<Revision, AwsError> {
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

/// Epoch seconds with milliseconds, as CodeDeploy writes times.
fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn application_json(a: &Application) -> Value {
    json!({
        "applicationId": a.id,
        "applicationName": a.name,
        "createTime": secs(a.created_ms),
        "linkedToGitHub": false,
        "computePlatform": a.compute_platform.as_str(),
    })
}

fn hooks_json(asgs: &[String]) -> Value {
    Value::Array(asgs.iter().map(|a| json!({ "name": a })).collect())
}

fn revision_json(r: &Revision) -> Value {
    let mut v = json!({ "revisionType": r.kind.as_str() });
    match r.kind {
        RevisionType::S3 => {
            let mut s3 = json!({ "bucket": r.bucket, "key": r.key });
            if let Some(t) = r.bundle_type {
                s3["bundleType"] = json!(t.as_str());
            }
            if let Some(x) = &r.version {
                s3["version"] = json!(x);
            }
            if let Some(x) = &r.etag {
                s3["eTag"] = json!(x);
            }
            v["s3Location"] = s3;
        }
        RevisionType::GitHub => {
            v["gitHubLocation"] = json!({ "repository": r.repository, "commitId": r.commit_id });
        }
        RevisionType::String => v["string"] = json!({ "content": r.content }),
        RevisionType::AppSpecContent => v["appSpecContent"] = json!({ "content": r.content }),
    }
    v
}

fn revision_info_json(r: &RegisteredRevision) -> Value {
    let mut v = json!({
        "deploymentGroups": r.deployment_groups,
        "registerTime": secs(r.registered_ms),
    });
    if let Some(d) = &r.description {
        v["description"] = json!(d);
    }
    if let Some(t) = r.first_used_ms {
        v["firstUsedTime"] = json!(secs(t));
    }
    if let Some(t) = r.last_used_ms {
        v["lastUsedTime"] = json!(secs(t));
    }
    v
}

fn last_deployment_json(w: &World, id: &Option<String>) -> Option<Value> {
    let d = w.deployment(id.as_deref()?).ok()?;
    let mut v = json!({
        "deploymentId": d.id,
        "status": d.status.as_str(),
        "createTime": secs(d.created_ms),
    });
    if let Some(t) = d.completed_ms {
        v["endTime"] = json!(secs(t));
    }
    Some(v)
}

fn load_balancer_json(elbs: &[String], tgs: &[String]) -> Value {
    json!({
        "elbInfoList": elbs.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>(),
        "targetGroupInfoList": tgs.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>(),
    })
}

fn group_json(w: &World, g: &DeploymentGroup) -> Value {
    let mut v = json!({
        "applicationName": g.application,
        "deploymentGroupId": g.id,
        "deploymentGroupName": g.name,
        "deploymentConfigName": g.config,
        "ec2TagFilters": g.ec2_tag_filters.iter().map(|f| {
            let mut t = json!({ "Type": f.kind.as_str() });
            if let Some(k) = &f.key { t["Key"] = json!(k); }
            if let Some(x) = &f.value { t["Value"] = json!(x); }
            t
        }).collect::<Vec<_>>(),
        "onPremisesInstanceTagFilters": [],
        "autoScalingGroups": g.autoscaling_groups.iter().map(|(n, h)| {
            let mut a = json!({ "name": n, "hook": h });
            if g.termination_hook_enabled {
                a["terminationHook"] = json!(crate::world::codedeploy::termination_hook_name(&g.name));
            }
            a
        }).collect::<Vec<_>>(),
        "serviceRoleArn": g.service_role_arn,
        "triggerConfigurations": g.triggers.iter().map(|t| json!({
            "triggerName": t.name,
            "triggerTargetArn": t.target_arn,
            "triggerEvents": t.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "alarmConfiguration": { "enabled": false, "ignorePollAlarmFailure": false, "alarms": [] },
        "autoRollbackConfiguration": auto_rollback_json(&g.auto_rollback),
        "deploymentStyle": {
            "deploymentType": g.deployment_type.as_str(),
            "deploymentOption": g.deployment_option.as_str(),
        },
        "outdatedInstancesStrategy": g.outdated_instances_strategy.as_str(),
        "loadBalancerInfo": load_balancer_json(&g.elb_names, &g.target_group_names),
        "computePlatform": "Server",
        "terminationHookEnabled": g.termination_hook_enabled,
    });
    if let Some(r) = &g.target_revision {
        v["targetRevision"] = revision_json(r);
    }
    if let Some(x) = last_deployment_json(w, &g.last_successful) {
        v["lastSuccessfulDeployment"] = x;
    }
    if let Some(x) = last_deployment_json(w, &g.last_attempted) {
        v["lastAttemptedDeployment"] = x;
    }
    v
}

fn auto_rollback_json(r: &AutoRollback) -> Value {
    json!({
        "enabled": r.enabled,
        "events": r.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
    })
}

fn deployment_json(w: &World, d: &Deployment) -> Value {
    let mut v = json!({
        "applicationName": d.application,
        "deploymentGroupName": d.group,
        "deploymentConfigName": d.config,
        "deploymentId": d.id,
        "revision": revision_json(&d.revision),
        "status": d.status.as_str(),
        "createTime": secs(d.created_ms),
        "deploymentOverview": overview_json(d),
        "creator": d.creator.as_str(),
        "ignoreApplicationStopFailures": d.ignore_application_stop_failures,
        "autoRollbackConfiguration": auto_rollback_json(&d.auto_rollback),
        "updateOutdatedInstancesOnly": d.update_outdated_instances_only,
        "deploymentStyle": {
            "deploymentType": "IN_PLACE",
            "deploymentOption": d.deployment_option.as_str(),
        },
        "instanceTerminationWaitTimeStarted": false,
        "fileExistsBehavior": "DISALLOW",
        "deploymentStatusMessages": [],
        "computePlatform": "Server",
    });
    if let Ok(g) = w.deployment_group(&d.application, &d.group) {
        v["loadBalancerInfo"] = load_balancer_json(&g.elb_names, &g.target_group_names);
    }
    if let Some(p) = &d.previous_revision {
        v["previousRevision"] = revision_json(p);
    }
    if let Some(x) = &d.description {
        v["description"] = json!(x);
    }
    if let Some(t) = d.started_ms {
        v["startTime"] = json!(secs(t));
    }
    if let Some(t) = d.completed_ms {
        v["completeTime"] = json!(secs(t));
    }
    if let Some(e) = &d.error {
        v["errorInformation"] = json!({ "code": e.code, "message": e.message });
    }
    let mut rollback = serde_json::Map::new();
    if let Some(by) = &d.rolled_back_by {
        rollback.insert("rollbackDeploymentId".into(), json!(by));
        rollback.insert(
            "rollbackMessage".into(),
            json!(format!(
                "Deployment {by} is triggered to roll back deployment {}.",
                d.id
            )),
        );
    }
    if let Some(of) = &d.rollback_of {
        rollback.insert("rollbackTriggeringDeploymentId".into(), json!(of));
    }
    if !rollback.is_empty() {
        v["rollbackInfo"] = Value::Object(rollback);
    }
    v
}

fn events_json(inst: &DeploymentInstance) -> Value {
    Value::Array(
        inst.events
            .iter()
            .map(|e| {
                let mut v = json!({ "lifecycleEventName": e.name, "status": e.status.as_str() });
                if let Some(t) = e.start_ms {
                    v["startTime"] = json!(secs(t));
                }
                if let Some(t) = e.end_ms {
                    v["endTime"] = json!(secs(t));
                }
                if let Some(d) = &e.diagnostics {
                    v["diagnostics"] = json!({
                        "errorCode": d.error_code,
                        "scriptName": d.script_name,
                        "message": d.message,
                        "logTail": d.log_tail,
                    });
                }
                v
            })
            .collect(),
    )
}

fn target_json(w: &World, d: &Deployment, target: &str) -> Result<Value, AwsError> {
    let Some(inst) = d.instances.get(target) else {
        return Err(AwsError::new(
            400,
            "DeploymentTargetDoesNotExistException",
            format!("The target {target} is not part of deployment {}.", d.id),
        ));
    };
    Ok(json!({
        "deploymentTargetType": "InstanceTarget",
        "instanceTarget": {
            "deploymentId": d.id,
            "targetId": target,
            "targetArn": w.arn("ec2", &format!("instance/{target}")),
            "status": inst.status.as_str(),
            "lastUpdatedAt": secs(inst.updated_ms),
            "lifecycleEvents": events_json(inst),
        }
    }))
}

fn instance_summary(w: &World, d: &Deployment, instance: &str) -> Result<Value, AwsError> {
    let Some(inst) = d.instances.get(instance) else {
        return Err(AwsError::new(
            400,
            "InstanceDoesNotExistException",
            format!("The instance {instance} is not part of deployment {}.", d.id),
        ));
    };
    Ok(json!({
        "deploymentId": d.id,
        "instanceId": w.arn("ec2", &format!("instance/{instance}")),
        "status": inst.status.as_str(),
        "lastUpdatedAt": secs(inst.updated_ms),
        "lifecycleEvents": events_json(inst),
    }))
}
