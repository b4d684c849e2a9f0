//! The verdict: the outcome a snapshot holds (final groups, health, revisions, activities) and the
//! invariants every deployment must keep, as typed violations.

use std::collections::{BTreeMap, BTreeSet};

use fakeaws::model::Lifecycle;

use super::Sim;
use crate::report::{Outcome, Violation, ViolationKind};

impl Sim {
    /// Lowest number of deployment-group instances serving traffic (InService and healthy in
    /// every target group they are registered in).
    pub(super) fn sample_capacity(&mut self) {
        // Unchanged since the last look: the same census.
        let version = self.fake().version();
        if self.census_seen == Some(version) {
            return;
        }
        self.census_seen = Some(version);
        let (members, serving) = self.fake().rehearsal().census(
            &self.sc.deployment_group.autoscaling_groups,
            self.sc.deployment_group.standalone_instances,
        );
        for id in &members {
            self.label(id);
        }
        let total = members.len();
        self.min_capacity = Some(match self.min_capacity {
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
            deployments: self.reports.clone(),
            ..Default::default()
        };
        out.deployments.sort_by_key(|d| d.number);
        let label = |s: &str| -> String {
            let mut s = s.to_string();
            for (id, l) in &self.labels {
                s = s.replace(id, l);
            }
            s
        };
        let mut acts: Vec<(i64, String)> = Vec::new();
        for a in w.activities().iter() {
            if a.start_ms < self.start_ms {
                continue;
            }
            acts.push(((a.start_ms - self.start_ms) / 1000, label(&a.description)));
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
        out.activities = acts.into_iter().map(|(t, d)| format!("t+{t}s {d}")).collect();
        out.api_calls = self.api_calls.clone();
        for gname in &self.sc.deployment_group.autoscaling_groups {
            let Some(g) = w.groups().get(gname) else { continue };
            let mut states = BTreeMap::new();
            for id in &g.instances {
                if let Some(i) = w.instances().get(id) {
                    states.insert(label(id), i.lifecycle.as_str().to_string());
                }
            }
            out.groups.insert(
                gname.clone(),
                crate::report::GroupReport {
                    min: g.min,
                    max: g.max,
                    desired: g.desired,
                    suspended: g.suspended.keys().map(|p| p.to_string()).collect(),
                    instances: states,
                    zones: g.instances.iter().filter_map(|id| w.instances().get(id)).fold(
                        BTreeMap::new(),
                        |mut m, i| {
                            *m.entry(i.availability_zone.clone()).or_insert(0usize) += 1;
                            m
                        },
                    ),
                    protected: {
                        let mut p: Vec<String> = g
                            .instances
                            .iter()
                            .filter(|id| {
                                w.instances()
                                    .get(id.as_str())
                                    .is_some_and(|i| i.protected_from_scale_in)
                            })
                            .map(|id| label(id))
                            .collect();
                        p.sort();
                        p
                    },
                },
            );
            let (min0, mut susp0) = self.initial_groups.get(gname).cloned().unwrap_or_default();
            // What an operator changed during the scenario is the group's new normal.
            let min0 = self.operator_min.unwrap_or(min0);
            for p in &self.operator_suspended {
                if !susp0.contains(&p.to_string()) {
                    susp0.push(p.to_string());
                }
            }
            susp0.sort();
            if g.min != min0 {
                self.violations.push(Violation::new(
                    ViolationKind::MinSizeNotRestored,
                    format!("{gname} MinSize {} (was {min0})", g.min),
                ));
            }
            let mut now_susp: Vec<String> = g.suspended.keys().map(|p| p.to_string()).collect();
            now_susp.sort();
            if now_susp != susp0 {
                self.violations.push(Violation::new(
                    ViolationKind::ProcessesNotRestored,
                    format!("{gname} suspended {now_susp:?} (was {susp0:?})"),
                ));
            }
            let mut left_out = false;
            for id in &g.instances {
                if !self.operator_standby.contains(id)
                    && w.instances()
                        .get(id)
                        .is_some_and(|i| matches!(i.lifecycle, Lifecycle::Standby | Lifecycle::EnteringStandby))
                {
                    left_out = true;
                    self.violations
                        .push(Violation::new(ViolationKind::LeftInStandby, label(id)));
                }
            }
            // Records with nothing left to restore mislead the next run (an old original MinSize
            // "restored" over a newer one, an instance counted as out). Not a Standby mark of an
            // instance that has left the group or is being terminated (its hooks were cut short
            // with it): the hooks never count those (they look at the members first) and the
            // next hook run in the group removes them.
            if g.min == min0 && now_susp == susp0 && !left_out {
                let gone = |id: &str| {
                    !g.instances.iter().any(|m| m == id)
                        || w.instances().get(id).is_none_or(|i| i.lifecycle.is_leaving())
                };
                let stale: Vec<&String> = g
                    .tags
                    .keys()
                    .filter(|k| k.starts_with(hooks::asg::TAG_PREFIX))
                    .filter(|k| k.strip_prefix(hooks::asg::TAG_STANDBY).is_none_or(|id| !gone(id)))
                    .collect();
                if !stale.is_empty() {
                    self.violations.push(Violation::new(
                        ViolationKind::HooksTagsLeft,
                        format!("{gname} still has {stale:?}"),
                    ));
                }
            }
        }
        // Scale-in protection is the operator's: whatever the hooks did, each instance there from
        // the start ends protected exactly as it began.
        if let Some((members0, protected0)) = &self.protected_at_start {
            for id in members0 {
                let Some(i) = w.instances().get(id) else { continue };
                let was = protected0.contains(id);
                if i.protected_from_scale_in != was {
                    self.violations.push(Violation::new(
                        ViolationKind::ProtectionChanged,
                        format!(
                            "{} was {} from scale in and ends {}",
                            label(id),
                            if was { "protected" } else { "not protected" },
                            if was { "unprotected" } else { "protected" }
                        ),
                    ));
                }
            }
        }
        for tg in w.target_groups().values() {
            let mut m = BTreeMap::new();
            for t in &tg.targets {
                m.insert(
                    format!("{}:{}", label(&t.id), t.port),
                    w.target_health(tg, t).state.to_string(),
                );
            }
            out.target_health.insert(tg.name.clone(), m);
        }
        for lb in w.classic().values() {
            let mut m = BTreeMap::new();
            for x in &lb.members {
                m.insert(label(&x.id), x.state().to_string());
            }
            out.target_health.insert(format!("classic:{}", lb.name), m);
        }
        for id in &members {
            out.revisions.insert(
                label(id),
                self.running_rev.get(id).cloned().unwrap_or_else(|| "(none)".into()),
            );
        }
        if let Some(good) = &self.last_good {
            for id in &members {
                if self.running_rev.get(id) != Some(good) {
                    out.mixed_fleet.push(format!(
                        "{} runs {} (last successful revision {good})",
                        label(id),
                        out.revisions[&label(id)]
                    ));
                }
            }
        }
        // Every deployment CodeDeploy runs over the fleet (user deployments, failed or not, and
        // rollbacks); launch deployments of single new instances promise no capacity.
        for d in &self.reports {
            if !d.creator.is_for_launches() && d.lowest_healthy_capacity < d.required_healthy_capacity {
                self.violations.push(Violation::new(
                    ViolationKind::CapacityBelowMinimum,
                    format!(
                        "deployment {} went down to {} healthy instance(s), minimum {}",
                        d.number, d.lowest_healthy_capacity, d.required_healthy_capacity
                    ),
                ));
            }
        }
        // The hooks' maintenance page (their tag on a listener rule) must not outlive the outage
        // it covers: at the end, no listener shows it while its target group has a healthy target.
        for l in w.listeners().values() {
            let page = l.rules.iter().find(|r| {
                w.elb_tags()
                    .get(&r.arn)
                    .is_some_and(|t| t.contains_key(hooks::maintenance::TAG))
            });
            let Some(page) = page else { continue };
            for tg_arn in l.all_actions().flat_map(|a| a.target_groups()) {
                let Some(tg) = w.target_groups().get(tg_arn) else {
                    continue;
                };
                let healthy = tg
                    .targets
                    .iter()
                    .filter(|t| w.target_health(tg, t).state == fakeaws::model::TargetHealthState::Healthy)
                    .count();
                if healthy > 0 {
                    self.violations.push(Violation::new(
                        ViolationKind::MaintenancePageLeftUp,
                        format!(
                            "listener port {} still answers with the maintenance page (rule priority {}) while {healthy} target(s) of {} are healthy",
                            l.port, page.priority, tg.name
                        ),
                    ));
                    break;
                }
            }
        }
        // A follow-up deployment covers only instances launched during the deployment it follows.
        for (i, d) in self.reports.iter().enumerate() {
            if d.creator != crate::report::Creator::CodeDeployAutoUpdate {
                continue;
            }
            let Some(before) = self.reports[..i]
                .iter()
                .rev()
                .find(|p| p.creator == crate::report::Creator::User)
            else {
                continue;
            };
            for label in d.instances.keys().filter(|l| before.instances.contains_key(*l)) {
                self.violations.push(Violation::new(
                    ViolationKind::FollowUpOnOldInstance,
                    format!(
                        "follow-up deployment {} redeployed {label}, an instance of deployment {}",
                        d.number, before.number
                    ),
                ));
            }
        }
        out.traffic = self.traffic_report();
        let now = self.now();
        out.timeline = std::mem::take(&mut self.recorder).finish(now, &self.labels);
        for (entrance, t) in &self.traffic {
            if t.failed() > 0 {
                let causes = out.traffic[entrance]
                    .failed
                    .iter()
                    .map(|(c, n)| format!("{c}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.violations.push(Violation::new(
                    ViolationKind::RequestsFailed,
                    format!("{entrance}: {} of {} requests failed ({causes})", t.failed(), t.sent()),
                ));
            }
        }
        for (entrance, p) in &self.probes {
            if !p.clean() {
                let r = p.report();
                self.violations.push(Violation::new(
                    ViolationKind::ProbeDisagreed,
                    format!(
                        "{entrance}: {} of {} real requests agreed with the model, {} connection(s) refused: {}",
                        r.agreed_with_model,
                        r.sent,
                        r.refused_connections,
                        r.disagreements.join("; ")
                    ),
                ));
            }
        }
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
        Ok(out)
    }
}
