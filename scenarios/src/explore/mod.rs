//! The explorer: every fleet event at every trigger point of a scenario, run and judged.
//!
//! It drives the runner through its small API only: [`crate::runner::run_scenario`] takes a
//! scenario (the base plus one planned event, as a scenario event or script fault) and gives back
//! the outcome and, for the base run, the trigger points it passed. Every variant ends with one
//! repair deployment of the last revision (what an operator does next), then the oracle
//! ([`judge`]) compares its violations with the base's: an event may cost what it directly removes
//! (a serving instance terminated, crashed, scaled in or put in Standby; an instance a failed
//! script left out until the repair) and nothing more. A variant that fails is written out as a
//! scenario file that runs as it is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::report::{Outcome, ViolationKind};
use crate::runner::TriggerPoint;
use crate::schema::{Action, Behaviour, DeploymentSpec, EventSpec, Scenario, ScriptFault};

pub mod drive;

/// The process the operator perturbation suspends.
const OPERATOR_PROCESS: &str = "AZRebalance";

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
    event: Option<EventSpec>,
    #[serde(skip)]
    fault: Option<ScriptFault>,
}

impl Plan {
    /// No event at all: the base run, judged like a variant.
    pub fn none() -> Plan {
        Plan {
            what: "no event (the scenario as it is)".into(),
            kind: "none".into(),
            cost: Cost::default(),
            event: None,
            fault: None,
        }
    }
}

/// Every kind of event the explorer plans, for `--events`.
pub const KINDS: [&str; 17] = [
    "scale_out",
    "scale_in",
    "add_zone",
    "suspend_process",
    "set_min_size",
    "alarm",
    "scheduled_action",
    "operator_standby",
    "terminate_this",
    "terminate_other",
    "app_crash",
    "throttle",
    "unavailable",
    "unavailable_exhausted",
    "script_kill",
    "script_hang",
    "script_fail",
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

/// A variant: the base scenario with one plan and the repair deployment.
#[derive(Debug, Clone)]
pub struct Variant {
    pub index: usize,
    pub plan: Plan,
    pub scenario: Scenario,
}

/// The base scenario as the explorer runs it: its deployments, then one repair deployment of the
/// last revision.
pub fn with_repair(base: &Scenario) -> Scenario {
    let mut sc = base.clone();
    if let Some(last) = base.deployments.last() {
        sc.deployments.push(DeploymentSpec {
            revision: last.revision.clone(),
            config: last.config.clone(),
        });
    }
    sc
}

/// Every plan for the base's trigger points and scripts.
pub fn plans(base: &Scenario, points: &[TriggerPoint], outcome: &Outcome) -> Vec<Plan> {
    let group = base.fleet.groups.first();
    let mut out = Vec::new();
    let event = |when: crate::schema::When, action: Action| EventSpec { when, action };
    // Events hit the scenario's own deployments (and the launch deployments among them), not the
    // repair deployment that follows them: the repair is what the oracle judges.
    let repair = outcome
        .deployments
        .iter()
        .filter(|d| d.creator == crate::report::Creator::User)
        .map(|d| d.number)
        .max()
        .unwrap_or(usize::MAX);
    let at_point = |p: &TriggerPoint| match p {
        TriggerPoint::Starts { deployment, .. } | TriggerPoint::Reaches { deployment, .. } => *deployment,
    };
    for p in points.iter().filter(|p| at_point(p) < repair) {
        let at = p.describe();
        let n = p.instance();
        let other = outcome
            .revisions
            .keys()
            .filter_map(|l| l.strip_prefix("i-").and_then(|x| x.parse::<usize>().ok()))
            .find(|m| *m != n);
        let mut add = |kind: &str, what: String, action: Action, cost: Cost| {
            out.push(Plan {
                what: format!("{what} @ {at}"),
                kind: kind.to_string(),
                cost,
                event: Some(event(p.when(), action)),
                fault: None,
            });
        };
        let one = Cost {
            capacity: 1,
            requests: false,
        };
        if group.is_some() {
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
            if let Some(g) = group {
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
            }
            if let Some(m) = other {
                add(
                    "operator_standby",
                    format!("operator puts i-{m} in Standby"),
                    Action::EnterStandby { instance: m },
                    one,
                );
            }
        }
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
    }
    // Scripts killed, hung or failing, in each user deployment on each instance.
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
                event: None,
                fault: Some(ScriptFault {
                    deployment,
                    instance,
                    script: script.clone(),
                    behaviour,
                }),
            });
        }
    }
    out
}

