//! The explorer's oracle: one rule per property, on the principle that an event may cost what it
//! directly removes and nothing more (the rules and their documented exceptions are in docs/scenarios.md).

use std::collections::BTreeSet;

use serde::Serialize;

use super::plans::{Cost, Plan, OPERATOR_PROCESS};
use crate::report::{Outcome, Status, ViolationKind, BELOW_MINIMUM_HEALTHY, TERMINATED_DURING_DEPLOYMENT};

/// One broken property of one variant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// The property (`processes_not_restored`, `capacity_beyond_event`, `run_error` ...).
    pub property: String,
    pub detail: String,
}

/// The oracle. `allowed`: what the base (with its repair) already shows, by the scenario's own
/// design; `own`: what the scenario's own events cost in every variant; `outcome`: the variant's,
/// or its error.
pub fn judge(
    allowed: &BTreeSet<ViolationKind>,
    plan: &Plan,
    own: Cost,
    outcome: &anyhow::Result<Outcome>,
) -> Vec<Finding> {
    let cost = Cost {
        capacity: plan.cost.capacity + own.capacity,
        requests: plan.cost.requests || own.requests,
    };
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
    // Documented exception: a scale-out that fills the group to its MaxSize while an instance is
    // out leaves no room for its ExitStandby; the hooks restore the group and hand it over in
    // Standby (`scale_out_to_max_while_out`), and the repair counts it among its targets although
    // it never serves.
    let handed_over = handed_over_at_max_size(plan, o);
    let cost = Cost {
        capacity: cost.capacity + handed_over,
        ..cost
    };
    let mut out = Vec::new();
    for v in &o.violations {
        if allowed.contains(&v.kind) {
            continue;
        }
        match v.kind {
            ViolationKind::CapacityBelowMinimum => {}
            ViolationKind::RequestsFailed if cost.requests => {}
            // An event that takes a serving instance away may take the last one while the
            // deployment has the other out: "no target" answers are its direct cost, and once
            // nothing serves, whatever users get (a load balancer failing open to warming targets).
            ViolationKind::RequestsFailed
                if cost.capacity > 0
                    && (only_no_target(&v.detail) || o.deployments.iter().any(|d| d.lowest_healthy_capacity == 0)) => {}
            // Documented exception: an event that leaves a group with no instance at all leaves
            // nothing to run the hooks, so what they changed on the group (MinSize, processes)
            // stays until an instance comes back.
            ViolationKind::MinSizeNotRestored | ViolationKind::ProcessesNotRestored
                if cost.capacity > 0 && o.groups.values().any(|g| g.instances.is_empty()) => {}
            // Documented exception: a termination that lands while the repair deployment has its
            // last instance out (a Spot interruption's two minutes end there) leaves no hook to
            // restore the group until the next deployment, and CodeDeploy reports the repair a
            // success, as OneAtATime does not count its last instance's failure
            // (`spot_interruption_of_the_last_instance`).
            ViolationKind::MinSizeNotRestored | ViolationKind::ProcessesNotRestored
                if cost.capacity > 0 && repair_lost_its_last_instance(o) => {}
            // Documented exception: CodeDeploy refused the repair deployment before any hook ran
            // (HEALTH_CONSTRAINTS_INVALID: what the event left makes its minimum unreachable), or
            // stopped it at its minimum before any could go (the event failed or took instances
            // CodeDeploy counted), so nothing could put the group back
            // (`zonal_zone_too_small_for_repair`, `repair_stopped_before_any_hook`).
            ViolationKind::MinSizeNotRestored
            | ViolationKind::ProcessesNotRestored
            | ViolationKind::LeftInStandby
            | ViolationKind::HooksTagsLeft
                if repair_refused(o, cost.capacity > 0) => {}
            // Documented exception: AWS keeps no record of who suspended a process, so one an
            // operator suspends while the hooks hold it is resumed with theirs. Only that: any
            // other process left suspended is still a finding.
            ViolationKind::ProcessesNotRestored
                if plan.has_kind("suspend_process")
                    && o.groups
                        .values()
                        .all(|g| g.suspended.iter().all(|p| p == OPERATOR_PROCESS)) => {}
            ViolationKind::LeftInStandby if handed_over > 0 => {}
            kind => out.push(Finding {
                property: kind.as_str().to_string(),
                detail: v.detail.clone(),
            }),
        }
    }
    if !allowed.contains(&ViolationKind::CapacityBelowMinimum) {
        // The deployment's minimum, and each zone's of a zonal deployment: no deeper below than
        // the event may cost.
        // Documented exception: instances Auto Scaling terminated before the deployment took its
        // first one out (a rebalance AWS makes after a scale-out while an instance was in
        // Standby, once the processes are back) still count in CodeDeploy's minimum; the
        // deployment may dip below it by as many, counted once with what the event costs.
        let mut beyond = |number: usize, lowest: usize, required: usize, lost: usize, where_: &str| {
            let deficit = required.saturating_sub(lowest);
            let may = cost.capacity.max(lost);
            if deficit > may {
                out.push(Finding {
                    property: "capacity_beyond_event".into(),
                    detail: format!(
                        "deployment {number} went down to {lowest}{where_} of its minimum {required}: {deficit} below, the event may cost {may}"
                    ),
                });
            }
        };
        for d in o.deployments.iter().filter(|d| !d.creator.is_for_launches()) {
            beyond(
                d.number,
                d.lowest_healthy_capacity,
                d.required_healthy_capacity,
                d.lost_before_first_out,
                "",
            );
            for (zone, z) in &d.zones {
                let where_ = format!(" in {zone}");
                beyond(
                    d.number,
                    z.lowest_healthy_capacity,
                    z.required_healthy_capacity,
                    0,
                    &where_,
                );
            }
        }
    }
    out
}

