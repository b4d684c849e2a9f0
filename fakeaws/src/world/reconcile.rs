//! Reconcile: settle every instance and bring every group to its desired capacity, replacing
//! unhealthy instances and rebalancing zones as far as suspended processes allow.

use super::World;
use std::collections::{BTreeMap, HashSet};

use crate::model::*;

impl World {
    /// Moves states that depend on conditions rather than deadlines, then reconciles groups.
    pub(crate) fn settle(&mut self) {
        for _ in 0..1000 {
            let mut changed = false;
            // Only instances on their way out move here: look at those alone (a fleet's worth of
            // instances in service costs one pass over the map, not a search each).
            let ids: Vec<String> = self
                .instances
                .values()
                .filter(|i| {
                    matches!(
                        i.lifecycle,
                        Lifecycle::EnteringStandby | Lifecycle::Terminating | Lifecycle::TerminatingProceed
                    )
                })
                .map(|i| i.id.clone())
                .collect();
            let registered = if ids.is_empty() {
                HashSet::new()
            } else {
                self.registered_ids()
            };
            for id in &ids {
                changed |= self.settle_instance(id, registered.contains(id.as_str()));
            }
            let names: Vec<String> = self.groups.keys().cloned().collect();
            for name in &names {
                changed |= self.reconcile(name);
            }
            if !self.refreshes.is_empty() {
                changed |= self.step_refreshes();
            }
            if self.groups.values().any(|g| g.capacity_rebalance) {
                changed |= self.step_rebalancing();
            }
            if self
                .groups
                .values()
                .any(|g| g.warm_pool.is_some() || !g.warm.is_empty())
            {
                changed |= self.step_warm_pools();
            }
            if !changed {
                return;
            }
        }
        self.unsettled += 1;
    }

    /// `registered`: the instance is still registered (or draining) in a load balancer.
    pub(crate) fn settle_instance(&mut self, id: &str, registered: bool) -> bool {
        // Looked at before it is taken for a change: taking it copies it when the world is shared
        // with a rollback copy, and instances still draining are looked at after every change.
        let moves = self.instances.get(id).is_some_and(|i| match i.lifecycle {
            Lifecycle::EnteringStandby | Lifecycle::Terminating => !registered,
            Lifecycle::TerminatingProceed => true,
            _ => false,
        });
        if !moves {
            return false;
        }
        let Some(inst) = self.instances.get_mut(id) else {
            return false;
        };
        match inst.lifecycle {
            Lifecycle::EnteringStandby if !registered => {
                inst.lifecycle = Lifecycle::Standby;
                let act = inst.activity.take();
                self.finish_activity(act, ActivityStatus::Successful);
                true
            }
            Lifecycle::Terminating if !registered => {
                if !self.hold(id, LifecycleTransition::Terminating, Lifecycle::TerminatingWait) {
                    if let Some(inst) = self.instances.get_mut(id) {
                        inst.lifecycle = Lifecycle::TerminatingProceed;
                    }
                }
                true
            }
            Lifecycle::TerminatingProceed if inst.retain => {
                // Running on, out of the group's capacity (a replacement launches), until
                // TerminateInstanceInAutoScalingGroup.
                inst.lifecycle = Lifecycle::TerminatingRetained;
                let act = inst.activity.take();
                self.finish_activity(act, ActivityStatus::Cancelled);
                true
            }
            Lifecycle::TerminatingProceed => {
                inst.lifecycle = Lifecycle::Terminated;
                inst.terminated_ms = Some(self.now_ms);
                inst.app_up = false;
                let act = inst.activity.take();
                let group = inst.group.clone();
                self.finish_activity(act, ActivityStatus::Successful);
                if let Some(g) = group.and_then(|g| self.groups.get_mut(&g)) {
                    g.instances_mut().retain(|i| i != id);
                }
                true
            }
            _ => false,
        }
    }

