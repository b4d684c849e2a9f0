//! A deployment's life: created (one user deployment per group at a time), begun on its
//! targets, each instance's lifecycle events and status as the engine reports them, its end, and
//! CodeDeploy's own traffic control (BlockTraffic / AllowTraffic).

use super::check_revision;
use super::DeploymentInput;
use crate::model::codedeploy::Deployment;
use crate::model::codedeploy::DeploymentCreator;
use crate::model::codedeploy::DeploymentInstance;
use crate::model::codedeploy::DeploymentOption;
use crate::model::codedeploy::DeploymentStatus;
use crate::model::codedeploy::Diagnostics;
use crate::model::codedeploy::ErrorInformation;
use crate::model::codedeploy::EventRecord;
use crate::model::codedeploy::InstanceStatus;
use crate::model::codedeploy::LifecycleEvent;
use crate::model::codedeploy::LifecycleEventStatus;
use crate::model::codedeploy::TriggerEventType;
use crate::protocol::error::AwsError;
use crate::world::World;
impl World {
    /// CreateDeployment: a deployment in `Created`, for the engine to pick up. Refused while
    /// another deployment of the group is under way, as CodeDeploy does (except deployments
    /// CodeDeploy creates itself for launches and terminations).
    pub fn create_deployment(&mut self, input: DeploymentInput) -> Result<String, AwsError> {
        let g = self.deployment_group(&input.application, &input.group)?.clone();
        check_revision(&input.revision)?;
        let config = input.config.clone().unwrap_or_else(|| g.config.clone());
        self.deployment_config(&config)?;
        let own = matches!(
            input.creator,
            DeploymentCreator::Autoscaling | DeploymentCreator::AutoscalingTermination
        );
        if !own {
            if let Some(busy) = self
                .active_deployments(&input.application, &input.group)
                .into_iter()
                .find(|d| {
                    let c = self.codedeploy.deployments[d].creator;
                    c != DeploymentCreator::Autoscaling && c != DeploymentCreator::AutoscalingTermination
                })
            {
                return Err(AwsError::new(
                    400,
                    "DeploymentLimitExceededException",
                    format!(
                        "The Deployment Group '{}' already has an active Deployment '{busy}'",
                        input.group
                    ),
                ));
            }
        }
        let id = self.deployment_id();
        let now = self.now_ms;
        let previous = g.target_revision.clone();
        let deployment = Deployment {
            id: id.clone(),
            application: input.application.clone(),
            group: input.group.clone(),
            config,
            revision: input.revision.clone(),
            previous_revision: previous,
            status: DeploymentStatus::Created,
            creator: input.creator,
            description: input.description,
            created_ms: now,
            started_ms: None,
            completed_ms: None,
            error: None,
            ignore_application_stop_failures: input.ignore_application_stop_failures,
            update_outdated_instances_only: input.update_outdated_instances_only,
            auto_rollback: input.auto_rollback.unwrap_or_else(|| g.auto_rollback.clone()),
            rollback_of: None,
            rolled_back_by: None,
            deployment_option: g.deployment_option,
            instances: Default::default(),
            order: Default::default(),
        };
        self.codedeploy.deployments.insert(id.clone(), deployment);
        self.codedeploy.deployment_order.push(id.clone());
        self.register_revision(&input.application, input.revision.clone(), None)?;
        let app = self.application_mut(&input.application)?;
        if let Some(r) = app.revisions.iter_mut().find(|r| r.revision == input.revision) {
            r.first_used_ms.get_or_insert(now);
            r.last_used_ms = Some(now);
            if !r.deployment_groups.contains(&input.group) {
                r.deployment_groups.push(input.group.clone());
            }
        }
        if let Some(g) = app.groups.get_mut(&input.group) {
            g.last_attempted = Some(id.clone());
            g.target_revision = Some(input.revision);
        }
        Ok(id)
    }

