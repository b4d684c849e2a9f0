//! World files: a small declarative description of load balancers, target groups, listeners,
//! Auto Scaling groups and stand-alone instances (TOML or JSON), and the saved-state format.
//!
//! A spec is applied through the same Query handlers the API uses, so it is validated exactly as
//! the equivalent AWS calls would be. A saved state (`--save`) is the whole world as JSON and is
//! recognised by its `fakeaws_state` key.

use serde::{Deserialize, Serialize};

use crate::model::{HealthCheckType, LifecycleResult, LoadBalancerType, Process};

mod apply;

pub use apply::apply;

use crate::world::World;

/// A world file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    #[serde(default)]
    pub target_groups: Vec<TargetGroupSpec>,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerSpec>,
    #[serde(default)]
    pub classic_load_balancers: Vec<ClassicSpec>,
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    #[serde(default)]
    pub instances: Vec<InstanceSpec>,
    /// Instance roles and their identity-based policies (a role not listed here has the hooks'
    /// least-privilege policy).
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
    /// Static identities (IAM users' key pairs) requests may be signed with.
    #[serde(default)]
    pub identities: Vec<IdentitySpec>,
}

/// An instance role (the instance profile groups and instances name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    /// Policy documents, as tables or as JSON text.
    pub policies: Vec<serde_json::Value>,
}

/// A static identity: an access key acting for an IAM user.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    /// The user's name (`arn:aws:iam::ACCOUNT:user/NAME`).
    pub name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Policy documents, as tables or as JSON text; absent: everything is allowed.
    pub policies: Option<Vec<serde_json::Value>>,
}

impl std::fmt::Debug for IdentitySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySpec")
            .field("name", &self.name)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("policies", &self.policies)
            .finish()
    }
}

/// A target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetGroupSpec {
    pub name: String,
    pub port: i64,
    #[serde(default = "http")]
    pub protocol: String,
    #[serde(default)]
    pub health_check: HealthCheckSpec,
    /// `deregistration_delay.timeout_seconds` (AWS default 300).
    pub deregistration_delay: Option<i64>,
    /// `slow_start.duration_seconds` (ALB: 30 to 900, or 0 for off, the default).
    pub slow_start: Option<i64>,
    /// `deregistration_delay.connection_termination.enabled` (NLB): close the connections still
    /// open to a deregistered target when its delay ends (AWS default false: they stay open).
    pub connection_termination: Option<bool>,
    /// `load_balancing.algorithm.type` (ALB): `round_robin` (the default),
    /// `least_outstanding_requests` or `weighted_random`.
    pub algorithm: Option<crate::model::Algorithm>,
}

fn http() -> String {
    "HTTP".into()
}

/// Health check settings; unset fields take AWS's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub healthy_threshold: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
    pub path: Option<String>,
}

/// A load balancer with its listeners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    pub name: String,
    /// `application` (default) or `network`.
    #[serde(default = "application")]
    pub kind: LoadBalancerType,
    #[serde(default)]
    pub listeners: Vec<ListenerSpec>,
}

fn application() -> LoadBalancerType {
    LoadBalancerType::Application
}

/// A Classic Load Balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassicSpec {
    pub name: String,
    /// Listener port (instance port defaults to the same).
    #[serde(default = "eighty")]
    pub port: i64,
    pub instance_port: Option<i64>,
    /// Health check: `target` like "HTTP:80/", `interval`, `timeout`, thresholds.
    pub health_check: Option<ClassicHealthSpec>,
    /// Connection draining timeout in seconds; absent = draining off.
    pub connection_draining: Option<i64>,
}

fn eighty() -> i64 {
    80
}

/// Classic health check settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassicHealthSpec {
    pub target: String,
    pub interval: i64,
    pub timeout: i64,
    pub healthy_threshold: i64,
    pub unhealthy_threshold: i64,
}

/// A listener forwarding to one target group (by name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerSpec {
    pub port: i64,
    pub protocol: Option<String>,
    pub target_group: String,
    /// The listener's own rules (Application Load Balancers), besides its default action.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A listener rule: requests whose path matches `path` (a path-pattern, `*` and `?` wildcards)
/// are forwarded to `target_group`, or answered with `fixed_response`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub priority: i64,
    pub path: String,
    pub target_group: Option<String>,
    pub fixed_response: Option<FixedResponseSpec>,
}

/// A fixed response: status code and body (text/plain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedResponseSpec {
    pub status_code: u16,
    #[serde(default)]
    pub body: String,
}

