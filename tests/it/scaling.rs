//! Scaling policies and scheduled actions (what AlarmNotification and ScheduledActions hold back)
//! through the Rust SDK, boto3 and the AWS CLI.

use aws_sdk_autoscaling::types::{
    MetricType, PredefinedMetricSpecification, StepAdjustment, TargetTrackingConfiguration,
};

use crate::botocore::{aws_cli, boto3};
use crate::util::*;

async fn desired(asg: &aws_sdk_autoscaling::Client, group: &str) -> i32 {
    asg.describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .expect("describe")
        .auto_scaling_groups()[0]
        .desired_capacity()
        .unwrap_or(-1)
}

async fn set_process(asg: &aws_sdk_autoscaling::Client, group: &str, process: &str, suspended: bool) {
    let done = if suspended {
        asg.suspend_processes()
            .auto_scaling_group_name(group)
            .scaling_processes(process)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", aws_sdk_autoscaling::error::DisplayErrorContext(&e)))
    } else {
        asg.resume_processes()
            .auto_scaling_group_name(group)
            .scaling_processes(process)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", aws_sdk_autoscaling::error::DisplayErrorContext(&e)))
    };
    done.expect("suspend/resume");
}

async fn execute(asg: &aws_sdk_autoscaling::Client, group: &str, policy: &str) {
    asg.execute_policy()
        .auto_scaling_group_name(group)
        .policy_name(policy)
        .send()
        .await
        .expect("execute");
}

