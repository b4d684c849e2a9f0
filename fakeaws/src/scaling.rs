//! Scaling policies and scheduled actions: what the AlarmNotification and ScheduledActions
//! processes hold back. Policies run when executed (ExecutePolicy) or when an alarm fires
//! ([`World::alarm`], which does nothing while AlarmNotification is suspended); scheduled actions
//! fire on the simulated clock unless ScheduledActions is suspended (a missed one is not run
//! later, as in AWS). The Query handlers for the seven actions live here too.

use serde::{Deserialize, Serialize};

use crate::clock::iso;
use crate::cron::Cron;
use crate::error::AwsError;
use crate::query::Params;
use crate::world::World;
use crate::xml::Xml;

/// The kinds of scaling policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    SimpleScaling,
    StepScaling,
    TargetTrackingScaling,
    PredictiveScaling,
}

impl PolicyType {
    fn parse(s: &str) -> Result<Self, AwsError> {
        Ok(match s {
            "SimpleScaling" => PolicyType::SimpleScaling,
            "StepScaling" => PolicyType::StepScaling,
            "TargetTrackingScaling" => PolicyType::TargetTrackingScaling,
            "PredictiveScaling" => PolicyType::PredictiveScaling,
            other => {
                return Err(AwsError::validation(format!(
                    "Value '{other}' at 'policyType' failed to satisfy constraint: Member must satisfy enum value set: [SimpleScaling, StepScaling, TargetTrackingScaling, PredictiveScaling]"
                )))
            }
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            PolicyType::SimpleScaling => "SimpleScaling",
            PolicyType::StepScaling => "StepScaling",
            PolicyType::TargetTrackingScaling => "TargetTrackingScaling",
            PolicyType::PredictiveScaling => "PredictiveScaling",
        }
    }
}

/// How a policy's adjustment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdjustmentType {
    ChangeInCapacity,
    ExactCapacity,
    PercentChangeInCapacity,
}

impl AdjustmentType {
    fn parse(s: &str) -> Result<Self, AwsError> {
        Ok(match s {
            "ChangeInCapacity" => AdjustmentType::ChangeInCapacity,
            "ExactCapacity" => AdjustmentType::ExactCapacity,
            "PercentChangeInCapacity" => AdjustmentType::PercentChangeInCapacity,
            other => {
                return Err(AwsError::validation(format!(
                    "Invalid adjustment type {other}: valid values are ChangeInCapacity, ExactCapacity and PercentChangeInCapacity."
                )))
            }
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            AdjustmentType::ChangeInCapacity => "ChangeInCapacity",
            AdjustmentType::ExactCapacity => "ExactCapacity",
            AdjustmentType::PercentChangeInCapacity => "PercentChangeInCapacity",
        }
    }
}

/// One step of a step scaling policy: bounds relative to the alarm's breach threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: i64,
}

/// A scaling policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    pub arn: String,
    pub name: String,
    pub group: String,
    pub kind: PolicyType,
    pub adjustment_type: Option<AdjustmentType>,
    pub scaling_adjustment: Option<i64>,
    pub min_adjustment_magnitude: Option<i64>,
    pub cooldown_s: Option<i64>,
    pub steps: Vec<Step>,
    pub metric_aggregation_type: Option<String>,
    pub estimated_instance_warmup_s: Option<i64>,
    /// Target tracking: the target value (the configuration is kept as a record only).
    pub target_value: Option<f64>,
    pub enabled: bool,
}

/// A scheduled action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledAction {
    pub arn: String,
    pub name: String,
    pub group: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub recurrence: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub desired: Option<i64>,
    pub time_zone: Option<String>,
    /// When it fires next (`None`: never again).
    pub next_ms: Option<i64>,
}

