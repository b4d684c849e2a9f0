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
    // A smaller group: half as many instances (a large fleet first), then one fewer. With one
    // group and nothing else, instances are numbered 1..=desired, and what happened to the last
    // ones happens to the new last ones (the instances are alike at launch).
    let alone = base.fleet.groups.len() == 1 && base.fleet.instances.is_empty();
    for (gi, g) in base.fleet.groups.iter().enumerate() {
        let desired = g.desired.unwrap_or(g.min);
        let mut sizes = vec![desired / 2, desired - 1];
        sizes.dedup();
        for size in sizes.into_iter().filter(|n| *n >= 1 && *n < desired) {
            let mut b = base.clone();
            let bg = &mut b.fleet.groups[gi];
            bg.desired = Some(size);
            bg.min = bg.min.min(size);
            let mut p = plan.clone();
            if alone {
                let shift = (desired - size) as usize;
                let map = |n: usize| if n > size as usize { n - shift } else { n };
                renumber(&mut b.events, &mut b.script_faults, &map);
                renumber_plan(&mut p, &map, size as usize, shift);
            }
            out.push((format!("{}: {desired} -> {size} instances", g.name), b, p));
        }
    }
    out
}

/// Renumbers a plan's (and its parts') instances, and its description with them.
fn renumber_plan(p: &mut Plan, map: &impl Fn(usize) -> usize, size: usize, shift: usize) {
    renumber(&mut p.events, &mut p.faults, map);
    p.what = rename(&p.what, size, shift);
    for part in &mut p.parts {
        renumber_plan(part, map, size, shift);
    }
}

/// `i-N` for every N above `size` in `text` becomes `i-(N - shift)`.
fn rename(text: &str, size: usize, shift: usize) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("i-") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<usize>() {
            Ok(n) if n > size => out.push_str(&(n - shift).to_string()),
            _ => out.push_str(&digits),
        }
        rest = &rest[digits.len()..];
    }
    out.push_str(rest);
    out
}

/// Instances renumbered by `map` in events and script faults.
fn renumber(events: &mut [EventSpec], faults: &mut [ScriptFault], map: &impl Fn(usize) -> usize) {
    for e in events {
        if let Some(n) = e.when.instance.as_mut() {
            *n = map(*n);
        }
        match &mut e.action {
            Action::Terminate { instance }
            | Action::RebalanceRecommendation { instance }
            | Action::SpotInterruption { instance }
            | Action::AppDown { instance }
            | Action::AppUp { instance }
            | Action::EnterStandby { instance }
            | Action::ExitStandby { instance }
            | Action::KillScript { instance } => *instance = map(*instance),
            _ => {}
        }
    }
    for f in faults {
        f.instance = map(f.instance);
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
            let run = super::play(&v, &format!("{name}-shrink-{}", cur.runs), paths).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renaming_moves_only_the_instances_above_the_new_size() {
        assert_eq!(
            rename("i-9 terminated @ d1 i-9 AWS call 3", 5, 4),
            "i-5 terminated @ d1 i-5 AWS call 3"
        );
        assert_eq!(rename("i-2 and i-10, i-", 5, 5), "i-2 and i-5, i-");
    }

    #[test]
    fn a_large_group_is_halved_first_and_its_last_instances_follow() {
        let mut base = crate::runner::read_file(
            &crate::scenarios_dir()
                .join("scenarios")
                .join("happy_one_at_a_time.toml"),
        )
        .expect("reads");
        base.fleet.groups[0].desired = Some(10);
        let mut plan = Plan::none();
        plan.what = "i-10 terminated".into();
        plan.events.push(EventSpec {
            when: crate::schema::When {
                instance: Some(10),
                ..Default::default()
            },
            action: Action::Terminate { instance: 10 },
        });
        let c = candidates(&base, &plan);
        let (what, b, p) = &c[0];
        assert_eq!(what, "web-asg: 10 -> 5 instances");
        assert_eq!(b.fleet.groups[0].desired, Some(5));
        assert_eq!(b.fleet.groups[0].min, 1);
        assert!(matches!(p.events[0].action, Action::Terminate { instance: 5 }));
        assert_eq!(p.events[0].when.instance, Some(5));
        assert_eq!(p.what, "i-5 terminated");
        assert_eq!(c[1].0, "web-asg: 10 -> 9 instances");
    }
}
