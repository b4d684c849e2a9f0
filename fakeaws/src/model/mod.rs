//! The resources of the simulated account: instances, Auto Scaling groups, load balancers,
//! target groups, listeners, scaling activities. Plain data, serialisable so that a world can be
//! saved and resumed; the behaviour lives in `world`.

use std::collections::BTreeMap;

use domain::api_enum;
use serde::{Deserialize, Serialize};

mod attributes;
pub mod codedeploy;
mod domain;
mod identity;
mod listeners;
mod refresh;
mod warm_pool;
pub use attributes::*;
pub use domain::*;
pub use identity::*;
pub use listeners::*;
pub use refresh::*;
pub use warm_pool::*;

api_enum! {
    /// Auto Scaling lifecycle states, spelled as the API spells them.
    Lifecycle {
        Pending = "Pending",
        PendingWait = "Pending:Wait",
        PendingProceed = "Pending:Proceed",
        InService = "InService",
        EnteringStandby = "EnteringStandby",
        Standby = "Standby",
        Terminating = "Terminating",
        TerminatingWait = "Terminating:Wait",
        TerminatingProceed = "Terminating:Proceed",
        /// Its termination lifecycle action was abandoned under a group policy that retains it:
        /// running, out of the group's capacity, until TerminateInstanceInAutoScalingGroup.
        TerminatingRetained = "Terminating:Retained",
        Terminated = "Terminated",
        Detached = "Detached",
        /// Launching into the warm pool (or, reused on scale-in, on its way back to it).
        WarmedPending = "Warmed:Pending",
        /// Held by a lifecycle hook on its way into the warm pool.
        WarmedPendingWait = "Warmed:Pending:Wait",
        WarmedPendingProceed = "Warmed:Pending:Proceed",
        WarmedStopped = "Warmed:Stopped",
        WarmedRunning = "Warmed:Running",
        WarmedHibernated = "Warmed:Hibernated",
        WarmedTerminating = "Warmed:Terminating",
        WarmedTerminatingWait = "Warmed:Terminating:Wait",
        WarmedTerminatingProceed = "Warmed:Terminating:Proceed",
        WarmedTerminated = "Warmed:Terminated",
    }
}

impl Lifecycle {
    /// Whether the instance counts towards the group's capacity (desired capacity excludes Standby).
    pub fn counts_as_capacity(self) -> bool {
        matches!(
            self,
            Lifecycle::Pending | Lifecycle::PendingWait | Lifecycle::PendingProceed | Lifecycle::InService
        )
    }

    /// Whether the instance is on its way out.
    pub fn is_leaving(self) -> bool {
        matches!(
            self,
            Lifecycle::Terminating
                | Lifecycle::TerminatingWait
                | Lifecycle::TerminatingProceed
                | Lifecycle::TerminatingRetained
                | Lifecycle::Terminated
                | Lifecycle::Detached
                | Lifecycle::WarmedTerminating
                | Lifecycle::WarmedTerminatingWait
                | Lifecycle::WarmedTerminatingProceed
                | Lifecycle::WarmedTerminated
        )
    }

    /// Whether the instance is in a group's warm pool (any `Warmed:*` state).
    pub fn is_warm(self) -> bool {
        self.as_str().starts_with("Warmed:")
    }

    /// A warm-pool instance at rest, ready to leave the pool for the group.
    pub fn is_warmed(self) -> bool {
        matches!(
            self,
            Lifecycle::WarmedStopped | Lifecycle::WarmedRunning | Lifecycle::WarmedHibernated
        )
    }

    /// Gone for good (`Terminated`, or `Warmed:Terminated` from the warm pool).
    pub fn is_terminated(self) -> bool {
        matches!(self, Lifecycle::Terminated | Lifecycle::WarmedTerminated)
    }
}

/// Why an instance is in a transitional state, so the right thing happens when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transition {
    /// A fresh launch, booting.
    Launch,
    /// Leaving Standby.
    ExitStandby,
    /// Reused on scale-in: on its way back to the warm pool.
    ReturnToPool,
}