impl World {
    /// The policy `name_or_arn` of `group`.
    fn policy(&self, group: &str, name_or_arn: &str) -> Result<&ScalingPolicy, AwsError> {
        self.policies
            .values()
            .find(|p| p.arn == name_or_arn || (p.group == group && p.name == name_or_arn))
            .ok_or_else(|| AwsError::validation(format!("No such policy {name_or_arn} for group {group}.")))
    }

    /// Runs a policy: the new desired capacity, clamped to the group's bounds, with the cause
    /// AWS writes. `metric` is (metric value, breach threshold), needed by step scaling.
    fn execute(&mut self, group: &str, name: &str, metric: Option<(f64, f64)>, why: &str) -> Result<(), AwsError> {
        let p = self.policy(group, name)?.clone();
        let g = self.group(group)?.clone();
        let adjustment = match p.kind {
            PolicyType::SimpleScaling => p.scaling_adjustment.unwrap_or(0),
            PolicyType::StepScaling => {
                let (value, threshold) = metric.ok_or_else(|| {
                    AwsError::validation("MetricValue and BreachThreshold are required for a step scaling policy.")
                })?;
                let diff = value - threshold;
                p.steps
                    .iter()
                    .find(|s| s.lower.is_none_or(|l| diff >= l) && s.upper.is_none_or(|u| diff < u))
                    .map(|s| s.adjustment)
                    .ok_or_else(|| {
                        AwsError::validation(format!(
                            "The metric value {value} falls in none of the step adjustments of policy {}.",
                            p.name
                        ))
                    })?
            }
            PolicyType::TargetTrackingScaling | PolicyType::PredictiveScaling => {
                return Err(AwsError::validation(format!(
                    "Policy {} is a {} policy: only SimpleScaling and StepScaling policies can be executed.",
                    p.name,
                    p.kind.as_str()
                )))
            }
        };
        let raw = match p.adjustment_type.unwrap_or(AdjustmentType::ChangeInCapacity) {
            AdjustmentType::ChangeInCapacity => g.desired + adjustment,
            AdjustmentType::ExactCapacity => adjustment,
            AdjustmentType::PercentChangeInCapacity => {
                let mut change = (g.desired * adjustment) as f64 / 100.0;
                change = if change > 0.0 { change.floor() } else { change.ceil() };
                let mut change = change as i64;
                if let Some(m) = p.min_adjustment_magnitude {
                    if change.abs() < m && adjustment != 0 {
                        change = m * adjustment.signum();
                    }
                }
                g.desired + change
            }
        };
        let desired = raw.clamp(g.min, g.max);
        if desired == g.desired {
            return Ok(());
        }
        let cause = format!(
            "At {} {why} policy {} changing the desired capacity from {} to {}.",
            iso_s(self.now_ms),
            p.name,
            g.desired,
            desired
        );
        self.group_mut(group)?.desired = desired;
        let cooldown = p.cooldown_s.unwrap_or(g.default_cooldown_s);
        self.cooldown_until
            .insert(group.to_string(), self.now_ms + cooldown * 1000);
        self.settle_because(group, cause);
        Ok(())
    }

    /// A CloudWatch alarm in state ALARM invokes `policy` of `group`. Nothing happens while the
    /// group's AlarmNotification process is suspended, a disabled policy does nothing, and a
    /// simple scaling policy waits out the group's cooldown. Returns whether the policy ran.
    pub fn alarm(&mut self, group: &str, policy: &str, metric: Option<(f64, f64)>) -> Result<bool, AwsError> {
        let p = self.policy(group, policy)?.clone();
        if self.group(group)?.is_suspended("AlarmNotification") || !p.enabled {
            return Ok(false);
        }
        let cooling = self.cooldown_until.get(group).is_some_and(|&u| self.now_ms < u);
        if p.kind == PolicyType::SimpleScaling && cooling {
            return Ok(false);
        }
        self.execute(
            group,
            &p.name,
            metric,
            &format!("a monitor alarm {}-alarm in state ALARM triggered", p.name),
        )?;
        Ok(true)
    }

