//! The outcome of a scenario: what the snapshot holds. Instance ids are replaced by stable labels
//! (`i-1`, `i-2`, … in launch order) and times are seconds since the story started, so the same
//! scenario always gives the same bytes.

use std::collections::BTreeMap;

use serde::Serialize;

/// One scenario's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub description: String,
    /// `ok`, or why the invariants did not come out as expected.
    pub verdict: String,
    #[serde(skip)]
    pub passed: bool,
    pub simulated_seconds: i64,
    pub deployments: Vec<DeploymentReport>,
    /// Scaling activities, `t+SECONDS description`.
    pub activities: Vec<String>,
    /// Final state of each Auto Scaling group.
    pub groups: BTreeMap<String, GroupReport>,
    /// Final target health per target group, `instance:port -> state`.
    pub target_health: BTreeMap<String, BTreeMap<String, String>>,
    /// Revision each instance runs at the end.
    pub revisions: BTreeMap<String, String>,
    /// Instances not on the last successful revision (CodeDeploy's mixed-fleet warning).
    pub mixed_fleet: Vec<String>,
    /// Invariant violations found.
    pub violations: Vec<String>,
}

/// One deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentReport {
    pub number: usize,
    /// `user`, `autoscaling` or `codeDeployRollback`.
    pub creator: String,
    pub revision: String,
    pub config: String,
    pub status: String,
    pub instances: BTreeMap<String, InstanceReport>,
    /// Lowest number of instances serving traffic while it ran.
    pub lowest_healthy_capacity: usize,
    /// What the configuration promises.
    pub required_healthy_capacity: usize,
}

/// One instance's part in a deployment.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub status: String,
    /// `Event script: result`, in order.
    pub events: Vec<String>,
}

impl InstanceReport {
    /// An instance the deployment never reached.
    pub fn skipped(why: &str) -> InstanceReport {
        InstanceReport {
            status: format!("Skipped: {why}"),
            events: Vec::new(),
        }
    }
}

/// Final state of a group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub min: i64,
    pub max: i64,
    pub desired: i64,
    pub suspended: Vec<String>,
    pub instances: BTreeMap<String, String>,
    pub zones: BTreeMap<String, usize>,
}
