//! CodeDeploy's control plane: applications, deployment groups (with CodeDeploy's launch hook on
//! their Auto Scaling groups), deployment configurations, deployments and revisions, with
//! CodeDeploy's validation messages. A deployment is run by an engine outside the world (the
//! agent simulation): it reports each instance's lifecycle events and statuses through
//! [`World::deployment_started`], [`World::instance_event`], [`World::instance_done`] and
//! [`World::deployment_done`], and the API reads them back. Each status change also produces the
//! notification the group's triggers would publish.

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::codedeploy::*;

use super::*;

/// The launch lifecycle hook CodeDeploy puts on a deployment group's Auto Scaling groups.
pub fn launch_hook_name(deployment_group: &str) -> String {
    format!("CodeDeploy-managed-automatic-launch-deployment-hook-{deployment_group}")
}

/// The termination lifecycle hook CodeDeploy puts on a deployment group's Auto Scaling groups when
/// termination deployments are enabled (`terminationHookEnabled`).
pub fn termination_hook_name(deployment_group: &str) -> String {
    format!("CodeDeploy-managed-automatic-termination-deployment-hook-{deployment_group}")
}

/// The lifecycle events of an in-place deployment, in order; with traffic control, CodeDeploy's
/// own traffic events around them.
pub fn in_place_events(traffic_control: bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    if traffic_control {
        out.extend(["BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"]);
    }
    out.extend([
        "ApplicationStop",
        "DownloadBundle",
        "BeforeInstall",
        "Install",
        "AfterInstall",
        "ApplicationStart",
        "ValidateService",
    ]);
    if traffic_control {
        out.extend(["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]);
    }
    out
}

/// The notifications kept (the oldest are dropped beyond this).
const MAX_NOTIFICATIONS: usize = 10_000;

/// What CreateDeploymentGroup and UpdateDeploymentGroup may set (`None`: not given).
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub new_name: Option<String>,
    pub config: Option<String>,
    pub service_role_arn: Option<String>,
    pub autoscaling_groups: Option<Vec<String>>,
    pub ec2_tag_filters: Option<Vec<TagFilter>>,
    pub elb_names: Option<Vec<String>>,
    pub target_group_names: Option<Vec<String>>,
    pub deployment_type: Option<DeploymentType>,
    pub deployment_option: Option<DeploymentOption>,
    pub auto_rollback: Option<AutoRollback>,
    pub triggers: Option<Vec<Trigger>>,
    pub outdated_instances_strategy: Option<OutdatedInstancesStrategy>,
    pub termination_hook_enabled: Option<bool>,
}

/// What CreateDeployment asks for.
#[derive(Debug, Clone)]
pub struct DeploymentInput {
    pub application: String,
    pub group: String,
    pub revision: Revision,
    pub config: Option<String>,
    pub description: Option<String>,
    pub creator: DeploymentCreator,
    pub ignore_application_stop_failures: bool,
    pub update_outdated_instances_only: bool,
    pub auto_rollback: Option<AutoRollback>,
}

fn app_missing(name: &str) -> AwsError {
    AwsError::new(
        400,
        "ApplicationDoesNotExistException",
        format!("No application found for name: {name}"),
    )
}

fn group_missing(app: &str, name: &str) -> AwsError {
    AwsError::new(
        400,
        "DeploymentGroupDoesNotExistException",
        format!("No Deployment Group found for name: {name} in application {app}"),
    )
}

fn deployment_missing(id: &str) -> AwsError {
    AwsError::new(
        400,
        "DeploymentDoesNotExistException",
        format!("The deployment {id} does not exist with the user or AWS account."),
    )
}

impl World {
    fn application(&self, name: &str) -> Result<&Application, AwsError> {
        self.codedeploy_application(name)
    }

    fn application_mut(&mut self, name: &str) -> Result<&mut Application, AwsError> {
        self.codedeploy
            .applications
            .get_mut(name)
            .ok_or_else(|| app_missing(name))
    }

    /// A deployment group.
    pub fn deployment_group(&self, app: &str, name: &str) -> Result<&DeploymentGroup, AwsError> {
        self.application(app)?
            .groups
            .get(name)
            .ok_or_else(|| group_missing(app, name))
    }

    /// A deployment (its id checked for CodeDeploy's format first).
    pub fn deployment(&self, id: &str) -> Result<&Deployment, AwsError> {
        check_deployment_id(id)?;
        self.codedeploy
            .deployments
            .get(id)
            .ok_or_else(|| deployment_missing(id))
    }

    fn deployment_mut(&mut self, id: &str) -> Result<&mut Deployment, AwsError> {
        self.codedeploy
            .deployments
            .get_mut(id)
            .ok_or_else(|| deployment_missing(id))
    }

    /// A deployment configuration: a built-in one or the account's own.
    pub fn deployment_config(&self, name: &str) -> Result<DeploymentConfig, AwsError> {
        if let Some(c) = self.codedeploy.configs.get(name) {
            return Ok(c.clone());
        }
        BUILT_IN_CONFIGS
            .iter()
            .enumerate()
            .find(|(_, (n, _, _))| *n == name)
            .map(|(i, (n, kind, value))| DeploymentConfig {
                id: format!("00000000-0000-0000-0000-00000000000{}", i + 1),
                name: n.to_string(),
                minimum_healthy_hosts: MinimumHealthyHosts {
                    kind: *kind,
                    value: *value,
                },
                created_ms: 0,
                compute_platform: ComputePlatform::Server,
            })
            .ok_or_else(|| {
                AwsError::new(
                    400,
                    "DeploymentConfigDoesNotExistException",
                    format!("No deployment configuration found for name: {name}"),
                )
            })
    }

    /// Every configuration's name: built-in first, then the account's own.
    pub fn deployment_config_names(&self) -> Vec<String> {
        BUILT_IN_CONFIGS
            .iter()
            .map(|(n, _, _)| n.to_string())
            .chain(self.codedeploy.configs.keys().cloned())
            .collect()
    }

    /// CreateApplication.
    pub fn create_application(&mut self, name: &str, platform: ComputePlatform) -> Result<String, AwsError> {
        check_name("applicationName", name)?;
        if self.codedeploy.applications.contains_key(name) {
            return Err(AwsError::new(
                400,
                "ApplicationAlreadyExistsException",
                format!("The application {name} already exists with the IAM user or AWS account."),
            ));
        }
        let id = self.uuid();
        self.codedeploy.applications.insert(
            name.to_string(),
            Application {
                id: id.clone(),
                name: name.to_string(),
                created_ms: self.now_ms,
                compute_platform: platform,
                groups: BTreeMap::new(),
                revisions: Vec::new(),
            },
        );
        Ok(id)
    }

    /// DeleteApplication: the application, its groups (and their launch hooks) and revisions. A
    /// missing application is no error, as AWS answers.
    pub fn delete_application(&mut self, name: &str) -> Result<(), AwsError> {
        let Some(app) = self.codedeploy.applications.remove(name) else {
            return Ok(());
        };
        for g in app.groups.values() {
            self.remove_launch_hooks(g.autoscaling_groups.iter());
        }
        Ok(())
    }

    /// CreateDeploymentGroup: the group, and CodeDeploy's launch hook on each of its Auto Scaling
    /// groups.
    pub fn create_deployment_group(&mut self, app: &str, name: &str, input: GroupInput) -> Result<String, AwsError> {
        check_name("deploymentGroupName", name)?;
        self.application(app)?;
        if self.application(app)?.groups.contains_key(name) {
            return Err(AwsError::new(
                400,
                "DeploymentGroupAlreadyExistsException",
                format!("A deployment group named {name} already exists for application {app}"),
            ));
        }
        let Some(role) = input.service_role_arn.clone() else {
            return Err(AwsError::new(400, "RoleRequiredException", "Role ARN is required."));
        };
        check_role(&role)?;
        let config = input
            .config
            .clone()
            .unwrap_or_else(|| "CodeDeployDefault.OneAtATime".to_string());
        self.deployment_config(&config)?;
        let asgs = input.autoscaling_groups.clone().unwrap_or_default();
        self.check_asgs(&asgs)?;
        self.check_load_balancers(&input)?;
        let id = self.uuid();
        let group = DeploymentGroup {
            id: id.clone(),
            application: app.to_string(),
            name: name.to_string(),
            config,
            service_role_arn: role,
            autoscaling_groups: BTreeMap::new(),
            ec2_tag_filters: input.ec2_tag_filters.clone().unwrap_or_default(),
            elb_names: input.elb_names.clone().unwrap_or_default(),
            target_group_names: input.target_group_names.clone().unwrap_or_default(),
            deployment_type: input.deployment_type.unwrap_or(DeploymentType::InPlace),
            deployment_option: input
                .deployment_option
                .unwrap_or(DeploymentOption::WithoutTrafficControl),
            auto_rollback: input.auto_rollback.clone().unwrap_or_default(),
            triggers: input.triggers.clone().unwrap_or_default(),
            outdated_instances_strategy: input
                .outdated_instances_strategy
                .unwrap_or(OutdatedInstancesStrategy::Update),
            termination_hook_enabled: input.termination_hook_enabled.unwrap_or(false),
            target_revision: None,
            last_successful: None,
            last_attempted: None,
        };
        if group.deployment_type == DeploymentType::BlueGreen {
            return Err(AwsError::new(
                400,
                "InvalidDeploymentStyleException",
                "fakeaws runs in-place deployments only: deploymentType BLUE_GREEN is not supported.",
            ));
        }
        self.application_mut(app)?.groups.insert(name.to_string(), group);
        self.put_launch_hooks(app, name, &asgs)?;
        Ok(id)
    }

    /// UpdateDeploymentGroup: changes what is given; Auto Scaling groups that leave lose
    /// CodeDeploy's hook, those that join get it. Returns the groups whose hook could not be
    /// removed (`hooksNotCleanedUp`).
    pub fn update_deployment_group(
        &mut self,
        app: &str,
        name: &str,
        input: GroupInput,
    ) -> Result<Vec<String>, AwsError> {
        let mut g = self.deployment_group(app, name)?.clone();
        let old_termination = g.termination_hook_enabled;
        if let Some(new) = &input.new_name {
            check_name("newDeploymentGroupName", new)?;
            if new != name && self.application(app)?.groups.contains_key(new) {
                return Err(AwsError::new(
                    400,
                    "DeploymentGroupAlreadyExistsException",
                    format!("A deployment group named {new} already exists for application {app}"),
                ));
            }
        }
        if let Some(c) = &input.config {
            self.deployment_config(c)?;
            g.config = c.clone();
        }
        if let Some(r) = &input.service_role_arn {
            check_role(r)?;
            g.service_role_arn = r.clone();
        }
        self.check_load_balancers(&input)?;
        if let Some(v) = input.ec2_tag_filters {
            g.ec2_tag_filters = v;
        }
        if let Some(v) = input.elb_names {
            g.elb_names = v;
        }
        if let Some(v) = input.target_group_names {
            g.target_group_names = v;
        }
        if let Some(v) = input.deployment_option {
            g.deployment_option = v;
        }
        if let Some(v) = input.auto_rollback {
            g.auto_rollback = v;
        }
        if let Some(v) = input.triggers {
            g.triggers = v;
        }
        if let Some(v) = input.outdated_instances_strategy {
            g.outdated_instances_strategy = v;
        }
        if let Some(v) = input.termination_hook_enabled {
            g.termination_hook_enabled = v;
        }
        let mut not_cleaned = Vec::new();
        let new_asgs = input.autoscaling_groups.clone();
        if let Some(asgs) = &new_asgs {
            self.check_asgs(asgs)?;
        }
        let old_hooks = g.autoscaling_groups.clone();
        let renamed = input.new_name.clone().filter(|n| n != name);
        let final_name = renamed.clone().unwrap_or_else(|| name.to_string());
        g.name = final_name.clone();
        let termination_changed = input.termination_hook_enabled.is_some_and(|t| t != old_termination);
        if new_asgs.is_some() || renamed.is_some() || termination_changed {
            // The hook carries the group's name: a renamed group gets new hooks.
            for (asg, hook) in &old_hooks {
                if self.groups.get(asg).is_some_and(|x| x.hooks.contains_key(hook)) {
                    let _ = self.delete_lifecycle_hook(asg, hook);
                } else {
                    not_cleaned.push(asg.clone());
                }
            }
            g.autoscaling_groups.clear();
        }
        let asgs: Vec<String> = match new_asgs {
            Some(a) => a,
            None if renamed.is_some() || termination_changed => old_hooks.keys().cloned().collect(),
            None => Vec::new(),
        };
        let application = self.application_mut(app)?;
        application.groups.remove(name);
        application.groups.insert(final_name.clone(), g);
        if !asgs.is_empty() {
            self.put_launch_hooks(app, &final_name, &asgs)?;
        }
        Ok(not_cleaned)
    }

    /// DeleteDeploymentGroup: the group and CodeDeploy's hooks on its Auto Scaling groups.
    /// Returns the groups whose hook could not be removed.
    pub fn delete_deployment_group(&mut self, app: &str, name: &str) -> Result<Vec<String>, AwsError> {
        self.application(app)?;
        let Some(g) = self.application_mut(app)?.groups.remove(name) else {
            // AWS answers a missing group with success (and nothing to clean up).
            return Ok(Vec::new());
        };
        Ok(self.remove_launch_hooks(g.autoscaling_groups.iter()))
    }

    fn put_launch_hooks(&mut self, app: &str, dg: &str, asgs: &[String]) -> Result<(), AwsError> {
        let hook = launch_hook_name(dg);
        let terminating = self
            .codedeploy
            .applications
            .get(app)
            .and_then(|a| a.groups.get(dg))
            .is_some_and(|g| g.termination_hook_enabled);
        for asg in asgs {
            if terminating {
                self.put_lifecycle_hook(
                    asg,
                    LifecycleHook {
                        name: termination_hook_name(dg),
                        transition: LifecycleTransition::Terminating,
                        heartbeat_timeout_s: 600,
                        default_result: LifecycleResult::Continue,
                        notification_metadata: None,
                        notification_target_arn: None,
                        role_arn: None,
                    },
                )?;
            }
            self.put_lifecycle_hook(
                asg,
                LifecycleHook {
                    name: hook.clone(),
                    transition: LifecycleTransition::Launching,
                    heartbeat_timeout_s: 600,
                    default_result: LifecycleResult::Abandon,
                    notification_metadata: None,
                    notification_target_arn: None,
                    role_arn: None,
                },
            )?;
            if let Some(g) = self
                .codedeploy
                .applications
                .get_mut(app)
                .and_then(|a| a.groups.get_mut(dg))
            {
                g.autoscaling_groups.insert(asg.clone(), hook.clone());
            }
        }
        Ok(())
    }

    fn remove_launch_hooks<'a>(&mut self, hooks: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<String> {
        let mut not_cleaned = Vec::new();
        for (asg, hook) in hooks {
            let termination = hook.replacen("-launch-deployment-hook-", "-termination-deployment-hook-", 1);
            if self.groups.get(asg).is_some_and(|g| g.hooks.contains_key(&termination)) {
                let _ = self.delete_lifecycle_hook(asg, &termination);
            }
            if self.groups.get(asg).is_some_and(|g| g.hooks.contains_key(hook)) {
                let _ = self.delete_lifecycle_hook(asg, hook);
            } else {
                not_cleaned.push(asg.clone());
            }
        }
        not_cleaned
    }

    fn check_asgs(&self, asgs: &[String]) -> Result<(), AwsError> {
        for a in asgs {
            if !self.groups.contains_key(a) {
                return Err(AwsError::new(
                    400,
                    "InvalidAutoScalingGroupException",
                    format!("Auto Scaling group {a} does not exist or is not accessible"),
                ));
            }
        }
        Ok(())
    }

    fn check_load_balancers(&self, input: &GroupInput) -> Result<(), AwsError> {
        for n in input.elb_names.iter().flatten() {
            if !self.classic.contains_key(n) {
                return Err(AwsError::new(
                    400,
                    "InvalidLoadBalancerInfoException",
                    format!("The load balancer {n} does not exist."),
                ));
            }
        }
        for n in input.target_group_names.iter().flatten() {
            if !self.target_groups.values().any(|t| &t.name == n) {
                return Err(AwsError::new(
                    400,
                    "InvalidLoadBalancerInfoException",
                    format!("The target group {n} does not exist."),
                ));
            }
        }
        Ok(())
    }

    /// CreateDeploymentConfig.
    pub fn create_deployment_config(&mut self, name: &str, hosts: MinimumHealthyHosts) -> Result<String, AwsError> {
        check_name("deploymentConfigName", name)?;
        if self.deployment_config(name).is_ok() {
            return Err(AwsError::new(
                400,
                "DeploymentConfigAlreadyExistsException",
                format!("A deployment configuration named {name} already exists with the IAM user or AWS account."),
            ));
        }
        let valid = match hosts.kind {
            MinimumHealthyHostsType::HostCount => hosts.value >= 0,
            MinimumHealthyHostsType::FleetPercent => (0..=99).contains(&hosts.value),
            MinimumHealthyHostsType::MostConcurrency => false,
        };
        if !valid {
            return Err(AwsError::new(
                400,
                "InvalidMinimumHealthyHostValueException",
                format!(
                    "The minimum healthy hosts value {} is not valid for type {}: HOST_COUNT takes 0 or more, FLEET_PERCENT 0 to 99.",
                    hosts.value, hosts.kind
                ),
            ));
        }
        let id = self.uuid();
        self.codedeploy.configs.insert(
            name.to_string(),
            DeploymentConfig {
                id: id.clone(),
                name: name.to_string(),
                minimum_healthy_hosts: hosts,
                created_ms: self.now_ms,
                compute_platform: ComputePlatform::Server,
            },
        );
        Ok(id)
    }

    /// DeleteDeploymentConfig: built-in configurations and those a group uses stay.
    pub fn delete_deployment_config(&mut self, name: &str) -> Result<(), AwsError> {
        if BUILT_IN_CONFIGS.iter().any(|(n, _, _)| *n == name) {
            return Err(AwsError::new(
                400,
                "InvalidOperationException",
                format!("The deployment configuration {name} is a default configuration and cannot be deleted."),
            ));
        }
        let in_use = self
            .codedeploy
            .applications
            .values()
            .flat_map(|a| a.groups.values())
            .any(|g| g.config == name);
        if in_use {
            return Err(AwsError::new(
                400,
                "DeploymentConfigInUseException",
                format!("The deployment configuration {name} is in use by a deployment group."),
            ));
        }
        self.codedeploy.configs.remove(name);
        Ok(())
    }

    /// RegisterApplicationRevision (also done by every deployment of a revision).
    pub fn register_revision(
        &mut self,
        app: &str,
        revision: Revision,
        description: Option<String>,
    ) -> Result<(), AwsError> {
        check_revision(&revision)?;
        let now = self.now_ms;
        let application = self.application_mut(app)?;
        match application.revisions.iter_mut().find(|r| r.revision == revision) {
            Some(r) => {
                if description.is_some() {
                    r.description = description;
                }
            }
            None => application.revisions.push(RegisteredRevision {
                revision,
                description,
                registered_ms: now,
                first_used_ms: None,
                last_used_ms: None,
                deployment_groups: Vec::new(),
            }),
        }
        Ok(())
    }

    /// GetApplicationRevision.
    pub fn application_revision(&self, app: &str, revision: &Revision) -> Result<&RegisteredRevision, AwsError> {
        self.application(app)?
            .revisions
            .iter()
            .find(|r| &r.revision == revision)
            .ok_or_else(|| {
                AwsError::new(
                    400,
                    "RevisionDoesNotExistException",
                    format!(
                        "No application revision found for revision {}",
                        describe_revision(revision)
                    ),
                )
            })
    }

    /// An application's registered revisions, oldest first.
    pub fn application_revisions(&self, app: &str) -> Result<&[RegisteredRevision], AwsError> {
        Ok(&self.application(app)?.revisions)
    }

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
            instances: BTreeMap::new(),
            order: Vec::new(),
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
        let events = if d.creator == DeploymentCreator::AutoscalingTermination {
            vec!["BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"]
        } else {
            in_place_events(d.deployment_option == DeploymentOption::WithTrafficControl)
        };
        d.status = DeploymentStatus::InProgress;
        d.started_ms = Some(now);
        for t in targets {
            d.order.push(t.clone());
            d.instances.insert(
                t.clone(),
                DeploymentInstance {
                    status: InstanceStatus::Pending,
                    updated_ms: now,
                    events: events
                        .iter()
                        .map(|e| LifecycleEvent {
                            name: e.to_string(),
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
        event: &str,
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

    /// The notification each of the group's triggers listening for `event` would publish.
    fn notify(&mut self, id: &str, instance: Option<&str>, event: TriggerEventType) {
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
            self.codedeploy.notifications.drain(..n - MAX_NOTIFICATIONS);
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

/// A revision as error messages name it.
pub fn describe_revision(r: &Revision) -> String {
    match r.kind {
        RevisionType::S3 => format!(
            "s3://{}/{}",
            r.bucket.as_deref().unwrap_or_default(),
            r.key.as_deref().unwrap_or_default()
        ),
        RevisionType::GitHub => format!(
            "{}@{}",
            r.repository.as_deref().unwrap_or_default(),
            r.commit_id.as_deref().unwrap_or_default()
        ),
        _ => "inline content".to_string(),
    }
}

/// `d-` and nine upper-case letters or digits.
pub fn check_deployment_id(id: &str) -> Result<(), AwsError> {
    let ok = id
        .strip_prefix("d-")
        .is_some_and(|r| r.len() == 9 && r.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    if !ok {
        return Err(AwsError::new(
            400,
            "InvalidDeploymentIdException",
            format!("Specified DeploymentId is not in the valid format: {id}"),
        ));
    }
    Ok(())
}

fn check_name(member: &str, name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 100 {
        return Err(AwsError::new(
            400,
            "ValidationException",
            format!("1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must have length between 1 and 100"),
        ));
    }
    Ok(())
}

fn check_role(role: &str) -> Result<(), AwsError> {
    if !role.starts_with("arn:aws:iam::") || !role.contains(":role/") {
        return Err(AwsError::new(
            400,
            "InvalidRoleException",
            format!("The service role ARN {role} is not valid: it must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."),
        ));
    }
    Ok(())
}

fn check_revision(r: &Revision) -> Result<(), AwsError> {
    let ok = match r.kind {
        RevisionType::S3 => {
            r.bucket.as_deref().is_some_and(|b| !b.is_empty()) && r.key.as_deref().is_some_and(|k| !k.is_empty())
        }
        RevisionType::GitHub => r.repository.is_some() && r.commit_id.is_some(),
        RevisionType::String | RevisionType::AppSpecContent => r.content.is_some(),
    };
    if !ok {
        let what = match r.kind {
            RevisionType::S3 => "an S3 revision needs s3Location with bucket and key",
            RevisionType::GitHub => "a GitHub revision needs gitHubLocation with repository and commitId",
            _ => "an inline revision needs its content",
        };
        return Err(AwsError::new(
            400,
            "InvalidRevisionException",
            format!("The revision is not valid: {what}."),
        ));
    }
    Ok(())
}
