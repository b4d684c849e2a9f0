//! Warm pools, a world rule: PutWarmPool and DeleteWarmPool; the pool kept at its size (launches
//! into it, its surplus terminated); its instances' lifecycle (`Warmed:Pending`, a launch
//! lifecycle hook's `Warmed:Pending:Wait`, then the pool's resting state); a scale-out taking a
//! warmed instance before launching a new one (it then goes `Pending`, `Pending:Wait` under the
//! launch hook again, `InService`); with `ReuseOnScaleIn`, a scale-in returning instances to the
//! pool (drained first, held at `Warmed:Pending:Wait` by a termination hook).
//!
//! From the EC2 Auto Scaling User Guide ("Warm pools", "Warm pool instance lifecycle", "Use
//! lifecycle hooks with a warm pool") and the PutWarmPool / DeleteWarmPool API references.

use super::World;
use crate::model::*;
use crate::protocol::error::AwsError;

/// PutWarmPool's parameters, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmPoolRequest {
    pub group: String,
    /// `MaxGroupPreparedCapacity`: `Some(-1)` clears it.
    pub max_group_prepared_capacity: Option<i64>,
    pub min_size: Option<i64>,
    pub pool_state: Option<PoolState>,
    pub reuse_on_scale_in: Option<bool>,
}

impl World {
    /// PutWarmPool: creates or updates a group's warm pool; the pool fills (or shrinks) at once.
    pub fn put_warm_pool(&mut self, r: WarmPoolRequest) -> Result<(), AwsError> {
        if self
            .refreshes
            .iter()
            .any(|x| x.group == r.group && x.status.is_active())
        {
            return Err(AwsError::new(
                400,
                "InstanceRefreshInProgress",
                "An Instance Refresh is already in progress and blocks the execution of this Warm Pool operation.",
            ));
        }
        let g = self.group_mut(&r.group)?;
        if g.warm_pool.as_ref().is_some_and(|p| p.pending_delete) {
            return Err(AwsError::new(
                400,
                "ScalingActivityInProgress",
                format!("The warm pool of {} is being deleted; retry once it is gone.", r.group),
            ));
        }
        let old = g.warm_pool.clone();
        let keep_max = old.as_ref().and_then(|p| p.max_group_prepared_capacity);
        g.warm_pool = Some(WarmPool {
            max_group_prepared_capacity: match r.max_group_prepared_capacity {
                Some(-1) => None,
                Some(n) => Some(n),
                None => keep_max.filter(|_| old.is_some()),
            },
            min_size: r.min_size.unwrap_or(0),
            pool_state: r.pool_state.unwrap_or(PoolState::Stopped),
            reuse_on_scale_in: r.reuse_on_scale_in.unwrap_or(false),
            pending_delete: false,
        });
        self.settle();
        Ok(())
    }

    /// DeleteWarmPool. With instances in the pool, refused unless `force`; forced, the pool's
    /// instances are terminated at once, their lifecycle actions dropped.
    pub fn delete_warm_pool(&mut self, group: &str, force: bool) -> Result<(), AwsError> {
        let g = self.group(group)?;
        if g.warm_pool.is_none() {
            return Err(AwsError::validation(format!(
                "No warm pool found for Auto Scaling group {group}."
            )));
        }
        let warm = g.warm.clone();
        if !warm.is_empty() && !force {
            return Err(AwsError::new(
                400,
                "ResourceInUse",
                format!(
                    "The warm pool of {group} has {} instances: terminate them first (set its size to 0) or use ForceDelete.",
                    warm.len()
                ),
            ));
        }
        let now = self.now_ms;
        for id in &warm {
            if let Some(inst) = self.instances.get_mut(id) {
                inst.lifecycle = Lifecycle::WarmedTerminated;
                inst.terminated_ms = Some(now);
                inst.until_ms = None;
                inst.hook = None;
                let act = inst.activity.take();
                self.finish_activity(act, ActivityStatus::Cancelled);
            }
        }
        if let Some(g) = self.groups.get_mut(group) {
            g.warm.clear();
            g.warm_pool = None;
        }
        self.settle();
        Ok(())
    }

