//! The explorer's plans: which event at which trigger point (and which script misbehaving), and
//! what each event may cost directly (the oracle's allowance).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::report::Outcome;
use crate::runner::TriggerPoint;
use crate::schema::{Action, Behaviour, EventSpec, Scenario, ScriptFault};

/// The process the operator perturbation suspends.
pub(super) const OPERATOR_PROCESS: &str = "AZRebalance";

/// One planned perturbation.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// What happens, for reports: `scale_in 1 @ d1 i-2 starts BeforeInstall`.
    pub what: String,
    /// The kind of event (`scale_in`, `terminate_this`, `script_kill` ...), for grouping.
    pub kind: String,
    /// What the event may cost directly.
    #[serde(skip)]
    pub cost: Cost,
    #[serde(skip)]
    pub(super) events: Vec<EventSpec>,
    #[serde(skip)]
    pub(super) faults: Vec<ScriptFault>,
    /// The single plans a pair is made of (`--depth 2`), for shrinking; empty for a single one.
    #[serde(skip)]
    pub(super) parts: Vec<Plan>,
}

impl Plan {
    /// No event at all: the base run, judged like a variant.
    pub fn none() -> Plan {
        Plan {
            what: "no event (the scenario as it is)".into(),
            kind: "none".into(),
            cost: Cost::default(),
            events: Vec::new(),
            faults: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// Two plans in one variant: both events (or faults), each allowed its own direct cost.
    /// `None` for two faults of the same script (one script cannot both hang and fail).
    pub fn pair(a: &Plan, b: &Plan) -> Option<Plan> {
        let same_script = a.faults.iter().any(|f| {
            b.faults
                .iter()
                .any(|g| (f.deployment, f.instance, &f.script) == (g.deployment, g.instance, &g.script))
        });
        if same_script {
            return None;
        }
        Some(Plan {
            what: format!("{}; and {}", a.what, b.what),
            kind: format!("{}+{}", a.kind, b.kind),
            cost: Cost {
                capacity: a.cost.capacity + b.cost.capacity,
                requests: a.cost.requests || b.cost.requests,
            },
            events: a.events.iter().chain(&b.events).cloned().collect(),
            faults: a.faults.iter().chain(&b.faults).cloned().collect(),
            parts: vec![a.clone(), b.clone()],
        })
    }

    /// Whether this plan (or one of its parts) is of kind `kind`.
    pub fn has_kind(&self, kind: &str) -> bool {
        self.kind.split('+').any(|k| k == kind)
    }
}

/// Every kind of event the explorer plans, for `--events`.
pub const KINDS: [&str; 21] = [
    "scale_out",
    "scale_in",
    "add_zone",
    "suspend_process",
    "set_min_size",
    "alarm",
    "scheduled_action",
    "instance_refresh",
    "operator_standby",
    "terminate_this",
    "terminate_other",
    "spot_interruption",
    "app_crash",
    "throttle",
    "unavailable",
    "unavailable_exhausted",
    "script_kill",
    "script_hang",
    "script_fail",
    "kill_at_call",
    "terminate_at_call",
];

/// What an event may cost directly (the oracle's allowance).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Serving instances it may take away at once (the deployment's capacity may dip by that much).
    pub capacity: usize,
    /// Requests may fail because of it (an application that crashed, an instance a failed script
    /// left out of service, possibly the last one).
    pub requests: bool,
}

/// Every plan for the base's trigger points and scripts.
pub fn plans(base: &Scenario, points: &[TriggerPoint], outcome: &Outcome) -> Vec<Plan> {
    let group = base.fleet.groups.first();
    let mut out = Vec::new();
    // Events hit the scenario's own deployments (and the launch deployments among them), not the
    // repair deployment that follows them: the repair is what the oracle judges.
    let repair = outcome
        .deployments
        .iter()
        .filter(|d| d.creator == crate::report::Creator::User)
        .map(|d| d.number)
        .max()
        .unwrap_or(usize::MAX);
    for p in points.iter().filter(|p| p.deployment() < repair) {
        let at = p.describe();
        let n = p.instance();
        let plan = |kind: &str, what: String, action: Action, cost: Cost| Plan {
            what: format!("{what} @ {at}"),
            kind: kind.to_string(),
            cost,
            events: vec![EventSpec { when: p.when(), action }],
            faults: Vec::new(),
            parts: Vec::new(),
        };
        // At an AWS call that changes something (a read is like the next change): the script
        // that sent it killed, or its instance terminated, while the call is on its way.
        if let TriggerPoint::Call { action, .. } = p {
            if !["Describe", "List", "Get"].iter().any(|r| action.starts_with(r)) {
                for (kind, what, action) in call_events(n) {
                    let cost = Cost {
                        capacity: 1,
                        requests: kind == "kill_at_call",
                    };
                    out.push(plan(kind, what, action, cost));
                }
            }
            continue;
        }
        let other = outcome
            .revisions
            .keys()
            .filter_map(|l| l.strip_prefix("i-").and_then(|x| x.parse::<usize>().ok()))
            .find(|m| *m != n);
        let mut events = Vec::new();
        if let Some(g) = group {
            events.extend(group_events(g, other));
        }
        events.extend(instance_events(n, other));
        for (kind, what, action, cost) in events {
            out.push(plan(kind, what, action, cost));
        }
    }
    out.extend(script_plans(outcome, repair));
    out
}

/// An event as a plan names it: its kind, what it does, the action, what it may cost.
type Event = (&'static str, String, Action, Cost);

/// The cost of an event that takes one serving instance away (no request need fail).
const ONE: Cost = Cost {
    capacity: 1,
    requests: false,
};

/// At an AWS call that changes something: the script killed, or its instance terminated.
fn call_events(n: usize) -> [(&'static str, String, Action); 2] {
    [
        (
            "kill_at_call",
            format!("i-{n}: script killed"),
            Action::KillScript { instance: n },
        ),
        (
            "terminate_at_call",
            format!("i-{n} terminated"),
            Action::Terminate { instance: n },
        ),
    ]
}

/// The group's events at a trigger point: scaling, a zone added, an operator's changes, an alarm,
/// a scheduled action, another instance put in Standby.
fn group_events(g: &fakeaws::spec::GroupSpec, other: Option<usize>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    let mut add = |kind: &'static str, what: String, action: Action, cost: Cost| out.push((kind, what, action, cost));
    let one = ONE;
    add(
        "scale_out",
        "scale out by 1".into(),
        Action::ScaleOut { count: 1 },
        Cost::default(),
    );
    add("scale_in", "scale in by 1".into(), Action::ScaleIn { count: 1 }, one);
    add(
        "add_zone",
        "zone us-east-1f added".into(),
        Action::AddZone {
            zone: "us-east-1f".into(),
        },
        one,
    );
    add(
        "suspend_process",
        "operator suspends AZRebalance".into(),
        Action::SuspendProcess {
            process: fakeaws::model::Process::AzRebalance,
        },
        Cost::default(),
    );
    let min = (g.min + 1).min(g.max);
    add(
        "set_min_size",
        format!("operator sets MinSize {min}"),
        Action::SetMinSize { min },
        Cost::default(),
    );
    if let Some(policy) = g.scaling_policies.first() {
        add(
            "alarm",
            format!("alarm invokes {}", policy.name),
            Action::Alarm {
                policy: policy.name.clone(),
                metric_value: None,
                breach_threshold: None,
            },
            one,
        );
    }
    let desired = g.desired.unwrap_or(g.min);
    add(
        "scheduled_action",
        format!("scheduled action desired {} in 30 s", (desired - 1).max(g.min)),
        Action::ScheduledAction {
            name: "explore".into(),
            in_seconds: 30,
            min: None,
            max: None,
            desired: Some((desired - 1).max(g.min)),
        },
        one,
    );
    add(
        "instance_refresh",
        "instance refresh started (minimum healthy 90%)".into(),
        Action::StartInstanceRefresh {
            min_healthy_percentage: None,
            instance_warmup: Some(60),
            launch_template: None,
        },
        one,
    );
    if let Some(m) = other {
        add(
            "operator_standby",
            format!("operator puts i-{m} in Standby"),
            Action::EnterStandby { instance: m },
            one,
        );
    }
    out
}

/// The instance's and the calls' events at a trigger point: this or another instance
/// terminated, the application crashing, AWS calls throttled or failing.
fn instance_events(n: usize, other: Option<usize>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    let mut add = |kind: &'static str, what: String, action: Action, cost: Cost| out.push((kind, what, action, cost));
    let one = ONE;
    add(
        "terminate_this",
        format!("i-{n} terminated"),
        Action::Terminate { instance: n },
        one,
    );
    if let Some(m) = other {
        add(
            "terminate_other",
            format!("i-{m} terminated"),
            Action::Terminate { instance: m },
            one,
        );
        add(
            "spot_interruption",
            format!("i-{m}: Spot interruption (two minutes)"),
            Action::SpotInterruption { instance: m },
            one,
        );
    }
    add(
        "app_crash",
        format!("i-{n}: application crashes"),
        Action::AppDown { instance: n },
        Cost {
            capacity: 1,
            requests: true,
        },
    );
    add(
        "throttle",
        "next 3 AWS calls throttled".into(),
        Action::Throttle {
            api: "*".into(),
            count: 3,
        },
        Cost::default(),
    );
    add(
        "unavailable",
        "next 3 AWS calls answer 503".into(),
        Action::Unavailable {
            api: "*".into(),
            count: 3,
        },
        Cost::default(),
    );
    // Until the retries run out (the hooks try 8 times by default): that call fails, and so
    // the script; the repair deployment finds what it left.
    add(
        "unavailable_exhausted",
        "next 8 AWS calls answer 503".into(),
        Action::Unavailable {
            api: "*".into(),
            count: 8,
        },
        Cost {
            capacity: 1,
            requests: true,
        },
    );
    out
}

/// Scripts killed, hung or failing, in each user deployment on each instance.
fn script_plans(outcome: &Outcome, repair: usize) -> Vec<Plan> {
    let mut out = Vec::new();
    let mut scripts: BTreeSet<(usize, usize, String)> = BTreeSet::new();
    for d in outcome.deployments.iter().filter(|d| d.number < repair) {
        for (label, inst) in &d.instances {
            let Some(n) = label.strip_prefix("i-").and_then(|x| x.parse::<usize>().ok()) else {
                continue;
            };
            for line in &inst.events {
                // "BeforeInstall bin/deregister-from-elb: Succeeded"
                let Some((head, _)) = line.split_once(": ") else {
                    continue;
                };
                let Some((_, path)) = head.split_once(' ') else {
                    continue;
                };
                if let Some(file) = path.rsplit('/').next().filter(|f| !f.is_empty()) {
                    scripts.insert((d.number, n, file.to_string()));
                }
            }
        }
    }
    for (deployment, instance, script) in scripts {
        for (kind, behaviour) in [
            ("script_kill", Behaviour::Kill),
            ("script_hang", Behaviour::Hang),
            ("script_fail", Behaviour::Fail),
        ] {
            out.push(Plan {
                what: format!("{script} {kind} on i-{instance} in d{deployment}"),
                kind: kind.to_string(),
                cost: Cost {
                    capacity: 1,
                    requests: true,
                },
                events: Vec::new(),
                faults: vec![ScriptFault {
                    deployment,
                    instance,
                    script: script.clone(),
                    behaviour,
                }],
                parts: Vec::new(),
            });
        }
    }
    out
}

/// What the scenario's own events may cost directly: the allowance every variant of it starts
/// from (a scenario that crashes an application of its own pays for that in each variant too).
pub fn own_cost(base: &Scenario) -> Cost {
    let mut c = Cost::default();
    for e in &base.events {
        match &e.action {
            Action::ScaleIn { count } => c.capacity += (*count).max(0) as usize,
            Action::Terminate { .. }
            | Action::RebalanceRecommendation { .. }
            | Action::SpotInterruption { .. }
            | Action::EnterStandby { .. }
            | Action::Alarm { .. }
            | Action::ScheduledAction { .. }
            | Action::AddZone { .. } => c.capacity += 1,
            Action::AppDown { .. } => {
                c.capacity += 1;
                c.requests = true;
            }
            _ => {}
        }
    }
    c
}