#[tokio::test]
async fn policies_round_trip_and_execute_with_the_rust_sdk() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 6, 4).await;
    let asg = asg(&r.url).await;
    let simple = asg
        .put_scaling_policy()
        .auto_scaling_group_name(&group)
        .policy_name("down")
        .adjustment_type("ChangeInCapacity")
        .scaling_adjustment(-2)
        .cooldown(300)
        .send()
        .await
        .expect("simple policy");
    assert!(simple
        .policy_arn()
        .is_some_and(|a| a.starts_with("arn:aws:autoscaling:us-east-1:") && a.ends_with(":policyName/down")));
    asg.put_scaling_policy()
        .auto_scaling_group_name(&group)
        .policy_name("steps")
        .policy_type("StepScaling")
        .adjustment_type("PercentChangeInCapacity")
        .min_adjustment_magnitude(1)
        .step_adjustments(
            StepAdjustment::builder()
                .metric_interval_lower_bound(0.0)
                .metric_interval_upper_bound(10.0)
                .scaling_adjustment(50)
                .build(),
        )
        .step_adjustments(
            StepAdjustment::builder()
                .metric_interval_lower_bound(10.0)
                .scaling_adjustment(100)
                .build(),
        )
        .send()
        .await
        .expect("step policy");
    asg.put_scaling_policy()
        .auto_scaling_group_name(&group)
        .policy_name("cpu50")
        .policy_type("TargetTrackingScaling")
        .target_tracking_configuration(
            TargetTrackingConfiguration::builder()
                .target_value(50.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::AsgAverageCpuUtilization)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("target tracking policy");
    let all = asg
        .describe_policies()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("describe");
    let names: Vec<&str> = all.scaling_policies().iter().filter_map(|p| p.policy_name()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let steps = all
        .scaling_policies()
        .iter()
        .find(|p| p.policy_name() == Some("steps"))
        .expect("steps");
    assert_eq!(steps.step_adjustments().len(), 2);
    assert_eq!(steps.policy_type(), Some("StepScaling"));

    // Simple: 4 -> 2, and the group follows.
    execute(&asg, &group, "down").await;
    assert_eq!(desired(&asg, &group).await, 2);
    // In cooldown: refused when the caller honours it.
    let err = asg
        .execute_policy()
        .auto_scaling_group_name(&group)
        .policy_name("down")
        .honor_cooldown(true)
        .send()
        .await
        .expect_err("cooldown");
    assert_eq!(
        aws_sdk_autoscaling::error::ProvideErrorMetadata::code(&err.into_service_error()),
        Some("ScalingActivityInProgress")
    );
    // Step: 5 above the threshold -> +50% of 2 = +1.
    asg.execute_policy()
        .auto_scaling_group_name(&group)
        .policy_name("steps")
        .metric_value(85.0)
        .breach_threshold(80.0)
        .send()
        .await
        .expect("execute steps");
    assert_eq!(desired(&asg, &group).await, 3);
    // Step without the metric, and target tracking: AWS-shaped validation errors.
    for (name, want) in [("steps", "MetricValue"), ("cpu50", "TargetTrackingScaling")] {
        let err = asg
            .execute_policy()
            .auto_scaling_group_name(&group)
            .policy_name(name)
            .send()
            .await
            .expect_err("refused");
        let msg = format!("{}", aws_sdk_autoscaling::error::DisplayErrorContext(&err));
        assert!(msg.contains(want), "{msg}");
    }
    // An alarm does nothing while AlarmNotification is suspended.
    set_process(&asg, &group, "AlarmNotification", true).await;
    advance(&r.fake, 600);
    let ran = r.fake.world().alarm(&group, "down", None).expect("alarm");
    assert!(!ran);
    assert_eq!(desired(&asg, &group).await, 3);
    set_process(&asg, &group, "AlarmNotification", false).await;
    assert!(r.fake.world().alarm(&group, "down", None).expect("alarm"));
    assert_eq!(desired(&asg, &group).await, 1, "clamped to MinSize");
    let acts = asg
        .describe_scaling_activities()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("activities");
    assert!(
        acts.activities()
            .iter()
            .any(|a| a.cause().is_some_and(|c| c.contains("a monitor alarm down-alarm in state ALARM triggered policy down changing the desired capacity from 3 to 1."))),
        "{:?}",
        acts.activities().iter().map(|a| a.cause()).collect::<Vec<_>>()
    );
    asg.delete_policy()
        .auto_scaling_group_name(&group)
        .policy_name("down")
        .send()
        .await
        .expect("delete");
    let err = asg
        .delete_policy()
        .auto_scaling_group_name(&group)
        .policy_name("down")
        .send()
        .await
        .expect_err("gone");
    assert!(format!("{}", aws_sdk_autoscaling::error::DisplayErrorContext(&err)).contains("No such policy"));
}

#[tokio::test]
async fn scheduled_actions_fire_on_the_clock_unless_suspended() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 6, 4).await;
    let asg = asg(&r.url).await;
    let now = r.fake.clock.now_ms();
    let at = |secs: i64| aws_sdk_autoscaling::primitives::DateTime::from_millis(now + secs * 1000);
    asg.put_scheduled_update_group_action()
        .auto_scaling_group_name(&group)
        .scheduled_action_name("shrink")
        .start_time(at(120))
        .desired_capacity(2)
        .send()
        .await
        .expect("put");
    asg.put_scheduled_update_group_action()
        .auto_scaling_group_name(&group)
        .scheduled_action_name("nightly")
        .recurrence("0 22 * * *")
        .min_size(1)
        .max_size(6)
        .desired_capacity(5)
        .send()
        .await
        .expect("put recurring");
    let listed = asg
        .describe_scheduled_actions()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("describe");
    assert_eq!(listed.scheduled_update_group_actions().len(), 2);
    let nightly = listed
        .scheduled_update_group_actions()
        .iter()
        .find(|a| a.scheduled_action_name() == Some("nightly"))
        .expect("nightly");
    assert_eq!(nightly.recurrence(), Some("0 22 * * *"));
    assert!(nightly.start_time().is_some());
    // Before its time nothing happens; after it, the group shrinks and the one-time action is gone.
    advance(&r.fake, 60);
    assert_eq!(desired(&asg, &group).await, 4);
    advance(&r.fake, 61);
    assert_eq!(desired(&asg, &group).await, 2);
    let listed = asg
        .describe_scheduled_actions()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("describe");
    assert_eq!(listed.scheduled_update_group_actions().len(), 1);
    // A suspended ScheduledActions skips what comes due meanwhile (not run later).
    set_process(&asg, &group, "ScheduledActions", true).await;
    advance(&r.fake, 24 * 3600);
    assert_eq!(desired(&asg, &group).await, 2);
    set_process(&asg, &group, "ScheduledActions", false).await;
    advance(&r.fake, 60);
    assert_eq!(desired(&asg, &group).await, 2, "missed runs are not replayed");
    advance(&r.fake, 24 * 3600);
    assert_eq!(desired(&asg, &group).await, 5, "the next nightly run");
    // Bad input: a start time in the past, a broken recurrence, nothing to set.
    for (build, want) in [
        (
            asg.put_scheduled_update_group_action()
                .start_time(aws_sdk_autoscaling::primitives::DateTime::from_millis(now - 1000))
                .desired_capacity(1),
            "in the past",
        ),
        (
            asg.put_scheduled_update_group_action()
                .recurrence("61 * * * *")
                .desired_capacity(1),
            "minute",
        ),
        (
            asg.put_scheduled_update_group_action().start_time(at(10 * 24 * 3600)),
            "At least one of",
        ),
    ] {
        let err = build
            .auto_scaling_group_name(&group)
            .scheduled_action_name("bad")
            .send()
            .await
            .expect_err("refused");
        let msg = format!("{}", aws_sdk_autoscaling::error::DisplayErrorContext(&err));
        assert!(msg.contains(want), "{msg}");
    }
    asg.delete_scheduled_action()
        .auto_scaling_group_name(&group)
        .scheduled_action_name("nightly")
        .send()
        .await
        .expect("delete");
    // Deleting the group takes its policies and actions with it.
    asg.put_scaling_policy()
        .auto_scaling_group_name(&group)
        .policy_name("p")
        .adjustment_type("ExactCapacity")
        .scaling_adjustment(1)
        .send()
        .await
        .expect("policy");
    asg.delete_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .force_delete(true)
        .send()
        .await
        .expect("delete group");
    assert!(r.fake.world().scaling_policies().is_empty());
    assert!(r.fake.world().scheduled_actions().is_empty());
}

