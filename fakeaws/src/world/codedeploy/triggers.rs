//! Trigger notifications: what each status change of a deployment or an instance publishes to
//! the group's triggers' SNS topics, in CodeDeploy's message format.

use crate::model::codedeploy::Deployment;
use crate::model::codedeploy::DeploymentStatus;
use crate::model::codedeploy::InstanceStatus;
use crate::model::codedeploy::Trigger;
use crate::model::codedeploy::TriggerEvent;
use crate::model::codedeploy::TriggerEventType;
use crate::world::World;
use serde_json::json;

/// The notifications kept (the oldest are dropped beyond this).
const MAX_NOTIFICATIONS: usize = 10_000;

impl World {
    /// The notification each of the group's triggers listening for `event` would publish.
    pub(super) fn notify(&mut self, id: &str, instance: Option<&str>, event: TriggerEventType) {
        let Some(d) = self.codedeploy.deployments.get(id) else {
            return;
        };
        let Some(g) = self
            .codedeploy
            .applications
            .get(&d.application)
            .and_then(|a| a.groups.get(&d.group))
        else {
            return;
        };
        let listening: Vec<&Trigger> = g.triggers.iter().filter(|t| t.events.contains(&event)).collect();
        if listening.is_empty() {
            return;
        }
        let overview = overview_json(d).to_string();
        let status = trigger_status(d.status);
        let mut out = Vec::new();
        for t in listening {
            let mut m = serde_json::Map::new();
            m.insert("region".into(), json!(self.region));
            m.insert("accountId".into(), json!(self.account_id));
            m.insert("eventTriggerName".into(), json!(t.name));
            m.insert("applicationName".into(), json!(d.application));
            m.insert("deploymentId".into(), json!(d.id));
            m.insert("deploymentGroupName".into(), json!(d.group));
            match instance.and_then(|i| d.instances.get(i).map(|s| (i, s))) {
                Some((i, s)) => {
                    m.insert("instanceId".into(), json!(self.arn("ec2", &format!("instance/{i}"))));
                    m.insert("lastUpdatedAt".into(), json!(epoch_text(s.updated_ms)));
                    m.insert("instanceStatus".into(), json!(s.status.as_str()));
                    let events: Vec<_> = s
                        .events
                        .iter()
                        .map(|e| {
                            json!({
                                "LifecycleEvent": e.name,
                                "LifecycleEventStatus": e.status.as_str(),
                                "StartTime": e.start_ms.map(epoch_text),
                                "EndTime": e.end_ms.map(epoch_text),
                            })
                        })
                        .collect();
                    m.insert(
                        "lifecycleEvents".into(),
                        json!(serde_json::Value::from(events).to_string()),
                    );
                }
                None => {
                    m.insert("createTime".into(), json!(java_date(d.created_ms)));
                    m.insert("completeTime".into(), json!(d.completed_ms.map(java_date)));
                    if d.status != DeploymentStatus::Created {
                        m.insert("deploymentOverview".into(), json!(overview));
                    }
                    m.insert("status".into(), json!(status));
                    if let Some(e) = &d.error {
                        m.insert(
                            "errorInformation".into(),
                            json!(json!({"ErrorCode": e.code, "ErrorMessage": e.message}).to_string()),
                        );
                    }
                    if let Some(of) = &d.rollback_of {
                        m.insert(
                            "rollbackInformation".into(),
                            json!(json!({
                                "RollbackMessage": format!("Deployment {} is triggered to roll back deployment {of}.", d.id),
                                "RollbackTriggeringDeploymentId": of,
                            })
                            .to_string()),
                        );
                    }
                }
            }
            out.push(TriggerEvent {
                at_ms: self.now_ms,
                trigger_name: t.name.clone(),
                target_arn: t.target_arn.clone(),
                event,
                deployment_id: d.id.clone(),
                subject: format!(
                    "{status}: AWS CodeDeploy {} in {} to {}",
                    d.id, self.region, d.application
                ),
                message: serde_json::Value::Object(m).to_string(),
            });
        }
        self.codedeploy.notifications.extend(out);
        let n = self.codedeploy.notifications.len();
        if n > MAX_NOTIFICATIONS {
            self.codedeploy.notifications = self.codedeploy.notifications.skip(n - MAX_NOTIFICATIONS);
        }
    }
}

/// `deploymentOverview`: every status with its count (zeros included, as the API writes it).
pub fn overview_json(d: &Deployment) -> serde_json::Value {
    let counts = d.overview();
    let get = |s: InstanceStatus| counts.get(&s).copied().unwrap_or(0);
    json!({
        "Pending": get(InstanceStatus::Pending),
        "InProgress": get(InstanceStatus::InProgress),
        "Succeeded": get(InstanceStatus::Succeeded),
        "Failed": get(InstanceStatus::Failed),
        "Skipped": get(InstanceStatus::Skipped),
        "Ready": get(InstanceStatus::Ready),
    })
}

/// A deployment's status as trigger notifications spell it (`IN_PROGRESS`, `SUCCEEDED`, ...).
fn trigger_status(s: DeploymentStatus) -> &'static str {
    match s {
        DeploymentStatus::Created => "CREATED",
        DeploymentStatus::Queued => "QUEUED",
        DeploymentStatus::InProgress => "IN_PROGRESS",
        DeploymentStatus::Baking => "BAKING",
        DeploymentStatus::Succeeded => "SUCCEEDED",
        DeploymentStatus::Failed => "FAILED",
        DeploymentStatus::Stopped => "STOPPED",
        DeploymentStatus::Ready => "READY",
    }
}

/// A time as trigger notifications write deployments' times (Java's `Date.toString()` in UTC).
fn java_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a %b %d %H:%M:%S UTC %Y")
        .to_string()
}

/// A time as epoch seconds with milliseconds, in text (instance notifications).
fn epoch_text(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}
