//! Spot Instances' notices and Capacity Rebalancing. A rebalance recommendation shows in the
//! instance's metadata; in a group with Capacity Rebalancing on, the instance stops counting toward
//! the group's capacity, so the group launches its replacement, and once every instance counted is
//! in service and healthy it is terminated (lifecycle hooks and draining as any termination). An
//! interruption notice shows in the metadata two minutes ahead; with Capacity Rebalancing the
//! replacement and the termination start at once; in any case EC2 takes the instance at the
//! notice's time, and Auto Scaling terminates it whatever processes are suspended.

use super::timed::Timed;
use super::World;
use crate::model::*;
use crate::protocol::error::AwsError;

/// How long after its interruption notice EC2 takes a Spot Instance back.
pub const INTERRUPTION_NOTICE_MS: i64 = 120_000;

impl World {
    fn spot_instance(&mut self, id: &str) -> Result<&mut Instance, AwsError> {
        self.instances
            .get_mut(id)
            .filter(|i| !i.lifecycle.is_leaving())
            .ok_or_else(|| AwsError::validation(format!("The instance ID '{id}' is not running.")))
    }

    fn rebalancing(&self, id: &str) -> bool {
        let group = self.instances.get(id).and_then(|i| i.group.clone());
        group
            .and_then(|g| self.groups.get(&g))
            .is_some_and(|g| g.capacity_rebalance)
    }

    /// EC2 sends `id` a rebalance recommendation (it is a Spot Instance at elevated risk).
    pub fn rebalance_recommendation(&mut self, id: &str) -> Result<(), AwsError> {
        let now = self.now_ms;
        let rebalancing = self.rebalancing(id);
        let inst = self.spot_instance(id)?;
        inst.spot.spot = true;
        inst.spot.rebalance_ms.get_or_insert(now);
        inst.spot.replacing |= rebalancing && inst.lifecycle.counts_as_capacity();
        self.settle();
        Ok(())
    }

    /// EC2 sends `id` its two-minute interruption notice.
    pub fn spot_interruption(&mut self, id: &str) -> Result<(), AwsError> {
        let now = self.now_ms;
        let rebalancing = self.rebalancing(id);
        let inst = self.spot_instance(id)?;
        inst.spot.spot = true;
        let at = *inst.spot.interruption_ms.get_or_insert(now + INTERRUPTION_NOTICE_MS);
        inst.spot.replacing |= rebalancing;
        self.interruptions.insert(id.to_string(), at);
        if rebalancing {
            self.begin_terminate(
                id,
                format!("an instance was taken out of service in response to a Spot Instance interruption notice (Capacity Rebalancing). Instance {id} is being replaced."),
            );
        }
        self.settle();
        Ok(())
    }

    /// Capacity Rebalancing: instances being replaced whose group has its replacements in service
    /// and healthy are terminated now. Returns whether any was (called from `settle`).
    pub(crate) fn step_rebalancing(&mut self) -> bool {
        let due: Vec<String> = self
            .instances
            .values()
            .filter(|i| i.spot.replacing && !i.lifecycle.is_leaving())
            .filter(|i| i.group.as_deref().is_some_and(|g| self.replacements_ready(g)))
            .map(|i| i.id.clone())
            .collect();
        for id in &due {
            self.begin_terminate(
                id,
                format!("an instance was taken out of service in response to an EC2 instance rebalance recommendation (Capacity Rebalancing): its replacement has passed its health checks. Instance {id} is being replaced."),
            );
        }
        !due.is_empty()
    }

    /// Every instance counted toward the group's capacity is in service and healthy, in each of
    /// its target groups too when the group uses ELB health checks, and there are as many as desired.
    fn replacements_ready(&self, group: &str) -> bool {
        let Some(g) = self.groups.get(group) else { return false };
        let counted: Vec<&Instance> = g
            .instances
            .iter()
            .filter_map(|id| self.instances.get(id))
            .filter(|i| i.lifecycle.counts_as_capacity() && !i.spot.replacing)
            .collect();
        let elb = g.health_check_type == HealthCheckType::Elb;
        counted.len() as i64 >= g.desired
            && counted.iter().all(|i| {
                i.lifecycle == Lifecycle::InService
                    && i.healthy
                    && (!elb
                        || g.target_groups
                            .iter()
                            .filter_map(|arn| self.target_groups.get(arn))
                            .all(|tg| {
                                tg.targets
                                    .iter()
                                    .filter(|t| t.id == i.id)
                                    .all(|t| self.target_health(tg, t).state == TargetHealthState::Healthy)
                            }))
            })
    }

    /// EC2 takes back the Spot Instances whose interruption time has come.
    fn interrupt_due(&mut self) {
        let now = self.now_ms;
        let due: Vec<String> = self
            .interruptions
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.interruptions.remove(&id);
            let Some(inst) = self
                .instances
                .get_mut(&id)
                .filter(|i| i.lifecycle != Lifecycle::Terminated)
            else {
                continue;
            };
            inst.app_up = false;
            inst.healthy = false;
            if !inst.lifecycle.is_leaving() {
                self.begin_terminate(
                    &id,
                    "an instance was taken out of service in response to an EC2 health check that indicated it had been terminated or stopped.".into(),
                );
            }
        }
    }
}

/// The interruptions' times.
pub(super) struct Interruptions;

impl Timed for Interruptions {
    fn next_due(&self, w: &World) -> Option<i64> {
        w.interruptions.values().copied().min()
    }

    fn fire(&self, w: &mut World) {
        w.interrupt_due();
    }
}
