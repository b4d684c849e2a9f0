//! Typed requests of the Auto Scaling actions that world files and the rehearsal API make too
//! (CreateAutoScalingGroup, PutLifecycleHook, SuspendProcesses, PutScalingPolicy,
//! PutScheduledUpdateGroupAction). A Query request is decoded into one once (its types and
//! shapes: integers, times, enums); `spec::apply` and `rehearsal` build the same structures
//! directly. The operation that takes one checks its values (ranges, required members, what the
//! world must hold) and changes the world, so every path is validated alike.

use crate::model::{HealthCheckType, LifecycleResult, LifecycleTransition, Process, RetentionAction};
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::world::scaling::{AdjustmentType, PolicyType};

/// CreateAutoScalingGroup.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateGroup {
    pub name: String,
    /// `LaunchTemplate` (name or id) or a mixed instances policy's launch template.
    pub launch_template: Option<String>,
    pub launch_configuration: Option<String>,
    pub instance_id: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub desired: Option<i64>,
    pub availability_zones: Vec<String>,
    pub vpc_zone_identifier: Option<String>,
    pub target_group_arns: Vec<String>,
    pub load_balancer_names: Vec<String>,
    pub health_check_type: Option<HealthCheckType>,
    pub health_check_grace_period: Option<i64>,
    pub default_cooldown: Option<i64>,
    pub new_instances_protected_from_scale_in: Option<bool>,
    /// `InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon`.
    pub terminate_hook_abandon: Option<RetentionAction>,
    /// `CapacityRebalance`.
    pub capacity_rebalance: Option<bool>,
    pub lifecycle_hooks: Vec<Hook>,
    pub tags: Vec<TagInput>,
}

/// A lifecycle hook: PutLifecycleHook, or one of CreateAutoScalingGroup's
/// `LifecycleHookSpecificationList` (no group then).
#[derive(Debug, Clone, Default)]
pub(crate) struct Hook {
    pub group: String,
    pub name: String,
    pub transition: Option<LifecycleTransition>,
    pub heartbeat_timeout: Option<i64>,
    pub default_result: Option<LifecycleResult>,
    pub notification_metadata: Option<String>,
    pub notification_target_arn: Option<String>,
    pub role_arn: Option<String>,
}

/// A tag as CreateAutoScalingGroup and CreateOrUpdateTags send it.
#[derive(Debug, Clone, Default)]
pub(crate) struct TagInput {
    pub resource_id: Option<String>,
    pub resource_type: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
    pub propagate_at_launch: Option<bool>,
}

/// SuspendProcesses and ResumeProcesses.
#[derive(Debug, Clone)]
pub(crate) struct Processes {
    pub group: String,
    pub processes: Vec<Process>,
}

/// PutScalingPolicy.
#[derive(Debug, Clone, Default)]
pub(crate) struct PutPolicy {
    pub group: String,
    pub name: String,
    pub policy_type: Option<PolicyType>,
    pub adjustment_type: Option<AdjustmentType>,
    pub scaling_adjustment: Option<i64>,
    pub min_adjustment_magnitude: Option<i64>,
    pub cooldown: Option<i64>,
    pub steps: Vec<StepInput>,
    pub metric_aggregation_type: Option<String>,
    pub estimated_instance_warmup: Option<i64>,
    pub target_value: Option<f64>,
    pub enabled: Option<bool>,
}

/// One of a step scaling policy's `StepAdjustments`.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepInput {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: Option<i64>,
}

/// PutScheduledUpdateGroupAction (times in milliseconds since the Unix epoch).
#[derive(Debug, Clone, Default)]
pub(crate) struct PutScheduled {
    pub group: String,
    pub name: String,
    /// `StartTime`, or the older `Time`.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub recurrence: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub desired: Option<i64>,
    pub time_zone: Option<String>,
}

fn text(p: &Params, key: &str) -> Option<String> {
    p.opt(key).map(str::to_string)
}

/// An ISO 8601 time parameter, in milliseconds.
pub(crate) fn time_param(p: &Params, key: &str) -> Result<Option<i64>, AwsError> {
    p.opt(key).map(|s| iso_ms(key, s)).transpose()
}