/// Whether the last deployment over the fleet succeeded although an instance of it was
/// terminated while its hooks ran: CodeDeploy let the failure pass, which OneAtATime does for its
/// last instance only, so no hook ran after it.
fn repair_lost_its_last_instance(o: &Outcome) -> bool {
    o.deployments
        .iter()
        .rfind(|d| !d.creator.is_for_launches())
        .is_some_and(|d| {
            d.status == Status::Succeeded
                && d.instances
                    .values()
                    .any(|i| matches!(&i.status, Status::Failed(Some(why)) if why == TERMINATED_DURING_DEPLOYMENT))
        })
}

/// How many instances the hooks handed over in Standby because an event that raises the desired
/// capacity filled their group to its MaxSize while they were out (ExitStandby cannot bring them
/// back): Standby members of groups that cannot take them all back within MaxSize.
fn handed_over_at_max_size(plan: &Plan, o: &Outcome) -> usize {
    if !["scale_out", "alarm", "scheduled_action"]
        .iter()
        .any(|k| plan.has_kind(k))
    {
        return 0;
    }
    // AWS's rule for ExitStandby: the desired capacity with the instances back may not exceed
    // MaxSize. Those in Standby (an operator's among them, whose own Standby lowered the desired
    // capacity) could not all come back.
    o.groups
        .values()
        .map(|g| {
            let standby = g.instances.values().filter(|l| l.as_str() == "Standby").count();
            (g, standby)
        })
        .filter(|(g, standby)| g.desired + *standby as i64 > g.max)
        .map(|(_, standby)| standby)
        .sum()
}

/// Whether CodeDeploy refused the last deployment over the fleet before it ran anything
/// (HEALTH_CONSTRAINTS_INVALID), or, when the event took or failed an instance (`lost`), stopped
/// it at its minimum healthy hosts before any instance could go.
fn repair_refused(o: &Outcome, lost: bool) -> bool {
    o.deployments
        .iter()
        .rfind(|d| !d.creator.is_for_launches())
        .is_some_and(|d| {
            let why = match &d.status {
                Status::Failed(Some(why)) => why.as_str(),
                _ => return false,
            };
            (why.starts_with("HEALTH_CONSTRAINTS_INVALID") || (lost && why.contains(BELOW_MINIMUM_HEALTHY)))
                && d.instances.values().all(|i| i.events.is_empty())
        })
}

/// Whether a `requests_failed` detail counts only "503 no target" answers.
fn only_no_target(detail: &str) -> bool {
    let causes = detail
        .rsplit_once('(')
        .map(|(_, c)| c.trim_end_matches(')'))
        .unwrap_or("");
    !causes.is_empty() && causes.split(", ").all(|c| c.starts_with("503 no target"))
}

/// A variant whose planned event (or script fault) is set for a deployment that, in this
/// variant, came once the repair deployment had begun (the first event of a pair changed which
/// deployments ran, so the second's numbers fell on the repair or after it): the event no longer
/// hits the scenario's own deployments, and nothing would follow to repair what it did. Not
/// applicable, as an event AWS refuses is.
pub fn within_own_deployments(plan: &Plan, o: Outcome) -> anyhow::Result<Outcome> {
    let late = o.last_deployment_from.and_then(|repair| {
        plan.events
            .iter()
            .filter_map(|e| e.when.deployment)
            .chain(plan.faults.iter().map(|f| f.deployment))
            .find(|n| *n >= repair)
            .map(|n| (n, repair))
    });
    match late {
        Some((n, repair)) => anyhow::bail!(
            "event set for deployment {n}, which in this variant came after the repair deployment began (deployment {repair}): not one of the scenario's own"
        ),
        None => Ok(o),
    }
}

/// Whether a variant's run stopped because AWS refused its planned event (the runner names the
/// event first): not a finding, the event could not happen there.
pub fn not_applicable(e: &anyhow::Error) -> bool {
    format!("{e:#}").starts_with("event ")
}
