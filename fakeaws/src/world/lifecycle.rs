//! Standby and lifecycle hooks: EnterStandby / ExitStandby, instances held by hooks, lifecycle
//! action results and heartbeats, putting instances in service and beginning their termination.

use super::World;
use crate::model::*;
use crate::protocol::error::AwsError;

impl World {
    /// PutLifecycleHook: adds or replaces one of a group's lifecycle hooks.
    pub(crate) fn put_lifecycle_hook(&mut self, group: &str, hook: LifecycleHook) -> Result<(), AwsError> {
        self.group_mut(group)?.hooks.insert(hook.name.clone(), hook);
        Ok(())
    }

    /// DeleteLifecycleHook.
    pub fn delete_lifecycle_hook(&mut self, group: &str, name: &str) -> Result<(), AwsError> {
        if self.group_mut(group)?.hooks.remove(name).is_none() {
            return Err(AwsError::validation(format!(
                "No Lifecycle Hook found with name {name}"
            )));
        }
        Ok(())
    }

    /// Applies a lifecycle action result (CONTINUE / ABANDON) to an instance held by a hook.
    pub fn lifecycle_result(&mut self, id: &str, result: LifecycleResult) {
        let Some(inst) = self.instances.get_mut(id) else { return };
        if inst.lifecycle.is_warm() {
            inst.hook = None;
            inst.until_ms = None;
            return self.warm_lifecycle_result(id, result);
        }
        inst.hook = None;
        inst.until_ms = None;
        match inst.lifecycle {
            Lifecycle::PendingWait if result == LifecycleResult::Abandon => {
                inst.lifecycle = Lifecycle::Terminating;
                let act = inst.activity.take();
                self.finish_activity(act, ActivityStatus::Cancelled);
                let group = self.instances.get(id).and_then(|i| i.group.clone()).unwrap_or_default();
                let a = self.start_activity(
                    &group,
                    format!("Terminating EC2 instance: {id}"),
                    format!("an instance was taken out of service in response to a launch lifecycle hook ({result})."),
                );
                if let Some(inst) = self.instances.get_mut(id) {
                    inst.activity = Some(a);
                }
            }
            Lifecycle::PendingWait => {
                inst.lifecycle = Lifecycle::PendingProceed;
                self.put_in_service(id);
            }
            Lifecycle::TerminatingWait => {
                inst.lifecycle = Lifecycle::TerminatingProceed;
                if result == LifecycleResult::Abandon {
                    self.mark_retained(id);
                }
            }
            _ => {}
        }
    }

    /// Puts the instance in `wait` (`Pending:Wait`, `Terminating:Wait`, `Warmed:Pending:Wait` ...)
    /// under its group's lifecycle hook for `transition`, with a new token and the hook's timeout.
    /// Returns whether the group has such a hook.
    pub(crate) fn hold(&mut self, id: &str, transition: LifecycleTransition, wait: Lifecycle) -> bool {
        let group = self.instances.get(id).and_then(|i| i.group.clone()).unwrap_or_default();
        let Some(hook) = self
            .groups
            .get(&group)
            .and_then(|g| g.hooks.values().find(|h| h.transition == transition).cloned())
        else {
            return false;
        };
        let token = self.uuid();
        let now = self.now_ms;
        let Some(inst) = self.instances.get_mut(id) else {
            return false;
        };
        inst.lifecycle = wait;
        inst.until_ms = Some(now + hook.heartbeat_timeout_s * 1000);
        inst.hook = Some(HookWait {
            hook: hook.name,
            token,
            timeout_s: hook.heartbeat_timeout_s,
            default_result: hook.default_result,
            started_ms: now,
        });
        true
    }

    /// An abandoned termination lifecycle action: under a group policy that retains, the
    /// instance stops at `Terminating:Retained` instead of being terminated.
    pub(crate) fn mark_retained(&mut self, id: &str) {
        let retains = self
            .instances
            .get(id)
            .and_then(|i| i.group.as_deref())
            .and_then(|g| self.groups.get(g))
            .is_some_and(|g| g.terminate_hook_abandon == Some(RetentionAction::Retain));
        if let Some(inst) = self.instances.get_mut(id) {
            inst.retain = retains;
        }
    }

    pub(crate) fn put_in_service(&mut self, id: &str) {
        let Some(group) = self.instances.get(id).and_then(|i| i.group.clone()) else {
            return;
        };
        self.register_everywhere(&group, id);
        if let Some(inst) = self.instances.get_mut(id) {
            inst.lifecycle = Lifecycle::InService;
            inst.transition = None;
            inst.until_ms = None;
            let act = inst.activity.take();
            self.finish_activity(act, ActivityStatus::Successful);
        }
    }

    /// Starts terminating a group member: it drains out of its target groups, then goes away.
    pub fn begin_terminate(&mut self, id: &str, cause: String) {
        let Some(inst) = self.instances.get(id) else { return };
        if inst.lifecycle.is_leaving() {
            return;
        }
        let group = inst.group.clone().unwrap_or_default();
        let old = inst.activity.clone();
        self.finish_activity(old, ActivityStatus::Cancelled);
        let act = self.start_activity(&group, format!("Terminating EC2 instance: {id}"), cause);
        self.deregister_everywhere(id);
        if let Some(inst) = self.instances.get_mut(id) {
            inst.lifecycle = Lifecycle::Terminating;
            inst.until_ms = None;
            inst.hook = None;
            inst.activity = Some(act);
        }
    }

