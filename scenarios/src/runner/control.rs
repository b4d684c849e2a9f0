//! CodeDeploy's control plane as the engine keeps it: the deployment group, each deployment the
//! engine runs (user, launch, follow-up, rollback) created in fakeaws' CodeDeploy, its instances'
//! lifecycle events and statuses reported as they happen, and its end. What the API answers
//! (`aws deploy get-deployment`, the hooks' ListDeployments and ListDeploymentTargets) is what the engine does.

use anyhow::anyhow;
use fakeaws::model::codedeploy::{
    DeploymentCreator, DeploymentOption, DeploymentStatus, Diagnostics, ErrorInformation, InstanceStatus,
    LifecycleEvent, LifecycleEventStatus, OutdatedInstancesStrategy, Revision,
};
use fakeaws::rehearsal::{DeploymentInput, GroupInput};

use super::supervisor::Run;
use super::{Sim, BUCKET};
use crate::report::Creator;
use crate::schema::ConfigSpec;

impl Sim {
    /// Creates the deployment group (and so CodeDeploy's lifecycle hooks on its Auto Scaling groups).
    pub(super) fn create_deployment_group(&self) -> anyhow::Result<()> {
        let dg = &self.sc.deployment_group;
        let config = self.config_in_codedeploy(&dg.config)?;
        let input = GroupInput {
            config: Some(config),
            autoscaling_groups: Some(dg.autoscaling_groups.clone()),
            deployment_option: Some(if dg.traffic_control {
                DeploymentOption::WithTrafficControl
            } else {
                DeploymentOption::WithoutTrafficControl
            }),
            target_group_names: Some(dg.target_groups.clone()),
            elb_names: Some(dg.load_balancers.clone()),
            termination_hook_enabled: Some(dg.termination_hook),
            outdated_instances_strategy: Some(match dg.outdated_instances_strategy {
                crate::schema::OutdatedStrategy::Update => OutdatedInstancesStrategy::Update,
                crate::schema::OutdatedStrategy::Ignore => OutdatedInstancesStrategy::Ignore,
            }),
            ..GroupInput::default()
        };
        self.fake()
            .rehearsal()
            .create_deployment_group(&self.application, &dg.name, input)
            .map_err(|e| anyhow!("deployment group: {}", e.message))
    }

    /// Records deployment `number` in CodeDeploy, started on `targets` in that order.
    pub(super) fn open_deployment(
        &mut self,
        number: usize,
        revision: &str,
        creator: Creator,
        config: &ConfigSpec,
        targets: &[String],
    ) -> anyhow::Result<String> {
        let config = self.config_in_codedeploy(config)?;
        let input = DeploymentInput {
            application: self.application.clone(),
            group: self.sc.deployment_group.name.clone(),
            revision: self.revision_location(revision),
            config: Some(config),
            description: None,
            creator: match creator {
                Creator::User => DeploymentCreator::User,
                Creator::Autoscaling => DeploymentCreator::Autoscaling,
                Creator::CodeDeployRollback => DeploymentCreator::CodeDeployRollback,
                Creator::CodeDeployAutoUpdate => DeploymentCreator::CodeDeployAutoUpdate,
                Creator::AutoscalingTermination => DeploymentCreator::AutoscalingTermination,
            },
            ignore_application_stop_failures: false,
            update_outdated_instances_only: false,
            auto_rollback: None,
        };
        let id = match self.engine.api_deployment.take() {
            // Created through the API: the engine begins it.
            Some(id) => {
                self.fake()
                    .rehearsal()
                    .begin_deployment(&id, targets)
                    .map_err(|e| anyhow!("deployment {number}: {}", e.message))?;
                id
            }
            None => self
                .fake()
                .rehearsal()
                .start_deployment(input, targets)
                .map_err(|e| anyhow!("deployment {number}: {}", e.message))?,
        };
        if creator == Creator::CodeDeployRollback {
            if let Some(failed) = self.engine.deployment_ids.values().last().cloned() {
                self.fake().rehearsal().link_rollback(&id, &failed);
            }
        }
        self.engine.deployment_ids.insert(number, id.clone());
        Ok(id)
    }

    /// The deployment group's id (`DEPLOYMENT_GROUP_ID` for scripts).
    pub(super) fn deployment_group_id(&self) -> String {
        self.fake()
            .rehearsal()
            .deployment_group_id(&self.application, &self.sc.deployment_group.name)
            .unwrap_or_default()
    }

    /// The id CodeDeploy gave deployment `number`.
    pub(super) fn deployment_id(&self, number: usize) -> String {
        self.engine.deployment_ids.get(&number).cloned().unwrap_or_default()
    }

    /// Whether StopDeployment stopped deployment `number` (looked at only when someone has called
    /// StopDeployment since the last look).
    pub(super) fn stopped_through_api(&mut self, number: usize) -> bool {
        let stops = self.fake().metrics.call_count("codedeploy:StopDeployment");
        if stops == self.engine.stops_seen {
            return false;
        }
        let stopped =
            self.fake().rehearsal().deployment_status(&self.deployment_id(number)) == Some(DeploymentStatus::Stopped);
        if !stopped {
            self.engine.stops_seen = stops;
        }
        stopped
    }

