//! Health checks, a timed rule for target groups and one for Classic Load Balancers, over one
//! state machine: a target whose checks have agreed since its streak began becomes healthy after
//! `healthy_threshold` passing checks and unhealthy after `unhealthy_threshold` failing ones, one
//! check every `interval_s`; a deregistered target (member) leaves when its draining ends.

use imbl::OrdMap;
use std::collections::BTreeMap;

use crate::model::*;

use super::timed::Timed;
use super::World;

/// Where a target's health checks stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Not yet checked enough to say.
    Initial,
    Healthy,
    Unhealthy,
}

/// The state machine, written once: the next verdict for a target in `verdict` whose app is `up`,
/// and when it is reached; `None` when its checks agree with its verdict already.
fn due(
    verdict: Verdict,
    up: bool,
    streak_ms: i64,
    healthy: i64,
    unhealthy: i64,
    interval_s: i64,
) -> Option<(i64, Verdict)> {
    match (verdict, up) {
        (v, true) if v != Verdict::Healthy => Some((streak_ms + healthy * interval_s * 1000, Verdict::Healthy)),
        (v, false) if v != Verdict::Unhealthy => Some((streak_ms + unhealthy * interval_s * 1000, Verdict::Unhealthy)),
        _ => None,
    }
}

/// Whether each instance's application answers (running, not terminated).
/// Whether instance `id`'s application answers (a lookup: the schedule asks after every change,
/// and a copy of the fleet's answers per ask made the 1,000-instance fleet quadratic in allocations).
fn app_up(instances: &OrdMap<String, Instance>, id: &str) -> bool {
    instances
        .get(id)
        .is_some_and(|i| i.app_up && i.lifecycle != Lifecycle::Terminated)
}

fn target_verdict(state: TargetState) -> Option<Verdict> {
    match state {
        TargetState::Initial => Some(Verdict::Initial),
        TargetState::Healthy => Some(Verdict::Healthy),
        TargetState::Unhealthy => Some(Verdict::Unhealthy),
        _ => None,
    }
}

fn member_verdict(m: &ClassicMember) -> Verdict {
    match (m.in_service, m.checked) {
        (true, _) => Verdict::Healthy,
        (false, true) => Verdict::Unhealthy,
        (false, false) => Verdict::Initial,
    }
}

/// ELBv2 target groups: draining ends, and health checks of groups a listener uses.
pub(super) struct TargetHealth;

impl Timed for TargetHealth {
    fn next_due(&self, world: &World) -> Option<i64> {
        let mut next = None;
        for tg in world.target_groups.values() {
            let checked = world.tg_in_use(&tg.arn) && tg.health_check.enabled;
            let hc = &tg.health_check;
            for t in &tg.targets {
                let at = match (t.drain_until_ms, target_verdict(t.state)) {
                    (Some(d), _) => Some(d),
                    (None, Some(v)) if checked => due(
                        v,
                        app_up(&world.instances, &t.id),
                        t.streak_ms,
                        hc.healthy_threshold,
                        hc.unhealthy_threshold,
                        hc.interval_s,
                    )
                    .map(|d| d.0),
                    _ => None,
                };
                next = earliest(next, at);
            }
        }
        next
    }

    fn fire(&self, world: &mut World) {
        let now = world.now_ms;
        let in_use: BTreeMap<String, bool> = world
            .target_groups
            .keys()
            .map(|a| (a.clone(), world.tg_in_use(a)))
            .collect();
        let instances = &world.instances;
        super::each_mut(&mut world.target_groups, |tg| {
            tg.targets.retain(|t| t.drain_until_ms.is_none_or(|d| d > now));
            if !in_use.get(&tg.arn).copied().unwrap_or(false) || !tg.health_check.enabled {
                return;
            }
            let hc = tg.health_check.clone();
            // A target that becomes healthy enters slow start only beside a healthy target that
            // is not in slow start (as the group was before these checks).
            let slow_start_s = tg.attributes.slow_start_s;
            let steady = tg
                .targets
                .iter()
                .any(|t| t.state == TargetState::Healthy && t.slow_start_until_ms.is_none_or(|u| u <= now));
            for t in tg.targets.iter_mut() {
                let Some(v) = target_verdict(t.state) else { continue };
                let app = app_up(instances, &t.id);
                match due(
                    v,
                    app,
                    t.streak_ms,
                    hc.healthy_threshold,
                    hc.unhealthy_threshold,
                    hc.interval_s,
                ) {
                    Some((at, Verdict::Healthy)) if at <= now => {
                        t.state = TargetState::Healthy;
                        t.streak_ms = now;
                        t.slow_start_until_ms = (slow_start_s > 0 && steady).then_some(now + slow_start_s * 1000);
                    }
                    Some((at, _)) if at <= now => {
                        // A target that becomes unhealthy leaves slow start.
                        t.state = TargetState::Unhealthy;
                        t.streak_ms = now;
                        t.slow_start_until_ms = None;
                    }
                    _ => {}
                }
            }
        });
    }
}

/// Classic Load Balancers: connection draining ends, and every member's health checks.
pub(super) struct ClassicHealth;

impl Timed for ClassicHealth {
    fn next_due(&self, world: &World) -> Option<i64> {
        let mut next = None;
        for lb in world.classic.values() {
            let hc = &lb.health_check;
            for m in &lb.members {
                let at = match m.draining_until_ms {
                    Some(d) => Some(d),
                    None => due(
                        member_verdict(m),
                        app_up(&world.instances, &m.id),
                        m.streak_ms,
                        hc.healthy_threshold,
                        hc.unhealthy_threshold,
                        hc.interval_s,
                    )
                    .map(|d| d.0),
                };
                next = earliest(next, at);
            }
        }
        next
    }

    fn fire(&self, world: &mut World) {
        let now = world.now_ms;
        let instances = &world.instances;
        for lb in world.classic.values_mut() {
            lb.members.retain(|m| m.draining_until_ms.is_none_or(|d| d > now));
            let hc = lb.health_check.clone();
            for m in lb.members.iter_mut().filter(|m| m.draining_until_ms.is_none()) {
                let app = app_up(instances, &m.id);
                match due(
                    member_verdict(m),
                    app,
                    m.streak_ms,
                    hc.healthy_threshold,
                    hc.unhealthy_threshold,
                    hc.interval_s,
                ) {
                    Some((at, next)) if at <= now => {
                        m.in_service = next == Verdict::Healthy;
                        m.checked = true;
                        m.streak_ms = now;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The earlier of two optional times.
pub(super) fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_moves_only_when_checks_disagree() {
        // Two passing checks every 10 s from t=0: healthy at 20 s.
        assert_eq!(
            due(Verdict::Initial, true, 0, 2, 3, 10),
            Some((20_000, Verdict::Healthy))
        );
        assert_eq!(
            due(Verdict::Healthy, false, 5_000, 2, 3, 10),
            Some((35_000, Verdict::Unhealthy))
        );
        assert_eq!(
            due(Verdict::Initial, false, 0, 2, 3, 10),
            Some((30_000, Verdict::Unhealthy))
        );
        assert_eq!(due(Verdict::Healthy, true, 0, 2, 3, 10), None);
        assert_eq!(due(Verdict::Unhealthy, false, 0, 2, 3, 10), None);
    }
}
