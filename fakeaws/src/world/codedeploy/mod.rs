//! CodeDeploy's control plane: applications, deployment groups (with CodeDeploy's launch hook on
//! their Auto Scaling groups), deployment configurations, deployments and revisions, with
//! CodeDeploy's validation messages. A deployment is run by an engine outside the world (the
//! agent simulation): it reports each instance's lifecycle events and statuses through
//! [`World::deployment_started`], [`World::instance_event`], [`World::instance_done`] and
//! [`World::deployment_done`], and the API reads them back. Each status change also produces the
//! notification the group's triggers would publish.
//!
//! Rooms: this file (names, inputs, lookups, validation), `catalog` (applications, groups and their
//! lifecycle hooks, configurations, revisions), `deployments` (a deployment's life as the engine
//! reports it, and traffic control), `triggers` (the notifications).

mod catalog;
mod deployments;
mod triggers;

use super::World;
use crate::model::codedeploy::*;
use crate::protocol::error::AwsError;

pub use triggers::overview_json;

/// The launch lifecycle hook CodeDeploy puts on a deployment group's Auto Scaling groups.
pub fn launch_hook_name(deployment_group: &str) -> String {
    format!("CodeDeploy-managed-automatic-launch-deployment-hook-{deployment_group}")
}

/// The termination lifecycle hook CodeDeploy puts on a deployment group's Auto Scaling groups when
/// termination deployments are enabled (`terminationHookEnabled`).
pub fn termination_hook_name(deployment_group: &str) -> String {
    format!("CodeDeploy-managed-automatic-termination-deployment-hook-{deployment_group}")
}

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

pub(crate) fn app_missing(name: &str) -> AwsError {
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
    pub(super) fn application(&self, name: &str) -> Result<&Application, AwsError> {
        self.codedeploy_application(name)
    }

    pub(super) fn application_mut(&mut self, name: &str) -> Result<&mut Application, AwsError> {
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

    pub(super) fn deployment_mut(&mut self, id: &str) -> Result<&mut Deployment, AwsError> {
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
                zonal: None,
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

pub(super) fn check_name(member: &str, name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 100 {
        return Err(AwsError::new(
            400,
            "ValidationException",
            format!("1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must have length between 1 and 100"),
        ));
    }
    Ok(())
}

pub(super) fn check_role(role: &str) -> Result<(), AwsError> {
    if !role.starts_with("arn:aws:iam::") || !role.contains(":role/") {
        return Err(AwsError::new(
            400,
            "InvalidRoleException",
            format!("The service role ARN {role} is not valid: it must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."),
        ));
    }
    Ok(())
}

pub(super) fn check_revision(r: &Revision) -> Result<(), AwsError> {
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