/// One simulated EC2 instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub availability_zone: String,
    pub private_ip: String,
    pub group: Option<String>,
    pub lifecycle: Lifecycle,
    pub transition: Option<Transition>,
    /// `Healthy` or `Unhealthy` as Auto Scaling sees it.
    pub healthy: bool,
    /// Whether the application answers health checks.
    pub app_up: bool,
    /// When the application last came up: a connection opened before it was cut when it went
    /// down, however soon it came back (see `world/in_flight.rs`).
    #[serde(default)]
    pub app_up_since_ms: i64,
    pub launched_ms: i64,
    /// When it reached `Terminated` (it leaves the world a simulated hour later, as AWS stops listing it).
    #[serde(default)]
    pub terminated_ms: Option<i64>,
    /// Deadline of the current timed state (boot, lifecycle hook wait), if any.
    pub until_ms: Option<i64>,
    /// The lifecycle hook holding the instance, with its token.
    pub hook: Option<HookWait>,
    pub launch_template: Option<String>,
    pub protected_from_scale_in: bool,
    /// The scaling activity describing what the instance is doing now.
    pub activity: Option<String>,
    /// Launched to even out Availability Zones.
    pub for_rebalance: bool,
    /// Its termination lifecycle action was abandoned under a policy that retains it: it stops
    /// at `Terminating:Retained` instead of `Terminated`.
    #[serde(default)]
    pub retain: bool,
    pub role: String,
    /// A Spot Instance's notices: its rebalance recommendation, its interruption.
    #[serde(default)]
    pub spot: SpotNotices,
}

/// What EC2 has told a Spot Instance (its instance metadata shows them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpotNotices {
    /// A Spot Instance (an instance that got one of these notices).
    pub spot: bool,
    /// When its rebalance recommendation came (`events/recommendations/rebalance`).
    pub rebalance_ms: Option<i64>,
    /// When EC2 interrupts it (`spot/instance-action`, two minutes after the notice).
    pub interruption_ms: Option<i64>,
    /// Capacity Rebalancing replaces it: it no longer counts toward the group's capacity.
    pub replacing: bool,
}

/// An instance held by a lifecycle hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookWait {
    pub hook: String,
    pub token: String,
    pub timeout_s: i64,
    pub default_result: LifecycleResult,
    pub started_ms: i64,
}

/// A lifecycle hook of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LifecycleHook {
    pub name: String,
    pub transition: LifecycleTransition,
    pub heartbeat_timeout_s: i64,
    pub default_result: LifecycleResult,
    pub notification_metadata: Option<String>,
    pub notification_target_arn: Option<String>,
    pub role_arn: Option<String>,
}

/// An Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub arn: String,
    pub min: i64,
    pub max: i64,
    pub desired: i64,
    pub availability_zones: Vec<String>,
    pub vpc_zone_identifier: String,
    pub target_groups: Vec<String>,
    pub health_check_type: HealthCheckType,
    pub health_check_grace_period_s: i64,
    pub default_cooldown_s: i64,
    pub launch_template: Option<String>,
    pub launch_configuration: Option<String>,
    /// Suspended process name -> suspension reason.
    pub suspended: BTreeMap<Process, String>,
    pub hooks: BTreeMap<String, LifecycleHook>,
    pub created_ms: i64,
    /// Member instance ids, oldest first.
    /// Shared with rollback copies until it changes (`Arc::make_mut`): a change to the group
    /// alone (its tags, sizes, processes) does not copy a fleet's worth of ids.
    pub instances: std::sync::Arc<Vec<String>>,
    pub new_instances_protected_from_scale_in: bool,
    /// The instance lifecycle policy: what an abandoned termination lifecycle action does
    /// (`None`: not set, which terminates).
    #[serde(default)]
    pub terminate_hook_abandon: Option<RetentionAction>,
    /// Tags, by key.
    #[serde(default)]
    pub tags: BTreeMap<String, Tag>,
    /// Attached Classic Load Balancers.
    #[serde(default)]
    pub load_balancer_names: Vec<String>,
    /// The instance role its instances launch with (the instance profile of its launch
    /// template); `None`: the fake's default role.
    #[serde(default)]
    pub role: Option<String>,
    /// While an instance refresh with a desired configuration (or its rollback) runs: the launch
    /// template its replacements launch with.
    #[serde(default)]
    pub refresh_template: Option<String>,
    /// Capacity Rebalancing: an instance with a rebalance recommendation is replaced first.
    #[serde(default)]
    pub capacity_rebalance: bool,
    /// The warm pool's configuration (PutWarmPool), if the group has one.
    #[serde(default)]
    pub warm_pool: Option<WarmPool>,
    /// The warm pool's instances, oldest first (not members: DescribeAutoScalingGroups does not
    /// list them, DescribeWarmPool does).
    #[serde(default)]
    pub warm: Vec<String>,
}

