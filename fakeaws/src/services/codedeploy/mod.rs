//! CodeDeploy (JSON 1.1, `X-Amz-Target: CodeDeploy_20141006.*`): one arm per action, each
//! decoding the request document (`decode`), calling the world's CodeDeploy room and writing the
//! answer (`encode`); and the resource IAM evaluates each action on.

mod decode;
mod encode;

use crate::services::table::{Action, Change, Resource, Service, Unknown};
use serde_json::{json, Value};

use crate::model::codedeploy::*;
use crate::protocol::error::AwsError;
use crate::protocol::json::{strings_of, Body};
use crate::world::codedeploy::DeploymentInput;

use decode::*;
use encode::*;

/// The `X-Amz-Target` prefix.
pub const TARGET_PREFIX: &str = "CodeDeploy_20141006.";

/// CodeDeploy (JSON 1.1, `X-Amz-Target: CodeDeploy_20141006.*`).
pub(crate) const SERVICE: Service<Body, Value> = Service {
    signing_name: "codedeploy",
    version: "2014-10-06",
    namespace: "",
    title: "CodeDeploy",
    unknown: Unknown::UnknownOperation,
    actions: &[ACTIONS],
};

/// Every action of this table: name, whether it changes the world, IAM resource, handler.
pub(crate) const ACTIONS: &[Action<Body, Value>] = &[
    Action {
        name: "CreateApplication",
        changes: Change::Fleet,
        resource: Resource::Application,
        handler: |w, b| {
            let name = app_name(b)?;
            let platform =
                enum_member(b, "computePlatform", ComputePlatform::parse)?.unwrap_or(ComputePlatform::Server);
            Ok(json!({ "applicationId": w.create_application(name, platform)? }))
        },
    },
    Action {
        name: "GetApplication",
        changes: Change::Nothing,
        resource: Resource::Application,
        handler: |w, b| {
            let name = app_name(b)?;
            let app = w.codedeploy_application(name)?;
            Ok(json!({ "application": application_json(app) }))
        },
    },
    Action {
        name: "BatchGetApplications",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |w, b| {
            let names = b.strings("applicationNames")?.unwrap_or_default();
            batch_limit(names.len())?;
            let apps = names
                .iter()
                .map(|n| w.codedeploy_application(n).map(application_json))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({ "applicationsInfo": apps }))
        },
    },
    Action {
        name: "ListApplications",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |w, b| {
            let names: Vec<String> = w.codedeploy_applications().map(|a| a.name.clone()).collect();
            page(b, names, "applications")
        },
    },
    Action {
        name: "DeleteApplication",
        changes: Change::Fleet,
        resource: Resource::Application,
        handler: |w, b| {
            w.delete_application(app_name(b)?)?;
            Ok(json!({}))
        },
    },
    Action {
        name: "CreateDeploymentGroup",
        changes: Change::Fleet,
        resource: Resource::DeploymentGroup("deploymentGroupName"),
        handler: |w, b| {
            let app = app_name(b)?;
            let name = group_name(b, "deploymentGroupName")?;
            let input = group_input(b)?;
            Ok(json!({ "deploymentGroupId": w.create_deployment_group(app, name, input)? }))
        },
    },
    Action {
        name: "GetDeploymentGroup",
        changes: Change::Nothing,
        resource: Resource::DeploymentGroup("deploymentGroupName"),
        handler: |w, b| {
            let app = app_name(b)?;
            let name = group_name(b, "deploymentGroupName")?;
            let g = w.deployment_group(app, name)?;
            Ok(json!({ "deploymentGroupInfo": group_json(w, g) }))
        },
    },
    Action {
        name: "BatchGetDeploymentGroups",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |w, b| {
            let app = app_name(b)?;
            let names = b.strings("deploymentGroupNames")?.unwrap_or_default();
            batch_limit(names.len())?;
            Ok(batch_answer(
                "deploymentGroupsInfo",
                &names,
                |n| w.deployment_group(app, n).ok().map(|g| group_json(w, g)),
                "Deployment groups not found",
            ))
        },
    },
    Action {
        name: "UpdateDeploymentGroup",
        changes: Change::Fleet,
        resource: Resource::DeploymentGroup("currentDeploymentGroupName"),
        handler: |w, b| {
            let app = app_name(b)?;
            let name = group_name(b, "currentDeploymentGroupName")?;
            let mut input = group_input(b)?;
            input.new_name = b.str("newDeploymentGroupName")?.map(str::to_string);
            let not_cleaned = w.update_deployment_group(app, name, input)?;
            Ok(json!({ "hooksNotCleanedUp": hooks_json(&not_cleaned) }))
        },
    },
    Action {
        name: "DeleteDeploymentGroup",
        changes: Change::Fleet,
        resource: Resource::DeploymentGroup("deploymentGroupName"),
        handler: |w, b| {
            let app = app_name(b)?;
            let name = group_name(b, "deploymentGroupName")?;
            let not_cleaned = w.delete_deployment_group(app, name)?;
            Ok(json!({ "hooksNotCleanedUp": hooks_json(&not_cleaned) }))
        },
    },
    Action {
        name: "ListDeploymentGroups",
        changes: Change::Nothing,
        resource: Resource::Application,
        handler: |w, b| {
            let app = app_name(b)?;
            let names: Vec<String> = w.deployment_group_names(app)?;
            let mut v = page(b, names, "deploymentGroups")?;
            v["applicationName"] = json!(app);
            Ok(v)
        },
    },
    Action {
        name: "CreateDeploymentConfig",
        changes: Change::Fleet,
        resource: Resource::DeploymentConfig,
        handler: |w, b| {
            let name = config_name(b)?;
            let (hosts, zonal) = deployment_config(b)?;
            let id = w.create_deployment_config(name, hosts, zonal)?;
            Ok(json!({ "deploymentConfigId": id }))
        },
    },
    Action {
        name: "GetDeploymentConfig",
        changes: Change::Nothing,
        resource: Resource::DeploymentConfig,
        handler: |w, b| {
            let c = w.deployment_config(config_name(b)?)?;
            let mut v = json!({ "deploymentConfigInfo": {
                "deploymentConfigId": c.id,
                "deploymentConfigName": c.name,
                "minimumHealthyHosts": {
                    "type": c.minimum_healthy_hosts.kind.as_str(),
                    "value": c.minimum_healthy_hosts.value,
                },
                "createTime": secs(c.created_ms),
                "computePlatform": c.compute_platform.as_str(),
            }});
            if let Some(z) = &c.zonal {
                v["deploymentConfigInfo"]["zonalConfig"] = zonal_json(z);
            }
            Ok(v)
        },
    },
    Action {
        name: "ListDeploymentConfigs",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |w, b| page(b, w.deployment_config_names(), "deploymentConfigsList"),
    },
    Action {
        name: "DeleteDeploymentConfig",
        changes: Change::Fleet,
        resource: Resource::DeploymentConfig,
        handler: |w, b| {
            w.delete_deployment_config(config_name(b)?)?;
            Ok(json!({}))
        },
    },
    Action {
        name: "CreateDeployment",
        changes: Change::Fleet,
        resource: Resource::DeploymentGroup("deploymentGroupName"),
        handler: |w, b| {
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
        },
    },
    Action {
        name: "GetDeployment",
        changes: Change::Nothing,
        resource: Resource::GroupOfDeployment,
        handler: |w, b| {
            let d = w.deployment(deployment_id(b)?)?;
            Ok(json!({ "deploymentInfo": deployment_json(w, d) }))
        },
    },
    Action {
        name: "BatchGetDeployments",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |w, b| {
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
        },
    },
    Action {
        name: "ListDeployments",
        changes: Change::Nothing,
        resource: Resource::DeploymentGroup("deploymentGroupName"),
        handler: |w, b| {
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
        },
    },
    Action {
        name: "StopDeployment",
        changes: Change::Fleet,
        resource: Resource::GroupOfDeployment,
        handler: |w, b| {
            let id = deployment_id(b)?;
            w.stop_deployment(id)?;
            Ok(json!({ "status": "Succeeded", "statusMessage": "Deployment stopped." }))
        },
    },
    Action {
        name: "ListDeploymentInstances",
        changes: Change::Nothing,
        resource: Resource::GroupOfDeployment,
        handler: |w, b| {
            let d = started(w.deployment(deployment_id(b)?)?)?;
            let filter = instance_statuses(b.strings("instanceStatusFilter")?)?;
            page(b, ids_with_status(d, filter.as_ref()), "instancesList")
        },
    },
    Action {
        name: "ListDeploymentTargets",
        changes: Change::Nothing,
        resource: Resource::GroupOfDeployment,
        handler: |w, b| {
            let d = started(w.deployment(deployment_id(b)?)?)?;
            let filter = match b.get("targetFilters") {
                Some(f) => instance_statuses(strings_of(f.get("TargetStatus"), "targetFilters.TargetStatus")?)?,
                None => None,
            };
            page(b, ids_with_status(d, filter.as_ref()), "targetIds")
        },
    },
    Action {
        name: "GetDeploymentInstance",
        changes: Change::Nothing,
        resource: Resource::GroupOfDeployment,
        handler: |w, b| {
            let d = w.deployment(deployment_id(b)?)?;
            let instance = b.required(
                "instanceId",
                "InstanceIdRequiredException",
                "The instance ID was not specified.",
            )?;
            Ok(json!({ "instanceSummary": instance_summary(w, d, instance)? }))
        },
    },
    Action {
        name: "BatchGetDeploymentInstances",
        changes: Change::Nothing,
        resource: Resource::GroupOfDeployment,
        handler: |w, b| {
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
            Ok(batch_answer(
                "instancesSummary",
                &ids,
                |i| instance_summary(w, d, i).ok(),
                "Instances not part of the deployment",
            ))
        },
    },
    Action {
        name: "BatchGetDeploymentTargets",
        changes: Change::Nothing,
        resource: Resource::GroupOfDeployment,
        handler: |w, b| {
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
        },
    },
    Action {
        name: "GetDeploymentTarget",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |w, b| {
            let d = w.deployment(deployment_id(b)?)?;
            let t = b.required(
                "targetId",
                "DeploymentTargetIdRequiredException",
                "A deployment target ID was not provided.",
            )?;
            Ok(json!({ "deploymentTarget": target_json(w, d, t)? }))
        },
    },
    Action {
        name: "RegisterApplicationRevision",
        changes: Change::Fleet,
        resource: Resource::Application,
        handler: |w, b| {
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
        },
    },
    Action {
        name: "GetApplicationRevision",
        changes: Change::Nothing,
        resource: Resource::Application,
        handler: |w, b| {
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
        },
    },
    Action {
        name: "ListApplicationRevisions",
        changes: Change::Nothing,
        resource: Resource::Application,
        handler: |w, b| {
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
        },
    },
];

/// A BatchGet answer: what `find` finds under `key`, and `errorMessage` naming what it does not.
fn batch_answer(key: &str, names: &[String], find: impl Fn(&str) -> Option<Value>, missing_words: &str) -> Value {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match find(n) {
            Some(v) => out.push(v),
            None => missing.push(n.as_str()),
        }
    }
    let mut v = json!({ key: out });
    if !missing.is_empty() {
        v["errorMessage"] = json!(format!("{missing_words}: {}", missing.join(", ")));
    }
    v
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

/// A deployment's instance ids in deployment order, only those in one of `statuses` if given.
fn ids_with_status(d: &Deployment, statuses: Option<&Vec<crate::model::codedeploy::InstanceStatus>>) -> Vec<String> {
    d.order
        .iter()
        .filter(|i| statuses.is_none_or(|f| f.contains(&d.instances[*i].status)))
        .cloned()
        .collect()
}