#[tokio::test]
async fn boto3_and_the_cli_manage_policies_and_schedules() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 6, 4).await;
    let url = r.url.clone();
    let script = format!(
        r#"
import boto3, json
asg = boto3.client('autoscaling')
arn = asg.put_scaling_policy(AutoScalingGroupName='{group}', PolicyName='in', PolicyType='SimpleScaling',
    AdjustmentType='ExactCapacity', ScalingAdjustment=3)['PolicyARN']
asg.execute_policy(AutoScalingGroupName='{group}', PolicyName='in')
g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=['{group}'])['AutoScalingGroups'][0]
asg.put_scheduled_update_group_action(AutoScalingGroupName='{group}', ScheduledActionName='nightly',
    Recurrence='30 1 * * MON-FRI', DesiredCapacity=2)
acts = asg.describe_scheduled_actions(AutoScalingGroupName='{group}')['ScheduledUpdateGroupActions']
pols = asg.describe_policies(AutoScalingGroupName='{group}', PolicyTypes=['SimpleScaling'])['ScalingPolicies']
print(json.dumps({{'arn': arn, 'desired': g['DesiredCapacity'], 'actions': [a['ScheduledActionName'] for a in acts],
    'start': str(acts[0]['StartTime']), 'policies': [p['PolicyName'] for p in pols]}}))
"#
    );
    let out = tokio::task::spawn_blocking(move || boto3(&url, &script, &[]))
        .await
        .expect("join");
    assert_eq!(out["desired"], 3);
    assert_eq!(out["actions"][0], "nightly");
    assert_eq!(out["policies"][0], "in");
    assert!(out["start"].as_str().is_some_and(|s| s.contains("01:30:00")), "{out}");
    let url = r.url.clone();
    let g = group.clone();
    let (ok, json, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &["autoscaling", "describe-policies", "--auto-scaling-group-name", &g],
        )
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
    assert_eq!(json["ScalingPolicies"][0]["AdjustmentType"], "ExactCapacity");
    let url = r.url.clone();
    let g = group.clone();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &[
                "autoscaling",
                "execute-policy",
                "--auto-scaling-group-name",
                &g,
                "--policy-name",
                "missing",
            ],
        )
    })
    .await
    .expect("join");
    assert!(!ok);
    assert!(
        err.contains("ValidationError") && err.contains("No such policy missing"),
        "{err}"
    );
    let url = r.url.clone();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &[
                "autoscaling",
                "delete-scheduled-action",
                "--auto-scaling-group-name",
                &group,
                "--scheduled-action-name",
                "nightly",
            ],
        )
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
}