/// The variants, numbered in plan order.
pub fn variants(base: &Scenario, plans: Vec<Plan>) -> Vec<Variant> {
    let repaired = with_repair(base);
    plans
        .into_iter()
        .enumerate()
        .map(|(index, plan)| {
            let mut scenario = repaired.clone();
            if let Some(e) = &plan.event {
                scenario.events.push(e.clone());
            }
            if let Some(f) = &plan.fault {
                scenario.script_faults.push(f.clone());
            }
            scenario.description = format!(
                "Found by cargo xtask explore: {} (then a repair deployment of {}). Base: {}",
                plan.what,
                base.deployments.last().map(|d| d.revision.as_str()).unwrap_or("-"),
                base.description
            );
            Variant { index, plan, scenario }
        })
        .collect()
}

/// One broken property of one variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// The property (`processes_not_restored`, `capacity_beyond_event`, `run_error` ...).
    pub property: String,
    pub detail: String,
}

/// The oracle. `allowed`: what the base (with its repair) already shows, by the scenario's own
/// design; `outcome`: the variant's, or its error.
pub fn judge(allowed: &BTreeSet<ViolationKind>, plan: &Plan, outcome: &anyhow::Result<Outcome>) -> Vec<Finding> {
    let o = match outcome {
        Ok(o) => o,
        // AWS refused the event itself (a scale-in below MinSize, Standby for an instance not in
        // service, a termination outside any group): the variant does not apply.
        Err(e) if not_applicable(e) => return Vec::new(),
        Err(e) => {
            return vec![Finding {
                property: "run_error".into(),
                detail: format!("{e:#}"),
            }]
        }
    };
    let mut out = Vec::new();
    for v in &o.violations {
        if allowed.contains(&v.kind) {
            continue;
        }
        match v.kind {
            ViolationKind::CapacityBelowMinimum => {}
            ViolationKind::RequestsFailed if plan.cost.requests => {}
            // An event that takes a serving instance away may take the last one while the
            // deployment has the other out: "no target" answers are its direct cost, nothing else.
            ViolationKind::RequestsFailed if plan.cost.capacity > 0 && only_no_target(&v.detail) => {}
            // Documented exception: an event that leaves a group with no instance at all leaves
            // nothing to run the hooks, so what they changed on the group (MinSize, processes)
            // stays until an instance comes back.
            ViolationKind::MinSizeNotRestored | ViolationKind::ProcessesNotRestored
                if plan.cost.capacity > 0 && o.groups.values().any(|g| g.instances.is_empty()) => {}
            // Documented exception: AWS keeps no record of who suspended a process, so one an
            // operator suspends while the hooks hold it is resumed with theirs. Only that: any
            // other process left suspended is still a finding.
            ViolationKind::ProcessesNotRestored
                if plan.kind == "suspend_process"
                    && o.groups
                        .values()
                        .all(|g| g.suspended.iter().all(|p| p == OPERATOR_PROCESS)) => {}
            kind => out.push(Finding {
                property: kind.as_str().to_string(),
                detail: v.detail.clone(),
            }),
        }
    }
    if !allowed.contains(&ViolationKind::CapacityBelowMinimum) {
        for d in o.deployments.iter().filter(|d| !d.creator.is_for_launches()) {
            let deficit = d.required_healthy_capacity.saturating_sub(d.lowest_healthy_capacity);
            if deficit > plan.cost.capacity {
                out.push(Finding {
                    property: "capacity_beyond_event".into(),
                    detail: format!(
                        "deployment {} went down to {} of its minimum {}: {deficit} below, the event may cost {}",
                        d.number, d.lowest_healthy_capacity, d.required_healthy_capacity, plan.cost.capacity
                    ),
                });
            }
        }
    }
    out
}

