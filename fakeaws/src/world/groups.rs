//! Groups and capacity with AWS semantics: sizes, desired capacity, the instance quota, processes,
//! termination, attachments, deletion.

use super::iso_s;
use super::World;
use super::USER_SUSPEND;
use crate::model::*;
use crate::protocol::error::AwsError;
use std::collections::BTreeMap;

/// Tags per Auto Scaling group (AWS's quota).
pub const MAX_GROUP_TAGS: usize = 50;

impl World {
    /// Instances that are not terminated (what the quota counts).
    pub fn live_instances(&self) -> usize {
        self.instances
            .values()
            .filter(|i| i.lifecycle != Lifecycle::Terminated)
            .count()
    }

    /// Refuses a change that would need `more` new instances beyond the account's quota.
    pub fn check_quota(&self, more: i64) -> Result<(), AwsError> {
        let live = self.live_instances() as i64;
        let quota = self.max_instances as i64;
        if more > 0 && live.saturating_add(more) > quota {
            return Err(AwsError::new(
                400,
                "LimitExceeded",
                format!(
                    "You have requested more instances ({}) than your current instance limit of {quota} allows (fakeaws --max-instances; {live} running).",
                    live.saturating_add(more)
                ),
            ));
        }
        Ok(())
    }

    /// The instances a group counts as capacity now (pending and in service).
    pub fn capacity_of(&self, group: &str) -> i64 {
        self.groups.get(group).map_or(0, |g| {
            g.instances
                .iter()
                .filter(|id| {
                    self.instances
                        .get(*id)
                        .is_some_and(|i| i.lifecycle.counts_as_capacity())
                })
                .count() as i64
        })
    }

    /// The group, or AWS's error for a missing one.
    pub fn group(&self, name: &str) -> Result<&Group, AwsError> {
        self.groups
            .get(name)
            .ok_or_else(|| AwsError::validation(format!("AutoScalingGroup name not found - {name}")))
    }

    /// Mutable group access with AWS's error for a missing one (the fake's own handlers only:
    /// outside code changes a group through the operations below).
    pub(crate) fn group_mut(&mut self, name: &str) -> Result<&mut Group, AwsError> {
        self.groups
            .get_mut(name)
            .ok_or_else(|| AwsError::validation(format!("AutoScalingGroup name not found - {name}")))
    }

    /// CreateAutoScalingGroup, once its parameters are read: the group (whose Classic Load
    /// Balancers must exist) with its tags, then its first launches.
    pub(crate) fn add_group(&mut self, mut group: Group, tags: BTreeMap<String, Tag>) -> Result<(), AwsError> {
        for n in &group.load_balancer_names {
            if !self.classic.contains_key(n) {
                return Err(AwsError::validation(format!("Provided Load Balancers may not be valid. Please ensure they exist and try again. There is no ACTIVE Load Balancer named '{n}'")));
            }
        }
        group.tags.extend(tags);
        self.groups.insert(group.name.clone(), group);
        self.tick(self.now_ms);
        Ok(())
    }

    /// UpdateAutoScalingGroup, once its parameters are read and checked.
    pub(crate) fn update_group(&mut self, name: &str, u: GroupUpdate) -> Result<(), AwsError> {
        let g = self.group_mut(name)?;
        g.min = u.min;
        g.max = u.max;
        g.desired = u.desired;
        if let Some(azs) = u.availability_zones {
            g.availability_zones = azs;
        }
        if let Some(v) = u.vpc_zone_identifier {
            g.vpc_zone_identifier = v;
        }
        if let Some(h) = u.health_check_type {
            g.health_check_type = h;
        }
        if let Some(s) = u.health_check_grace_period_s {
            g.health_check_grace_period_s = s;
        }
        if let Some(t) = u.launch_template {
            g.launch_template = Some(t);
        }
        if let Some(b) = u.new_instances_protected_from_scale_in {
            g.new_instances_protected_from_scale_in = b;
        }
        if let Some(r) = u.terminate_hook_abandon {
            g.terminate_hook_abandon = Some(r);
        }
        if let Some(b) = u.capacity_rebalance {
            g.capacity_rebalance = b;
        }
        self.settle();
        Ok(())
    }

