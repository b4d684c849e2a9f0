//! The event schedule: what is due next (boot, draining, health-check thresholds, lifecycle hook
//! timeouts, scheduled actions), replayed in time order by [`World::tick`], and pruning of what AWS
//! stops listing.

use std::collections::BTreeMap;

use crate::model::*;

use super::*;

impl World {
    /// The next moment something is due, if anything is.
    /// The next moment the world changes by itself (public: a traffic model integrates between them).
    pub fn next_change(&self) -> Option<i64> {
        self.next_event()
    }

    pub(crate) fn next_event(&self) -> Option<i64> {
        let mut next: Option<i64> = None;
        let mut consider = |t: i64| next = Some(next.map_or(t, |n: i64| n.min(t)));
        for tg in self.target_groups.values() {
            let in_use = self.tg_in_use(&tg.arn);
            for t in &tg.targets {
                if let Some(d) = t.drain_until_ms {
                    consider(d);
                    continue;
                }
                if !in_use || !tg.health_check.enabled {
                    continue;
                }
                let up = self
                    .instances
                    .get(&t.id)
                    .is_some_and(|i| i.app_up && i.lifecycle != Lifecycle::Terminated);
                let hc = &tg.health_check;
                match (t.state, up) {
                    (TargetState::Initial | TargetState::Unhealthy, true) => {
                        consider(threshold_reached_at(t.streak_ms, hc.healthy_threshold, hc.interval_s))
                    }
                    (TargetState::Initial | TargetState::Healthy, false) => {
                        consider(threshold_reached_at(t.streak_ms, hc.unhealthy_threshold, hc.interval_s))
                    }
                    _ => {}
                }
            }
        }
        for lb in self.classic.values() {
            let hc = &lb.health_check;
            for m in &lb.members {
                if let Some(d) = m.draining_until_ms {
                    consider(d);
                    continue;
                }
                let up = self
                    .instances
                    .get(&m.id)
                    .is_some_and(|i| i.app_up && i.lifecycle != Lifecycle::Terminated);
                if up && !m.in_service {
                    consider(threshold_reached_at(m.streak_ms, hc.healthy_threshold, hc.interval_s));
                } else if !up && (m.in_service || !m.checked) {
                    consider(threshold_reached_at(m.streak_ms, hc.unhealthy_threshold, hc.interval_s));
                }
            }
        }
        for inst in self.instances.values() {
            if let Some(u) = inst.until_ms {
                consider(u);
            }
        }
        if let Some(t) = self.next_scheduled() {
            consider(t);
        }
        next
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
                    i.lifecycle == Lifecycle::Terminated
                        && i.terminated_ms.is_some_and(|t| now - t >= TERMINATED_KEPT_MS)
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

    pub(crate) fn fire_due(&mut self) {
        let now = self.now_ms;
        // Targets.
        let in_use: BTreeMap<String, bool> = self
            .target_groups
            .keys()
            .map(|a| (a.clone(), self.tg_in_use(a)))
            .collect();
        let app: BTreeMap<String, bool> = self
            .instances
            .values()
            .map(|i| (i.id.clone(), i.app_up && i.lifecycle != Lifecycle::Terminated))
            .collect();
        for tg in self.target_groups.values_mut() {
            tg.targets.retain(|t| t.drain_until_ms.is_none_or(|d| d > now));
            if !in_use.get(&tg.arn).copied().unwrap_or(false) || !tg.health_check.enabled {
                continue;
            }
            let hc = tg.health_check.clone();
            for t in tg.targets.iter_mut().filter(|t| t.state != TargetState::Draining) {
                let up = app.get(&t.id).copied().unwrap_or(false);
                if up
                    && t.state != TargetState::Healthy
                    && threshold_reached_at(t.streak_ms, hc.healthy_threshold, hc.interval_s) <= now
                {
                    t.state = TargetState::Healthy;
                    t.streak_ms = now;
                } else if !up
                    && t.state != TargetState::Unhealthy
                    && threshold_reached_at(t.streak_ms, hc.unhealthy_threshold, hc.interval_s) <= now
                {
                    t.state = TargetState::Unhealthy;
                    t.streak_ms = now;
                }
            }
        }
        // Classic Load Balancer members.
        for lb in self.classic.values_mut() {
            lb.members.retain(|m| m.draining_until_ms.is_none_or(|d| d > now));
            let hc = lb.health_check.clone();
            for m in lb.members.iter_mut().filter(|m| m.draining_until_ms.is_none()) {
                let up = app.get(&m.id).copied().unwrap_or(false);
                if up && !m.in_service && threshold_reached_at(m.streak_ms, hc.healthy_threshold, hc.interval_s) <= now
                {
                    m.in_service = true;
                    m.checked = true;
                    m.streak_ms = now;
                } else if !up
                    && (m.in_service || !m.checked)
                    && threshold_reached_at(m.streak_ms, hc.unhealthy_threshold, hc.interval_s) <= now
                {
                    m.in_service = false;
                    m.checked = true;
                    m.streak_ms = now;
                }
            }
        }
        // Instances with a deadline.
        let due: Vec<String> = self
            .instances
            .values()
            .filter(|i| i.until_ms.is_some_and(|u| u <= now))
            .map(|i| i.id.clone())
            .collect();
        for id in due {
            self.instance_deadline(&id);
        }
        self.fire_scheduled();
    }

    pub(crate) fn instance_deadline(&mut self, id: &str) {
        let Some(inst) = self.instances.get_mut(id) else { return };
        inst.until_ms = None;
        let group = inst.group.clone().unwrap_or_default();
        match inst.lifecycle {
            Lifecycle::Pending => {
                let launching_hook = self.groups.get(&group).and_then(|g| {
                    g.hooks
                        .values()
                        .find(|h| h.transition == LifecycleTransition::Launching)
                        .cloned()
                });
                let transition = self.instances.get(id).and_then(|i| i.transition);
                match (transition, launching_hook) {
                    (Some(Transition::Launch), Some(hook)) => {
                        let token = self.uuid();
                        let now = self.now_ms;
                        if let Some(inst) = self.instances.get_mut(id) {
                            inst.lifecycle = Lifecycle::PendingWait;
                            inst.until_ms = Some(now + hook.heartbeat_timeout_s * 1000);
                            inst.hook = Some(HookWait {
                                hook: hook.name.clone(),
                                token,
                                timeout_s: hook.heartbeat_timeout_s,
                                default_result: hook.default_result,
                                started_ms: now,
                            });
                        }
                    }
                    _ => self.put_in_service(id),
                }
            }
            Lifecycle::PendingWait => {
                let result = inst
                    .hook
                    .as_ref()
                    .map_or(LifecycleResult::Abandon, |h| h.default_result);
                self.lifecycle_result(id, result);
            }
            Lifecycle::TerminatingWait => {
                if let Some(inst) = self.instances.get_mut(id) {
                    inst.hook = None;
                    inst.lifecycle = Lifecycle::TerminatingProceed;
                }
            }
            _ => {}
        }
    }
}

/// When a target whose checks have agreed since `streak_ms` crosses `threshold` consecutive checks
/// every `interval_s` seconds: the one health-threshold rule, for target groups and Classic LBs.
fn threshold_reached_at(streak_ms: i64, threshold: i64, interval_s: i64) -> i64 {
    streak_ms + threshold * interval_s * 1000
}