/// An ISO 8601 time (`StartTime` and the like), in milliseconds.
pub(crate) fn iso_ms(key: &str, s: &str) -> Result<i64, AwsError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| AwsError::validation(format!("Value '{s}' for {key} is not a valid ISO 8601 timestamp.")))
}

/// A number parameter (metric values and bounds).
pub(crate) fn float_param(p: &Params, key: &str) -> Result<Option<f64>, AwsError> {
    match p.opt(key) {
        None => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .map(Some)
            .map_err(|_| AwsError::validation(format!("Value '{s}' for {key} is not a number."))),
    }
}

/// A lifecycle transition's name, as AWS refuses an unknown one.
pub(crate) fn transition(name: &str) -> Result<LifecycleTransition, AwsError> {
    LifecycleTransition::parse(name).ok_or_else(|| {
        AwsError::validation(format!(
            "Invalid Lifecycle Transition: {name}. Valid values are autoscaling:EC2_INSTANCE_LAUNCHING and autoscaling:EC2_INSTANCE_TERMINATING."
        ))
    })
}

/// A lifecycle action result parameter (`DefaultResult`, `LifecycleActionResult`), if given.
pub(crate) fn lifecycle_result(p: &Params, name: &str) -> Result<Option<LifecycleResult>, AwsError> {
    p.opt(name)
        .map(|r| {
            LifecycleResult::parse(r).ok_or_else(|| {
                AwsError::validation(format!(
                    "Value '{r}' for {name} is invalid: valid values are CONTINUE and ABANDON."
                ))
            })
        })
        .transpose()
}

/// `InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon`, if given (CreateAutoScalingGroup,
/// UpdateAutoScalingGroup).
pub(crate) fn retention_action(p: &Params) -> Result<Option<RetentionAction>, AwsError> {
    p.opt("InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon")
        .map(|v| {
            RetentionAction::parse(v).ok_or_else(|| {
                AwsError::validation(format!(
                    "1 validation error detected: Value '{v}' at 'instanceLifecyclePolicy.retentionTriggers.terminateHookAbandon' failed to satisfy constraint: Member must satisfy enum value set: [retain, terminate]"
                ))
            })
        })
        .transpose()
}

/// A scaling process's name, as AWS refuses an unknown one (naming the valid ones in its order).
pub(crate) fn process(name: &str) -> Result<Process, AwsError> {
    const NAMED: [Process; 9] = [
        Process::Launch,
        Process::Terminate,
        Process::AddToLoadBalancer,
        Process::AlarmNotification,
        Process::AzRebalance,
        Process::HealthCheck,
        Process::InstanceRefresh,
        Process::ReplaceUnhealthy,
        Process::ScheduledActions,
    ];
    Process::parse(name).ok_or_else(|| {
        let valid: Vec<&str> = NAMED.iter().map(|p| p.as_str()).collect();
        AwsError::validation(format!(
            "Invalid scaling process name: {name}. Valid names are {}.",
            valid.join(", ")
        ))
    })
}

impl CreateGroup {
    pub(crate) fn decode(p: &Params) -> Result<CreateGroup, AwsError> {
        let health_check_type = p
            .opt("HealthCheckType")
            .map(|h| {
                HealthCheckType::parse(h)
                    .ok_or_else(|| AwsError::validation(format!("Value '{h}' for HealthCheckType is invalid.")))
            })
            .transpose()?;
        Ok(CreateGroup {
            name: p.req("AutoScalingGroupName")?.to_string(),
            launch_template: p
                .opt("LaunchTemplate.LaunchTemplateName")
                .or(p.opt("LaunchTemplate.LaunchTemplateId"))
                .or(p.opt("MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName"))
                .map(str::to_string),
            launch_configuration: text(p, "LaunchConfigurationName"),
            instance_id: text(p, "InstanceId"),
            min: p.int("MinSize")?,
            max: p.int("MaxSize")?,
            desired: p.int("DesiredCapacity")?,
            availability_zones: p.list("AvailabilityZones")?,
            vpc_zone_identifier: text(p, "VPCZoneIdentifier"),
            target_group_arns: p.list("TargetGroupARNs")?,
            load_balancer_names: p.list("LoadBalancerNames")?,
            health_check_type,
            health_check_grace_period: p.int("HealthCheckGracePeriod")?,
            default_cooldown: p.int("DefaultCooldown")?,
            new_instances_protected_from_scale_in: p.bool("NewInstancesProtectedFromScaleIn")?,
            terminate_hook_abandon: retention_action(p)?,
            capacity_rebalance: p.bool("CapacityRebalance")?,
            lifecycle_hooks: p
                .structs("LifecycleHookSpecificationList")?
                .iter()
                .map(|h| Hook::decode_spec(h, ""))
                .collect::<Result<_, _>>()?,
            tags: TagInput::decode_all(p)?,
        })
    }
}

