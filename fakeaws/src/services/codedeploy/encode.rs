//! Writing CodeDeploy's answers: applications, groups, deployments, revisions, instances and
//! targets as the JSON API shapes them (times as epoch seconds).

use serde_json::{json, Value};

use crate::model::codedeploy::*;
use crate::protocol::error::AwsError;
use crate::world::codedeploy::overview_json;
use crate::world::World;

/// Epoch seconds with milliseconds, as CodeDeploy writes times.
pub(super) fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

pub(super) fn application_json(a: &Application) -> Value {
    json!({
        "applicationId": a.id,
        "applicationName": a.name,
        "createTime": secs(a.created_ms),
        "linkedToGitHub": false,
        "computePlatform": a.compute_platform.as_str(),
    })
}

pub(super) fn hooks_json(asgs: &[String]) -> Value {
    Value::Array(asgs.iter().map(|a| json!({ "name": a })).collect())
}

pub(super) fn revision_json(r: &Revision) -> Value {
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

pub(super) fn revision_info_json(r: &RegisteredRevision) -> Value {
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

pub(super) fn last_deployment_json(w: &World, id: &Option<String>) -> Option<Value> {
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

pub(super) fn load_balancer_json(elbs: &[String], tgs: &[String]) -> Value {
    json!({
        "elbInfoList": elbs.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>(),
        "targetGroupInfoList": tgs.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>(),
    })
}

pub(super) fn group_json(w: &World, g: &DeploymentGroup) -> Value {
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

pub(super) fn auto_rollback_json(r: &AutoRollback) -> Value {
    json!({
        "enabled": r.enabled,
        "events": r.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
    })
}

pub(super) fn deployment_json(w: &World, d: &Deployment) -> Value {
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

pub(super) fn events_json(inst: &DeploymentInstance) -> Value {
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

pub(super) fn target_json(w: &World, d: &Deployment, target: &str) -> Result<Value, AwsError> {
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

pub(super) fn instance_summary(w: &World, d: &Deployment, instance: &str) -> Result<Value, AwsError> {
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

/// A deployment configuration's `zonalConfig`, with the members it was given.
pub(super) fn zonal_json(z: &ZonalConfig) -> Value {
    let mut v = json!({});
    if let Some(s) = z.first_zone_monitor_seconds {
        v["firstZoneMonitorDurationInSeconds"] = json!(s);
    }
    if let Some(s) = z.monitor_seconds {
        v["monitorDurationInSeconds"] = json!(s);
    }
    if let Some(h) = z.per_zone {
        v["minimumHealthyHostsPerZone"] = json!({ "type": h.kind.as_str(), "value": h.value });
    }
    v
}