/// An Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    pub min: i64,
    pub max: i64,
    pub desired: Option<i64>,
    pub availability_zones: Vec<String>,
    /// Target group names.
    #[serde(default)]
    pub target_groups: Vec<String>,
    /// Classic Load Balancer names.
    #[serde(default)]
    pub load_balancers: Vec<String>,
    /// `EC2` (default) or `ELB`.
    pub health_check_type: Option<HealthCheckType>,
    pub health_check_grace_period: Option<i64>,
    /// Instances launch protected from scale in (`NewInstancesProtectedFromScaleIn`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_instances_protected_from_scale_in: bool,
    /// The instance lifecycle policy: `retain` keeps an instance whose termination lifecycle
    /// action is abandoned at `Terminating:Retained` (`InstanceLifecyclePolicy.RetentionTriggers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminate_hook_abandon: Option<crate::model::RetentionAction>,
    /// Capacity Rebalancing (`CapacityRebalance`): an instance with a rebalance recommendation is
    /// replaced before it is terminated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub capacity_rebalance: bool,
    /// A warm pool (PutWarmPool), put after the group and its lifecycle hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_pool: Option<WarmPoolSpec>,
    #[serde(default)]
    pub lifecycle_hooks: Vec<HookSpec>,
    #[serde(default)]
    pub suspended_processes: Vec<Process>,
    /// Scaling policies (run by ExecutePolicy or an alarm).
    #[serde(default)]
    pub scaling_policies: Vec<PolicySpec>,
    /// Scheduled actions (fired on the simulated clock).
    #[serde(default)]
    pub scheduled_actions: Vec<ScheduledSpec>,
    /// The instance role its instances launch with (default `fakeaws-instance-role`).
    pub role: Option<String>,
}

/// A scaling policy, as PutScalingPolicy takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    /// `SimpleScaling` (default), `StepScaling` or `TargetTrackingScaling`.
    pub policy_type: Option<String>,
    /// `ChangeInCapacity`, `ExactCapacity` or `PercentChangeInCapacity`.
    pub adjustment_type: Option<String>,
    pub scaling_adjustment: Option<i64>,
    pub cooldown: Option<i64>,
    /// Step scaling: `{ lower = 0.0, upper = 10.0, adjustment = -1 }`, bounds relative to the breach threshold.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    /// Target tracking: the target value.
    pub target_value: Option<f64>,
}

/// One step of a step scaling policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: i64,
}

/// A scheduled action, as PutScheduledUpdateGroupAction takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledSpec {
    pub name: String,
    /// Five-field cron expression, in UTC.
    pub recurrence: Option<String>,
    /// ISO 8601 start time.
    pub start_time: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub desired: Option<i64>,
}

/// A group's warm pool: PutWarmPool's members (`pool_state`: `Stopped`, `Running` or
/// `Hibernated`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmPoolSpec {
    #[serde(default)]
    pub min_size: Option<i64>,
    #[serde(default)]
    pub max_group_prepared_capacity: Option<i64>,
    #[serde(default)]
    pub pool_state: Option<crate::model::PoolState>,
    #[serde(default)]
    pub reuse_on_scale_in: Option<bool>,
}

/// A lifecycle hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    pub name: String,
    /// `launching` or `terminating` (or the full `autoscaling:EC2_INSTANCE_…` name).
    pub transition: String,
    pub heartbeat_timeout: Option<i64>,
    pub default_result: Option<LifecycleResult>,
}

/// Stand-alone instances (outside any group), optionally registered in target groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    pub availability_zone: String,
    #[serde(default = "one")]
    pub count: usize,
    #[serde(default)]
    pub target_groups: Vec<TargetRef>,
    /// Classic Load Balancers to register with.
    #[serde(default)]
    pub load_balancers: Vec<String>,
    /// The instance role (default `fakeaws-instance-role`).
    pub role: Option<String>,
}

fn one() -> usize {
    1
}

/// A target group registration, by name, with an optional port override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRef {
    pub name: String,
    pub port: Option<i64>,
}

/// A saved world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedState {
    /// Format version.
    pub fakeaws_state: u32,
    pub world: World,
}

/// Either kind of world file, told apart by content.
pub enum WorldFile {
    Spec(WorldSpec),
    Saved(Box<SavedState>),
}

/// Parses a world file: a saved state (JSON with `fakeaws_state`), a JSON spec, or a TOML spec.
pub fn parse(text: &str, path_hint: &str) -> anyhow::Result<WorldFile> {
    if path_hint.ends_with(".json") || text.trim_start().starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(text)?;
        if value.get("fakeaws_state").is_some() {
            return Ok(WorldFile::Saved(Box::new(serde_json::from_value(value)?)));
        }
        return Ok(WorldFile::Spec(serde_json::from_value(value)?));
    }
    Ok(WorldFile::Spec(toml::from_str(text)?))
}

/// A world in us-east-1 at time 0 with the world file `text` applied, and the ids of the
/// instances it launched (for tests).
#[cfg(test)]
pub(crate) fn applied(text: &str) -> (crate::world::World, Vec<String>) {
    let mut w = crate::world::World::new("us-east-1", 0);
    let WorldFile::Spec(s) = parse(text, "w.toml").expect("spec") else {
        panic!("a spec")
    };
    let ids = apply(&mut w, &s).expect("applies");
    (w, ids)
}