/// A group's sizes, copied out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub min: i64,
    pub max: i64,
    pub desired: i64,
}

impl Group {
    /// Its member list, to change: copied first if a rollback copy of the world shares it.
    pub fn instances_mut(&mut self) -> &mut Vec<String> {
        std::sync::Arc::make_mut(&mut self.instances)
    }

    /// Its sizes (a copy of the group would copy its member list too).
    pub fn sizes(&self) -> Sizes {
        Sizes {
            min: self.min,
            max: self.max,
            desired: self.desired,
        }
    }

    /// Whether a process is suspended.
    pub fn is_suspended(&self, process: Process) -> bool {
        self.suspended.contains_key(&process)
    }
}

/// A scaling activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: String,
    pub group: String,
    pub description: String,
    pub cause: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub status: ActivityStatus,
    pub progress: i64,
}

/// An ELBv2 load balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub kind: LoadBalancerType,
    pub scheme: String,
    pub availability_zones: Vec<(String, String)>,
    pub created_ms: i64,
    pub dns_name: String,
    pub vpc_id: String,
}

/// Health check settings of a target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub protocol: String,
    pub port: String,
    pub path: Option<String>,
    pub interval_s: i64,
    pub timeout_s: i64,
    pub healthy_threshold: i64,
    pub unhealthy_threshold: i64,
    pub matcher: Option<String>,
    pub enabled: bool,
}

/// Target health states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy,
    Draining,
}

/// One registered target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    pub port: i64,
    pub state: TargetState,
    pub registered_ms: i64,
    /// Start of the current run of identical health-check results.
    pub streak_ms: i64,
    pub drain_until_ms: Option<i64>,
    /// In slow start mode until this time: its share of requests ramps up until then (see
    /// `world/slow_start.rs`).
    #[serde(default)]
    pub slow_start_until_ms: Option<i64>,
}

/// An ELBv2 target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: String,
    pub port: i64,
    pub vpc_id: String,
    pub target_type: String,
    pub health_check: HealthCheck,
    pub attributes: TargetGroupAttributes,
    pub targets: Vec<Target>,
    pub created_ms: i64,
}

impl TargetGroup {
    /// `deregistration_delay.timeout_seconds`.
    pub fn deregistration_delay_s(&self) -> i64 {
        self.attributes.deregistration_delay_s
    }
}

/// A Classic Load Balancer listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicListener {
    pub protocol: String,
    pub port: i64,
    pub instance_protocol: String,
    pub instance_port: i64,
}

/// Classic health check settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicHealthCheck {
    pub target: String,
    pub interval_s: i64,
    pub timeout_s: i64,
    pub unhealthy_threshold: i64,
    pub healthy_threshold: i64,
}

/// An instance registered with a Classic Load Balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicMember {
    pub id: String,
    /// Passing health checks (InService) or not (OutOfService).
    pub in_service: bool,
    /// Whether it has ever been checked (registration still in progress).
    pub checked: bool,
    pub registered_ms: i64,
    pub streak_ms: i64,
    /// Connection draining in progress until this time.
    pub draining_until_ms: Option<i64>,
}

impl ClassicMember {
    /// Its state as the report and the timeline show it: `draining`, `InService` or
    /// `OutOfService`.
    pub fn state(&self) -> &'static str {
        match (self.draining_until_ms, self.in_service) {
            (Some(_), _) => "draining",
            (None, true) => "InService",
            (None, false) => "OutOfService",
        }
    }
}

/// A Classic Load Balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicLb {
    pub name: String,
    pub dns_name: String,
    pub created_ms: i64,
    pub availability_zones: Vec<String>,
    pub listeners: Vec<ClassicListener>,
    pub health_check: ClassicHealthCheck,
    pub members: Vec<ClassicMember>,
    pub draining_enabled: bool,
    pub draining_timeout_s: i64,
    pub cross_zone: bool,
    pub idle_timeout_s: i64,
}