    /// Moves the warm pools' instances that wait on conditions, and keeps each pool at its size.
    /// Returns whether anything changed (called from `settle`).
    pub(crate) fn step_warm_pools(&mut self) -> bool {
        let names: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.warm_pool.is_some() || !g.warm.is_empty())
            .map(|g| g.name.clone())
            .collect();
        let mut changed = false;
        for name in &names {
            changed |= self.step_pool_instances(name);
            changed |= self.size_pool(name);
        }
        changed
    }

    fn step_pool_instances(&mut self, name: &str) -> bool {
        let Some(g) = self.groups.get(name) else { return false };
        let ids = g.warm.clone();
        let registered = self.registered_ids();
        let mut changed = false;
        for id in &ids {
            let Some(inst) = self.instances.get(id) else { continue };
            match inst.lifecycle {
                // Reused on scale-in: drained out of its load balancers first.
                Lifecycle::WarmedPending
                    if inst.transition == Some(Transition::ReturnToPool) && !registered.contains(id) =>
                {
                    self.hold_or_rest(id, LifecycleTransition::Terminating);
                    changed = true;
                }
                Lifecycle::WarmedPendingProceed => {
                    self.rest(id);
                    changed = true;
                }
                Lifecycle::WarmedTerminating => {
                    if !self.hold(id, LifecycleTransition::Terminating, Lifecycle::WarmedTerminatingWait) {
                        if let Some(inst) = self.instances.get_mut(id) {
                            inst.lifecycle = Lifecycle::WarmedTerminatingProceed;
                        }
                    }
                    changed = true;
                }
                Lifecycle::WarmedTerminatingProceed => {
                    let now = self.now_ms;
                    if let Some(inst) = self.instances.get_mut(id) {
                        inst.lifecycle = Lifecycle::WarmedTerminated;
                        inst.terminated_ms = Some(now);
                        inst.app_up = false;
                        let act = inst.activity.take();
                        self.finish_activity(act, ActivityStatus::Successful);
                    }
                    if let Some(g) = self.groups.get_mut(name) {
                        g.warm.retain(|x| x != id);
                    }
                    changed = true;
                }
                _ => {}
            }
        }
        changed
    }

    /// Launches into the pool what it lacks, terminates its surplus (oldest first), and forgets
    /// a deleted pool once it is empty.
    fn size_pool(&mut self, name: &str) -> bool {
        let Some(g) = self.groups.get(name) else { return false };
        let Some(pool) = g.warm_pool.clone() else { return false };
        let kept: Vec<String> = g
            .warm
            .iter()
            .filter(|id| self.instances.get(*id).is_some_and(|i| !i.lifecycle.is_leaving()))
            .cloned()
            .collect();
        let have = kept.len() as i64;
        let members = g
            .instances
            .iter()
            .filter(|id| self.instances.get(*id).is_some_and(|i| !i.lifecycle.is_terminated()))
            .count() as i64;
        let want = pool.size(members, g.desired, g.max);
        if pool.pending_delete && g.warm.is_empty() {
            if let Some(g) = self.groups.get_mut(name) {
                g.warm_pool = None;
            }
            return true;
        }
        if have < want && !g.is_suspended(Process::Launch) {
            let zones = g.availability_zones.clone();
            for k in 0..(want - have) {
                // Spread over the group's zones (none listed: as the group's own launches do).
                let az = zones
                    .get((have + k) as usize % zones.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                self.launch_into_pool(name, &az);
            }
            return true;
        }
        if have > want && !g.is_suspended(Process::Terminate) {
            for id in kept.iter().take((have - want) as usize) {
                let act = self.start_activity(
                    name,
                    format!("Terminating EC2 instance from warm pool: {id}"),
                    format!("an instance was taken out of the warm pool in response to a difference between the warm pool's size and its instances, shrinking it from {have} to {want}."),
                );
                if let Some(inst) = self.instances.get_mut(id) {
                    let old = inst.activity.replace(act);
                    inst.lifecycle = Lifecycle::WarmedTerminating;
                    inst.until_ms = None;
                    inst.hook = None;
                    self.finish_activity(old, ActivityStatus::Cancelled);
                }
            }
            return true;
        }
        false
    }

    fn launch_into_pool(&mut self, name: &str, az: &str) {
        let template = self.groups.get(name).and_then(|g| {
            g.refresh_template
                .clone()
                .or(g.launch_template.clone())
                .or(g.launch_configuration.clone())
        });
        let id = self.create_instance(az, Some(name), template);
        let act = self.start_activity(
            name,
            format!("Launching a new EC2 instance into warm pool: {id}"),
            "an instance was launched into the warm pool in response to a difference between the warm pool's size and its instances.".to_string(),
        );
        if let Some(inst) = self.instances.get_mut(&id) {
            inst.lifecycle = Lifecycle::WarmedPending;
            inst.activity = Some(act);
        }
        if let Some(g) = self.groups.get_mut(name) {
            g.warm.push(id);
        }
    }

    /// A warm-pool instance finished booting (`Warmed:Pending`, its deadline).
    pub(crate) fn warm_booted(&mut self, id: &str) {
        self.hold_or_rest(id, LifecycleTransition::Launching);
    }

    /// Held at `Warmed:Pending:Wait` by the group's lifecycle hook for `transition`, if it has
    /// one; otherwise at rest in the pool.
    fn hold_or_rest(&mut self, id: &str, transition: LifecycleTransition) {
        if !self.hold(id, transition, Lifecycle::WarmedPendingWait) {
            self.rest(id);
        }
    }

    /// At rest in the pool, in the pool's state (stopped, running or hibernated).
    fn rest(&mut self, id: &str) {
        let group = self.instances.get(id).and_then(|i| i.group.clone()).unwrap_or_default();
        let state = self
            .groups
            .get(&group)
            .and_then(|g| g.warm_pool.as_ref())
            .map_or(PoolState::Stopped, |p| p.pool_state);
        if let Some(inst) = self.instances.get_mut(id) {
            inst.lifecycle = state.resting();
            inst.transition = None;
            inst.until_ms = None;
            inst.hook = None;
            // Stopped or hibernated, the application does not run; a running pool's does.
            inst.app_up = state == PoolState::Running;
            let act = inst.activity.take();
            self.finish_activity(act, ActivityStatus::Successful);
        }
    }

    /// A lifecycle action's result for an instance held on its way into the pool: CONTINUE puts
    /// it at rest, ABANDON terminates it (a new launch) — or, for one reused on scale-in, too.
    pub(crate) fn warm_lifecycle_result(&mut self, id: &str, result: LifecycleResult) {
        let Some(inst) = self.instances.get_mut(id) else { return };
        match (inst.lifecycle, result) {
            (Lifecycle::WarmedPendingWait, LifecycleResult::Continue) => {
                inst.lifecycle = Lifecycle::WarmedPendingProceed;
                self.rest(id);
            }
            (Lifecycle::WarmedPendingWait, LifecycleResult::Abandon) => {
                inst.lifecycle = Lifecycle::WarmedTerminating;
                let group = inst.group.clone().unwrap_or_default();
                let old = inst.activity.take();
                self.finish_activity(old, ActivityStatus::Cancelled);
                let act = self.start_activity(
                    &group,
                    format!("Terminating EC2 instance from warm pool: {id}"),
                    format!("an instance was taken out of the warm pool in response to a lifecycle hook ({result})."),
                );
                if let Some(inst) = self.instances.get_mut(id) {
                    inst.activity = Some(act);
                }
            }
            (Lifecycle::WarmedTerminatingWait, _) => inst.lifecycle = Lifecycle::WarmedTerminatingProceed,
            _ => {}
        }
    }

    /// A scale-out takes a warmed instance of the pool (in `az` if one is there) rather than
    /// launching: it starts, `Pending` then the launch hook's `Pending:Wait` as a new instance.
    /// Returns its id, or `None` when the pool has none ready.
    pub(crate) fn take_from_pool(&mut self, name: &str, az: &str, cause: &str) -> Option<String> {
        let g = self.groups.get(name)?;
        let ready: Vec<&Instance> = g
            .warm
            .iter()
            .filter_map(|id| self.instances.get(id))
            .filter(|i| i.lifecycle.is_warmed())
            .collect();
        let id = ready
            .iter()
            .find(|i| i.availability_zone == az)
            .or(ready.first())?
            .id
            .clone();
        let act = self.start_activity(
            name,
            format!("Launching a new EC2 instance from warm pool: {id}"),
            cause.to_string(),
        );
        let now = self.now_ms;
        let boot = self.timing.boot_s * 1000;
        if let Some(g) = self.groups.get_mut(name) {
            g.warm.retain(|x| x != &id);
            g.instances_mut().push(id.clone());
        }
        let inst = self.instances.get_mut(&id)?;
        inst.lifecycle = Lifecycle::Pending;
        inst.transition = Some(Transition::Launch);
        inst.until_ms = Some(now + boot);
        // The health check grace period counts from its start.
        inst.launched_ms = now;
        inst.app_up = true;
        inst.app_up_since_ms = now;
        inst.activity = Some(act);
        Some(id)
    }

    /// `ReuseOnScaleIn`: the scale-in's victim goes back to the pool instead of terminating
    /// (drained out of its load balancers first, as a termination would be).
    pub(crate) fn return_to_pool(&mut self, id: &str, cause: String) {
        let Some(group) = self.instances.get(id).and_then(|i| i.group.clone()) else {
            return;
        };
        let old = self.instances.get(id).and_then(|i| i.activity.clone());
        self.finish_activity(old, ActivityStatus::Cancelled);
        let act = self.start_activity(&group, format!("Moving EC2 instance to warm pool: {id}"), cause);
        self.deregister_everywhere(id);
        if let Some(g) = self.groups.get_mut(&group) {
            g.instances_mut().retain(|x| x != id);
            g.warm.push(id.to_string());
        }
        if let Some(inst) = self.instances.get_mut(id) {
            inst.lifecycle = Lifecycle::WarmedPending;
            inst.transition = Some(Transition::ReturnToPool);
            inst.until_ms = None;
            inst.hook = None;
            inst.activity = Some(act);
        }
    }

    /// Whether a scale-in of `group` returns its victims to the warm pool.
    pub(crate) fn reuses_on_scale_in(&self, group: &str) -> bool {
        self.groups
            .get(group)
            .and_then(|g| g.warm_pool.as_ref())
            .is_some_and(|p| p.reuse_on_scale_in && !p.pending_delete)
    }
}
