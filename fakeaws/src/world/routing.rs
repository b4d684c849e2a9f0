//! Routing: what a load balancer does with one request at one instant. One function per load
//! balancer kind, read-only on the world, so that a model of traffic and a real data plane can
//! share it and never disagree (issue 12 builds both on it).
//!
//! ELBv2 forward: new requests go to registered targets that are not draining, healthy ones only;
//! when none is healthy the load balancer fails open and uses them all; with none registered it
//! answers 503. A target whose application is down answers nothing: an ALB turns that into a 502,
//! an NLB's client sees the connection fail. A Classic Load Balancer forwards to its InService,
//! non-draining instances. Among the candidates, requests go round robin (`n` is the request's
//! sequence number), in a fixed order. Listener rules come first: the first rule (by priority)
//! whose conditions all match a request decides, then the default actions; fixed-response and
//! redirect actions answer without a target; weighted forwards share requests by weight.

use crate::model::*;

use super::round_robin::weighted;
use super::slow_start::FULL_SHARE;
use super::World;

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// A fixed-response action answered (a maintenance page, for instance).
    Fixed {
        status: u16,
        content_type: Option<String>,
        body: Option<String>,
    },
    /// A redirect action answered.
    Redirect { status: u16, location: String },
    /// A target's application answered.
    Served { instance: String, port: i64 },
    /// The chosen target's application is down: 502 from an ALB or a Classic Load Balancer.
    BadGateway { instance: String },
    /// The chosen target's application is down behind an NLB: the connection fails.
    ConnectionFailed { instance: String },
    /// Nothing to forward to: 503.
    NoTarget,
    /// No listener (or no load balancer) there.
    NoListener,
}

/// A way requests come into the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entrance {
    /// An ELBv2 listener.
    Listener { label: String, arn: String },
    /// A Classic Load Balancer.
    Classic { name: String },
}

impl Entrance {
    /// `alb-name:port` or `classic:name`.
    pub fn label(&self) -> String {
        match self {
            Entrance::Listener { label, .. } => label.clone(),
            Entrance::Classic { name } => format!("classic:{name}"),
        }
    }
}

impl Routed {
    /// The HTTP status a client sees, if it gets one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Routed::Served { .. } => Some(200),
            Routed::Fixed { status, .. } | Routed::Redirect { status, .. } => Some(*status),
            Routed::BadGateway { .. } => Some(502),
            Routed::NoTarget => Some(503),
            Routed::ConnectionFailed { .. } | Routed::NoListener => None,
        }
    }
}

impl World {
    /// Whether an instance's application answers now.
    pub(super) fn answers(&self, id: &str) -> bool {
        self.instances
            .get(id)
            .is_some_and(|i| i.app_up && i.lifecycle != Lifecycle::Terminated)
    }

    /// The targets of a target group that take new requests now: not draining; the healthy ones,
    /// or all of them when none is healthy (fail open). In registration order.
    pub fn routable_targets(&self, tg_arn: &str) -> Vec<&Target> {
        let Some(tg) = self.target_groups.get(tg_arn) else {
            return Vec::new();
        };
        let open: Vec<&Target> = tg
            .targets
            .iter()
            .filter(|t| t.state != TargetState::Draining && t.drain_until_ms.is_none())
            .collect();
        let healthy: Vec<&Target> = open
            .iter()
            .copied()
            .filter(|t| self.target_health(tg, t).state == TargetHealthState::Healthy)
            .collect();
        if healthy.is_empty() {
            open
        } else {
            healthy
        }
    }

    /// Routes the `n`th request arriving on an ELBv2 listener.
    pub fn route(&self, listener_arn: &str, req: &Request, n: u64) -> Routed {
        let all = self.route_candidates(listener_arn, req);
        all[(n % all.len() as u64) as usize].clone()
    }