    /// TerminateInstanceInAutoScalingGroup on a retained instance: terminated now (its lifecycle
    /// actions are over and it is out of capacity already, so nothing is decremented or replaced).
    fn terminate_retained(&mut self, id: &str, group: &str) -> String {
        let act = self.start_activity(
            group,
            format!("Terminating EC2 instance: {id}"),
            format!("retained instance {id} was terminated in response to a user request."),
        );
        if let Some(inst) = self.instances.get_mut(id) {
            inst.retain = false;
            inst.lifecycle = Lifecycle::TerminatingProceed;
            inst.activity = Some(act.clone());
        }
        self.settle();
        act
    }

    /// Sets a group's MinSize, as UpdateAutoScalingGroup with only MinSize does.
    pub fn set_min_size(&mut self, group: &str, min: i64) -> Result<(), AwsError> {
        let g = self.group(group)?;
        Self::check_sizes(min, g.max, g.desired)?;
        let update = GroupUpdate::sizes(min, g.max, g.desired);
        self.update_group(group, update)
    }

    /// Creates or replaces one of a group's tags (CreateOrUpdateTags).
    /// A group holds at most [`MAX_GROUP_TAGS`] tags (AWS's quota): a new key beyond it is
    /// refused with `LimitExceeded` (the message is ours; AWS documents only the code).
    pub fn put_tag(&mut self, group: &str, key: &str, tag: Tag) -> Result<(), AwsError> {
        let g = self.group_mut(group)?;
        if !g.tags.contains_key(key) && g.tags.len() >= MAX_GROUP_TAGS {
            return Err(AwsError::new(
                400,
                "LimitExceeded",
                format!("The Auto Scaling group {group} already has {MAX_GROUP_TAGS} tags, the most it can have"),
            ));
        }
        g.tags.insert(key.to_string(), tag);
        Ok(())
    }

    /// Deletes one of a group's tags (DeleteTags; a missing tag is no error).
    pub fn delete_tag(&mut self, group: &str, key: &str) -> Result<(), AwsError> {
        self.group_mut(group)?.tags.remove(key);
        Ok(())
    }

    /// SetInstanceHealth: Auto Scaling's view of an instance's health. An Unhealthy report inside
    /// the group's grace period is ignored when the caller asks for the grace period to be respected.
    pub fn set_instance_health(&mut self, id: &str, healthy: bool, respect_grace: bool) -> Result<(), AwsError> {
        let not_found = || {
            AwsError::validation(format!(
                "Instance Id not found - No managed instance found for instance ID: {id}"
            ))
        };
        let inst = self
            .instances
            .get(id)
            .filter(|i| i.group.is_some())
            .ok_or_else(not_found)?;
        let group = self.group(inst.group.as_deref().unwrap_or_default())?;
        let in_grace = self.now_ms < inst.launched_ms + group.health_check_grace_period_s * 1000;
        if !(respect_grace && in_grace && !healthy) {
            if let Some(i) = self.instances.get_mut(id) {
                i.healthy = healthy;
            }
        }
        Ok(())
    }

    /// AttachLoadBalancers: Classic Load Balancers join the group; its in-service members register.
    pub fn attach_load_balancers(&mut self, group: &str, names: &[String]) -> Result<(), AwsError> {
        for n in names {
            if !self.classic.contains_key(n) {
                return Err(AwsError::validation(format!(
                    "There is no ACTIVE Load Balancer named '{n}'"
                )));
            }
        }
        let g = self.group_mut(group)?;
        for n in names {
            if !g.load_balancer_names.contains(n) {
                g.load_balancer_names.push(n.clone());
            }
        }
        let members = std::sync::Arc::clone(&g.instances);
        for id in members.iter() {
            if self
                .instances
                .get(id)
                .is_some_and(|i| i.lifecycle == Lifecycle::InService)
            {
                for n in names {
                    self.classic_register(n, id);
                }
            }
        }
        Ok(())
    }

