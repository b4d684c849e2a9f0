//! The invariants every deployment must keep, each checked once the scenario is over and recorded
//! as a typed violation: deployments that succeed on at least one instance, groups restored (MinSize, processes, nothing left in Standby, no hooks'
//! tags), an operator's Standby left alone, scale-in protection as it began, capacity at its minimum, no maintenance page over a
//! healthy target, follow-ups only for new instances, no failed request, probes agreeing.

use fakeaws::model::{Group, Lifecycle, TargetHealthState};
use fakeaws::World;

use super::Sim;
use crate::report::{Creator, Outcome, Status, Violation, ViolationKind};

impl Sim {
    fn violation(&mut self, kind: ViolationKind, detail: String) {
        self.violations.push(Violation::new(kind, detail));
    }

    /// A group ends as it began (or as an operator changed it during the scenario): MinSize,
    /// suspended processes, nothing left in Standby by the hooks, and no hooks' record left.
    pub(super) fn check_group_restored(&mut self, w: &World, gname: &str, g: &Group) {
        let (min0, mut susp0) = self.baseline.groups.get(gname).cloned().unwrap_or_default();
        // What an operator changed during the scenario is the group's new normal.
        let min0 = self.operator.min.unwrap_or(min0);
        for p in &self.operator.suspended {
            if !susp0.contains(&p.to_string()) {
                susp0.push(p.to_string());
            }
        }
        susp0.sort();
        if g.min != min0 {
            self.violation(
                ViolationKind::MinSizeNotRestored,
                format!("{gname} MinSize {} (was {min0})", g.min),
            );
        }
        let mut now_susp: Vec<String> = g.suspended.keys().map(|p| p.to_string()).collect();
        now_susp.sort();
        if now_susp != susp0 {
            self.violation(
                ViolationKind::ProcessesNotRestored,
                format!("{gname} suspended {now_susp:?} (was {susp0:?})"),
            );
        }
        let mut left_out = false;
        for id in g.instances.iter() {
            if !self.operator.standby.contains(id)
                && w.instances()
                    .get(id)
                    .is_some_and(|i| matches!(i.lifecycle, Lifecycle::Standby | Lifecycle::EnteringStandby))
            {
                left_out = true;
                let label = self.labelled(id);
                self.violation(ViolationKind::LeftInStandby, label);
            }
        }
        // An operator's Standby is theirs to end: an instance still in the group and not on its
        // way out stays there.
        for id in &self.operator.standby.clone() {
            let Some(i) = w.instances().get(id) else { continue };
            if g.instances.contains(id)
                && !i.lifecycle.is_leaving()
                && !matches!(i.lifecycle, Lifecycle::Standby | Lifecycle::EnteringStandby)
            {
                let detail = format!(
                    "{} was put in Standby by an operator and ends {}",
                    self.labelled(id),
                    i.lifecycle.as_str()
                );
                self.violation(ViolationKind::OperatorStandbyUndone, detail);
            }
        }
        // Records with nothing left to restore mislead the next run (an old original MinSize
        // "restored" over a newer one, an instance counted as out). Not a Standby mark of an
        // instance that has left the group or is being terminated (its hooks were cut short
        // with it): the hooks never count those (they look at the members first) and the
        // next hook run in the group removes them.
        if g.min == min0 && now_susp == susp0 && !left_out {
            let gone = |id: &str| {
                !g.instances.iter().any(|m| m == id) || w.instances().get(id).is_none_or(|i| i.lifecycle.is_leaving())
            };
            let stale: Vec<&String> = g
                .tags
                .keys()
                .filter(|k| k.starts_with(hooks::asg::TAG_PREFIX))
                .filter(|k| k.strip_prefix(hooks::asg::TAG_STANDBY).is_none_or(|id| !gone(id)))
                .collect();
            if !stale.is_empty() {
                self.violation(ViolationKind::HooksTagsLeft, format!("{gname} still has {stale:?}"));
            }
        }
    }

    /// Scale-in protection is the operator's: whatever the hooks did, each instance there from
    /// the start ends protected exactly as it began.
    pub(super) fn check_protection(&mut self, w: &World) {
        let Some((members0, protected0)) = self.baseline.protected.clone() else {
            return;
        };
        for id in &members0 {
            let Some(i) = w.instances().get(id) else { continue };
            let was = protected0.contains(id);
            if i.protected_from_scale_in != was {
                let detail = format!(
                    "{} was {} from scale in and ends {}",
                    self.labelled(id),
                    if was { "protected" } else { "not protected" },
                    if was { "unprotected" } else { "protected" }
                );
                self.violation(ViolationKind::ProtectionChanged, detail);
            }
        }
    }

