//! Before a deployment starts: the order CodeDeploy takes its instances in, and its refusal
//! (HEALTH_CONSTRAINTS_INVALID) when the configuration's minimum cannot be kept at all.

use std::collections::BTreeMap;

use super::batch::Batch;
use super::Sim;
use crate::report::{InstanceReport, Status};

/// CodeDeploy's description of HEALTH_CONSTRAINTS_INVALID (ErrorInformation's documentation).
const HEALTH_CONSTRAINTS_INVALID_MESSAGE: &str =
    "The revision cannot be successfully deployed within the instance health constraints specified";

impl Sim {
    /// The order CodeDeploy takes instances in: those not serving first (one a failed deployment
    /// left out of its load balancers costs no capacity to take: a rollback does not take a
    /// healthy instance out first), then those with no revision, then older revisions, then the
    /// target revision.
    pub(super) fn deployment_order(&self, mut order: Vec<String>, revision: &str) -> Vec<String> {
        let serving: BTreeMap<String, bool> = order
            .iter()
            .cloned()
            .zip(self.fake().rehearsal().serving_each(&order))
            .collect();
        order.sort_by_key(|id| {
            let rev = match self.engine.running_rev.get(id) {
                None => 0,
                Some(r) if r != revision => 1,
                Some(_) => 2,
            };
            (serving[id], rev)
        });
        order
    }

    /// A deployment CodeDeploy refuses before it starts: every instance skipped.
    /// `zone`: the zone whose minimum cannot be kept, if it is one zone's (a zonal deployment).
    pub(super) fn refuse_deployment(&mut self, mut d: Batch, zone: Option<String>) {
        let why = match zone {
            Some(z) => format!("{HEALTH_CONSTRAINTS_INVALID_MESSAGE} ({z}, {})", d.config.name()),
            None => format!(
                "{HEALTH_CONSTRAINTS_INVALID_MESSAGE} (minimum healthy hosts {} of {} instances, {})",
                d.min_healthy,
                d.n,
                d.config.name()
            ),
        };
        for id in &d.planned {
            let label = self.label(id);
            d.report
                .instances
                .insert(label, InstanceReport::skipped("deployment refused"));
        }
        d.report.status = Status::failed(format!("HEALTH_CONSTRAINTS_INVALID: {why}"));
        self.close_deployment_as(d.number, "HEALTH_CONSTRAINTS_INVALID", why);
        let now = self.now();
        d.report.simulated_seconds = Some((now - d.started_ms) / 1000);
        d.report.lowest_healthy_capacity = d.min_healthy;
        self.recorder
            .deployment(d.number, d.started_ms, now, d.report.required_healthy_capacity);
        self.recorder
            .marker(now, format!("deployment {}: {}", d.number, d.report.status));
        self.engine.reports.push(d.report);
    }
}