    /// DetachLoadBalancers: the group leaves Classic Load Balancers; its members deregister.
    pub fn detach_load_balancers(&mut self, group: &str, names: &[String]) -> Result<(), AwsError> {
        let g = self.group_mut(group)?;
        g.load_balancer_names.retain(|n| !names.contains(n));
        let members = std::sync::Arc::clone(&g.instances);
        for id in members.iter() {
            for n in names {
                self.classic_deregister(n, id);
            }
        }
        Ok(())
    }

    /// Checks min <= desired <= max with AWS's messages.
    pub fn check_sizes(min: i64, max: i64, desired: i64) -> Result<(), AwsError> {
        if min < 0 || max < 0 || desired < 0 {
            return Err(AwsError::validation("Group sizes must not be negative."));
        }
        if max < min {
            return Err(AwsError::validation(format!(
                "Max bound, {max}, must be greater than or equal to min bound, {min}"
            )));
        }
        if desired < min || desired > max {
            return Err(AwsError::validation(format!(
                "Desired capacity:{desired} must be between the specified min size:{min} and max size:{max}"
            )));
        }
        Ok(())
    }

    /// SetDesiredCapacity.
    pub fn set_desired(&mut self, group: &str, desired: i64) -> Result<(), AwsError> {
        let more = desired - self.capacity_of(group);
        let g = self.group(group)?;
        if desired <= g.max && desired >= g.min {
            self.check_quota(more)?;
        }
        let g = self.group_mut(group)?;
        if desired > g.max {
            return Err(AwsError::validation(format!(
                "New SetDesiredCapacity value {desired} is above max value {} for the AutoScalingGroup.",
                g.max
            )));
        }
        if desired < g.min {
            return Err(AwsError::validation(format!(
                "New SetDesiredCapacity value {desired} is below min value {} for the AutoScalingGroup.",
                g.min
            )));
        }
        g.desired = desired;
        self.settle();
        Ok(())
    }

    /// TerminateInstanceInAutoScalingGroup.
    pub fn terminate_in_group(&mut self, id: &str, decrement: bool) -> Result<String, AwsError> {
        let inst = self.instances.get(id).filter(|i| i.group.is_some()).ok_or_else(|| {
            AwsError::validation(format!(
                "Instance Id not found - No managed instance found for instance ID: {id}"
            ))
        })?;
        let group = inst.group.clone().unwrap_or_default();
        let counts = inst.lifecycle.counts_as_capacity();
        if inst.lifecycle == Lifecycle::TerminatingRetained {
            return Ok(self.terminate_retained(id, &group));
        }
        if inst.lifecycle.is_leaving() {
            return Err(AwsError::validation(format!(
                "The instance {id} is already terminating."
            )));
        }
        let g = self.group(&group)?.sizes();
        if decrement && counts && g.desired - 1 < g.min {
            return Err(AwsError::validation(format!(
                "Currently, desiredSize equals minSize ({}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.",
                g.min
            )));
        }
        if decrement && counts {
            self.group_mut(&group)?.desired -= 1;
        }
        let cause = if decrement {
            format!(
                "instance {id} was taken out of service in response to a user request, shrinking the capacity from {} to {}.",
                g.desired,
                g.desired - 1
            )
        } else {
            format!("instance {id} was taken out of service in response to a user request.")
        };
        self.begin_terminate(id, cause);
        let act = self
            .instances
            .get(id)
            .and_then(|i| i.activity.clone())
            .unwrap_or_default();
        self.settle();
        Ok(act)
    }

    /// Suspends processes (all when `names` is empty).
    pub fn suspend(&mut self, group: &str, names: &[Process]) -> Result<(), AwsError> {
        let names = if names.is_empty() { Process::ALL } else { names };
        let now = iso_s(self.now_ms);
        let g = self.group_mut(group)?;
        for n in names {
            g.suspended.entry(*n).or_insert_with(|| format!("{USER_SUSPEND} {now}"));
        }
        Ok(())
    }