    /// SetInstanceProtection: protected instances are never chosen for a scale-in (they stay
    /// protected through Standby and back). Every id must be a member of the group.
    pub fn set_instance_protection(&mut self, group: &str, ids: &[String], protect: bool) -> Result<(), AwsError> {
        self.group(group)?;
        for id in ids {
            if self.instances.get(id).is_none_or(|i| i.group.as_deref() != Some(group)) {
                return Err(AwsError::validation(format!(
                    "The instance {id} is not part of Auto Scaling group {group}."
                )));
            }
        }
        for id in ids {
            if let Some(i) = self.instances.get_mut(id) {
                i.protected_from_scale_in = protect;
            }
        }
        Ok(())
    }

    /// EnterStandby for the given instances.
    pub fn enter_standby(&mut self, group: &str, ids: &[String], decrement: bool) -> Result<Vec<String>, AwsError> {
        // The sizes only: a copy of the group would copy its member list (a fleet's worth of ids).
        let g = self.group(group)?.sizes();
        for id in ids {
            let member = self.instances.get(id).filter(|i| i.group.as_deref() == Some(group));
            match member {
                None => {
                    return Err(AwsError::validation(format!(
                        "The instance {id} is not part of Auto Scaling group {group}."
                    )))
                }
                Some(i) if i.lifecycle != Lifecycle::InService => {
                    return Err(AwsError::validation(format!("The instance {id} is not in InService.")))
                }
                _ => {}
            }
        }
        let n = ids.len() as i64;
        if decrement && g.desired - n < g.min {
            return Err(AwsError::validation(format!(
                "AutoScalingGroup {group} has min-size={}, max-size={}, and desired-size={}. To place into standby {n} instances, please update the AutoScalingGroup sizes appropriately.",
                g.min, g.max, g.desired
            )));
        }
        let cap_before = self
            .group(group)?
            .instances
            .iter()
            .filter(|id| {
                self.instances
                    .get(*id)
                    .is_some_and(|i| i.lifecycle.counts_as_capacity())
            })
            .count() as i64;
        if decrement {
            self.group_mut(group)?.desired -= n;
        }
        let mut acts = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            let k = k as i64;
            let cause = if decrement {
                format!(
                    "an instance was moved to standby in response to a user request, shrinking the capacity from {} to {}.",
                    cap_before - k,
                    cap_before - k - 1
                )
            } else {
                "an instance was moved to standby in response to a user request.".to_string()
            };
            let act = self.start_activity(group, format!("Moving EC2 instance to Standby: {id}"), cause);
            self.deregister_everywhere(id);
            if let Some(inst) = self.instances.get_mut(id) {
                inst.lifecycle = Lifecycle::EnteringStandby;
                inst.activity = Some(act.clone());
            }
            acts.push(act);
        }
        self.settle();
        Ok(acts)
    }

    /// ExitStandby for the given instances.
    pub fn exit_standby(&mut self, group: &str, ids: &[String]) -> Result<Vec<String>, AwsError> {
        let g = self.group(group)?.sizes();
        for id in ids {
            let member = self.instances.get(id).filter(|i| i.group.as_deref() == Some(group));
            match member {
                None => {
                    return Err(AwsError::validation(format!(
                        "The instance {id} is not part of Auto Scaling group {group}."
                    )))
                }
                Some(i) if i.lifecycle != Lifecycle::Standby => {
                    return Err(AwsError::validation(format!("The instance {id} is not in Standby.")))
                }
                _ => {}
            }
        }
        let n = ids.len() as i64;
        if g.desired + n > g.max {
            return Err(AwsError::validation(format!(
                "Cannot move instances out of Standby: the desired capacity {} would exceed the group's max size {} for AutoScalingGroup {group}.",
                g.desired + n,
                g.max
            )));
        }
        self.group_mut(group)?.desired += n;
        let mut acts = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            let k = k as i64;
            let act = self.start_activity(
                group,
                format!("Moving EC2 instance out of Standby: {id}"),
                format!(
                    "an instance was removed from standby in response to a user request, increasing the capacity from {} to {}.",
                    g.desired + k,
                    g.desired + k + 1
                ),
            );
            let until = self.now_ms + self.timing.exit_standby_s * 1000;
            if let Some(inst) = self.instances.get_mut(id) {
                inst.lifecycle = Lifecycle::Pending;
                inst.transition = Some(Transition::ExitStandby);
                inst.until_ms = Some(until);
                inst.activity = Some(act.clone());
            }
            acts.push(act);
        }
        self.settle();
        Ok(acts)
    }

    /// The instance held by a lifecycle hook of `group`, found by token or instance id.
    pub fn find_hook_wait(
        &self,
        group: &str,
        hook: &str,
        token: Option<&str>,
        id: Option<&str>,
    ) -> Result<String, AwsError> {
        self.group(group)?;
        let found = self.instances.values().find(|i| {
            i.group.as_deref() == Some(group)
                && i.hook.as_ref().is_some_and(|h| {
                    h.hook == hook && (token.is_some_and(|t| t == h.token) || id.is_some_and(|x| x == i.id))
                })
        });
        match found {
            Some(i) => Ok(i.id.clone()),
            None => Err(AwsError::validation(match (token, id) {
                (_, Some(id)) => format!("No active Lifecycle Action found with instance ID {id}"),
                (Some(t), _) => format!("No active Lifecycle Action found with token {t}"),
                _ => "Either LifecycleActionToken or InstanceId must be specified.".to_string(),
            })),
        }
    }

    /// RecordLifecycleActionHeartbeat: restarts the hook's timeout.
    pub fn heartbeat(&mut self, id: &str) {
        let now = self.now_ms;
        if let Some(inst) = self.instances.get_mut(id) {
            if let Some(h) = &inst.hook {
                inst.until_ms = Some(now + h.timeout_s * 1000);
            }
        }
    }
}