    /// What each request like `req` arriving on an ELBv2 listener gets now, one entry per
    /// round-robin slot (never empty): request `n` gets entry `n % len`. The first rule (by
    /// priority) whose conditions all match decides, else the default actions; an NLB has no
    /// rules. Between two changes of the world this is all a traffic model needs, however many
    /// requests arrive.
    pub fn route_candidates(&self, listener_arn: &str, req: &Request) -> Vec<Routed> {
        let Some(l) = self.listeners.get(listener_arn) else {
            return vec![Routed::NoListener];
        };
        let network = self.is_network(l);
        let actions = if network { &l.actions[..] } else { l.actions_for(req) };
        let Some(action) = actions.iter().find(|a| a.type_name() != "redirect").or(actions.first()) else {
            return vec![Routed::NoTarget];
        };
        match &action.kind {
            ActionKind::FixedResponse {
                status_code,
                content_type,
                message_body,
            } => vec![Routed::Fixed {
                status: *status_code,
                content_type: content_type.clone(),
                body: message_body.clone(),
            }],
            ActionKind::Redirect {
                protocol,
                port,
                host,
                path,
                query,
                status_code,
            } => {
                let req_host = req.host.split(':').next().unwrap_or_default();
                let fill = |s: &str| {
                    s.replace("#{protocol}", &l.protocol.to_ascii_lowercase())
                        .replace("#{host}", req_host)
                        .replace("#{port}", &l.port.to_string())
                        .replace("#{path}", req.path.trim_start_matches('/'))
                        .replace(
                            "#{query}",
                            &req.query
                                .iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join("&"),
                        )
                };
                let query = fill(query);
                let location = format!(
                    "{}://{}:{}{}{}{}",
                    fill(protocol).to_ascii_lowercase(),
                    fill(host),
                    fill(port),
                    fill(path),
                    if query.is_empty() { "" } else { "?" },
                    query
                );
                vec![Routed::Redirect {
                    status: *status_code,
                    location,
                }]
            }
            ActionKind::Forward { target_groups, .. } => self.forward(target_groups, network),
        }
    }

    /// A forward action: round robin over each target group's routable targets, the groups
    /// sharing requests by weight; a target in slow start gets the part of its share its ramp has
    /// reached.
    fn forward(&self, groups: &[WeightedTarget], network: bool) -> Vec<Routed> {
        let mut ramping = false;
        let per_group: Vec<(i64, Vec<(Routed, u64)>)> = groups
            .iter()
            .filter(|g| g.weight > 0 || groups.len() == 1)
            .map(|g| {
                let tg = self.target_groups.get(&g.arn);
                let routed = self
                    .routable_targets(&g.arn)
                    .iter()
                    .map(|t| {
                        let share = tg.map_or(FULL_SHARE, |tg| self.slow_start_weight(tg, t));
                        ramping |= share < FULL_SHARE;
                        let r = match (self.answers(&t.id), network) {
                            (true, _) => Routed::Served {
                                instance: t.id.clone(),
                                port: t.port,
                            },
                            (false, false) => Routed::BadGateway { instance: t.id.clone() },
                            (false, true) => Routed::ConnectionFailed { instance: t.id.clone() },
                        };
                        (r, share)
                    })
                    .collect::<Vec<_>>();
                (g.weight.max(1), routed)
            })
            .filter(|(_, r)| !r.is_empty())
            .collect();
        if ramping {
            // Each target its own slot group, weighted by its group's weight and its share.
            let per_target = per_group
                .into_iter()
                .flat_map(|(w, r)| r.into_iter().map(move |(r, share)| (w * share as i64, vec![r])))
                .collect();
            return weighted(per_target);
        }
        let per_group: Vec<(i64, Vec<Routed>)> = per_group
            .into_iter()
            .map(|(w, r)| (w, r.into_iter().map(|(r, _)| r).collect()))
            .collect();
        match per_group.len() {
            0 => vec![Routed::NoTarget],
            1 => per_group.into_iter().next().map(|(_, r)| r).unwrap_or_default(),
            _ => weighted(per_group),
        }
    }

    /// Routes the `n`th request arriving at a Classic Load Balancer.
    pub fn route_classic(&self, name: &str, n: u64) -> Routed {
        let all = self.route_classic_candidates(name);
        all[(n % all.len() as u64) as usize].clone()
    }

    /// [`World::route_candidates`] for a Classic Load Balancer.
    pub fn route_classic_candidates(&self, name: &str) -> Vec<Routed> {
        let Some(lb) = self.classic.get(name) else {
            return vec![Routed::NoListener];
        };
        let candidates: Vec<&ClassicMember> = lb
            .members
            .iter()
            .filter(|m| m.in_service && m.draining_until_ms.is_none())
            .collect();
        if candidates.is_empty() {
            return vec![Routed::NoTarget];
        }
        let port = lb.listeners.first().map_or(80, |l| l.instance_port);
        candidates
            .iter()
            .map(|m| {
                if self.answers(&m.id) {
                    Routed::Served {
                        instance: m.id.clone(),
                        port,
                    }
                } else {
                    Routed::BadGateway { instance: m.id.clone() }
                }
            })
            .collect()
    }

