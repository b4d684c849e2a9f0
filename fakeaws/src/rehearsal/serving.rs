//! Whether an instance serves traffic: in service, registered in a load balancer in use, and
//! healthy everywhere it is registered; for the whole fleet in one pass, or for one instance from
//! its own registrations.

use crate::model::Lifecycle;
use crate::world::World;

/// Every instance that serves: in service, registered somewhere, healthy everywhere it is
/// registered (found in one pass over the registrations, whatever the fleet's size).
pub(super) fn serving_ids(w: &World) -> std::collections::HashSet<&str> {
    let mut seen: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
    // A target group no load balancer uses sends nobody anything: its (unused) targets neither
    // serve nor keep an instance from serving elsewhere.
    for tg in w
        .target_groups
        .values()
        .filter(|tg| !w.tg_load_balancers(&tg.arn).is_empty())
    {
        for t in &tg.targets {
            let ok = w.target_health(tg, t).state == crate::model::TargetHealthState::Healthy;
            *seen.entry(t.id.as_str()).or_insert(true) &= ok;
        }
    }
    for lb in w.classic.values() {
        for m in &lb.members {
            let ok = m.in_service && m.draining_until_ms.is_none();
            *seen.entry(m.id.as_str()).or_insert(true) &= ok;
        }
    }
    seen.into_iter()
        .filter(|(id, healthy)| {
            *healthy
                && w.instances
                    .get(*id)
                    .is_some_and(|i| i.lifecycle == Lifecycle::InService)
        })
        .map(|(id, _)| id)
        .collect()
}

/// Whether `id` serves, by the rule of [`serving_ids`], from its own registrations alone.
pub(super) fn serves(w: &World, id: &str) -> bool {
    let mut healthy: Option<bool> = None;
    for tg in w
        .target_groups
        .values()
        .filter(|tg| tg.targets.iter().any(|t| t.id == id))
        .filter(|tg| !w.tg_load_balancers(&tg.arn).is_empty())
    {
        for t in tg.targets.iter().filter(|t| t.id == id) {
            let ok = w.target_health(tg, t).state == crate::model::TargetHealthState::Healthy;
            *healthy.get_or_insert(true) &= ok;
        }
    }
    for lb in w.classic.values() {
        for m in lb.members.iter().filter(|m| m.id == id) {
            let ok = m.in_service && m.draining_until_ms.is_none();
            *healthy.get_or_insert(true) &= ok;
        }
    }
    healthy == Some(true) && w.instances.get(id).is_some_and(|i| i.lifecycle == Lifecycle::InService)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One instance's look agrees with the fleet's pass, whatever state it is in: serving,
    /// draining on its way to Standby, in service with its application down, unregistered.
    #[test]
    fn one_instance_serves_as_the_fleet_pass_says() {
        let (mut w, _) = crate::spec::applied(
            "[[target_groups]]\nname = \"web\"\nport = 80\nderegistration_delay = 30\n\
             health_check = { interval = 10, healthy_threshold = 2, unhealthy_threshold = 2 }\n\
             [[load_balancers]]\nname = \"alb\"\nlisteners = [{ port = 80, target_group = \"web\" }]\n\
             [[groups]]\nname = \"g\"\nmin = 0\nmax = 6\ndesired = 4\navailability_zones = [\"us-east-1a\"]\n\
             target_groups = [\"web\"]\n",
        );
        w.tick(600_000);
        let ids = w.groups["g"].instances.clone();
        w.enter_standby("g", &ids[..1], true).expect("standby");
        w.set_app(&ids[1], false).expect("app down");
        w.tick(620_000);
        w.deregister_everywhere(&ids[2]);
        let fleet = serving_ids(&w);
        let each: Vec<bool> = ids.iter().map(|id| serves(&w, id)).collect();
        assert_eq!(
            each,
            ids.iter().map(|id| fleet.contains(id.as_str())).collect::<Vec<_>>()
        );
        assert_eq!(
            each,
            [false, false, false, true],
            "in Standby, app down, draining, serving"
        );
    }
}