impl Hook {
    /// PutLifecycleHook.
    pub(crate) fn decode(p: &Params) -> Result<Hook, AwsError> {
        Hook::decode_spec(p, p.req("AutoScalingGroupName")?)
    }

    /// A hook's own fields, for `group`.
    fn decode_spec(h: &Params, group: &str) -> Result<Hook, AwsError> {
        Ok(Hook {
            group: group.to_string(),
            name: h.req("LifecycleHookName")?.to_string(),
            transition: h.opt("LifecycleTransition").map(transition).transpose()?,
            heartbeat_timeout: h.int("HeartbeatTimeout")?,
            default_result: lifecycle_result(h, "DefaultResult")?,
            notification_metadata: text(h, "NotificationMetadata"),
            notification_target_arn: text(h, "NotificationTargetARN"),
            role_arn: text(h, "RoleARN"),
        })
    }
}

impl TagInput {
    /// Every `Tags.member.N`.
    pub(crate) fn decode_all(p: &Params) -> Result<Vec<TagInput>, AwsError> {
        p.structs("Tags")?
            .iter()
            .map(|t| {
                Ok(TagInput {
                    resource_id: text(t, "ResourceId"),
                    resource_type: text(t, "ResourceType"),
                    key: text(t, "Key"),
                    value: text(t, "Value"),
                    propagate_at_launch: t.bool("PropagateAtLaunch")?,
                })
            })
            .collect()
    }
}

impl Processes {
    pub(crate) fn decode(p: &Params) -> Result<Processes, AwsError> {
        Ok(Processes {
            group: p.req("AutoScalingGroupName")?.to_string(),
            processes: p
                .list("ScalingProcesses")?
                .iter()
                .map(|n| process(n))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl PutPolicy {
    pub(crate) fn decode(p: &Params) -> Result<PutPolicy, AwsError> {
        let steps = p
            .structs("StepAdjustments")?
            .iter()
            .map(|s| {
                Ok(StepInput {
                    lower: float_param(s, "MetricIntervalLowerBound")?,
                    upper: float_param(s, "MetricIntervalUpperBound")?,
                    adjustment: s.int("ScalingAdjustment")?,
                })
            })
            .collect::<Result<_, AwsError>>()?;
        Ok(PutPolicy {
            group: p.req("AutoScalingGroupName")?.to_string(),
            name: p.req("PolicyName")?.to_string(),
            policy_type: p.opt("PolicyType").map(PolicyType::parse).transpose()?,
            adjustment_type: p.opt("AdjustmentType").map(AdjustmentType::parse).transpose()?,
            scaling_adjustment: p.int("ScalingAdjustment")?,
            min_adjustment_magnitude: p.int("MinAdjustmentMagnitude")?,
            cooldown: p.int("Cooldown")?,
            steps,
            metric_aggregation_type: text(p, "MetricAggregationType"),
            estimated_instance_warmup: p.int("EstimatedInstanceWarmup")?,
            target_value: float_param(p, "TargetTrackingConfiguration.TargetValue")?,
            enabled: p.bool("Enabled")?,
        })
    }
}

impl PutScheduled {
    pub(crate) fn decode(p: &Params) -> Result<PutScheduled, AwsError> {
        let start_ms = match time_param(p, "StartTime")? {
            Some(t) => Some(t),
            None => time_param(p, "Time")?,
        };
        Ok(PutScheduled {
            group: p.req("AutoScalingGroupName")?.to_string(),
            name: p.req("ScheduledActionName")?.to_string(),
            start_ms,
            end_ms: time_param(p, "EndTime")?,
            recurrence: text(p, "Recurrence"),
            min: p.int("MinSize")?,
            max: p.int("MaxSize")?,
            desired: p.int("DesiredCapacity")?,
            time_zone: text(p, "TimeZone"),
        })
    }
}