    /// A step of a run begins its lifecycle event.
    pub(super) fn report_event(&mut self, run: &Run, event: LifecycleEvent) {
        self.event_log_begins(&run.instance);
        let id = self.deployment_id(run.deployment);
        let _ =
            self.fake()
                .rehearsal()
                .instance_event(&id, &run.instance, event, LifecycleEventStatus::InProgress, None);
    }

    /// A run ended: its instance's status, and the failed event's diagnostics.
    pub(super) fn report_run(&self, run: &Run) {
        let id = self.deployment_id(run.deployment);
        let r = self.fake().rehearsal();
        let status = match &run.failed {
            None => InstanceStatus::Succeeded,
            Some(why) => {
                let code = ["ScriptTimedOut", "ScriptMissing", "ScriptFailed"]
                    .into_iter()
                    .find(|c| why.starts_with(c))
                    .unwrap_or("UnknownError");
                let script = why.rsplit(": ").next().unwrap_or_default().to_string();
                // The agent's words for a script that exited non-zero.
                let exit = why
                    .strip_prefix("ScriptFailed (exit ")
                    .and_then(|r| r.split(')').next())
                    .filter(|c| c.parse::<i32>().is_ok());
                let message = match exit {
                    Some(code) => format!("Script at specified location: {script} failed with exit code {code}"),
                    None => why.clone(),
                };
                if let Some(event) = run.event {
                    let _ = r.instance_event(
                        &id,
                        &run.instance,
                        event,
                        LifecycleEventStatus::Failed,
                        Some(Diagnostics {
                            error_code: code.to_string(),
                            script_name: script,
                            message,
                            log_tail: self.log_tail(&run.instance),
                        }),
                    );
                }
                InstanceStatus::Failed
            }
        };
        let _ = r.instance_done(&id, &run.instance, status);
    }

    /// An instance of deployment `number` is skipped (it left the group before its turn).
    pub(super) fn skip_in_codedeploy(&self, number: usize, instance: &str) {
        let id = self.deployment_id(number);
        let _ = self
            .fake()
            .rehearsal()
            .instance_done(&id, instance, InstanceStatus::Skipped);
    }

    /// Deployment `number` ended; `failure` says why when it did not succeed.
    pub(super) fn close_deployment(&self, number: usize, failure: Option<String>) {
        match failure {
            None => {
                let id = self.deployment_id(number);
                self.fake()
                    .rehearsal()
                    .deployment_done(&id, DeploymentStatus::Succeeded, None);
            }
            Some(why) => self.close_deployment_as(number, "HEALTH_CONSTRAINTS", why),
        }
    }

    /// Deployment `number` failed with CodeDeploy's error `code`.
    pub(super) fn close_deployment_as(&self, number: usize, code: &str, message: String) {
        let id = self.deployment_id(number);
        let error = ErrorInformation {
            code: code.into(),
            message,
        };
        self.fake()
            .rehearsal()
            .deployment_done(&id, DeploymentStatus::Failed, Some(error));
    }

    /// The configuration's name in CodeDeploy (a custom one is created on first use).
    pub(super) fn config_in_codedeploy(&self, c: &ConfigSpec) -> anyhow::Result<String> {
        match c {
            ConfigSpec::Named(n) => Ok(format!("CodeDeployDefault.{n}")),
            ConfigSpec::Custom { kind, value, zonal } => {
                let hosts = c
                    .hosts()
                    .ok_or_else(|| anyhow!("deployment configuration {}: unknown type", c.name()))?;
                let mut name = format!("Custom.{kind}.{value}");
                if let Some(z) = zonal {
                    // One configuration per zonal setting: `Custom.HOST_COUNT.3.zonal-600-300-HOST_COUNT-1`.
                    let part = |v: Option<u32>| v.map_or("none".to_string(), |v| v.to_string());
                    let per_zone = z
                        .per_zone
                        .as_ref()
                        .map_or("none".to_string(), |h| format!("{}-{}", h.kind, h.value));
                    name.push_str(&format!(
                        ".zonal-{}-{}-{per_zone}",
                        part(z.first_zone_monitor_seconds),
                        part(z.monitor_seconds)
                    ));
                }
                self.fake()
                    .rehearsal()
                    .ensure_deployment_config(&name, hosts, c.zonal())
                    .map_err(|e| anyhow!("deployment configuration {name}: {}", e.message))?;
                Ok(name)
            }
        }
    }
}

/// Where CodeDeploy says a scenario revision comes from.
pub(super) fn revision_location(revision: &str) -> Revision {
    Revision::s3(
        BUCKET,
        &format!("{revision}.zip"),
        fakeaws::model::codedeploy::BundleType::Zip,
    )
}
