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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::report::Outcome;
use crate::schema::{DeploymentSpec, Scenario};

pub mod drive;
pub mod options;
mod oracle;
mod page;
mod plans;
mod results;
mod shrink;

pub use oracle::{judge, not_applicable, Finding};
pub use plans::{own_cost, plans, Cost, Plan, KINDS};
pub use shrink::shrink;

/// A variant: the base scenario with one plan and the repair deployment.
#[derive(Debug, Clone)]
pub struct Variant {
    pub index: usize,
    pub plan: Plan,
    pub scenario: Scenario,
}

/// How long after a failed repair deployment the explorer's operator retries it.
pub const REPAIR_RETRY_SECONDS: i64 = 300;

/// The base scenario as the explorer runs it: its deployments, then one repair deployment of the
/// last revision.
pub fn with_repair(base: &Scenario) -> Scenario {
    let mut sc = base.clone();
    if let Some(last) = base.deployments.last() {
        sc.deployments.push(DeploymentSpec {
            revision: last.revision.clone(),
            config: last.config.clone(),
            // Refused (a group still settling) or failed: the operator retries once, five
            // minutes later, and the oracle judges what that leaves.
            retry_after_seconds: Some(REPAIR_RETRY_SECONDS),
        });
    }
    sc
}

/// The space of variants: every single plan (depth 1), or every pair of them (depth 2), numbered
/// so that a variant is built only when it runs (pairs of a few hundred plans number tens of
/// thousands).
#[derive(Debug, Clone)]
pub struct Space {
    pub plans: Vec<Plan>,
    pub depth: usize,
}