    /// A group's members, borrowed, in the group's order.
    fn members_of<'a>(&'a self, g: &Group) -> Vec<&'a Instance> {
        g.instances.iter().filter_map(|id| self.instances.get(id)).collect()
    }

    /// Brings a group's capacity to its desired capacity, replaces unhealthy instances and evens
    /// out Availability Zones, as far as its suspended processes allow. Returns whether anything changed.
    pub(crate) fn reconcile(&mut self, name: &str) -> bool {
        // The group is borrowed, never copied: a pass over a calm fleet allocates nothing per member.
        let Some(g) = self.groups.get(name) else {
            return false;
        };
        let mut changed = false;
        let now = self.now_ms;
        let elb = g.health_check_type == HealthCheckType::Elb;

        // Health checks: ELB health marks instances unhealthy after the grace period.
        if elb && !g.is_suspended(Process::HealthCheck) {
            let failing_ids: HashSet<&str> = g
                .target_groups
                .iter()
                .filter_map(|arn| self.target_groups.get(arn))
                .flat_map(|tg| tg.targets.iter())
                .filter(|t| t.state == TargetState::Unhealthy)
                .map(|t| t.id.as_str())
                .collect();
            let failed: Vec<String> = if failing_ids.is_empty() {
                Vec::new()
            } else {
                g.instances
                    .iter()
                    .filter(|id| failing_ids.contains(id.as_str()))
                    .filter(|id| {
                        self.instances.get(*id).is_some_and(|inst| {
                            inst.lifecycle == Lifecycle::InService
                                && inst.healthy
                                && now >= inst.launched_ms + g.health_check_grace_period_s * 1000
                        })
                    })
                    .cloned()
                    .collect()
            };
            for id in failed {
                if let Some(inst) = self.instances.get_mut(&id) {
                    inst.healthy = false;
                    changed = true;
                }
            }
        }
        // ReplaceUnhealthy: terminate unhealthy in-service instances; the launch below replaces them.
        // The members are looked up once for this and the plan below (a fleet's worth of lookups
        // per pass, and a pass follows every change): again only if some were terminated.
        let Some(g) = self.groups.get(name) else {
            return changed;
        };
        let members = self.members_of(g);
        let sick: Vec<String> = if g.is_suspended(Process::ReplaceUnhealthy) {
            Vec::new()
        } else {
            members
                .iter()
                .filter(|i| !i.healthy && i.lifecycle.counts_as_capacity())
                .map(|i| i.id.clone())
                .collect()
        };
        let decided = sick.is_empty().then(|| plan(g, &members));
        if !sick.is_empty() {
            for id in sick {
                let cause = format!(
                    "an instance was taken out of service in response to {} health check indicating it has been unhealthy.",
                    if elb { "an ELB system" } else { "a user" }
                );
                self.begin_terminate(&id, cause);
                changed = true;
            }
        }

        // What to do is decided on borrowed members (no copy of the fleet per pass), then done.
        let Some(g) = self.groups.get(name) else {
            return changed;
        };
        let plan = match decided {
            Some(p) => p,
            None => plan(g, &self.members_of(g)),
        };
        if matches!(plan, Plan::Nothing) {
            return changed;
        }
        let g = g.clone();
        match plan {
            Plan::Launch { cap, zones } => {
                for (k, az) in zones.into_iter().enumerate() {
                    let k = k as i64;
                    let cause = format!(
                        "an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {} to {}.",
                        cap + k,
                        cap + k + 1
                    );
                    self.launch_into(name, &g, &az, cause, false);
                }
                true
            }
            Plan::Terminate {
                cap,
                victims,
                rebalance,
            } => {
                for (k, victim) in victims.iter().enumerate() {
                    let k = k as i64;
                    let cause = if rebalance {
                        format!("an instance was taken out of service in response to an Availability Zone rebalancing operation, shrinking the capacity from {} to {}.", cap - k, cap - k - 1)
                    } else {
                        format!(
                            "an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from {} to {}.",
                            cap - k,
                            cap - k - 1
                        )
                    };
                    if !rebalance && self.reuses_on_scale_in(name) {
                        self.return_to_pool(victim, cause);
                    } else {
                        self.begin_terminate(victim, cause);
                    }
                }
                for id in g.instances.iter() {
                    if let Some(inst) = self.instances.get_mut(id) {
                        inst.for_rebalance = false;
                    }
                }
                true
            }
            Plan::Rebalance { az } => {
                self.launch_into(
                    name,
                    &g,
                    &az,
                    "an instance was launched in response to an unbalanced group: Availability Zone rebalancing (AZRebalance) is starting a new instance before terminating one.".to_string(),
                    true,
                );
                true
            }
            Plan::Nothing => changed,
        }
    }

    /// Launches one instance into the group `name` in `az`, with its activity.
    /// A warmed instance of the group's warm pool goes first (not for an AZ rebalance).
    fn launch_into(&mut self, name: &str, g: &Group, az: &str, cause: String, for_rebalance: bool) {
        if !for_rebalance && self.take_from_pool(name, az, &cause).is_some() {
            return;
        }
        let id = self.create_instance(
            az,
            Some(name),
            g.refresh_template
                .clone()
                .or(g.launch_template.clone())
                .or(g.launch_configuration.clone()),
        );
        let act = self.start_activity(name, format!("Launching a new EC2 instance: {id}"), cause);
        if let Some(gm) = self.groups.get_mut(name) {
            gm.instances_mut().push(id.clone());
        }
        if let Some(inst) = self.instances.get_mut(&id) {
            inst.activity = Some(act);
            if for_rebalance {
                inst.for_rebalance = true;
            } else {
                inst.protected_from_scale_in = g.new_instances_protected_from_scale_in;
            }
        }
    }
}

