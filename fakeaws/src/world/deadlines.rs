//! Instances' deadlines, a timed rule: a booting instance's launch (its launch lifecycle hook's
//! wait, or service), a lifecycle hook's timeout (its default result), a termination hook's end.

use super::World;
use crate::model::*;

use super::timed::Timed;

/// Every instance with a deadline (`until_ms`).
pub(super) struct InstanceDeadlines;

impl Timed for InstanceDeadlines {
    fn next_due(&self, world: &World) -> Option<i64> {
        world.instances.values().filter_map(|i| i.until_ms).min()
    }

    fn fire(&self, world: &mut World) {
        let now = world.now_ms;
        let due: Vec<String> = world
            .instances
            .values()
            .filter(|i| i.until_ms.is_some_and(|u| u <= now))
            .map(|i| i.id.clone())
            .collect();
        for id in due {
            world.instance_deadline(&id);
        }
    }
}

impl World {
    pub(crate) fn instance_deadline(&mut self, id: &str) {
        let Some(inst) = self.instances.get_mut(id) else { return };
        inst.until_ms = None;
        match inst.lifecycle {
            Lifecycle::Pending => {
                let launch = inst.transition == Some(Transition::Launch);
                if !(launch && self.hold(id, LifecycleTransition::Launching, Lifecycle::PendingWait)) {
                    self.put_in_service(id);
                }
            }
            Lifecycle::WarmedPending => self.warm_booted(id),
            Lifecycle::WarmedPendingWait | Lifecycle::WarmedTerminatingWait => {
                let result = inst
                    .hook
                    .as_ref()
                    .map_or(LifecycleResult::Abandon, |h| h.default_result);
                self.warm_lifecycle_result(id, result);
            }
            Lifecycle::PendingWait => {
                let result = inst
                    .hook
                    .as_ref()
                    .map_or(LifecycleResult::Abandon, |h| h.default_result);
                self.lifecycle_result(id, result);
            }
            Lifecycle::TerminatingWait => {
                let result = inst
                    .hook
                    .as_ref()
                    .map_or(LifecycleResult::Abandon, |h| h.default_result);
                if let Some(inst) = self.instances.get_mut(id) {
                    inst.hook = None;
                    inst.lifecycle = Lifecycle::TerminatingProceed;
                }
                if result == LifecycleResult::Abandon {
                    self.mark_retained(id);
                }
            }
            _ => {}
        }
    }
}
