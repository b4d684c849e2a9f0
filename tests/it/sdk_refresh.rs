//! Instance refresh (issue 30) through the real `aws-sdk-autoscaling` client: a refresh replacing
//! every instance in batches under its minimum healthy percentage, the new launch template taken
//! on success; one already running refused; Standby instances waited for; cancel and rollback;
//! AWS's validations.

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{
    DesiredConfiguration, InstanceRefreshStatus, LaunchTemplateSpecification, RefreshPreferences, StandbyInstances,
};

use crate::sdk_autoscaling::states;
use crate::util::*;

async fn latest(asg: &aws_sdk_autoscaling::Client, group: &str) -> aws_sdk_autoscaling::types::InstanceRefresh {
    asg.describe_instance_refreshes()
        .auto_scaling_group_name(group)
        .send()
        .await
        .expect("describe")
        .instance_refreshes()
        .first()
        .cloned()
        .expect("a refresh")
}

fn template(name: &str) -> DesiredConfiguration {
    DesiredConfiguration::builder()
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_name(name)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn a_refresh_replaces_every_instance_in_batches_and_takes_the_new_template() {
    let r = start().await;
    let (group, _) = standard_world(&r, 2, 6, 4).await;
    let asg = asg(&r.url).await;
    let before: Vec<String> = states(&asg, &group).await.into_iter().map(|s| s.0).collect();
    let id = asg
        .start_instance_refresh()
        .auto_scaling_group_name(&group)
        .desired_configuration(template("lt-v2"))
        .preferences(
            RefreshPreferences::builder()
                .min_healthy_percentage(50)
                .instance_warmup(30)
                .build(),
        )
        .send()
        .await
        .expect("start")
        .instance_refresh_id
        .expect("id");
    let e = asg
        .start_instance_refresh()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect_err("one at a time");
    assert_eq!(e.code(), Some("InstanceRefreshInProgress"));
    assert_eq!(
        e.message(),
        Some("An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
    );
    // A batch of two (4 desired, 50% must stay healthy) is terminating at once.
    let first = latest(&asg, &group).await;
    assert_eq!(first.instance_refresh_id(), Some(id.as_str()));
    assert_eq!(first.status(), Some(&InstanceRefreshStatus::InProgress));
    assert_eq!(first.instances_to_update(), Some(4));
    let leaving = states(&asg, &group)
        .await
        .into_iter()
        .filter(|(_, _, s)| s.starts_with("Terminating"))
        .count();
    assert_eq!(leaving, 2, "{:?}", states(&asg, &group).await);
    // Two batches of drain, boot, warm-up: done within ten simulated minutes.
    let mut seen_half = false;
    for _ in 0..60 {
        advance(&r.fake, 10);
        let now = latest(&asg, &group).await;
        seen_half |= now.percentage_complete() == Some(50);
        if now.status() == Some(&InstanceRefreshStatus::Successful) {
            break;
        }
    }
    let done = latest(&asg, &group).await;
    assert_eq!(done.status(), Some(&InstanceRefreshStatus::Successful), "{done:?}");
    assert_eq!(done.percentage_complete(), Some(100));
    assert_eq!(done.instances_to_update(), Some(0));
    assert!(done.end_time().is_some());
    assert!(seen_half, "PercentageComplete went through 50");
    let after: Vec<String> = states(&asg, &group).await.into_iter().map(|s| s.0).collect();
    assert_eq!(after.len(), 4);
    assert!(after.iter().all(|id| !before.contains(id)), "{before:?} -> {after:?}");
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("group");
    let g = &g.auto_scaling_groups()[0];
    assert_eq!(
        g.launch_template().and_then(|t| t.launch_template_name()),
        Some("lt-v2")
    );
}

#[tokio::test]
async fn standby_instances_are_waited_for_and_cancel_and_rollback_answer_as_aws_does() {
    let r = start().await;
    let (group, _) = standard_world(&r, 0, 6, 3).await;
    let asg = asg(&r.url).await;
    let ids: Vec<String> = states(&asg, &group).await.into_iter().map(|s| s.0).collect();
    asg.enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&ids[0])
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("standby");
    advance(&r.fake, 70);
    // No active refresh: cancel and rollback say so.
    let e = asg
        .cancel_instance_refresh()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect_err("none");
    assert_eq!(e.code(), Some("ActiveInstanceRefreshNotFound"));
    asg.start_instance_refresh()
        .auto_scaling_group_name(&group)
        .preferences(
            RefreshPreferences::builder()
                .min_healthy_percentage(100)
                .standby_instances(StandbyInstances::Wait)
                .instance_warmup(0)
                .build(),
        )
        .send()
        .await
        .expect("start");
    // The two in service are replaced one at a time; the Standby one is waited for.
    for _ in 0..60 {
        advance(&r.fake, 10);
    }
    let waiting = latest(&asg, &group).await;
    assert_eq!(waiting.status(), Some(&InstanceRefreshStatus::InProgress));
    assert_eq!(waiting.instances_to_update(), Some(1));
    assert!(
        waiting.status_reason().is_some_and(|s| s.contains(&ids[0])),
        "{waiting:?}"
    );
    // Waiting is not a change: every settle came to rest (it used to run to its bound of a
    // thousand passes on each request while the refresh waited).
    assert_eq!(r.fake.world().unsettled(), 0);
    // No desired configuration: nothing to roll back to.
    let e = asg
        .rollback_instance_refresh()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect_err("irreversible");
    assert_eq!(e.code(), Some("IrreversibleInstanceRefresh"));
    // An hour of waiting fails it.
    for _ in 0..7 {
        advance(&r.fake, 600);
    }
    let failed = latest(&asg, &group).await;
    assert_eq!(failed.status(), Some(&InstanceRefreshStatus::Failed), "{failed:?}");

    // A second one, cancelled: Cancelled once the replacement under way is done.
    asg.exit_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&ids[0])
        .send()
        .await
        .expect("back");
    advance(&r.fake, 60);
    asg.start_instance_refresh()
        .auto_scaling_group_name(&group)
        .desired_configuration(template("lt-v3"))
        .preferences(RefreshPreferences::builder().min_healthy_percentage(90).build())
        .send()
        .await
        .expect("start again");
    asg.cancel_instance_refresh()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("cancel");
    assert_eq!(
        latest(&asg, &group).await.status(),
        Some(&InstanceRefreshStatus::Cancelling)
    );
    for _ in 0..60 {
        advance(&r.fake, 10);
    }
    assert_eq!(
        latest(&asg, &group).await.status(),
        Some(&InstanceRefreshStatus::Cancelled)
    );

    // Refused preferences.
    let bad = |prefs: RefreshPreferences| {
        let asg = asg.clone();
        let group = group.clone();
        async move {
            asg.start_instance_refresh()
                .auto_scaling_group_name(group)
                .preferences(prefs)
                .send()
                .await
                .expect_err("refused")
        }
    };
    let e = bad(RefreshPreferences::builder().min_healthy_percentage(101).build()).await;
    assert_eq!(e.code(), Some("ValidationError"));
    let e = bad(RefreshPreferences::builder().checkpoint_delay(60).build()).await;
    assert_eq!(e.message(), Some("CheckpointDelay requires CheckpointPercentages."));
    let e = bad(RefreshPreferences::builder().auto_rollback(true).build()).await;
    assert_eq!(
        e.message(),
        Some("The AutoRollback parameter cannot be set to true when the DesiredConfiguration parameter is empty.")
    );
}