/// What [`World::reconcile`] does to a group's capacity in one pass.
enum Plan {
    Nothing,
    /// Launch one instance into each zone (the group has `cap` in capacity).
    Launch {
        cap: i64,
        zones: Vec<String>,
    },
    /// Terminate these (`rebalance`: the surplus an AZRebalance launch left).
    Terminate {
        cap: i64,
        victims: Vec<String>,
        rebalance: bool,
    },
    /// AZRebalance: launch into the least loaded zone first.
    Rebalance {
        az: String,
    },
}

fn plan(g: &Group, members: &[&Instance]) -> Plan {
    let capacity: Vec<&Instance> = members
        .iter()
        .copied()
        .filter(|i| i.lifecycle.counts_as_capacity() && !i.spot.replacing)
        .collect();
    let cap = capacity.len() as i64;
    let rebalancing = capacity
        .iter()
        .any(|i| i.for_rebalance && i.lifecycle != Lifecycle::InService);

    if cap < g.desired && !g.is_suspended(Process::Launch) {
        let mut counts = az_counts(g, &capacity);
        let mut zones = Vec::new();
        for _ in 0..(g.desired - cap) {
            let az = least_loaded(g, &counts);
            *counts.entry(az.clone()).or_default() += 1;
            zones.push(az);
        }
        return Plan::Launch { cap, zones };
    }

    if cap > g.desired && !g.is_suspended(Process::Terminate) && !rebalancing {
        let mut pool: Vec<&Instance> = capacity
            .iter()
            .copied()
            .filter(|i| !i.protected_from_scale_in)
            .collect();
        let mut victims = Vec::new();
        for _ in 0..(cap - g.desired) {
            let counts = az_counts(g, &pool);
            let Some(victim) = pick_victim(g, &pool, &counts) else {
                break;
            };
            let victim_id = victim.id.clone();
            pool.retain(|i| i.id != victim_id);
            victims.push(victim_id);
        }
        let rebalance = members.iter().any(|i| i.for_rebalance);
        if victims.is_empty() && !rebalance {
            // The whole surplus is protected from scale in: it stays, and nothing changes.
            return Plan::Nothing;
        }
        return Plan::Terminate {
            cap,
            victims,
            rebalance,
        };
    }

    // AZRebalance: only in a calm group. Zones are balanced over the capacity, which leaves
    // instances in Standby out: AWS's user guide says putting instances on standby can unbalance
    // the group and that Auto Scaling compensates by rebalancing unless AZRebalance is suspended
    // ("Temporarily remove instances from your Auto Scaling group"), so they do not count.
    let calm = members
        .iter()
        .all(|i| matches!(i.lifecycle, Lifecycle::InService | Lifecycle::Standby));
    if calm
        && cap == g.desired
        && !g.is_suspended(Process::AzRebalance)
        && !g.is_suspended(Process::Launch)
        && !g.is_suspended(Process::Terminate)
        && g.desired < g.max + (g.max / 10).max(1)
    {
        let counts = az_counts(g, &capacity);
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
            return Plan::Rebalance {
                az: least_loaded(g, &counts),
            };
        }
    }
    Plan::Nothing
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
