//! Auto Scaling's actions for scaling policies and scheduled actions (PutScalingPolicy,
//! DescribePolicies, DeletePolicy, ExecutePolicy, PutScheduledUpdateGroupAction,
//! DescribeScheduledActions, DeleteScheduledAction); the behaviour is `crate::world::scaling`.

use crate::clock::iso;
use crate::cron::Cron;
use crate::protocol::error::AwsError;
use crate::protocol::query::{in_range, Params};
use crate::protocol::xml::Xml;
use crate::services::autoscaling::inputs::{float_param, PutPolicy, PutScheduled};
use crate::services::table::{Action, Change, Resource};
use crate::world::scaling::{AdjustmentType, PolicyType, ScalingPolicy, ScheduledAction, Step};
use crate::world::World;

/// Auto Scaling's policy and scheduled-action actions (a table of [`super::SERVICE`]): name,
/// whether it changes the world, IAM resource, handler.
pub(crate) const ACTIONS: &[Action<Params, Option<String>>] = &[
    Action {
        name: "PutScalingPolicy",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| put_policy(world, &PutPolicy::decode(p)?),
    },
    Action {
        name: "DescribePolicies",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_policies(world, p),
    },
    Action {
        name: "DeletePolicy",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            let group = p.req("AutoScalingGroupName")?;
            let arn = world.policy(group, p.req("PolicyName")?)?.arn.clone();
            world.delete_policy(&arn);
            Ok(None)
        },
    },
    Action {
        name: "ExecutePolicy",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let group = p.opt("AutoScalingGroupName").map(str::to_string);
            let name = p.req("PolicyName")?.to_string();
            let group = match group {
                Some(g) => g,
                None => world
                    .policies
                    .get(&name)
                    .map(|x| x.group.clone())
                    .ok_or_else(|| AwsError::missing("AutoScalingGroupName"))?,
            };
            world.group(&group)?;
            let metric = match (float_param(p, "MetricValue")?, float_param(p, "BreachThreshold")?) {
                (Some(v), Some(t)) => Some((v, t)),
                _ => None,
            };
            let honor = p.bool("HonorCooldown")?.unwrap_or(false);
            if honor && world.cooldown_until.get(&group).is_some_and(|&u| world.now_ms < u) {
                return Err(AwsError::new(
                    400,
                    "ScalingActivityInProgress",
                    format!("Scaling activity is in progress for group {group}: the group is in its cooldown period."),
                ));
            }
            world.execute(&group, &name, metric, "a user request executed")?;
            Ok(None)
        },
    },
    Action {
        name: "PutScheduledUpdateGroupAction",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            put_scheduled(world, &PutScheduled::decode(p)?)?;
            Ok(None)
        },
    },
    Action {
        name: "DescribeScheduledActions",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_scheduled(world, p),
    },
    Action {
        name: "DeleteScheduledAction",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            let group = p.req("AutoScalingGroupName")?;
            let name = p.req("ScheduledActionName")?;
            world.group(group)?;
            let arn = world
                .scheduled
                .values()
                .find(|a| a.group == group && a.name == name)
                .map(|a| a.arn.clone())
                .ok_or_else(|| AwsError::validation(format!("Scheduled action name not found - {name}")))?;
            world.delete_scheduled(&arn);
            Ok(None)
        },
    },
];

/// A resource put again keeps its ARN; a new one gets `arn:aws:autoscaling:...:{resource(uuid)}`.
fn keep_or_mint(world: &mut World, existing: Option<String>, resource: impl FnOnce(&str) -> String) -> String {
    existing.unwrap_or_else(|| {
        let id = world.uuid();
        world.arn("autoscaling", &resource(&id))
    })
}