    /// Every deployment CodeDeploy runs over the fleet (user deployments, failed or not, and
    /// rollbacks) keeps its minimum of healthy instances, and a zonal one each zone's minimum;
    /// launch deployments of single new instances promise no capacity.
    pub(super) fn check_capacity(&mut self) {
        let mut below: Vec<String> = Vec::new();
        for d in self.engine.reports.iter().filter(|d| !d.creator.is_for_launches()) {
            if d.lowest_healthy_capacity < d.required_healthy_capacity {
                below.push(format!(
                    "deployment {} went down to {} healthy instance(s), minimum {}",
                    d.number, d.lowest_healthy_capacity, d.required_healthy_capacity
                ));
            }
            // A zonal deployment keeps each zone's minimum too.
            for (zone, z) in d
                .zones
                .iter()
                .filter(|(_, z)| z.lowest_healthy_capacity < z.required_healthy_capacity)
            {
                below.push(format!(
                    "deployment {} went down to {} healthy instance(s) in {zone}, minimum {} per zone",
                    d.number, z.lowest_healthy_capacity, z.required_healthy_capacity
                ));
            }
        }
        for detail in below {
            self.violation(ViolationKind::CapacityBelowMinimum, detail);
        }
    }

    /// A deployment over instances succeeds only if the deployment to at least one of them did
    /// (CodeDeploy's rule, whatever the minimum healthy hosts): otherwise its revision, which
    /// runs nowhere, becomes the one every later launch and rollback deploys.
    pub(super) fn check_successes(&mut self) {
        let found: Vec<String> = self
            .engine
            .reports
            .iter()
            .filter(|d| d.status == Status::Succeeded && !d.instances.is_empty())
            .filter(|d| d.instances.values().all(|i| i.status != Status::Succeeded))
            .map(|d| {
                format!(
                    "deployment {} of {} succeeded with none of its {} instance(s) succeeded",
                    d.number,
                    d.revision,
                    d.instances.len()
                )
            })
            .collect();
        for detail in found {
            self.violation(ViolationKind::SucceededWithoutInstance, detail);
        }
    }

    /// The hooks' maintenance page (their tag on a listener rule) must not outlive the outage it
    /// covers: at the end, no listener shows it while its target group has a healthy target.
    pub(super) fn check_maintenance_page(&mut self, w: &World) {
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
                    .filter(|t| w.target_health(tg, t).state == TargetHealthState::Healthy)
                    .count();
                if healthy > 0 {
                    self.violation(
                        ViolationKind::MaintenancePageLeftUp,
                        format!(
                            "listener port {} still answers with the maintenance page (rule priority {}) while {healthy} target(s) of {} are healthy",
                            l.port, page.priority, tg.name
                        ),
                    );
                    break;
                }
            }
        }
    }

    /// A follow-up deployment covers only instances launched during the deployment it follows.
    pub(super) fn check_follow_ups(&mut self) {
        let mut found = Vec::new();
        for (i, d) in self.engine.reports.iter().enumerate() {
            if d.creator != Creator::CodeDeployAutoUpdate {
                continue;
            }
            let Some(before) = self.engine.reports[..i]
                .iter()
                .rev()
                .find(|p| p.creator == Creator::User)
            else {
                continue;
            };
            for label in d.instances.keys().filter(|l| before.instances.contains_key(*l)) {
                found.push(format!(
                    "follow-up deployment {} redeployed {label}, an instance of deployment {}",
                    d.number, before.number
                ));
            }
        }
        for detail in found {
            self.violation(ViolationKind::FollowUpOnOldInstance, detail);
        }
    }

    /// No request fails (what a crashed or terminated serving instance directly costs is the
    /// scenario's expected violation).
    pub(super) fn check_requests(&mut self, out: &Outcome) {
        let mut found = Vec::new();
        for (entrance, t) in &self.traffic.tally {
            if t.failed() > 0 {
                let causes = out.traffic[entrance]
                    .failed
                    .iter()
                    .map(|(c, n)| format!("{c}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                found.push(format!(
                    "{entrance}: {} of {} requests failed ({causes})",
                    t.failed(),
                    t.sent()
                ));
            }
        }
        for detail in found {
            self.violation(ViolationKind::RequestsFailed, detail);
        }
    }

    /// Real requests through the data plane agree with the traffic model.
    pub(super) fn check_probes(&mut self) {
        let mut found = Vec::new();
        for (entrance, p) in &self.traffic.probes {
            if !p.clean() {
                let r = p.report();
                found.push(format!(
                    "{entrance}: {} of {} real requests agreed with the model, {} connection(s) refused: {}",
                    r.agreed_with_model,
                    r.sent,
                    r.refused_connections,
                    r.disagreements.join("; ")
                ));
            }
        }
        for detail in found {
            self.violation(ViolationKind::ProbeDisagreed, detail);
        }
    }
}
