//! Reconcile: settle every instance and bring every group to its desired capacity, replacing
//! unhealthy instances and rebalancing zones as far as suspended processes allow.

use std::collections::BTreeMap;

use crate::model::*;

use super::*;

impl World {
    /// Moves states that depend on conditions rather than deadlines, then reconciles groups.
    pub(crate) fn settle(&mut self) {
        for _ in 0..1000 {
            let mut changed = false;
            let ids: Vec<String> = self.instances.keys().cloned().collect();
            for id in &ids {
                changed |= self.settle_instance(id);
            }
            let names: Vec<String> = self.groups.keys().cloned().collect();
            for name in &names {
                changed |= self.reconcile(name);
            }
            if !changed {
                break;
            }
        }
    }

    pub(crate) fn settle_instance(&mut self, id: &str) -> bool {
        let registered = self.in_any_target_group(id);
        let Some(inst) = self.instances.get_mut(id) else {
            return false;
        };
        match inst.lifecycle {
            Lifecycle::EnteringStandby if !registered => {
                inst.lifecycle = Lifecycle::Standby;
                let act = inst.activity.take();
                self.finish_activity(act, "Successful");
                true
            }
            Lifecycle::Terminating if !registered => {
                let group = inst.group.clone().unwrap_or_default();
                let hook = self.groups.get(&group).and_then(|g| {
                    g.hooks
                        .values()
                        .find(|h| h.transition == "autoscaling:EC2_INSTANCE_TERMINATING")
                        .cloned()
                });
                let now = self.now_ms;
                let token = hook.as_ref().map(|_| self.uuid());
                let Some(inst) = self.instances.get_mut(id) else {
                    return false;
                };
                match (hook, token) {
                    (Some(hook), Some(token)) => {
                        inst.lifecycle = Lifecycle::TerminatingWait;
                        inst.until_ms = Some(now + hook.heartbeat_timeout_s * 1000);
                        inst.hook = Some(HookWait {
                            hook: hook.name,
                            token,
                            timeout_s: hook.heartbeat_timeout_s,
                            default_result: hook.default_result,
                            started_ms: now,
                        });
                    }
                    _ => inst.lifecycle = Lifecycle::TerminatingProceed,
                }
                true
            }
            Lifecycle::TerminatingProceed => {
                inst.lifecycle = Lifecycle::Terminated;
                inst.terminated_ms = Some(self.now_ms);
                inst.app_up = false;
                let act = inst.activity.take();
                let group = inst.group.clone();
                self.finish_activity(act, "Successful");
                if let Some(g) = group.and_then(|g| self.groups.get_mut(&g)) {
                    g.instances.retain(|i| i != id);
                }
                true
            }
            _ => false,
        }
    }

