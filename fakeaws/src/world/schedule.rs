//! The world's clock-driven behaviour: each timed rule says when it is next due and what it does
//! then ([`Timed`]), registered once in [`RULES`]; [`World::tick`] replays every due moment in
//! time order. Also the pruning of what AWS stops listing. A new rule is a file with a [`Timed`]
//! and a line in [`RULES`].

use super::World;
use super::MAX_ACTIVITIES;
use super::TERMINATED_KEPT_MS;

use super::deadlines::InstanceDeadlines;
use super::health::{earliest, ClassicHealth, TargetHealth};
use super::refresh::Refreshes;
use super::scaling::ScheduledActions;
use super::slow_start::SlowStart;
use super::spot::Interruptions;
use super::timed::Timed;

/// Every timed rule, in the order their work at one instant is done: health checks and draining
/// (target groups, then Classic Load Balancers), slow start's ramps, instances' deadlines (boot, lifecycle hooks),
/// scheduled actions, instance refreshes, Spot interruptions.
const RULES: [&dyn Timed; 7] = [
    &TargetHealth,
    &ClassicHealth,
    &SlowStart,
    &InstanceDeadlines,
    &ScheduledActions,
    &Refreshes,
    &Interruptions,
];

impl World {
    /// The next moment the world changes by itself (public: a traffic model integrates between them).
    pub fn next_change(&self) -> Option<i64> {
        self.next_event()
    }

    pub(crate) fn next_event(&self) -> Option<i64> {
        RULES.iter().fold(None, |next, r| earliest(next, r.next_due(self)))
    }

    pub(crate) fn fire_due(&mut self) {
        for r in RULES {
            r.fire(self);
        }
    }

    /// Replays everything due up to `now_ms`, in time order.
    pub fn tick(&mut self, now_ms: i64) {
        let now_ms = now_ms.max(self.now_ms);
        let moved = now_ms > self.now_ms;
        // A bound on work per tick protects against a bug turning into a hang.
        for _ in 0..100_000 {
            match self.next_event() {
                Some(t) if t <= now_ms => {
                    self.now_ms = self.now_ms.max(t);
                    self.fire_due();
                    self.settle();
                }
                _ => break,
            }
        }
        self.now_ms = now_ms;
        self.settle();
        self.prune(moved);
    }

    /// Forgets what AWS stops listing: instances an hour after termination, and the oldest
    /// activities beyond [`MAX_ACTIVITIES`]. Keeps the cost of a request independent of history.
    /// `moved`: the clock moved since the last prune (only then can an instance's hour be up).
    pub(crate) fn prune(&mut self, moved: bool) {
        let now = self.now_ms;
        let gone: Vec<String> = if !moved {
            Vec::new()
        } else {
            self.instances
                .values()
                .filter(|i| {
                    i.lifecycle.is_terminated() && i.terminated_ms.is_some_and(|t| now - t >= TERMINATED_KEPT_MS)
                })
                .map(|i| i.id.clone())
                .collect()
        };
        for id in gone {
            self.instances.remove(&id);
        }
        if self.activities.len() > MAX_ACTIVITIES {
            let excess = self.activities.len() - MAX_ACTIVITIES;
            self.activities = self.activities.split_off(excess);
        }
    }
}