    /// Every way into the fleet: each ELBv2 listener (`name:port`, with its ARN) and each Classic
    /// Load Balancer (`classic:name`), in a fixed order.
    pub fn entrances(&self) -> Vec<Entrance> {
        let mut out: Vec<Entrance> = Vec::new();
        for l in self.listeners.values() {
            let lb = self
                .load_balancers
                .get(&l.load_balancer_arn)
                .map(|b| b.name.clone())
                .unwrap_or_default();
            out.push(Entrance::Listener {
                label: format!("{lb}:{}", l.port),
                arn: l.arn.clone(),
            });
        }
        for name in self.classic.keys() {
            out.push(Entrance::Classic { name: name.clone() });
        }
        out.sort_by_key(Entrance::label);
        out
    }

    /// What requests like `req` through an entrance get now (see [`World::route_candidates`]).
    pub fn entrance_candidates(&self, e: &Entrance, req: &Request) -> Vec<Routed> {
        match e {
            Entrance::Listener { arn, .. } => self.route_candidates(arn, req),
            Entrance::Classic { name } => self.route_classic_candidates(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec;

    /// An ALB (or NLB) on port 80 forwarding to a target group with two stand-alone instances.
    fn world(kind: &str) -> (World, String, Vec<String>) {
        let text = format!(
            r#"
[[target_groups]]
name = "web"
port = 80
deregistration_delay = 60
health_check = {{ interval = 10, healthy_threshold = 2, unhealthy_threshold = 2, timeout = 5 }}

[[load_balancers]]
name = "lb"
kind = "{kind}"
listeners = [{{ port = 80, target_group = "web" }}]

[[instances]]
availability_zone = "us-east-1a"
count = 2
target_groups = [{{ name = "web" }}]
"#
        );
        let (w, ids) = spec::applied(&text);
        let listener = w.listeners.keys().next().cloned().expect("listener");
        (w, listener, ids)
    }

    fn served_by(w: &World, listener: &str, n: u64) -> Vec<Routed> {
        (0..n).map(|k| w.route(listener, &Request::get("lb", "/"), k)).collect()
    }

    #[test]
    fn healthy_targets_share_requests_round_robin() {
        let (mut w, l, ids) = world("application");
        w.tick(60_000);
        let out = served_by(&w, &l, 4);
        let served: Vec<&str> = out
            .iter()
            .map(|r| match r {
                Routed::Served { instance, .. } => instance.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            served,
            [ids[0].as_str(), ids[1].as_str(), ids[0].as_str(), ids[1].as_str()]
        );
    }

    #[test]
    fn a_draining_target_gets_no_new_requests_and_none_left_is_503() {
        let (mut w, l, ids) = world("application");
        w.tick(60_000);
        let tg = w.target_groups.keys().next().cloned().expect("tg");
        w.deregister_target(&tg, &ids[0], None);
        assert!(served_by(&w, &l, 4).iter().all(|r| *r
            == Routed::Served {
                instance: ids[1].clone(),
                port: 80
            }));
        w.deregister_target(&tg, &ids[1], None);
        assert_eq!(w.route(&l, &Request::get("lb", "/"), 0), Routed::NoTarget);
        assert_eq!(Routed::NoTarget.status(), Some(503));
    }

    #[test]
    fn an_app_that_is_down_is_a_502_until_health_checks_take_it_out() {
        let (mut w, l, ids) = world("application");
        w.tick(60_000);
        w.set_app(&ids[0], false).expect("app down");
        let out = served_by(&w, &l, 2);
        assert!(
            out.contains(&Routed::BadGateway {
                instance: ids[0].clone()
            }),
            "{out:?}"
        );
        // Two failed checks 10 s apart: unhealthy, and requests go to the healthy one only.
        w.tick(90_000);
        assert!(served_by(&w, &l, 4).iter().all(|r| *r
            == Routed::Served {
                instance: ids[1].clone(),
                port: 80
            }));
    }

    #[test]
    fn when_every_target_is_unhealthy_the_alb_fails_open() {
        let (mut w, l, ids) = world("application");
        w.tick(60_000);
        w.set_app(&ids[0], false).expect("down");
        w.set_app(&ids[1], false).expect("down");
        w.tick(120_000);
        // All unhealthy: requests go to all of them again (and both answer 502).
        let out = served_by(&w, &l, 2);
        assert_eq!(
            out,
            [
                Routed::BadGateway {
                    instance: ids[0].clone()
                },
                Routed::BadGateway {
                    instance: ids[1].clone()
                }
            ]
        );
        // One comes back: it alone gets the requests once healthy.
        w.set_app(&ids[1], true).expect("up");
        w.tick(180_000);
        assert!(served_by(&w, &l, 3).iter().all(|r| *r
            == Routed::Served {
                instance: ids[1].clone(),
                port: 80
            }));
    }

    #[test]
    fn an_nlb_connection_fails_where_an_alb_would_answer_502() {
        let (mut w, l, ids) = world("network");
        w.tick(60_000);
        w.set_app(&ids[0], false).expect("down");
        let out = served_by(&w, &l, 2);
        assert!(
            out.contains(&Routed::ConnectionFailed {
                instance: ids[0].clone()
            }),
            "{out:?}"
        );
        assert_eq!(
            Routed::ConnectionFailed {
                instance: ids[0].clone()
            }
            .status(),
            None
        );
        assert_eq!(w.route("arn:none", &Request::get("lb", "/"), 0), Routed::NoListener);
    }

    #[test]
    fn a_classic_load_balancer_forwards_to_in_service_instances_only() {
        let text = r#"
[[classic_load_balancers]]
name = "old-web"
port = 80
instance_port = 8080
connection_draining = 120
health_check = { target = "HTTP:8080/", interval = 10, timeout = 5, healthy_threshold = 2, unhealthy_threshold = 2 }

[[instances]]
availability_zone = "us-east-1a"
count = 2
load_balancers = ["old-web"]
"#;
        let (mut w, ids) = spec::applied(text);
        // Registered but not yet InService: nothing to forward to.
        assert_eq!(w.route_classic("old-web", 0), Routed::NoTarget);
        w.tick(60_000);
        assert_eq!(
            w.route_classic("old-web", 1),
            Routed::Served {
                instance: ids[1].clone(),
                port: 8080
            }
        );
        // Deregistered with draining on: no new requests while it drains.
        w.classic_deregister("old-web", &ids[0]);
        assert!((0..4).all(|n| w.route_classic("old-web", n)
            == Routed::Served {
                instance: ids[1].clone(),
                port: 8080
            }));
        w.set_app(&ids[1], false).expect("down");
        assert_eq!(
            w.route_classic("old-web", 0),
            Routed::BadGateway {
                instance: ids[1].clone()
            }
        );
        assert_eq!(w.route_classic("nope", 0), Routed::NoListener);
    }

    fn forward_to(arn: &str, weight: i64) -> WeightedTarget {
        WeightedTarget {
            arn: arn.to_string(),
            weight,
        }
    }

    fn fixed(status: u16, body: &str) -> Action {
        Action {
            order: None,
            kind: ActionKind::FixedResponse {
                status_code: status,
                content_type: Some("text/html".into()),
                message_body: Some(body.into()),
            },
        }
    }

    #[test]
    fn rules_decide_by_priority_then_the_default_action() {
        let (mut w, l, _) = world("application");
        w.tick(60_000);
        let path = |v: &str| Condition::PathPattern { values: vec![v.into()] };
        w.create_rule(&l, 20, vec![path("/api/*")], vec![fixed(404, "api gone")])
            .expect("rule");
        w.create_rule(&l, 10, vec![path("/api/v2/*")], vec![fixed(200, "v2")])
            .expect("rule");
        let status = |w: &World, p: &str| w.route(&l, &Request::get("lb", p), 0).status();
        assert_eq!(status(&w, "/api/v2/x"), Some(200), "priority 10 wins over 20");
        assert_eq!(status(&w, "/api/v1/x"), Some(404));
        assert!(matches!(
            w.route(&l, &Request::get("lb", "/"), 0),
            Routed::Served { .. }
        ));
        // The same priority twice is refused; a reordering that would collide too.
        let e = w
            .create_rule(&l, 10, vec![path("/x")], vec![fixed(200, "x")])
            .unwrap_err();
        assert_eq!(e.code, "PriorityInUse");
        let arns: Vec<String> = w.listeners[&l].rules.iter().map(|r| r.arn.clone()).collect();
        let e = w.set_rule_priorities(&[(arns[0].clone(), 20)]).unwrap_err();
        assert_eq!(e.code, "PriorityInUse");
        w.set_rule_priorities(&[(arns[0].clone(), 30)]).expect("moved");
        assert_eq!(status(&w, "/api/v2/x"), Some(404), "now the /api/* rule comes first");
        // A rule that matches everything takes every request: a maintenance page.
        w.create_rule(&l, 1, vec![path("*")], vec![fixed(503, "back soon")])
            .expect("rule");
        assert_eq!(
            w.route(&l, &Request::get("lb", "/anything"), 7),
            Routed::Fixed {
                status: 503,
                content_type: Some("text/html".into()),
                body: Some("back soon".into())
            }
        );
        let maint = w.listeners[&l].rules[0].arn.clone();
        w.delete_rule(&maint).expect("deleted");
        assert!(matches!(
            w.route(&l, &Request::get("lb", "/"), 0),
            Routed::Served { .. }
        ));
        let default_rule = w.listeners[&l].default_rule_arn();
        assert_eq!(w.delete_rule(&default_rule).unwrap_err().code, "OperationNotPermitted");
    }

    #[test]
    fn redirects_fill_in_the_request() {
        let (mut w, l, _) = world("application");
        let redirect = Action {
            order: None,
            kind: ActionKind::Redirect {
                protocol: "HTTPS".into(),
                port: "443".into(),
                host: "#{host}".into(),
                path: "/new/#{path}".into(),
                query: "#{query}".into(),
                status_code: 301,
            },
        };
        let cond = Condition::HostHeader {
            values: vec!["old.example.com".into()],
        };
        w.create_rule(&l, 5, vec![cond], vec![redirect]).expect("rule");
        assert_eq!(
            w.route(&l, &Request::get("OLD.example.com:80", "/a/b?x=1"), 0),
            Routed::Redirect {
                status: 301,
                location: "https://OLD.example.com:443/new/a/b?x=1".into()
            }
        );
    }

    #[test]
    fn weighted_target_groups_share_requests_by_weight() {
        let text = r#"
[[target_groups]]
name = "blue"
port = 80
health_check = { interval = 10, healthy_threshold = 2, unhealthy_threshold = 2, timeout = 5 }

[[target_groups]]
name = "green"
port = 80
health_check = { interval = 10, healthy_threshold = 2, unhealthy_threshold = 2, timeout = 5 }

[[load_balancers]]
name = "lb"
listeners = [{ port = 80, target_group = "blue" }]

[[instances]]
availability_zone = "us-east-1a"
count = 2
target_groups = [{ name = "blue" }]

[[instances]]
availability_zone = "us-east-1b"
count = 1
target_groups = [{ name = "green" }]
"#;
        let (mut w, ids) = spec::applied(text);
        let l = w.listeners.keys().next().cloned().expect("listener");
        let tg = |w: &World, name: &str| {
            w.target_groups
                .values()
                .find(|t| t.name == name)
                .map(|t| t.arn.clone())
                .expect("tg")
        };
        let (blue, green) = (tg(&w, "blue"), tg(&w, "green"));
        let cond = Condition::PathPattern {
            values: vec!["*".into()],
        };
        let action = Action {
            order: None,
            kind: ActionKind::Forward {
                target_groups: vec![forward_to(&blue, 3), forward_to(&green, 1)],
                single: false,
                stickiness: None,
            },
        };
        w.create_rule(&l, 1, vec![cond], vec![action]).expect("rule");
        w.tick(120_000);
        let slots = w.route_candidates(&l, &Request::get("lb", "/"));
        let to = |id: &str| {
            slots
                .iter()
                .filter(|r| matches!(r, Routed::Served { instance, .. } if instance == id))
                .count()
        };
        // 3:1 between the groups; blue's share split over its two targets.
        assert_eq!((to(&ids[0]), to(&ids[1]), to(&ids[2])), (3, 3, 2), "{slots:?}");
        // Interleaved, not in blocks: any five consecutive requests include green.
        for start in 0..slots.len() {
            let four: Vec<_> = (0..5).map(|k| &slots[(start + k) % slots.len()]).collect();
            assert!(four
                .iter()
                .any(|r| matches!(r, Routed::Served { instance, .. } if *instance == ids[2])));
        }
        // A group with nothing to forward to leaves its share to the others.
        w.deregister_target(&green, &ids[2], None);
        let slots = w.route_candidates(&l, &Request::get("lb", "/"));
        assert!(slots
            .iter()
            .all(|r| !matches!(r, Routed::Served { instance, .. } if *instance == ids[2])));
    }
}