    /// Brings a group's capacity to its desired capacity, replaces unhealthy instances and evens
    /// out Availability Zones, as far as its suspended processes allow. Returns whether anything changed.
    pub(crate) fn reconcile(&mut self, name: &str) -> bool {
        let Some(g) = self.groups.get(name).cloned() else {
            return false;
        };
        let mut changed = false;
        let now = self.now_ms;

        // Health checks: ELB health marks instances unhealthy after the grace period.
        if g.health_check_type == "ELB" && !g.is_suspended("HealthCheck") {
            for id in &g.instances {
                let Some(inst) = self.instances.get(id) else { continue };
                if inst.lifecycle != Lifecycle::InService || !inst.healthy {
                    continue;
                }
                if now < inst.launched_ms + g.health_check_grace_period_s * 1000 {
                    continue;
                }
                let failing = g.target_groups.iter().any(|arn| {
                    self.target_groups.get(arn).is_some_and(|tg| {
                        tg.targets
                            .iter()
                            .any(|t| t.id == *id && t.state == TargetState::Unhealthy)
                    })
                });
                if failing {
                    if let Some(inst) = self.instances.get_mut(id) {
                        inst.healthy = false;
                        changed = true;
                    }
                }
            }
        }
        // ReplaceUnhealthy: terminate unhealthy in-service instances; the launch below replaces them.
        if !g.is_suspended("ReplaceUnhealthy") {
            let sick: Vec<String> = g
                .instances
                .iter()
                .filter(|id| {
                    self.instances
                        .get(*id)
                        .is_some_and(|i| !i.healthy && i.lifecycle.counts_as_capacity())
                })
                .cloned()
                .collect();
            for id in sick {
                let cause = format!(
                    "an instance was taken out of service in response to {} health check indicating it has been unhealthy.",
                    if g.health_check_type == "ELB" { "an ELB system" } else { "a user" }
                );
                self.begin_terminate(&id, cause);
                changed = true;
            }
        }

        let members: Vec<Instance> = g
            .instances
            .iter()
            .filter_map(|id| self.instances.get(id))
            .cloned()
            .collect();
        let capacity: Vec<&Instance> = members.iter().filter(|i| i.lifecycle.counts_as_capacity()).collect();
        let cap = capacity.len() as i64;
        let rebalancing = capacity
            .iter()
            .any(|i| i.for_rebalance && i.lifecycle != Lifecycle::InService);

        if cap < g.desired && !g.is_suspended("Launch") {
            let mut counts = az_counts(&g, &capacity);
            for k in 0..(g.desired - cap) {
                let az = least_loaded(&g, &counts);
                *counts.entry(az.clone()).or_default() += 1;
                let id = self.create_instance(
                    &az,
                    Some(name),
                    g.launch_template.clone().or(g.launch_configuration.clone()),
                );
                let act = self.start_activity(
                    name,
                    format!("Launching a new EC2 instance: {id}"),
                    format!(
                        "an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {} to {}.",
                        cap + k,
                        cap + k + 1
                    ),
                );
                if let Some(gm) = self.groups.get_mut(name) {
                    gm.instances.push(id.clone());
                }
                if let Some(inst) = self.instances.get_mut(&id) {
                    inst.activity = Some(act);
                    inst.protected_from_scale_in = g.new_instances_protected_from_scale_in;
                }
            }
            return true;
        }

        if cap > g.desired && !g.is_suspended("Terminate") && !rebalancing {
            let mut pool: Vec<&Instance> = capacity
                .iter()
                .copied()
                .filter(|i| !i.protected_from_scale_in)
                .collect();
            for k in 0..(cap - g.desired) {
                let counts = az_counts(&g, &pool);
                let Some(victim) = pick_victim(&g, &pool, &counts) else {
                    break;
                };
                let victim_id = victim.id.clone();
                pool.retain(|i| i.id != victim_id);
                let cause = if members.iter().any(|i| i.for_rebalance) {
                    format!("an instance was taken out of service in response to an Availability Zone rebalancing operation, shrinking the capacity from {} to {}.", cap - k, cap - k - 1)
                } else {
                    format!(
                        "an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from {} to {}.",
                        cap - k,
                        cap - k - 1
                    )
                };
                self.begin_terminate(&victim_id, cause);
            }
            for i in &members {
                if let Some(inst) = self.instances.get_mut(&i.id) {
                    inst.for_rebalance = false;
                }
            }
            return true;
        }

        // AZRebalance: only in a calm group.
        let calm = members
            .iter()
            .all(|i| matches!(i.lifecycle, Lifecycle::InService | Lifecycle::Standby));
        if calm
            && cap == g.desired
            && !g.is_suspended("AZRebalance")
            && !g.is_suspended("Launch")
            && !g.is_suspended("Terminate")
            && g.desired < g.max + (g.max / 10).max(1)
        {
            let counts = az_counts(&g, &capacity);
            let most = counts.values().copied().max().unwrap_or(0);
            let least = g
                .availability_zones
                .iter()
                .map(|az| counts.get(az).copied().unwrap_or(0))
                .min()
                .unwrap_or(0);
            let outside = capacity
                .iter()
                .any(|i| !g.availability_zones.contains(&i.availability_zone));
            if most - least > 1 || (outside && cap > 0) {
                let az = least_loaded(&g, &counts);
                let id = self.create_instance(
                    &az,
                    Some(name),
                    g.launch_template.clone().or(g.launch_configuration.clone()),
                );
                let act = self.start_activity(
                    name,
                    format!("Launching a new EC2 instance: {id}"),
                    "an instance was launched in response to an unbalanced group: Availability Zone rebalancing (AZRebalance) is starting a new instance before terminating one.".to_string(),
                );
                if let Some(gm) = self.groups.get_mut(name) {
                    gm.instances.push(id.clone());
                }
                if let Some(inst) = self.instances.get_mut(&id) {
                    inst.activity = Some(act);
                    inst.for_rebalance = true;
                }
                changed = true;
            }
        }
        changed
    }
}

fn az_counts(g: &Group, instances: &[&Instance]) -> BTreeMap<String, i64> {
    let mut counts: BTreeMap<String, i64> = g.availability_zones.iter().map(|az| (az.clone(), 0)).collect();
    for i in instances {
        *counts.entry(i.availability_zone.clone()).or_default() += 1;
    }
    counts
}

fn least_loaded(g: &Group, counts: &BTreeMap<String, i64>) -> String {
    g.availability_zones
        .iter()
        .min_by_key(|az| counts.get(*az).copied().unwrap_or(0))
        .cloned()
        .unwrap_or_default()
}

/// The default termination policy: an instance outside the group's zones first, then the most
/// loaded zone; within it, the oldest instance (a deterministic stand-in for "oldest launch
/// template, then closest to the next billing hour").
fn pick_victim<'a>(g: &Group, pool: &[&'a Instance], counts: &BTreeMap<String, i64>) -> Option<&'a Instance> {
    if let Some(i) = pool
        .iter()
        .find(|i| !g.availability_zones.contains(&i.availability_zone))
    {
        return Some(i);
    }
    let most = counts.values().copied().max()?;
    let az = g
        .availability_zones
        .iter()
        .find(|az| counts.get(*az).copied().unwrap_or(0) == most)?;
    pool.iter()
        .filter(|i| &i.availability_zone == az)
        .min_by_key(|i| (i.launched_ms, i.id.clone()))
        .copied()
}
