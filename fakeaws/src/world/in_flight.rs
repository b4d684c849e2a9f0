//! Requests that take time: what becomes of a request a target is still answering when the
//! world changes, and which listeners pick targets by their outstanding requests. Read-only on
//! the world, beside `routing` (which answers where a new request goes).
//!
//! A request in flight keeps its connection while the instance's application answers and the
//! instance is still behind the load balancer that sent it:
//! - ELBv2: a target of one of the listener's target groups, registered before the request
//!   began; a draining target keeps its requests until its deregistration delay ends (AWS's
//!   "in-flight requests complete on the existing connections"), then the load balancer closes
//!   them. A target with nothing in flight has nothing left to drain: AWS completes its
//!   deregistration early, but shows it `draining` until the delay ends, as the fake does.
//! - An NLB target group with `deregistration_delay.connection_termination.enabled` false (AWS's
//!   default) leaves its connections open past the delay: they last while the application
//!   answers. With it true they are closed when the delay ends.
//! - A Classic Load Balancer: a member (connection draining keeps it until its timeout ends).
//!
//! Whatever the load balancer, a request is cut when its instance stops answering: the
//! application stopped (even if it came back at once: its connections went with the process),
//! crashed, or the instance ended.
//!
//! A cut request is a 502 from an ALB or a Classic Load Balancer ("the deregistration delay
//! period elapsed for a request being handled by a target that was deregistered", or the target
//! closed the connection) and a reset connection behind an NLB.

use crate::model::*;

use super::routing::{Entrance, Routed};
use super::World;

impl World {
    /// What becomes now of a request that `instance` began answering through `e` at
    /// `since_ms`: `Served` while its connection stays open, `BadGateway` (ALB, Classic) or
    /// `ConnectionFailed` (NLB) once it is cut.
    pub fn in_flight(&self, e: &Entrance, instance: &str, since_ms: i64) -> Routed {
        let (open, network) = match e {
            Entrance::Listener { arn, .. } => match self.listeners.get(arn) {
                Some(l) => {
                    let network = self.is_network(l);
                    let open = listener_groups(l)
                        .filter_map(|arn| self.target_groups.get(arn))
                        .any(|tg| {
                            let held = tg
                                .targets
                                .iter()
                                .any(|t| t.id == instance && t.registered_ms <= since_ms);
                            held || (network && !tg.attributes.connection_termination)
                        });
                    (open, network)
                }
                None => (false, false),
            },
            Entrance::Classic { name } => (
                self.classic.get(name).is_some_and(|lb| {
                    lb.members
                        .iter()
                        .any(|m| m.id == instance && m.registered_ms <= since_ms)
                }),
                false,
            ),
        };
        // The application went down since (however soon it came back): its connections went with it.
        let answered = self.answers(instance)
            && self
                .instances
                .get(instance)
                .is_some_and(|i| i.app_up_since_ms <= since_ms);
        let instance = instance.to_string();
        match (open && answered, network) {
            (true, _) => Routed::Served { instance, port: 0 },
            (false, false) => Routed::BadGateway { instance },
            (false, true) => Routed::ConnectionFailed { instance },
        }
    }

    /// Whether requests like `req` through `e` go to the target with the fewest requests
    /// outstanding: the listener forwards them to one target group whose
    /// `load_balancing.algorithm.type` is `least_outstanding_requests`.
    pub fn least_outstanding(&self, e: &Entrance, req: &Request) -> bool {
        let Entrance::Listener { arn, .. } = e else {
            return false;
        };
        let Some(l) = self.listeners.get(arn) else {
            return false;
        };
        let actions = if self.is_network(l) {
            &l.actions[..]
        } else {
            l.actions_for(req)
        };
        let Some(ActionKind::Forward { target_groups, .. }) =
            actions.iter().find(|a| a.type_name() != "redirect").map(|a| &a.kind)
        else {
            return false;
        };
        let mut live = target_groups
            .iter()
            .filter(|g| g.weight > 0 || target_groups.len() == 1);
        match (live.next(), live.next()) {
            (Some(g), None) => self
                .target_groups
                .get(&g.arn)
                .is_some_and(|tg| tg.attributes.algorithm == Algorithm::LeastOutstandingRequests),
            _ => false,
        }
    }

    /// Whether a listener belongs to a Network Load Balancer.
    pub(super) fn is_network(&self, l: &Listener) -> bool {
        self.load_balancers
            .get(&l.load_balancer_arn)
            .is_some_and(|lb| lb.kind == LoadBalancerType::Network)
    }
}

/// Every target group a listener's default actions or rules forward to.
fn listener_groups(l: &Listener) -> impl Iterator<Item = &str> {
    l.actions
        .iter()
        .chain(l.rules.iter().flat_map(|r| r.actions.iter()))
        .flat_map(|a| a.target_groups())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec;

    const NLB: &str = r#"
[[target_groups]]
name = "tcp"
port = 80
protocol = "TCP"
deregistration_delay = 30
connection_termination = CT

[[load_balancers]]
name = "nlb"
kind = "network"
listeners = [{ port = 80, protocol = "TCP", target_group = "tcp" }]

[[groups]]
name = "asg"
min = 1
max = 2
desired = 1
availability_zones = ["us-east-1a"]
target_groups = ["tcp"]
"#;

    fn nlb(termination: bool) -> (World, Entrance, String) {
        let (mut w, _) = spec::applied(&NLB.replace("CT", &termination.to_string()));
        w.tick(300_000);
        let e = w.entrances().remove(0);
        let id = w.instances.keys().next().expect("the group's instance").clone();
        (w, e, id)
    }

    #[test]
    fn an_nlb_keeps_a_deregistered_targets_connections_unless_told_to_close_them() {
        for termination in [false, true] {
            let (mut w, e, id) = nlb(termination);
            let since = w.now_ms;
            assert!(matches!(w.in_flight(&e, &id, since), Routed::Served { .. }));
            let tg = w.target_groups.keys().next().unwrap().clone();
            w.deregister_target(&tg, &id, None);
            w.tick(since + 10_000);
            // Draining: open either way.
            assert!(
                matches!(w.in_flight(&e, &id, since), Routed::Served { .. }),
                "{termination}"
            );
            w.tick(since + 31_000);
            let after = w.in_flight(&e, &id, since);
            if termination {
                assert_eq!(after, Routed::ConnectionFailed { instance: id.clone() });
            } else {
                assert!(matches!(after, Routed::Served { .. }), "open past the delay");
            }
        }
    }

    #[test]
    fn an_application_restart_cuts_the_connections_it_had() {
        let (mut w, e, id) = nlb(false);
        let since = w.now_ms;
        w.tick(since + 5_000);
        w.set_app(&id, false).expect("stops");
        w.set_app(&id, true).expect("starts");
        assert_eq!(
            w.in_flight(&e, &id, since),
            Routed::ConnectionFailed { instance: id.clone() }
        );
        let after = w.now_ms;
        assert!(
            matches!(w.in_flight(&e, &id, after), Routed::Served { .. }),
            "a new connection"
        );
    }

    #[test]
    fn a_request_begun_before_a_re_registration_is_not_held_by_the_new_target() {
        let (mut w, e, id) = nlb(true);
        let since = w.now_ms;
        let tg = w.target_groups.keys().next().unwrap().clone();
        w.deregister_target(&tg, &id, None);
        w.tick(since + 31_000);
        w.register_target(&tg, &id, 80);
        assert_eq!(
            w.in_flight(&e, &id, since),
            Routed::ConnectionFailed { instance: id.clone() }
        );
    }
}
