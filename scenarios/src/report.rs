//! The outcome of a scenario: what the snapshot holds. Instance ids are replaced by stable labels
//! (`i-1`, `i-2`, … in launch order) and times are seconds since the story started, so the same
//! scenario always gives the same bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

/// Who created a deployment (CodeDeploy's `creator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Creator {
    /// A user (or pipeline) deployment.
    #[serde(rename = "user")]
    User,
    /// A launch deployment or an automatic follow-up for instances Auto Scaling launched.
    #[serde(rename = "autoscaling")]
    Autoscaling,
    /// An automatic rollback.
    #[serde(rename = "codeDeployRollback")]
    CodeDeployRollback,
    /// CodeDeploy's follow-up for instances launched with the previous revision while a
    /// deployment ran (outdatedInstancesStrategy UPDATE).
    #[serde(rename = "CodeDeployAutoUpdate")]
    CodeDeployAutoUpdate,
    /// A termination deployment: an instance a scale-in terminates, held by CodeDeploy's
    /// termination hook while its Block events run.
    #[serde(rename = "autoscalingTermination")]
    AutoscalingTermination,
}

impl Creator {
    /// A deployment CodeDeploy makes for instances Auto Scaling launched (not held to the
    /// deployment's minimum healthy hosts, which counts the original fleet).
    pub fn is_for_launches(self) -> bool {
        matches!(
            self,
            Creator::Autoscaling | Creator::CodeDeployAutoUpdate | Creator::AutoscalingTermination
        )
    }
}

impl Creator {
    /// CodeDeploy's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Creator::User => "user",
            Creator::Autoscaling => "autoscaling",
            Creator::CodeDeployRollback => "codeDeployRollback",
            Creator::CodeDeployAutoUpdate => "CodeDeployAutoUpdate",
            Creator::AutoscalingTermination => "autoscalingTermination",
        }
    }
}

/// The status of a deployment or of one instance's part in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Succeeded,
    /// Failed, with the reason when there is one.
    Failed(Option<String>),
    /// The deployment never reached the instance.
    Skipped(String),
}

impl Status {
    /// Failed for a reason.
    pub fn failed(why: impl Into<String>) -> Status {
        Status::Failed(Some(why.into()))
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::InProgress => f.write_str("InProgress"),
            Status::Succeeded => f.write_str("Succeeded"),
            Status::Failed(None) => f.write_str("Failed"),
            Status::Failed(Some(why)) => write!(f, "Failed: {why}"),
            Status::Skipped(why) => write!(f, "Skipped: {why}"),
        }
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

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
    /// Calls a scenario event made to CodeDeploy and their answers, `t+SECONDS call: answer`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_calls: Vec<String>,
    /// Final state of each Auto Scaling group.
    pub groups: BTreeMap<String, GroupReport>,
    /// Final target health per target group, `instance:port -> state`.
    pub target_health: BTreeMap<String, BTreeMap<String, String>>,
    /// Revision each instance runs at the end.
    pub revisions: BTreeMap<String, String>,
    /// Instances not on the last successful revision (CodeDeploy's mixed-fleet warning).
    pub mixed_fleet: Vec<String>,
    /// Requests per entrance: sent, served per revision, failed per cause, and when.
    pub traffic: BTreeMap<String, TrafficReport>,
    /// Invariant violations found.
    pub violations: Vec<Violation>,
    /// The violations the scenario demonstrates on purpose (not in the snapshot).
    #[serde(skip)]
    pub expected: Vec<ViolationKind>,
    /// Why the scenario expects them, in its own words (not in the snapshot).
    #[serde(skip)]
    pub expected_because: Option<String>,
    /// What happened over time, for the report pages (not in the snapshot).
    #[serde(skip)]
    pub timeline: crate::timeline::Timeline,
    /// The number the scenario's last deployment (explore's repair) began at: every deployment
    /// numbered from it started once that one was created.
    #[serde(skip)]
    pub last_deployment_from: Option<usize>,
}

/// The overhead of each deployment that has one: `+3s (1.1%)`, space separated; `-` with none.
pub fn overhead_text(o: &Outcome) -> String {
    let parts: Vec<String> = o
        .deployments
        .iter()
        .filter_map(|d| {
            let (over, floor) = (d.overhead_seconds?, d.floor_seconds?);
            let pct = if floor > 0 {
                over as f64 * 100.0 / floor as f64
            } else {
                0.0
            };
            Some(format!("{over:+}s ({pct:.1}%)"))
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// What the requests through one entrance got.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrafficReport {
    pub sent: u64,
    /// Revision installed on the instance that answered -> requests.
    pub served: BTreeMap<String, u64>,
    /// Answered by a fixed-response rule (a maintenance page): `STATUS` -> requests.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub maintenance: BTreeMap<String, u64>,
    /// Answered with a redirect.
    #[serde(skip_serializing_if = "is_zero")]
    pub redirected: u64,
    /// Cause -> requests.
    pub failed: BTreeMap<String, u64>,
    /// `t+FROMs..t+TOs cause`: when requests failed.
    pub failure_windows: Vec<String>,
    /// Real requests through fakeaws' data plane (`[traffic] probe = true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeReport>,
}

/// What real HTTP requests through a listener's port got, one per step of simulated time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeReport {
    pub sent: u64,
    /// Answered as the traffic model said they would be.
    pub agreed_with_model: u64,
    pub refused_connections: u64,
    /// `STATUS page text` -> when it was first and last seen.
    pub pages: BTreeMap<String, String>,
    /// The first few answers the model did not allow.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
}

/// One deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentReport {
    pub number: usize,
    pub creator: Creator,
    pub revision: String,
    pub config: String,
    pub status: Status,
    pub instances: BTreeMap<String, InstanceReport>,
    /// Lowest number of instances serving traffic while it ran.
    pub lowest_healthy_capacity: usize,
    /// What the configuration promises.
    pub required_healthy_capacity: usize,
    /// Instances CodeDeploy counted healthy that left the group before the deployment took its
    /// first instance out (Auto Scaling terminated them: a rebalance, a scale-in). CodeDeploy
    /// still counts them, as in the minimum it computed when the deployment began, so the
    /// capacity left can dip below that minimum by as many without the deployment taking more
    /// out than its configuration allows.
    #[serde(skip_serializing_if = "is_zero")]
    pub lost_before_first_out: usize,
    /// A zonal deployment's zones, in the order deployed: each one's minimum and lowest.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub zones: BTreeMap<String, ZoneReport>,
    /// How long it took (deployments the runner started; not launch deployments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulated_seconds: Option<i64>,
    /// What perfect hooks would take given AWS's timers and the revision's own scripts (for a
    /// deployment that succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor_seconds: Option<i64>,
    /// `simulated_seconds - floor_seconds`: the hooks' cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overhead_seconds: Option<i64>,
}