impl Space {
    /// How many variants (pairs of the same script faulted twice included, and skipped when run).
    pub fn len(&self) -> usize {
        let n = self.plans.len();
        match self.depth {
            1 => n,
            _ => n * n.saturating_sub(1) / 2,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The plan of variant `k`: the `k`-th single plan, or the `k`-th pair `(i, j)`, `i < j`, in
    /// row order. `None` for a pair that cannot be (one script faulted twice).
    pub fn plan(&self, k: usize) -> Option<Plan> {
        if self.depth == 1 {
            return self.plans.get(k).cloned();
        }
        let n = self.plans.len();
        let (mut i, mut k) = (0, k);
        while i < n && k >= n - 1 - i {
            k -= n - 1 - i;
            i += 1;
        }
        let j = i + 1 + k;
        Plan::pair(self.plans.get(i)?, self.plans.get(j)?)
    }
}

/// The variant of `base` with `plan`, numbered `index`.
pub fn variant(base: &Scenario, plan: Plan, index: usize) -> Variant {
    let mut scenario = with_repair(base);
    scenario.events.extend(plan.events.iter().cloned());
    scenario.script_faults.extend(plan.faults.iter().cloned());
    scenario.description = format!(
        "Found by cargo xtask explore: {} (then a repair deployment of {}). Base: {}",
        plan.what,
        base.deployments.last().map(|d| d.revision.as_str()).unwrap_or("-"),
        base.description
    );
    Variant { index, plan, scenario }
}

/// Plays a variant (`run` names its scratch folder) and gives its outcome as the oracle takes it:
/// one whose event fell on the repair deployment or after it is not applicable
/// ([`oracle::within_own_deployments`]).
pub async fn play(v: &Variant, run: &str, paths: &crate::runner::Paths) -> anyhow::Result<Outcome> {
    crate::runner::run_scenario(v.scenario.clone(), run, paths, false)
        .await
        .and_then(|(o, _)| oracle::within_own_deployments(&v.plan, o))
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

/// The order variants run in under a time budget: a seeded shuffle, so that whatever the budget
/// leaves out is spread over the whole space rather than its end.
pub fn budget_order(mut chosen: Vec<usize>, seed: u64) -> Vec<usize> {
    fastrand::Rng::with_seed(seed ^ 0x9e37_79b9).shuffle(&mut chosen);
    chosen
}

/// Findings grouped by property and kind of event: 300 variants failing one way read as one.
/// `results`: each variant's plan and findings, in order; the groups hold their positions.
pub fn group<'a>(
    results: impl IntoIterator<Item = (&'a Plan, &'a [Finding])>,
) -> BTreeMap<(String, String), Vec<usize>> {
    let mut g: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, (plan, findings)) in results.into_iter().enumerate() {
        for f in findings {
            let entry = g.entry((f.property.clone(), plan.kind.clone())).or_default();
            if !entry.contains(&i) {
                entry.push(i);
            }
        }
    }
    g
}

/// Writes a counterexample as a scenario file that runs as it is (revision folders made
/// absolute), with `header` lines as comments on top (what it breaks, how it was shrunk).
pub fn write_counterexample(
    scenario: &Scenario,
    header: &[String],
    revisions_dir: &Path,
    dir: &Path,
    name: &str,
) -> anyhow::Result<PathBuf> {
    let mut sc = scenario.clone();
    for r in &mut sc.revisions {
        if !r.dir.is_empty() && !Path::new(&r.dir).is_absolute() {
            r.dir = revisions_dir.join(&r.dir).display().to_string();
        }
    }
    let mut text = String::new();
    for line in header {
        text.push_str(&format!("# {line}\n"));
    }
    text.push_str(&toml::to_string(&sc)?);
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::report::ViolationKind;

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
    fn pairs_number_every_two_plans_once() {
        let plan = |k: &str| Plan {
            kind: k.into(),
            ..Plan::none()
        };
        let space = Space {
            plans: ["a", "b", "c", "d"].map(plan).to_vec(),
            depth: 2,
        };
        assert_eq!(space.len(), 6);
        let kinds: Vec<String> = (0..6).map(|k| space.plan(k).expect("a pair").kind).collect();
        assert_eq!(kinds, ["a+b", "a+c", "a+d", "b+c", "b+d", "c+d"]);
        assert!(space.plan(6).is_none());
        let p = space.plan(0).expect("a pair");
        assert!(p.has_kind("a") && p.has_kind("b") && !p.has_kind("c"));
        assert_eq!(p.parts.len(), 2);
    }

    #[test]
    fn a_seeded_sample_is_the_same_twice_and_bounded() {
        let a = sample(100, Some(10), 7);
        assert_eq!(a, sample(100, Some(10), 7));
        assert_eq!(a.len(), 10);
        assert_ne!(a, sample(100, Some(10), 8));
        assert_eq!(sample(5, Some(10), 1), vec![0, 1, 2, 3, 4]);
    }

    const ONE_OUT: Cost = Cost {
        capacity: 1,
        requests: false,
    };

    #[test]
    fn an_event_that_falls_on_the_repair_is_not_applicable() {
        let plan = Plan {
            events: vec![crate::schema::EventSpec {
                when: crate::schema::When {
                    deployment: Some(4),
                    ..Default::default()
                },
                action: crate::schema::Action::ScaleOut { count: 1 },
            }],
            ..Plan::none()
        };
        let ran = |from| Outcome {
            last_deployment_from: Some(from),
            ..Outcome::default()
        };
        let late = oracle::within_own_deployments(&plan, ran(4));
        assert!(late.as_ref().is_err_and(not_applicable), "{late:?}");
        assert!(oracle::within_own_deployments(&plan, ran(5)).is_ok());
    }

    #[test]
    fn the_oracle_allows_what_an_event_removes_and_nothing_more() {
        let plan = |cost| Plan { cost, ..Plan::none() };
        let mut o = Outcome::default();
        o.violations
            .push(crate::report::Violation::new(ViolationKind::RequestsFailed, "3 failed"));
        let none = BTreeSet::new();
        let crash = Cost {
            capacity: 1,
            requests: true,
        };
        assert!(judge(&none, &plan(crash), Cost::default(), &Ok(o.clone())).is_empty());
        let f = judge(&none, &plan(Cost::default()), Cost::default(), &Ok(o.clone()));
        assert_eq!(f[0].property, "requests_failed");
        o.violations.clear();
        o.violations.push(crate::report::Violation::new(
            ViolationKind::ProcessesNotRestored,
            "web suspended",
        ));
        assert_eq!(
            judge(&none, &plan(crash), Cost::default(), &Ok(o))[0].property,
            "processes_not_restored"
        );
        // The documented exceptions, and only them: a repair CodeDeploy refused before any hook
        // ran, and a repair that lost its last instance while it was out and still succeeded.
        let repair = |status: crate::report::Status, instance: Option<crate::report::Status>| {
            let mut o = Outcome::default();
            o.violations.push(crate::report::Violation::new(
                ViolationKind::ProcessesNotRestored,
                "web suspended",
            ));
            o.deployments.push(crate::report::DeploymentReport {
                number: 2,
                creator: crate::report::Creator::User,
                revision: "v2".into(),
                config: "OneAtATime".into(),
                status,
                instances: instance
                    .into_iter()
                    .map(|status| {
                        let events = vec!["BeforeInstall bin/deregister-from-elb: ended by termination".to_string()];
                        ("i-2".to_string(), crate::report::InstanceReport { status, events })
                    })
                    .collect(),
                lowest_healthy_capacity: 1,
                required_healthy_capacity: 1,
                lost_before_first_out: 0,
                zones: Default::default(),
                simulated_seconds: None,
                floor_seconds: None,
                overhead_seconds: None,
            });
            o
        };
        let refused = repair(
            crate::report::Status::failed("HEALTH_CONSTRAINTS_INVALID: no room"),
            None,
        );
        assert!(judge(&none, &plan(Cost::default()), Cost::default(), &Ok(refused)).is_empty());
        // Stopped at its minimum before any hook ran: only after an event that took or failed an
        // instance.
        let stopped = repair(
            crate::report::Status::failed(format!(
                "2 of 3 instances healthy, 0 failed; {} (2)",
                crate::report::BELOW_MINIMUM_HEALTHY
            )),
            None,
        );
        assert!(judge(&none, &plan(ONE_OUT), Cost::default(), &Ok(stopped.clone())).is_empty());
        assert!(!judge(&none, &plan(Cost::default()), Cost::default(), &Ok(stopped)).is_empty());
        let terminated = crate::report::Status::failed(crate::report::TERMINATED_DURING_DEPLOYMENT);
        let lost_last = repair(crate::report::Status::Succeeded, Some(terminated.clone()));
        assert!(judge(&none, &plan(crash), Cost::default(), &Ok(lost_last.clone())).is_empty());
        assert!(
            !judge(&none, &plan(Cost::default()), Cost::default(), &Ok(lost_last)).is_empty(),
            "only when the event took an instance"
        );
        let failed = repair(crate::report::Status::failed("1 of 2 failed"), Some(terminated));
        assert!(
            !judge(&none, &plan(crash), Cost::default(), &Ok(failed)).is_empty(),
            "a failed repair is retried, not excused"
        );
        // An instance handed over in Standby because a scale-out filled its group to MaxSize:
        // only after an event that raises the desired capacity, and only at MaxSize.
        let at_max = |desired: i64| {
            let mut o = Outcome::default();
            o.violations
                .push(crate::report::Violation::new(ViolationKind::LeftInStandby, "i-1"));
            o.groups.insert(
                "web".into(),
                crate::report::GroupReport {
                    min: 1,
                    max: 2,
                    desired,
                    instances: [("i-1", "Standby"), ("i-2", "InService"), ("i-3", "InService")]
                        .map(|(i, l)| (i.to_string(), l.to_string()))
                        .into(),
                    ..Default::default()
                },
            );
            o
        };
        let scale_out = Plan {
            kind: "scale_out".into(),
            ..Plan::none()
        };
        assert!(judge(&none, &scale_out, Cost::default(), &Ok(at_max(2))).is_empty());
        assert!(!judge(&none, &scale_out, Cost::default(), &Ok(at_max(1))).is_empty());
        assert!(!judge(&none, &plan(Cost::default()), Cost::default(), &Ok(at_max(2))).is_empty());
        // An operator's Standby afterwards lowered the desired capacity: still both could not
        // come back within MaxSize.
        let mut two_out = at_max(1);
        if let Some(g) = two_out.groups.get_mut("web") {
            g.instances.insert("i-2".into(), "Standby".into());
        }
        assert!(judge(&none, &scale_out, Cost::default(), &Ok(two_out)).is_empty());
        // Instances Auto Scaling took before the deployment took any out: as many below the
        // minimum, counted once with the event's own cost, and not one more.
        let below = |lowest: usize, lost: usize| {
            let mut o = Outcome::default();
            o.deployments.push(crate::report::DeploymentReport {
                number: 6,
                creator: crate::report::Creator::User,
                revision: "v2".into(),
                config: "OneAtATime".into(),
                status: crate::report::Status::Succeeded,
                instances: Default::default(),
                lowest_healthy_capacity: lowest,
                required_healthy_capacity: 6,
                lost_before_first_out: lost,
                zones: Default::default(),
                simulated_seconds: None,
                floor_seconds: None,
                overhead_seconds: None,
            });
            o
        };
        let beyond = |f: Vec<super::Finding>| f.iter().any(|f| f.property == "capacity_beyond_event");
        assert!(beyond(judge(&none, &scale_out, Cost::default(), &Ok(below(5, 0)))));
        assert!(!beyond(judge(&none, &scale_out, Cost::default(), &Ok(below(5, 1)))));
        assert!(beyond(judge(&none, &scale_out, Cost::default(), &Ok(below(4, 1)))));
        assert!(
            beyond(judge(&none, &plan(ONE_OUT), Cost::default(), &Ok(below(4, 1)))),
            "the event's cost and the loss before the first out are one"
        );
        let err: anyhow::Result<Outcome> = Err(anyhow::anyhow!("boom"));
        assert_eq!(
            judge(&none, &plan(crash), Cost::default(), &err)[0].property,
            "run_error"
        );
    }
}