/// AWS rounds a percentage change between 0 and 1 (or -1 and 0) to 1 (or -1), larger ones
/// towards zero; huge adjustments are a ValidationError, not an overflow.
#[tokio::test]
async fn percent_changes_round_like_aws_and_huge_values_are_refused() {
    let r = start().await;
    let (group, _) = standard_world(&r, 0, 6, 2).await;
    let asg = asg(&r.url).await;
    for (name, pct) in [("down25", -25), ("up150", 150)] {
        asg.put_scaling_policy()
            .auto_scaling_group_name(&group)
            .policy_name(name)
            .adjustment_type("PercentChangeInCapacity")
            .scaling_adjustment(pct)
            .send()
            .await
            .expect("policy");
    }
    execute(&asg, &group, "down25").await;
    assert_eq!(desired(&asg, &group).await, 1, "2 x -25% = -0.5 counts as -1");
    execute(&asg, &group, "up150").await;
    assert_eq!(desired(&asg, &group).await, 2, "1 x 150% = 1.5 rounds down to +1");
    let (s, _, body) = raw(
        &r.url,
        &format!("Action=PutScalingPolicy&Version=2011-01-01&AutoScalingGroupName={group}&PolicyName=huge&AdjustmentType=ChangeInCapacity&ScalingAdjustment=9223372036854775807&Cooldown=9223372036854775807"),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("ScalingAdjustment"), "{body}");
}

/// Below the breach threshold a step's lower bound is exclusive and its upper bound inclusive (above
/// it, the other way round); a scheduled action with both StartTime and Recurrence runs at
/// StartTime first.
#[tokio::test]
async fn step_bounds_below_the_threshold_and_start_time_with_recurrence() {
    let r = start().await;
    let (group, _) = standard_world(&r, 0, 6, 5).await;
    let asg = asg(&r.url).await;
    asg.put_scaling_policy()
        .auto_scaling_group_name(&group)
        .policy_name("down")
        .policy_type("StepScaling")
        .adjustment_type("ChangeInCapacity")
        .step_adjustments(
            StepAdjustment::builder()
                .metric_interval_lower_bound(-10.0)
                .metric_interval_upper_bound(0.0)
                .scaling_adjustment(-1)
                .build(),
        )
        .step_adjustments(
            StepAdjustment::builder()
                .metric_interval_upper_bound(-10.0)
                .scaling_adjustment(-2)
                .build(),
        )
        .send()
        .await
        .expect("policy");
    // Exactly 10 below the threshold: the -10 bound belongs to the lower step (inclusive upper).
    asg.execute_policy()
        .auto_scaling_group_name(&group)
        .policy_name("down")
        .metric_value(20.0)
        .breach_threshold(30.0)
        .send()
        .await
        .expect("execute");
    assert_eq!(desired(&asg, &group).await, 3);
    let now = r.fake.clock.now_ms();
    asg.put_scheduled_update_group_action()
        .auto_scaling_group_name(&group)
        .scheduled_action_name("soon-then-nightly")
        .start_time(aws_sdk_autoscaling::primitives::DateTime::from_millis(now + 60_000))
        .recurrence("0 3 * * *")
        .desired_capacity(4)
        .send()
        .await
        .expect("put");
    advance(&r.fake, 61);
    assert_eq!(desired(&asg, &group).await, 4, "ran at StartTime");
    assert_eq!(
        r.fake.world().scheduled_actions().len(),
        1,
        "and stays for its recurrence"
    );
}