/// One zone of a zonal deployment.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneReport {
    /// The deployment's instances in the zone.
    pub instances: usize,
    /// Lowest number of the zone's instances serving traffic while the deployment ran.
    pub lowest_healthy_capacity: usize,
    /// What the configuration's minimum per zone promises.
    pub required_healthy_capacity: usize,
}

/// One instance's part in a deployment.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub status: Status,
    /// `Event script: result`, in order.
    pub events: Vec<String>,
}

impl InstanceReport {
    /// An instance the deployment never reached.
    pub fn skipped(why: &str) -> InstanceReport {
        InstanceReport {
            status: Status::Skipped(why.to_string()),
            events: Vec::new(),
        }
    }
}

/// Final state of a group.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupReport {
    pub min: i64,
    pub max: i64,
    pub desired: i64,
    pub suspended: Vec<String>,
    pub instances: BTreeMap<String, String>,
    pub zones: BTreeMap<String, usize>,
    /// Members protected from scale in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<String>,
    /// The warm pool's instances: lifecycle state and the revision last installed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub warm_pool: BTreeMap<String, String>,
}

/// An invariant a scenario can break (and may expect to break, in `expect_violations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// MinSize did not come back to its initial value.
    MinSizeNotRestored,
    /// The suspended processes are not the initial set.
    ProcessesNotRestored,
    /// An instance was left in Standby.
    LeftInStandby,
    /// A deployment over the fleet went below its minimum healthy capacity.
    CapacityBelowMinimum,
    /// Requests users sent failed (502, 503, connection failures).
    RequestsFailed,
    /// A real request through the data plane got an answer the traffic model did not allow, or
    /// its connection was refused.
    ProbeDisagreed,
    /// The hooks' maintenance page still answers at the end although its target group has a
    /// healthy target.
    MaintenancePageLeftUp,
    /// A follow-up deployment (outdatedInstancesStrategy UPDATE) went to an instance that was not
    /// launched during the deployment it follows (hiding what a failure there left).
    FollowUpOnOldInstance,
    /// The hooks' records (original MinSize, processes, Standby marks) are still on a group that
    /// has nothing left to restore: a later run would trust them.
    HooksTagsLeft,
    /// An instance's scale-in protection is not what it was when the story began.
    ProtectionChanged,
    /// An instance an operator put in Standby (a scenario event) is back in service, and the
    /// operator did not bring it back: the hooks took an operator's decision.
    OperatorStandbyUndone,
    /// A deployment reported Succeeded although the deployment to none of its instances
    /// succeeded (CodeDeploy requires at least one): its revision would become the last good one.
    SucceededWithoutInstance,
}

impl ViolationKind {
    /// The name used in scenario files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::MinSizeNotRestored => "min_size_not_restored",
            ViolationKind::ProcessesNotRestored => "processes_not_restored",
            ViolationKind::LeftInStandby => "left_in_standby",
            ViolationKind::CapacityBelowMinimum => "capacity_below_minimum",
            ViolationKind::RequestsFailed => "requests_failed",
            ViolationKind::ProbeDisagreed => "probe_disagreed",
            ViolationKind::MaintenancePageLeftUp => "maintenance_page_left_up",
            ViolationKind::FollowUpOnOldInstance => "follow_up_on_old_instance",
            ViolationKind::HooksTagsLeft => "hooks_tags_left",
            ViolationKind::ProtectionChanged => "protection_changed",
            ViolationKind::OperatorStandbyUndone => "operator_standby_undone",
            ViolationKind::SucceededWithoutInstance => "succeeded_without_instance",
        }
    }
}

/// Why an instance failed when it was terminated while its hooks ran.
pub const TERMINATED_DURING_DEPLOYMENT: &str = "instance terminated during the deployment";

/// How a deployment's failure says CodeDeploy stopped it at its health constraints (no instance
/// could go out without leaving fewer healthy than the minimum).
pub const BELOW_MINIMUM_HEALTHY: &str = "deploying another would leave fewer than the minimum healthy hosts";

/// One violation found: its kind and what exactly was wrong. Reported as `kind: detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub kind: ViolationKind,
    pub detail: String,
}

impl Violation {
    pub fn new(kind: ViolationKind, detail: impl Into<String>) -> Violation {
        Violation {
            kind,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.detail)
    }
}

impl Serialize for Violation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
