//! ALB slow start, a timed rule: a target that becomes healthy beside a healthy target not in
//! slow start gets a share of its group's requests that grows linearly over
//! `slow_start.duration_seconds`, then its full share; becoming unhealthy or being deregistered
//! ends it (AWS's "slow start mode"). Routing reads [`World::slow_start_weight`]; the rule makes
//! the share move once a simulated second while a ramp lasts, and ends each ramp on time.

use crate::model::{Target, TargetGroup};

use super::timed::Timed;
use super::World;

/// A full share, in the weights routing uses.
pub(crate) const FULL_SHARE: u64 = 100;

/// Every target in slow start mode.
pub(super) struct SlowStart;

impl Timed for SlowStart {
    fn next_due(&self, world: &World) -> Option<i64> {
        let now = world.now_ms;
        world
            .target_groups
            .values()
            .flat_map(|tg| {
                let duration_ms = tg.attributes.slow_start_s * 1000;
                tg.targets.iter().filter_map(move |t| {
                    let until = t.slow_start_until_ms?;
                    if until <= now {
                        return Some(now); // over: it ends now
                    }
                    // The ramp's next whole second from its start (its share steps then), or its end.
                    let start = until - duration_ms;
                    let next = start + ((now - start).div_euclid(1000) + 1) * 1000;
                    Some(next.min(until))
                })
            })
            .min()
    }

    fn fire(&self, world: &mut World) {
        let now = world.now_ms;
        super::each_mut(&mut world.target_groups, |tg| {
            for t in tg.targets.iter_mut() {
                if t.slow_start_until_ms.is_some_and(|u| u <= now) {
                    t.slow_start_until_ms = None;
                }
            }
        });
    }
}

impl World {
    /// A target's weight among its group's targets now: [`FULL_SHARE`], or in slow start the
    /// part of it the ramp has reached (at least 1), in whole seconds.
    pub(crate) fn slow_start_weight(&self, tg: &TargetGroup, t: &Target) -> u64 {
        let duration_ms = tg.attributes.slow_start_s * 1000;
        match t.slow_start_until_ms {
            Some(until) if until > self.now_ms && duration_ms > 0 => {
                let elapsed_s = (self.now_ms - (until - duration_ms)).max(0) / 1000;
                let share = (elapsed_s as u64 * FULL_SHARE) / (duration_ms as u64 / 1000).max(1);
                share.clamp(1, FULL_SHARE)
            }
            _ => FULL_SHARE,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Request;
    use crate::spec;
    use crate::world::routing::Routed;
    use crate::world::World;

    /// An ALB forwarding to a target group with slow start `secs`, one instance registered and
    /// healthy by t=20 s.
    fn world(secs: i64) -> (World, String, String, String) {
        let text = format!(
            r#"
[[target_groups]]
name = "web"
port = 80
slow_start = {secs}
health_check = {{ interval = 10, healthy_threshold = 2, unhealthy_threshold = 2, timeout = 5 }}

[[load_balancers]]
name = "lb"
kind = "application"
listeners = [{{ port = 80, target_group = "web" }}]

[[instances]]
availability_zone = "us-east-1a"
count = 2
"#
        );
        let (mut w, ids) = spec::applied(&text);
        let tg = w.target_groups.keys().next().cloned().expect("tg");
        let listener = w.listeners.keys().next().cloned().expect("listener");
        w.register_target(&tg, &ids[0], 80);
        w.tick(30_000);
        (w, tg, listener, ids[1].clone())
    }

    /// Where the ramp of `id` ends, if it is in slow start.
    fn ramp(w: &World, tg: &str, id: &str) -> Option<i64> {
        w.target_groups[tg]
            .targets
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.slow_start_until_ms)
    }

    /// Whether any target of the group is in slow start.
    fn ramping(w: &World, tg: &str) -> bool {
        w.target_groups[tg]
            .targets
            .iter()
            .any(|t| t.slow_start_until_ms.is_some())
    }

    /// The part of 1,000 requests the instance gets now.
    fn share(w: &World, listener: &str, id: &str) -> usize {
        let slots = w.route_candidates(listener, &Request::get("lb", "/"));
        (0..1000)
            .filter(|n| matches!(&slots[n % slots.len()], Routed::Served { instance, .. } if instance == id))
            .count()
    }

    #[test]
    fn a_new_target_ramps_up_linearly_then_gets_its_full_share() {
        let (mut w, tg, l, late) = world(60);
        // The first target, alone when it became healthy, never entered slow start.
        assert!(!ramping(&w, &tg));
        w.register_target(&tg, &late, 80);
        w.tick(50_000); // two checks, 10 s apart: healthy at 50 s, slow start until 110 s
        assert_eq!(ramp(&w, &tg, &late), Some(110_000));
        let at_start = share(&w, &l, &late);
        w.tick(80_000); // half way
        let half = share(&w, &l, &late);
        w.tick(110_000);
        let full = share(&w, &l, &late);
        assert!(at_start <= 10, "{at_start} of 1000 at the start");
        // Half its weight: 50 of 150 slots, a third of the requests.
        assert!((300..=370).contains(&half), "{half} of 1000 half way");
        assert_eq!(full, 500, "a full share once the ramp ends");
        assert_eq!(ramp(&w, &tg, &late), None);
    }

    #[test]
    fn becoming_unhealthy_or_deregistered_ends_slow_start() {
        let (mut w, tg, _, late) = world(60);
        w.register_target(&tg, &late, 80);
        w.tick(50_000);
        assert!(ramping(&w, &tg));
        // Its app stops answering: two failed checks, unhealthy, out of slow start.
        w.instances.get_mut(&late).expect("instance").app_up = false;
        w.tick(70_000);
        assert!(!ramping(&w, &tg));
        // Healthy again: a new ramp.
        w.instances.get_mut(&late).expect("instance").app_up = true;
        w.tick(90_000);
        assert_eq!(ramp(&w, &tg, &late), Some(150_000));
        w.deregister_target(&tg, &late, None);
        assert!(!ramping(&w, &tg));
        // Off (0): no ramp at all.
        let (mut w, tg, _, late) = world(0);
        w.register_target(&tg, &late, 80);
        w.tick(50_000);
        assert!(!ramping(&w, &tg));
    }

    #[test]
    fn during_a_ramp_the_world_changes_every_second() {
        let (mut w, tg, _, late) = world(60);
        w.register_target(&tg, &late, 80);
        w.tick(50_000);
        assert_eq!(w.next_change(), Some(51_000));
        w.tick(109_500);
        assert_eq!(w.next_change(), Some(110_000));
    }
}