/// PutScalingPolicy; answers the policy's ARN.
pub(crate) fn put_policy(world: &mut World, q: &PutPolicy) -> Result<Option<String>, AwsError> {
    let (group, name) = (q.group.clone(), q.name.clone());
    world.group(&group)?;
    let kind = q.policy_type.unwrap_or(PolicyType::SimpleScaling);
    let adjustment_type = q.adjustment_type;
    let int32 = |key: &str, v: Option<i64>| in_range(key, v, i32::MIN as i64, i32::MAX as i64);
    let scaling_adjustment = int32("ScalingAdjustment", q.scaling_adjustment)?;
    let mut steps = Vec::new();
    for s in &q.steps {
        steps.push(Step {
            lower: s.lower,
            upper: s.upper,
            adjustment: int32("ScalingAdjustment", s.adjustment)?
                .ok_or_else(|| AwsError::missing("StepAdjustments.member.N.ScalingAdjustment"))?,
        });
    }
    let target_value = q.target_value;
    match kind {
        PolicyType::SimpleScaling if scaling_adjustment.is_none() => {
            return Err(AwsError::validation(
                "ScalingAdjustment is required for a SimpleScaling policy.",
            ))
        }
        PolicyType::SimpleScaling | PolicyType::StepScaling if adjustment_type.is_none() => {
            return Err(AwsError::validation(format!(
                "AdjustmentType is required for a {} policy.",
                kind.as_str()
            )))
        }
        PolicyType::StepScaling if steps.is_empty() => {
            return Err(AwsError::validation(
                "StepAdjustments is required for a StepScaling policy.",
            ))
        }
        PolicyType::TargetTrackingScaling if target_value.is_none() => {
            return Err(AwsError::validation(
                "TargetTrackingConfiguration is required for a TargetTrackingScaling policy.",
            ))
        }
        _ => {}
    }
    let natural = |key: &str, v: Option<i64>| in_range(key, v, 0, i32::MAX as i64);
    let min_adjustment_magnitude = natural("MinAdjustmentMagnitude", q.min_adjustment_magnitude)?;
    let cooldown_s = natural("Cooldown", q.cooldown)?;
    let estimated_instance_warmup_s = natural("EstimatedInstanceWarmup", q.estimated_instance_warmup)?;
    let existing = world
        .policies
        .values()
        .find(|x| x.group == group && x.name == name)
        .map(|x| x.arn.clone());
    let arn = keep_or_mint(world, existing, |id| {
        format!("scalingPolicy:{id}:autoScalingGroupName/{group}:policyName/{name}")
    });
    let policy = ScalingPolicy {
        arn: arn.clone(),
        name,
        group,
        kind,
        adjustment_type,
        scaling_adjustment,
        min_adjustment_magnitude,
        cooldown_s,
        steps,
        metric_aggregation_type: q.metric_aggregation_type.clone(),
        estimated_instance_warmup_s,
        target_value,
        enabled: q.enabled.unwrap_or(true),
    };
    world.put_policy(policy);
    let mut x = Xml::new();
    x.leaf("PolicyARN", &arn);
    x.list("Alarms", std::iter::empty::<()>(), |_, _| {});
    Ok(Some(x.finish()))
}

fn describe_policies(world: &mut World, p: &Params) -> Result<Option<String>, AwsError> {
    let group = p.opt("AutoScalingGroupName");
    if let Some(g) = group {
        world.group(g)?;
    }
    let names = p.list("PolicyNames")?;
    let types = p.list("PolicyTypes")?;
    let mut x = Xml::new();
    x.list(
        "ScalingPolicies",
        world.policies.values().filter(|q| {
            group.is_none_or(|g| q.group == g)
                && (names.is_empty() || names.contains(&q.name) || names.contains(&q.arn))
                && (types.is_empty() || types.iter().any(|t| t == q.kind.as_str()))
        }),
        |x, q| {
            x.leaf("AutoScalingGroupName", &q.group)
                .leaf("PolicyName", &q.name)
                .leaf("PolicyARN", &q.arn)
                .leaf("PolicyType", q.kind.as_str())
                .opt_leaf("AdjustmentType", q.adjustment_type.map(AdjustmentType::as_str))
                .opt_leaf("MinAdjustmentMagnitude", q.min_adjustment_magnitude)
                .opt_leaf("ScalingAdjustment", q.scaling_adjustment)
                .opt_leaf("Cooldown", q.cooldown_s);
            if q.kind == PolicyType::StepScaling {
                x.list("StepAdjustments", &q.steps, |x, s| {
                    x.opt_leaf("MetricIntervalLowerBound", s.lower)
                        .opt_leaf("MetricIntervalUpperBound", s.upper)
                        .leaf("ScalingAdjustment", s.adjustment);
                });
            }
            x.opt_leaf("MetricAggregationType", q.metric_aggregation_type.as_ref())
                .opt_leaf("EstimatedInstanceWarmup", q.estimated_instance_warmup_s);
            x.list("Alarms", std::iter::empty::<()>(), |_, _| {});
            if let Some(t) = q.target_value {
                x.elem("TargetTrackingConfiguration", |x| {
                    x.leaf("TargetValue", t);
                });
            }
            x.leaf("Enabled", q.enabled);
        },
    );
    Ok(Some(x.finish()))
}