    /// The next moment a scheduled action is due.
    pub(crate) fn next_scheduled(&self) -> Option<i64> {
        self.scheduled.values().filter_map(|a| a.next_ms).min()
    }

    /// Fires the scheduled actions due at the current time (skipped while ScheduledActions is
    /// suspended), then schedules each recurrence again; one-time actions are deleted once run.
    pub(crate) fn fire_scheduled(&mut self) {
        let now = self.now_ms;
        let due: Vec<String> = self
            .scheduled
            .values()
            .filter(|a| a.next_ms.is_some_and(|t| t <= now))
            .map(|a| a.arn.clone())
            .collect();
        for arn in due {
            let Some(a) = self.scheduled.get(&arn).cloned() else {
                continue;
            };
            let held = self
                .groups
                .get(&a.group)
                .is_none_or(|g| g.is_suspended("ScheduledActions"));
            if !held {
                self.run_scheduled(&a);
            }
            let next = a
                .recurrence
                .as_deref()
                .and_then(|r| Cron::parse(r).ok())
                .and_then(|c| c.next_after(now))
                .filter(|t| a.end_ms.is_none_or(|e| *t <= e));
            match (a.recurrence.is_some(), next) {
                (true, Some(t)) => {
                    if let Some(x) = self.scheduled.get_mut(&arn) {
                        x.next_ms = Some(t);
                    }
                }
                _ => {
                    self.scheduled.remove(&arn);
                }
            }
        }
    }

    fn run_scheduled(&mut self, a: &ScheduledAction) {
        let Some(g) = self.groups.get(&a.group).cloned() else {
            return;
        };
        let min = a.min.unwrap_or(g.min);
        let max = a.max.unwrap_or(g.max);
        if min > max {
            return;
        }
        let desired = a.desired.unwrap_or(g.desired).clamp(min, max);
        let cause = format!(
            "At {} a scheduled action update of AutoScalingGroup constraints to min: {min}, max: {max}, desired: {desired} changing the desired capacity from {} to {desired}.",
            iso_s(self.now_ms),
            g.desired
        );
        if let Some(gm) = self.groups.get_mut(&a.group) {
            gm.min = min;
            gm.max = max;
            gm.desired = desired;
        }
        self.settle_because(&a.group, cause);
    }
}

fn iso_s(ms: i64) -> String {
    crate::world::iso_s(ms)
}

fn time_param(p: &Params, key: &str) -> Result<Option<i64>, AwsError> {
    match p.opt(key) {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|_| AwsError::validation(format!("Value '{s}' for {key} is not a valid ISO 8601 timestamp."))),
    }
}

fn float_param(p: &Params, key: &str) -> Result<Option<f64>, AwsError> {
    match p.opt(key) {
        None => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .map(Some)
            .map_err(|_| AwsError::validation(format!("Value '{s}' for {key} is not a number."))),
    }
}

/// Runs one of the seven policy and scheduled-action actions, or `None` if `action` is another.
pub fn handle(world: &mut World, action: &str, p: &Params) -> Option<Result<Option<String>, AwsError>> {
    Some(match action {
        "PutScalingPolicy" => put_policy(world, p),
        "DescribePolicies" => describe_policies(world, p),
        "DeletePolicy" => (|| {
            let group = p.req("AutoScalingGroupName")?;
            let arn = world.policy(group, p.req("PolicyName")?)?.arn.clone();
            world.policies.remove(&arn);
            Ok(None)
        })(),
        "ExecutePolicy" => (|| {
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
        })(),
        "PutScheduledUpdateGroupAction" => put_scheduled(world, p),
        "DescribeScheduledActions" => describe_scheduled(world, p),
        "DeleteScheduledAction" => (|| {
            let group = p.req("AutoScalingGroupName")?;
            let name = p.req("ScheduledActionName")?;
            world.group(group)?;
            let arn = world
                .scheduled
                .values()
                .find(|a| a.group == group && a.name == name)
                .map(|a| a.arn.clone())
                .ok_or_else(|| AwsError::validation(format!("Scheduled action name not found - {name}")))?;
            world.scheduled.remove(&arn);
            Ok(None)
        })(),
        _ => return None,
    })
}

