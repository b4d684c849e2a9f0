//! The verdict: the outcome a snapshot holds (final groups, health, revisions, activities), the
//! invariants checked (`invariants.rs`), and the judgement: ok when the violations are exactly
//! the expected ones.

use std::collections::{BTreeMap, BTreeSet};

use fakeaws::model::Group;
use fakeaws::World;

use super::Sim;
use crate::report::{GroupReport, Outcome, ViolationKind};

impl Sim {
    /// Lowest number of deployment-group instances serving traffic (InService and healthy in
    /// every target group they are registered in).
    pub(super) fn sample_capacity(&mut self) {
        // Unchanged since the last look: the same census.
        let version = self.fake().version();
        if self.engine.census_seen == Some(version) {
            return;
        }
        self.engine.census_seen = Some(version);
        let (members, serving) = self.fake().rehearsal().census(
            &self.sc.deployment_group.autoscaling_groups,
            self.sc.deployment_group.standalone_instances,
        );
        for id in &members {
            self.label(id);
        }
        if self.engine.zones.is_some() {
            let census = self.fake().rehearsal().zone_census(
                &self.sc.deployment_group.autoscaling_groups,
                self.sc.deployment_group.standalone_instances,
            );
            if let Some(w) = &mut self.engine.zones {
                w.sample(&census);
            }
        }
        let total = members.len();
        self.engine.min_capacity = Some(match self.engine.min_capacity {
            Some((m, t)) if m <= serving => (m, t),
            _ => (serving, total),
        });
    }

    pub(super) fn finish(&mut self) -> anyhow::Result<Outcome> {
        let members = self.members();
        let w = self.fake().rehearsal().snapshot();
        let mut out = Outcome {
            description: self.sc.description.trim().to_string(),
            simulated_seconds: (w.now_ms() - self.start_ms) / 1000,
            deployments: self.engine.reports.clone(),
            last_deployment_from: self.engine.last_deployment_from,
            ..Default::default()
        };
        out.deployments.sort_by_key(|d| d.number);
        out.activities = self.activities(&w);
        out.api_calls = self.triggers.api_calls.clone();
        for gname in self.sc.deployment_group.autoscaling_groups.clone() {
            let Some(g) = w.groups().get(&gname) else { continue };
            out.groups.insert(gname.clone(), self.group_report(&w, g));
            self.check_group_restored(&w, &gname, g);
        }
        self.check_protection(&w);
        out.target_health = self.target_health(&w);
        for id in &members {
            out.revisions.insert(
                self.labelled(id),
                self.engine
                    .running_rev
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| "(none)".into()),
            );
        }
        if let Some(good) = &self.engine.last_good {
            for id in &members {
                if self.engine.running_rev.get(id) != Some(good) {
                    out.mixed_fleet.push(format!(
                        "{} runs {} (last successful revision {good})",
                        self.labelled(id),
                        out.revisions[&self.labelled(id)]
                    ));
                }
            }
        }
        self.check_capacity();
        self.check_successes();
        self.check_maintenance_page(&w);
        self.check_follow_ups();
        out.traffic = self.traffic_report();
        let now = self.now();
        out.timeline = std::mem::take(&mut self.recorder).finish(now, &self.labels);
        self.check_requests(&out);
        self.check_probes();
        Ok(self.judge(out))
    }

    /// `s` with every instance id replaced by its label (`i-1` ...).
    pub(super) fn labelled(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (id, l) in &self.labels {
            s = s.replace(id, l);
        }
        s
    }

    /// Auto Scaling's activities since the scenario began, `t+SECONDS description`; launches and
    /// terminations also go to the timeline with their causes.
    fn activities(&mut self, w: &World) -> Vec<String> {
        let mut acts: Vec<(i64, String)> = Vec::new();
        for a in w.activities().iter() {
            if a.start_ms < self.start_ms {
                continue;
            }
            acts.push(((a.start_ms - self.start_ms) / 1000, self.labelled(&a.description)));
            for (prefix, launch) in [
                ("Launching a new EC2 instance: ", true),
                ("Terminating EC2 instance: ", false),
            ] {
                if let Some(id) = a.description.strip_prefix(prefix) {
                    let cause = crate::timeline::Cause::of(launch, &a.cause);
                    self.recorder.change(a.start_ms, id, launch, cause);
                }
            }
        }
        acts.sort();
        acts.into_iter().map(|(t, d)| format!("t+{t}s {d}")).collect()
    }

    /// A group as it ends: sizes, suspended processes, members' lifecycle states, zones,
    /// protected members and its warm pool.
    fn group_report(&self, w: &World, g: &Group) -> GroupReport {
        let mut states = BTreeMap::new();
        for id in g.instances.iter() {
            if let Some(i) = w.instances().get(id) {
                states.insert(self.labelled(id), i.lifecycle.as_str().to_string());
            }
        }
        let mut protected: Vec<String> = g
            .instances
            .iter()
            .filter(|id| {
                w.instances()
                    .get(id.as_str())
                    .is_some_and(|i| i.protected_from_scale_in)
            })
            .map(|id| self.labelled(id))
            .collect();
        protected.sort();
        GroupReport {
            min: g.min,
            max: g.max,
            desired: g.desired,
            suspended: g.suspended.keys().map(|p| p.to_string()).collect(),
            instances: states,
            zones: g
                .instances
                .iter()
                .filter_map(|id| w.instances().get(id))
                .fold(BTreeMap::new(), |mut m, i| {
                    *m.entry(i.availability_zone.clone()).or_insert(0usize) += 1;
                    m
                }),
            protected,
            warm_pool: g
                .warm
                .iter()
                .filter_map(|id| w.instances().get(id))
                .map(|i| {
                    let rev = self.engine.running_rev.get(&i.id).map_or("(none)", String::as_str);
                    (self.labelled(&i.id), format!("{}, {rev}", i.lifecycle))
                })
                .collect(),
        }
    }

    /// Every target group's and Classic Load Balancer's targets and their health as they end.
    fn target_health(&self, w: &World) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for tg in w.target_groups().values() {
            let mut m = BTreeMap::new();
            for t in &tg.targets {
                m.insert(
                    format!("{}:{}", self.labelled(&t.id), t.port),
                    w.target_health(tg, t).state.to_string(),
                );
            }
            out.insert(tg.name.clone(), m);
        }
        for lb in w.classic().values() {
            let mut m = BTreeMap::new();
            for x in &lb.members {
                m.insert(self.labelled(&x.id), x.state().to_string());
            }
            out.insert(format!("classic:{}", lb.name), m);
        }
        out
    }

    /// The verdict: ok when the violations are exactly those the scenario expects.
    fn judge(&self, mut out: Outcome) -> Outcome {
        let expected: BTreeSet<ViolationKind> = self.sc.expect_violations.iter().copied().collect();
        let kinds: BTreeSet<ViolationKind> = self.violations.iter().map(|v| v.kind).collect();
        out.violations = self.violations.clone();
        out.passed = kinds == expected;
        out.expected = expected.iter().copied().collect();
        out.expected_because = self.sc.expected_because.clone();
        if !out.passed {
            let names = |s: &BTreeSet<ViolationKind>| s.iter().map(|k| k.as_str()).collect::<Vec<_>>();
            out.verdict = format!(
                "invariant violations {:?}, expected {:?}",
                names(&kinds),
                names(&expected)
            );
        } else {
            out.verdict = "ok".into();
        }
        out
    }
}