/// PutScheduledUpdateGroupAction.
pub(crate) fn put_scheduled(world: &mut World, q: &PutScheduled) -> Result<(), AwsError> {
    let (group, name) = (q.group.clone(), q.name.clone());
    world.group(&group)?;
    let (start, end) = (q.start_ms, q.end_ms);
    let recurrence = q.recurrence.clone();
    let size = |key: &str, v: Option<i64>| in_range(key, v, 0, i32::MAX as i64);
    let (min, max, desired) = (
        size("MinSize", q.min)?,
        size("MaxSize", q.max)?,
        size("DesiredCapacity", q.desired)?,
    );
    if min.is_none() && max.is_none() && desired.is_none() {
        return Err(AwsError::validation(
            "At least one of MinSize, MaxSize or DesiredCapacity must be specified.",
        ));
    }
    if let Some(tz) = &q.time_zone {
        if !matches!(tz.as_str(), "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT") {
            return Err(AwsError::validation(format!(
                "TimeZone '{tz}': fakeaws evaluates recurrences in UTC only."
            )));
        }
    }
    let now = world.now_ms;
    if let Some(s) = start {
        if s < now && recurrence.is_none() {
            return Err(AwsError::validation("Given start time is in the past"));
        }
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(AwsError::validation("End time must be after the start time."));
        }
    }
    let next = match &recurrence {
        Some(r) => {
            let cron = Cron::parse(r).map_err(AwsError::validation)?;
            match start {
                // AWS: with both, the action runs at StartTime, then on the recurrence.
                Some(s) if s >= now => Some(s),
                _ => cron.next_after(now).filter(|t| end.is_none_or(|e| *t <= e)),
            }
        }
        None => Some(
            start.ok_or_else(|| AwsError::validation("Either StartTime (or Time) or Recurrence must be specified."))?,
        ),
    };
    let existing = world
        .scheduled
        .values()
        .find(|a| a.group == group && a.name == name)
        .map(|a| a.arn.clone());
    let arn = keep_or_mint(world, existing, |id| {
        format!("scheduledUpdateGroupAction:{id}:autoScalingGroupName/{group}:scheduledActionName/{name}")
    });
    world.put_scheduled(ScheduledAction {
        arn,
        name,
        group,
        start_ms: start,
        end_ms: end,
        recurrence,
        min,
        max,
        desired,
        time_zone: q.time_zone.clone(),
        next_ms: next,
    });
    Ok(())
}

fn describe_scheduled(world: &mut World, p: &Params) -> Result<Option<String>, AwsError> {
    let group = p.opt("AutoScalingGroupName");
    if let Some(g) = group {
        world.group(g)?;
    }
    let names = p.list("ScheduledActionNames")?;
    let mut x = Xml::new();
    x.list(
        "ScheduledUpdateGroupActions",
        world
            .scheduled
            .values()
            .filter(|a| group.is_none_or(|g| a.group == g) && (names.is_empty() || names.contains(&a.name))),
        |x, a| {
            let start = a.next_ms.or(a.start_ms);
            x.leaf("AutoScalingGroupName", &a.group)
                .leaf("ScheduledActionName", &a.name)
                .leaf("ScheduledActionARN", &a.arn)
                .opt_leaf("Time", start.map(iso))
                .opt_leaf("StartTime", start.map(iso))
                .opt_leaf("EndTime", a.end_ms.map(iso))
                .opt_leaf("Recurrence", a.recurrence.as_ref())
                .opt_leaf("MinSize", a.min)
                .opt_leaf("MaxSize", a.max)
                .opt_leaf("DesiredCapacity", a.desired)
                .opt_leaf("TimeZone", a.time_zone.as_ref());
        },
    );
    Ok(Some(x.finish()))
}