fn put_policy(world: &mut World, p: &Params) -> Result<Option<String>, AwsError> {
    let group = p.req("AutoScalingGroupName")?.to_string();
    let name = p.req("PolicyName")?.to_string();
    world.group(&group)?;
    let kind = PolicyType::parse(p.opt("PolicyType").unwrap_or("SimpleScaling"))?;
    let adjustment_type = p.opt("AdjustmentType").map(AdjustmentType::parse).transpose()?;
    let scaling_adjustment = p.int("ScalingAdjustment")?;
    let mut steps = Vec::new();
    for s in p.structs("StepAdjustments")? {
        steps.push(Step {
            lower: float_param(&s, "MetricIntervalLowerBound")?,
            upper: float_param(&s, "MetricIntervalUpperBound")?,
            adjustment: s.req_int("ScalingAdjustment")?,
        });
    }
    let target_value = float_param(p, "TargetTrackingConfiguration.TargetValue")?;
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
    let existing = world
        .policies
        .values()
        .find(|x| x.group == group && x.name == name)
        .map(|x| x.arn.clone());
    let arn = match existing {
        Some(a) => a,
        None => {
            let id = world.uuid();
            world.arn(
                "autoscaling",
                &format!("scalingPolicy:{id}:autoScalingGroupName/{group}:policyName/{name}"),
            )
        }
    };
    let policy = ScalingPolicy {
        arn: arn.clone(),
        name,
        group,
        kind,
        adjustment_type,
        scaling_adjustment,
        min_adjustment_magnitude: p.int("MinAdjustmentMagnitude")?,
        cooldown_s: p.int("Cooldown")?,
        steps,
        metric_aggregation_type: p.opt("MetricAggregationType").map(str::to_string),
        estimated_instance_warmup_s: p.int("EstimatedInstanceWarmup")?,
        target_value,
        enabled: p.bool("Enabled")?.unwrap_or(true),
    };
    world.policies.insert(arn.clone(), policy);
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

fn put_scheduled(world: &mut World, p: &Params) -> Result<Option<String>, AwsError> {
    let group = p.req("AutoScalingGroupName")?.to_string();
    let name = p.req("ScheduledActionName")?.to_string();
    world.group(&group)?;
    let start = match time_param(p, "StartTime")? {
        Some(t) => Some(t),
        None => time_param(p, "Time")?,
    };
    let end = time_param(p, "EndTime")?;
    let recurrence = p.opt("Recurrence").map(str::to_string);
    let (min, max, desired) = (p.int("MinSize")?, p.int("MaxSize")?, p.int("DesiredCapacity")?);
    if min.is_none() && max.is_none() && desired.is_none() {
        return Err(AwsError::validation(
            "At least one of MinSize, MaxSize or DesiredCapacity must be specified.",
        ));
    }
    if let Some(tz) = p.opt("TimeZone") {
        if !matches!(tz, "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT") {
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
            let from = start.map_or(now, |s| s.max(now) - 1);
            cron.next_after(from).filter(|t| end.is_none_or(|e| *t <= e))
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
    let arn = match existing {
        Some(a) => a,
        None => {
            let id = world.uuid();
            world.arn(
                "autoscaling",
                &format!("scheduledUpdateGroupAction:{id}:autoScalingGroupName/{group}:scheduledActionName/{name}"),
            )
        }
    };
    world.scheduled.insert(
        arn.clone(),
        ScheduledAction {
            arn,
            name,
            group,
            start_ms: start,
            end_ms: end,
            recurrence,
            min,
            max,
            desired,
            time_zone: p.opt("TimeZone").map(str::to_string),
            next_ms: next,
        },
    );
    Ok(None)
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
