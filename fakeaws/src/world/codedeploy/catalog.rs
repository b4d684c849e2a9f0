//! CodeDeploy's catalogue: applications, deployment groups (and the lifecycle hooks they put on
//! their Auto Scaling groups), deployment configurations and registered revisions.

use super::check_name;
use super::check_revision;
use super::check_role;
use super::describe_revision;
use super::launch_hook_name;
use super::termination_hook_name;
use super::GroupInput;
use crate::model::codedeploy::Application;
use crate::model::codedeploy::ComputePlatform;
use crate::model::codedeploy::DeploymentConfig;
use crate::model::codedeploy::DeploymentGroup;
use crate::model::codedeploy::DeploymentOption;
use crate::model::codedeploy::DeploymentType;
use crate::model::codedeploy::MinimumHealthyHosts;
use crate::model::codedeploy::MinimumHealthyHostsType;
use crate::model::codedeploy::OutdatedInstancesStrategy;
use crate::model::codedeploy::RegisteredRevision;
use crate::model::codedeploy::Revision;
use crate::model::codedeploy::ZonalConfig;
use crate::model::codedeploy::BUILT_IN_CONFIGS;
use crate::model::LifecycleHook;
use crate::model::LifecycleResult;
use crate::model::LifecycleTransition;
use crate::protocol::error::AwsError;
use crate::world::World;
use std::collections::BTreeMap;

impl World {
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
            self.remove_launch_hooks(&g.name, g.autoscaling_groups.keys());
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
            // The hooks carry the group's name: a renamed group gets new ones.
            not_cleaned = self.remove_launch_hooks(name, old_hooks.keys());
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
        Ok(self.remove_launch_hooks(&g.name, g.autoscaling_groups.keys()))
    }

    pub(super) fn put_launch_hooks(&mut self, app: &str, dg: &str, asgs: &[String]) -> Result<(), AwsError> {
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

    /// Takes deployment group `dg`'s lifecycle hooks (launch, and termination if any) off the Auto
    /// Scaling groups `asgs`; returns the groups whose launch hook was already gone
    /// (`hooksNotCleanedUp`).
    fn remove_launch_hooks<'a>(&mut self, dg: &str, asgs: impl Iterator<Item = &'a String>) -> Vec<String> {
        let (launch, termination) = (launch_hook_name(dg), termination_hook_name(dg));
        let mut not_cleaned = Vec::new();
        for asg in asgs {
            let has = |w: &World, hook: &str| w.groups.get(asg).is_some_and(|g| g.hooks.contains_key(hook));
            if has(self, &termination) {
                let _ = self.delete_lifecycle_hook(asg, &termination);
            }
            if has(self, &launch) {
                let _ = self.delete_lifecycle_hook(asg, &launch);
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
    pub fn create_deployment_config(
        &mut self,
        name: &str,
        hosts: MinimumHealthyHosts,
        zonal: Option<ZonalConfig>,
    ) -> Result<String, AwsError> {
        check_name("deploymentConfigName", name)?;
        if self.deployment_config(name).is_ok() {
            return Err(AwsError::new(
                400,
                "DeploymentConfigAlreadyExistsException",
                format!("A deployment configuration named {name} already exists with the IAM user or AWS account."),
            ));
        }
        if !hosts_valid(hosts) {
            return Err(AwsError::new(
                400,
                "InvalidMinimumHealthyHostValueException",
                format!(
                    "The minimum healthy hosts value {} is not valid for type {}: HOST_COUNT takes 0 or more, FLEET_PERCENT 0 to 99.",
                    hosts.value, hosts.kind
                ),
            ));
        }
        if let Some(z) = &zonal {
            check_zonal(z)?;
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
                zonal,
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
}

/// A minimum CreateDeploymentConfig takes: a host count of 0 or more, a percentage of 0 to 99.
fn hosts_valid(hosts: MinimumHealthyHosts) -> bool {
    match hosts.kind {
        MinimumHealthyHostsType::HostCount => hosts.value >= 0,
        MinimumHealthyHostsType::FleetPercent => (0..=99).contains(&hosts.value),
        MinimumHealthyHostsType::MostConcurrency => false,
    }
}

/// `zonalConfig`'s checks: no negative wait, a per-zone minimum of the same kinds and ranges as
/// the overall one. AWS documents only the error ("The ZonalConfig object is not valid."); the
/// part after it names what is wrong.
fn check_zonal(z: &ZonalConfig) -> Result<(), AwsError> {
    let invalid = |why: String| {
        AwsError::new(
            400,
            "InvalidZonalDeploymentConfigurationException",
            format!("The ZonalConfig object is not valid: {why}"),
        )
    };
    for (field, v) in [
        ("firstZoneMonitorDurationInSeconds", z.first_zone_monitor_seconds),
        ("monitorDurationInSeconds", z.monitor_seconds),
    ] {
        if let Some(v) = v.filter(|v| *v < 0) {
            return Err(invalid(format!("{field} is {v}; it must be 0 or more.")));
        }
    }
    if let Some(h) = z.per_zone.filter(|h| !hosts_valid(*h)) {
        return Err(invalid(format!(
            "minimumHealthyHostsPerZone {} {} is not valid: HOST_COUNT takes 0 or more, FLEET_PERCENT 0 to 99.",
            h.kind, h.value
        )));
    }
    Ok(())
}
