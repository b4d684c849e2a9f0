//! Scaling policies and scheduled actions: what the AlarmNotification and ScheduledActions
//! processes hold back. Policies run when executed (ExecutePolicy) or when an alarm fires
//! ([`World::alarm`], which does nothing while AlarmNotification is suspended); scheduled actions
//! fire on the simulated clock unless ScheduledActions is suspended (a missed one is not run
//! later, as in AWS). Their Query handlers are `crate::services::scaling`.

use serde::{Deserialize, Serialize};

use super::World;
use crate::cron::Cron;
use crate::model::Process;
use crate::protocol::error::AwsError;

/// The kinds of scaling policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::enum_variant_names)] // AWS's names
pub enum PolicyType {
    SimpleScaling,
    StepScaling,
    TargetTrackingScaling,
    PredictiveScaling,
}

impl PolicyType {
    pub(crate) fn parse(s: &str) -> Result<Self, AwsError> {
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

    pub(crate) fn as_str(self) -> &'static str {
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
#[allow(clippy::enum_variant_names)] // AWS's names
pub enum AdjustmentType {
    ChangeInCapacity,
    ExactCapacity,
    PercentChangeInCapacity,
}

impl AdjustmentType {
    pub(crate) fn parse(s: &str) -> Result<Self, AwsError> {
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

    pub(crate) fn as_str(self) -> &'static str {
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
    pub(crate) fn policy(&self, group: &str, name_or_arn: &str) -> Result<&ScalingPolicy, AwsError> {
        self.policies
            .values()
            .find(|p| p.arn == name_or_arn || (p.group == group && p.name == name_or_arn))
            .ok_or_else(|| AwsError::validation(format!("No such policy {name_or_arn} for group {group}.")))
    }

    /// Runs a policy: the new desired capacity, clamped to the group's bounds, with the cause
    /// AWS writes. `metric` is (metric value, breach threshold), needed by step scaling.
    pub(crate) fn execute(
        &mut self,
        group: &str,
        name: &str,
        metric: Option<(f64, f64)>,
        why: &str,
    ) -> Result<(), AwsError> {
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
                    // AWS: above the threshold a step's lower bound is inclusive and its upper bound
                    // exclusive; below it, the other way round.
                    .find(|s| {
                        if diff >= 0.0 {
                            s.lower.is_none_or(|l| diff >= l) && s.upper.is_none_or(|u| diff < u)
                        } else {
                            s.lower.is_none_or(|l| diff > l) && s.upper.is_none_or(|u| diff <= u)
                        }
                    })
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
            AdjustmentType::ChangeInCapacity => g.desired.saturating_add(adjustment),
            AdjustmentType::ExactCapacity => adjustment,
            AdjustmentType::PercentChangeInCapacity => {
                // AWS: a change between 0 and 1 (or -1 and 0) counts as 1 (or -1); larger ones are
                // rounded towards zero.
                let exact = g.desired as f64 * adjustment as f64 / 100.0;
                let mut change = match exact {
                    c if c > 0.0 && c < 1.0 => 1,
                    c if c < 0.0 && c > -1.0 => -1,
                    c => c.trunc() as i64,
                };
                if let Some(m) = p.min_adjustment_magnitude {
                    if change.abs() < m && adjustment != 0 {
                        change = m * adjustment.signum();
                    }
                }
                g.desired.saturating_add(change)
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
        if self.group(group)?.is_suspended(Process::AlarmNotification) || !p.enabled {
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
                .is_none_or(|g| g.is_suspended(Process::ScheduledActions));
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

    pub(crate) fn run_scheduled(&mut self, a: &ScheduledAction) {
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
    super::iso_s(ms)
}

impl World {
    /// PutScalingPolicy: adds or replaces a policy.
    pub(crate) fn put_policy(&mut self, policy: ScalingPolicy) {
        self.policies.insert(policy.arn.clone(), policy);
    }

    /// DeletePolicy.
    pub(crate) fn delete_policy(&mut self, arn: &str) {
        self.policies.remove(arn);
    }

    /// PutScheduledUpdateGroupAction: adds or replaces a scheduled action.
    pub(crate) fn put_scheduled(&mut self, action: ScheduledAction) {
        self.scheduled.insert(action.arn.clone(), action);
    }

    /// DeleteScheduledAction.
    pub(crate) fn delete_scheduled(&mut self, arn: &str) {
        self.scheduled.remove(arn);
    }
}

/// Scheduled actions, a timed rule: each fires at its time (see [`World::fire_scheduled`]).
pub(super) struct ScheduledActions;

impl super::timed::Timed for ScheduledActions {
    fn next_due(&self, world: &World) -> Option<i64> {
        world.scheduled.values().filter_map(|a| a.next_ms).min()
    }

    fn fire(&self, world: &mut World) {
        world.fire_scheduled();
    }
}
