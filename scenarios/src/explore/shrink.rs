//! Shrinking a counterexample: the fewest events and the smallest fleet that still break the same
//! property. Greedy, one change at a time (drop one event of a pair, drop one of the scenario's
//! own events or script faults, one instance fewer in a group), each kept only when the variant
//! it gives still fails the same way; bounded by a number of runs.

use std::collections::BTreeSet;

use super::{judge, own_cost, variant, Finding, Plan};
use crate::report::{Outcome, ViolationKind};
use crate::runner::Paths;
use crate::schema::{Action, EventSpec, Scenario, ScriptFault};

/// A counterexample after shrinking.
#[derive(Debug)]
pub struct Shrunk {
    /// The base scenario (without the repair deployment) and the plan, both as small as found.
    pub base: Scenario,
    pub plan: Plan,
    /// The last failing run's outcome and findings (`None`: the variant's own, not rerun).
    pub outcome: Option<Outcome>,
    pub findings: Vec<Finding>,
    /// What was taken away, in order ("the second event", "web-asg: 3 -> 2 instances").
    pub steps: Vec<String>,
    /// Runs spent.
    pub runs: usize,
}

/// One smaller candidate: what changed, and the base and plan it gives.
fn candidates(base: &Scenario, plan: &Plan) -> Vec<(String, Scenario, Plan)> {
    let mut out = Vec::new();
    // A pair: either event alone.
    for (i, part) in plan.parts.iter().enumerate() {
        out.push((
            format!("only the {} event ({})", ["first", "second"][i.min(1)], part.what),
            base.clone(),
            part.clone(),
        ));
    }
    // The scenario's own events and faults, one at a time.
    for i in 0..base.events.len() {
        let mut b = base.clone();
        let e = b.events.remove(i);
        out.push((
            format!("without the scenario's event {} ({})", i + 1, e.action.describe()),
            b,
            plan.clone(),
        ));
    }
    for i in 0..base.script_faults.len() {
        let mut b = base.clone();
        let f = b.script_faults.remove(i);
        out.push((
            format!("without the scenario's script fault on {}", f.script),
            b,
            plan.clone(),
        ));
    }
    // One instance fewer in a group. With one group and nothing else, instances are numbered
    // 1..=desired: what happened to the last one happens to the new last one (the instances
    // are alike at launch).
    let alone = base.fleet.groups.len() == 1 && base.fleet.instances.is_empty();
    for (gi, g) in base.fleet.groups.iter().enumerate() {
        let desired = g.desired.unwrap_or(g.min);
        if desired <= 1 {
            continue;
        }
        let mut b = base.clone();
        let bg = &mut b.fleet.groups[gi];
        bg.desired = Some(desired - 1);
        bg.min = bg.min.min(desired - 1);
        let mut p = plan.clone();
        if alone {
            let (from, to) = (desired as usize, desired as usize - 1);
            renumber(&mut b.events, &mut b.script_faults, from, to);
            let (old, new) = (format!("i-{from}"), format!("i-{to}"));
            renumber(&mut p.events, &mut p.faults, from, to);
            p.what = p.what.replace(&old, &new);
            for part in &mut p.parts {
                renumber(&mut part.events, &mut part.faults, from, to);
                part.what = part.what.replace(&old, &new);
            }
        }
        out.push((format!("{}: {desired} -> {} instances", g.name, desired - 1), b, p));
    }
    out
}

/// Instance `from` becomes instance `to` in events and script faults.
fn renumber(events: &mut [EventSpec], faults: &mut [ScriptFault], from: usize, to: usize) {
    let swap = |n: &mut usize| {
        if *n == from {
            *n = to;
        }
    };
    for e in events {
        if let Some(n) = e.when.instance.as_mut() {
            swap(n);
        }
        match &mut e.action {
            Action::Terminate { instance }
            | Action::AppDown { instance }
            | Action::AppUp { instance }
            | Action::EnterStandby { instance }
            | Action::ExitStandby { instance } => swap(instance),
            _ => {}
        }
    }
    for f in faults {
        swap(&mut f.instance);
    }
}

/// Shrinks the failing variant `(base, plan)` for `property`, spending at most `max_runs` runs.
pub async fn shrink(
    base: &Scenario,
    plan: &Plan,
    property: &str,
    allowed: &BTreeSet<ViolationKind>,
    paths: &Paths,
    name: &str,
    max_runs: usize,
) -> Shrunk {
    let mut cur = Shrunk {
        base: base.clone(),
        plan: plan.clone(),
        outcome: None,
        findings: Vec::new(),
        steps: Vec::new(),
        runs: 0,
    };
    'smaller: loop {
        for (what, b, p) in candidates(&cur.base, &cur.plan) {
            if cur.runs >= max_runs {
                break 'smaller;
            }
            cur.runs += 1;
            let v = variant(&b, p, 0);
            let run = crate::runner::run_scenario(v.scenario, &format!("{name}-shrink-{}", cur.runs), paths, false)
                .await
                .map(|(o, _)| o);
            let findings = judge(allowed, &v.plan, own_cost(&b), &run);
            if findings.iter().any(|f| f.property == property) {
                cur.base = b;
                cur.plan = v.plan;
                cur.outcome = run.ok();
                cur.findings = findings;
                cur.steps.push(what);
                continue 'smaller;
            }
        }
        break;
    }
    cur
}