    /// Resumes processes (all when `names` is empty).
    pub fn resume(&mut self, group: &str, names: &[Process]) -> Result<(), AwsError> {
        let names = if names.is_empty() { Process::ALL } else { names };
        let g = self.group_mut(group)?;
        for n in names {
            g.suspended.remove(n);
        }
        self.settle();
        Ok(())
    }

    /// Deletes a group; with `force`, its instances are terminated first.
    pub fn delete_group(&mut self, name: &str, force: bool) -> Result<(), AwsError> {
        let g = self.group(name)?.clone();
        // Its warm pool's instances go with it (AWS: a forced delete deletes the warm pool too).
        let live: Vec<String> = g
            .instances
            .iter()
            .chain(&g.warm)
            .filter(|id| self.instances.get(*id).is_some_and(|i| !i.lifecycle.is_terminated()))
            .cloned()
            .collect();
        if !live.is_empty() && !force {
            return Err(AwsError::new(
                400,
                "ResourceInUse",
                "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.",
            ));
        }
        for id in &live {
            self.deregister_everywhere(id);
            if let Some(inst) = self.instances.get_mut(id) {
                inst.lifecycle = Lifecycle::Terminated;
                inst.terminated_ms = Some(self.now_ms);
                inst.app_up = false;
                inst.until_ms = None;
            }
        }
        self.groups.remove(name);
        // Its policies and scheduled actions go with it, as in AWS.
        self.policies.retain(|_, p| p.group != name);
        self.scheduled.retain(|_, a| a.group != name);
        self.cooldown_until.remove(name);
        Ok(())
    }

    /// Attaches target groups to a group and registers its in-service instances.
    pub fn attach_target_groups(&mut self, group: &str, arns: &[String]) -> Result<(), AwsError> {
        for arn in arns {
            if !self.target_groups.contains_key(arn) {
                return Err(AwsError::validation(format!("Target group not found: {arn}")));
            }
        }
        let g = self.group_mut(group)?;
        for arn in arns {
            if !g.target_groups.contains(arn) {
                g.target_groups.push(arn.clone());
            }
        }
        let members = std::sync::Arc::clone(&g.instances);
        let suspended = g.is_suspended(Process::AddToLoadBalancer);
        for id in members.iter() {
            if self
                .instances
                .get(id)
                .is_some_and(|i| i.lifecycle == Lifecycle::InService)
                && !suspended
            {
                for arn in arns {
                    let port = self.target_groups.get(arn).map(|t| t.port).unwrap_or(80);
                    self.register_target(arn, id, port);
                }
            }
        }
        Ok(())
    }

    /// Detaches target groups from a group; its instances drain out of them.
    pub fn detach_target_groups(&mut self, group: &str, arns: &[String]) -> Result<(), AwsError> {
        let g = self.group_mut(group)?;
        g.target_groups.retain(|a| !arns.contains(a));
        let members = std::sync::Arc::clone(&g.instances);
        for id in members.iter() {
            for arn in arns {
                self.deregister_target(arn, id, None);
            }
        }
        Ok(())
    }
}

/// What UpdateAutoScalingGroup changes: the sizes, and whatever else was given.
#[derive(Debug, Clone)]
pub(crate) struct GroupUpdate {
    pub min: i64,
    pub max: i64,
    pub desired: i64,
    pub availability_zones: Option<Vec<String>>,
    pub vpc_zone_identifier: Option<String>,
    pub health_check_type: Option<HealthCheckType>,
    pub health_check_grace_period_s: Option<i64>,
    pub launch_template: Option<String>,
    pub new_instances_protected_from_scale_in: Option<bool>,
    pub terminate_hook_abandon: Option<RetentionAction>,
    pub capacity_rebalance: Option<bool>,
}

impl GroupUpdate {
    /// New sizes, nothing else changed.
    pub(crate) fn sizes(min: i64, max: i64, desired: i64) -> Self {
        GroupUpdate {
            min,
            max,
            desired,
            availability_zones: None,
            vpc_zone_identifier: None,
            health_check_type: None,
            health_check_grace_period_s: None,
            launch_template: None,
            new_instances_protected_from_scale_in: None,
            terminate_hook_abandon: None,
            capacity_rebalance: None,
        }
    }
}