/// Whether a `requests_failed` detail counts only "503 no target" answers.
fn only_no_target(detail: &str) -> bool {
    let causes = detail
        .rsplit_once('(')
        .map(|(_, c)| c.trim_end_matches(')'))
        .unwrap_or("");
    !causes.is_empty() && causes.split(", ").all(|c| c.starts_with("503 no target"))
}

/// Whether a variant's run stopped because AWS refused its planned event (the runner names the
/// event first): not a finding, the event could not happen there.
pub fn not_applicable(e: &anyhow::Error) -> bool {
    format!("{e:#}").starts_with("event ")
}

/// `K/N` of `nextest`'s `--partition count:K/N`: every N-th variant from the K-th (1-based).
pub fn in_partition(index: usize, partition: Option<(usize, usize)>) -> bool {
    match partition {
        Some((k, n)) => index % n == k - 1,
        None => true,
    }
}

/// A seeded sample of at most `max` of `n` indices, in order.
pub fn sample(n: usize, max: Option<usize>, seed: u64) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    if let Some(max) = max.filter(|m| *m < n) {
        let mut rng = fastrand::Rng::with_seed(seed);
        rng.shuffle(&mut all);
        all.truncate(max);
        all.sort_unstable();
    }
    all
}

/// Findings grouped by property and kind of event: 300 variants failing one way read as one.
pub fn group(results: &[(Variant, Vec<Finding>)]) -> BTreeMap<(String, String), Vec<usize>> {
    let mut g: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, (v, findings)) in results.iter().enumerate() {
        for f in findings {
            let entry = g.entry((f.property.clone(), v.plan.kind.clone())).or_default();
            if !entry.contains(&i) {
                entry.push(i);
            }
        }
    }
    g
}

/// Writes a variant as a scenario file that runs as it is (revision folders made absolute).
pub fn write_counterexample(
    v: &Variant,
    findings: &[Finding],
    revisions_dir: &Path,
    dir: &Path,
    name: &str,
) -> anyhow::Result<PathBuf> {
    let mut sc = v.scenario.clone();
    for r in &mut sc.revisions {
        if !r.dir.is_empty() && !Path::new(&r.dir).is_absolute() {
            r.dir = revisions_dir.join(&r.dir).display().to_string();
        }
    }
    let mut text = String::new();
    for f in findings {
        text.push_str(&format!("# {}: {}\n", f.property, f.detail.replace('\n', " ")));
    }
    text.push_str(&toml::to_string(&sc)?);
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_every_variant_once() {
        let mut seen = vec![0; 10];
        for k in 1..=3 {
            for (i, s) in seen.iter_mut().enumerate() {
                if in_partition(i, Some((k, 3))) {
                    *s += 1;
                }
            }
        }
        assert!(seen.iter().all(|s| *s == 1), "{seen:?}");
    }

    #[test]
    fn a_seeded_sample_is_the_same_twice_and_bounded() {
        let a = sample(100, Some(10), 7);
        assert_eq!(a, sample(100, Some(10), 7));
        assert_eq!(a.len(), 10);
        assert_ne!(a, sample(100, Some(10), 8));
        assert_eq!(sample(5, Some(10), 1), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_oracle_allows_what_an_event_removes_and_nothing_more() {
        let plan = |cost| Plan {
            what: "x".into(),
            kind: "k".into(),
            cost,
            event: None,
            fault: None,
        };
        let mut o = Outcome::default();
        o.violations
            .push(crate::report::Violation::new(ViolationKind::RequestsFailed, "3 failed"));
        let none = BTreeSet::new();
        let crash = Cost {
            capacity: 1,
            requests: true,
        };
        assert!(judge(&none, &plan(crash), &Ok(o.clone())).is_empty());
        let f = judge(&none, &plan(Cost::default()), &Ok(o.clone()));
        assert_eq!(f[0].property, "requests_failed");
        o.violations.clear();
        o.violations.push(crate::report::Violation::new(
            ViolationKind::ProcessesNotRestored,
            "web suspended",
        ));
        assert_eq!(judge(&none, &plan(crash), &Ok(o))[0].property, "processes_not_restored");
        let err: anyhow::Result<Outcome> = Err(anyhow::anyhow!("boom"));
        assert_eq!(judge(&none, &plan(crash), &err)[0].property, "run_error");
    }
}