    /// `d-` and nine upper-case letters and digits, deterministic.
    fn deployment_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        loop {
            let mut r = self.next_rand();
            let mut id = String::from("d-");
            for _ in 0..9 {
                id.push(ALPHABET[(r % 36) as usize] as char);
                r /= 36;
            }
            if !self.codedeploy.deployments.contains_key(&id) {
                return id;
            }
        }
    }

    /// Deployments of a group not finished yet, oldest first.
    pub fn active_deployments(&self, app: &str, group: &str) -> Vec<String> {
        self.codedeploy
            .deployment_order
            .iter()
            .filter(|id| {
                let d = &self.codedeploy.deployments[*id];
                d.application == app && d.group == group && !d.status.is_final()
            })
            .cloned()
            .collect()
    }

    /// StopDeployment: the engine stops starting instances and ends the deployment `Stopped`.
    pub fn stop_deployment(&mut self, id: &str) -> Result<(), AwsError> {
        let d = self.deployment(id)?;
        if d.status.is_final() {
            return Err(AwsError::new(
                400,
                "DeploymentAlreadyCompletedException",
                format!("Deployment {id} has already completed."),
            ));
        }
        self.deployment_done(
            id,
            DeploymentStatus::Stopped,
            Some(ErrorInformation {
                code: "DEPLOYMENT_STOPPED".into(),
                message: "Deployment was stopped by the user".into(),
            }),
        );
        Ok(())
    }

    /// The engine starts a deployment on `targets` (in the order it will deploy them).
    pub fn deployment_started(&mut self, id: &str, targets: &[String]) -> Result<(), AwsError> {
        let now = self.now_ms;
        let d = self.deployment_mut(id)?;
        // A termination deployment runs the Block events only.
        let events: Vec<LifecycleEvent> = if d.creator == DeploymentCreator::AutoscalingTermination {
            LifecycleEvent::TERMINATION.to_vec()
        } else {
            LifecycleEvent::in_place(d.deployment_option == DeploymentOption::WithTrafficControl).collect()
        };
        d.status = DeploymentStatus::InProgress;
        d.started_ms = Some(now);
        for t in targets {
            d.order.push_back(t.clone());
            d.instances.insert(
                t.clone(),
                DeploymentInstance {
                    status: InstanceStatus::Pending,
                    updated_ms: now,
                    events: events
                        .iter()
                        .map(|&e| EventRecord {
                            name: e,
                            status: LifecycleEventStatus::Pending,
                            start_ms: None,
                            end_ms: None,
                            diagnostics: None,
                        })
                        .collect(),
                },
            );
        }
        self.notify(id, None, TriggerEventType::DeploymentStart);
        Ok(())
    }

    /// The engine reports one lifecycle event of one instance. Events before it that never ran
    /// (no scripts) are marked succeeded; the first event marks the instance in progress.
    pub fn instance_event(
        &mut self,
        id: &str,
        instance: &str,
        event: LifecycleEvent,
        status: LifecycleEventStatus,
        diagnostics: Option<Diagnostics>,
    ) -> Result<(), AwsError> {
        let now = self.now_ms;
        let d = self.deployment_mut(id)?;
        let Some(inst) = d.instances.get_mut(instance) else {
            return Err(AwsError::new(
                400,
                "InstanceDoesNotExistException",
                format!("Instance {instance} is not part of deployment {id}"),
            ));
        };
        let started = inst.status == InstanceStatus::Pending;
        if started {
            inst.status = InstanceStatus::InProgress;
        }
        inst.updated_ms = now;
        if let Some(pos) = inst.events.iter().position(|e| e.name == event) {
            for e in &mut inst.events[..pos] {
                if matches!(
                    e.status,
                    LifecycleEventStatus::Pending | LifecycleEventStatus::InProgress
                ) {
                    e.status = LifecycleEventStatus::Succeeded;
                    e.start_ms.get_or_insert(now);
                    e.end_ms.get_or_insert(now);
                }
            }
            let e = &mut inst.events[pos];
            e.status = status;
            if e.start_ms.is_none() {
                e.start_ms = Some(now);
            }
            if status != LifecycleEventStatus::InProgress {
                e.end_ms = Some(now);
            }
            if diagnostics.is_some() {
                e.diagnostics = diagnostics;
            }
        }
        if started {
            self.notify(id, Some(instance), TriggerEventType::InstanceStart);
        }
        Ok(())
    }

    /// The engine reports an instance finished (`Succeeded`, `Failed` or `Skipped`).
    pub fn instance_done(&mut self, id: &str, instance: &str, status: InstanceStatus) -> Result<(), AwsError> {
        let now = self.now_ms;
        let d = self.deployment_mut(id)?;
        let Some(inst) = d.instances.get_mut(instance) else {
            return Ok(());
        };
        inst.status = status;
        inst.updated_ms = now;
        for e in &mut inst.events {
            match (status, e.status) {
                (InstanceStatus::Succeeded, LifecycleEventStatus::Pending | LifecycleEventStatus::InProgress) => {
                    e.status = LifecycleEventStatus::Succeeded;
                    e.start_ms.get_or_insert(now);
                    e.end_ms.get_or_insert(now);
                }
                (_, LifecycleEventStatus::Pending) => e.status = LifecycleEventStatus::Skipped,
                (_, LifecycleEventStatus::InProgress) => {
                    e.status = LifecycleEventStatus::Failed;
                    e.end_ms = Some(now);
                }
                _ => {}
            }
        }
        match status {
            InstanceStatus::Succeeded => self.notify(id, Some(instance), TriggerEventType::InstanceSuccess),
            InstanceStatus::Failed => self.notify(id, Some(instance), TriggerEventType::InstanceFailure),
            _ => {}
        }
        Ok(())
    }

    /// The engine (or StopDeployment) ends a deployment; instances not finished are skipped.
    pub fn deployment_done(&mut self, id: &str, status: DeploymentStatus, error: Option<ErrorInformation>) {
        let now = self.now_ms;
        let Some(d) = self.codedeploy.deployments.get_mut(id) else {
            return;
        };
        if d.status.is_final() {
            return;
        }
        d.status = status;
        d.completed_ms = Some(now);
        d.error = error;
        let (app, group) = (d.application.clone(), d.group.clone());
        let pending: Vec<String> = d
            .instances
            .iter()
            .filter(|(_, i)| i.status == InstanceStatus::Pending)
            .map(|(k, _)| k.clone())
            .collect();
        for i in pending {
            let _ = self.instance_done(id, &i, InstanceStatus::Skipped);
        }
        if status == DeploymentStatus::Succeeded {
            if let Some(g) = self
                .codedeploy
                .applications
                .get_mut(&app)
                .and_then(|a| a.groups.get_mut(&group))
            {
                g.last_successful = Some(id.to_string());
            }
        }
        let event = match status {
            DeploymentStatus::Succeeded => TriggerEventType::DeploymentSuccess,
            DeploymentStatus::Stopped => TriggerEventType::DeploymentStop,
            _ => TriggerEventType::DeploymentFailure,
        };
        self.notify(id, None, event);
    }

    /// The target groups (ARNs) and Classic Load Balancers a deployment's group routes through.
    fn traffic_of(&self, id: &str) -> Result<(Vec<String>, Vec<String>), AwsError> {
        let d = self.deployment(id)?;
        let g = self.deployment_group(&d.application, &d.group)?;
        let tgs = self
            .target_groups
            .values()
            .filter(|t| g.target_group_names.contains(&t.name))
            .map(|t| t.arn.clone())
            .collect();
        Ok((tgs, g.elb_names.clone()))
    }

    /// BlockTraffic (deployment style WITH_TRAFFIC_CONTROL): CodeDeploy deregisters the instance
    /// from the group's target groups and Classic Load Balancers; they drain as usual.
    pub fn block_traffic(&mut self, id: &str, instance: &str) -> Result<(), AwsError> {
        let (tgs, elbs) = self.traffic_of(id)?;
        for tg in &tgs {
            self.deregister_target(tg, instance, None);
        }
        for lb in &elbs {
            self.classic_deregister(lb, instance);
        }
        Ok(())
    }

    /// AllowTraffic: CodeDeploy registers the instance with the group's target groups (on each
    /// group's port) and Classic Load Balancers.
    pub fn allow_traffic(&mut self, id: &str, instance: &str) -> Result<(), AwsError> {
        let (tgs, elbs) = self.traffic_of(id)?;
        for tg in &tgs {
            let port = self.target_groups.get(tg).map(|t| t.port).unwrap_or(80);
            self.register_target(tg, instance, port);
        }
        for lb in &elbs {
            self.classic_register(lb, instance);
        }
        Ok(())
    }

    /// Whether BlockTraffic is over (`allow == false`: no load balancer lists the instance any
    /// more, draining done) or AllowTraffic (healthy in every target group, InService in every
    /// Classic Load Balancer).
    pub fn traffic_settled(&self, id: &str, instance: &str, allow: bool) -> Result<bool, AwsError> {
        let (tgs, elbs) = self.traffic_of(id)?;
        let in_tg = |arn: &String| {
            let tg = self.target_groups.get(arn)?;
            let t = tg.targets.iter().find(|t| t.id == instance)?;
            Some(self.target_health(tg, t).state)
        };
        let in_lb = |name: &String| {
            let lb = self.classic.get(name)?;
            lb.members
                .iter()
                .find(|m| m.id == instance)
                .map(|m| m.in_service && m.draining_until_ms.is_none())
        };
        Ok(if allow {
            tgs.iter()
                .all(|t| in_tg(t) == Some(crate::model::TargetHealthState::Healthy))
                && elbs.iter().all(|l| in_lb(l) == Some(true))
        } else {
            tgs.iter().all(|t| in_tg(t).is_none()) && elbs.iter().all(|l| in_lb(l).is_none())
        })
    }

    /// Records that `rollback` rolls back `of`.
    pub fn link_rollback(&mut self, rollback: &str, of: &str) {
        if let Some(d) = self.codedeploy.deployments.get_mut(rollback) {
            d.rollback_of = Some(of.to_string());
        }
        if let Some(d) = self.codedeploy.deployments.get_mut(of) {
            d.rolled_back_by = Some(rollback.to_string());
        }
        self.notify(of, None, TriggerEventType::DeploymentRollback);
    }
}
