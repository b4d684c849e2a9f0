//! The world's read-only door for code outside the fake (tests, drivers): views of what it holds.
//! Its fields are the fake's own; outside code changes the world only through its operations
//! (the API handlers, [`crate::rehearsal`], the methods of [`World`]).

use std::collections::BTreeMap;

use imbl::OrdMap;

use super::scaling::{ScalingPolicy, ScheduledAction};
use super::World;
use crate::model::*;

impl World {
    /// CodeDeploy's applications, by name.
    pub fn codedeploy_applications(&self) -> impl DoubleEndedIterator<Item = &crate::model::codedeploy::Application> {
        self.codedeploy.applications.values()
    }

    /// One CodeDeploy application.
    pub fn codedeploy_application(
        &self,
        name: &str,
    ) -> Result<&crate::model::codedeploy::Application, crate::protocol::error::AwsError> {
        self.codedeploy
            .applications
            .get(name)
            .ok_or_else(|| super::codedeploy::app_missing(name))
    }

    /// The names of an application's deployment groups.
    pub fn deployment_group_names(&self, app: &str) -> Result<Vec<String>, crate::protocol::error::AwsError> {
        Ok(self.codedeploy_application(app)?.groups.keys().cloned().collect())
    }

    /// CodeDeploy's deployments, oldest first.
    pub fn codedeploy_deployments(&self) -> impl DoubleEndedIterator<Item = &crate::model::codedeploy::Deployment> {
        self.codedeploy
            .deployment_order
            .iter()
            .filter_map(|id| self.codedeploy.deployments.get(id))
    }

    /// What CodeDeploy's triggers announced, oldest first.
    pub fn codedeploy_notifications(&self) -> &imbl::Vector<crate::model::codedeploy::TriggerEvent> {
        &self.codedeploy.notifications
    }

    /// The region of the simulated account.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The simulated time the world has been brought up to.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Every instance (terminated ones for an hour after), by id.
    pub fn instances(&self) -> &OrdMap<String, Instance> {
        &self.instances
    }

    /// Auto Scaling groups, by name.
    pub fn groups(&self) -> &OrdMap<String, Group> {
        &self.groups
    }

    /// ELBv2 load balancers, by ARN.
    pub fn load_balancers(&self) -> &BTreeMap<String, LoadBalancer> {
        &self.load_balancers
    }

    /// ELBv2 target groups, by ARN.
    pub fn target_groups(&self) -> &OrdMap<String, TargetGroup> {
        &self.target_groups
    }

    /// ELBv2 listeners, by ARN.
    pub fn listeners(&self) -> &BTreeMap<String, Listener> {
        &self.listeners
    }

    /// Scaling activities, oldest first (the newest 10,000).
    pub fn activities(&self) -> &imbl::Vector<Activity> {
        &self.activities
    }

    /// Classic Load Balancers, by name.
    pub fn classic(&self) -> &BTreeMap<String, ClassicLb> {
        &self.classic
    }

    /// Scaling policies, by ARN.
    pub fn scaling_policies(&self) -> &BTreeMap<String, ScalingPolicy> {
        &self.policies
    }

    /// Scheduled actions, by ARN.
    pub fn scheduled_actions(&self) -> &BTreeMap<String, ScheduledAction> {
        &self.scheduled
    }

    /// Tags of ELBv2 resources, by ARN.
    pub fn elb_tags(&self) -> &BTreeMap<String, BTreeMap<String, String>> {
        &self.elb_tags
    }

    /// Instance roles' policies and static identities.
    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// The account's instance quota.
    pub fn max_instances(&self) -> usize {
        self.max_instances
    }

    /// Sets the account's instance quota (`--max-instances`).
    pub fn set_max_instances(&mut self, n: usize) {
        self.max_instances = n;
    }
}
