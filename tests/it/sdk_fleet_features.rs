//! The Auto Scaling features of a 2026 fleet (issue 30) through the real `aws-sdk-autoscaling`
//! client: scale-in protection, and instance retention under an instance lifecycle policy.

use crate::sdk_autoscaling::states;
use crate::util::*;

/// Issue 30 (scale-in protection): SetInstanceProtection with AWS's validation, protected instances
/// never chosen for a scale-in, protection kept through Standby and back, and
/// NewInstancesProtectedFromScaleIn applied to instances launched after it is set.
#[tokio::test]
async fn protected_instances_survive_a_scale_in_and_standby() {
    let r = start().await;
    let (group, _) = standard_world(&r, 0, 6, 4).await;
    let asg = asg(&r.url).await;
    let ids: Vec<String> = states(&asg, &group).await.into_iter().map(|s| s.0).collect();
    let protected = vec![ids[0].clone(), ids[1].clone()];
    asg.set_instance_protection()
        .auto_scaling_group_name(&group)
        .set_instance_ids(Some(protected.clone()))
        .protected_from_scale_in(true)
        .send()
        .await
        .expect("protect");
    let e = asg
        .set_instance_protection()
        .auto_scaling_group_name(&group)
        .instance_ids("i-0000000000000dead")
        .protected_from_scale_in(true)
        .send()
        .await
        .expect_err("not a member")
        .into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationError"));
    assert_eq!(
        e.meta().message(),
        Some(format!("The instance i-0000000000000dead is not part of Auto Scaling group {group}.").as_str())
    );
    // Through Standby and back, still protected.
    asg.enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&protected[0])
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("standby");
    advance(&r.fake, 120);
    asg.exit_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&protected[0])
        .send()
        .await
        .expect("back");
    advance(&r.fake, 120);
    // Scale in to 2: the two unprotected instances go.
    asg.set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(2)
        .send()
        .await
        .expect("scale in");
    advance(&r.fake, 400);
    let d = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("describe");
    let g = &d.auto_scaling_groups()[0];
    let mut left: Vec<(String, bool)> = g
        .instances()
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.protected_from_scale_in().unwrap_or(false),
            )
        })
        .collect();
    left.sort();
    let mut want: Vec<(String, bool)> = protected.iter().map(|id| (id.clone(), true)).collect();
    want.sort();
    assert_eq!(left, want);
    // New instances take the group's setting from now on.
    asg.update_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .new_instances_protected_from_scale_in(true)
        .desired_capacity(3)
        .send()
        .await
        .expect("update");
    advance(&r.fake, 120);
    let d = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("describe");
    let g = &d.auto_scaling_groups()[0];
    assert_eq!(g.new_instances_protected_from_scale_in(), Some(true));
    assert!(
        g.instances().iter().all(|i| i.protected_from_scale_in() == Some(true)),
        "{:?}",
        g.instances()
    );
    assert_eq!(g.instances().len(), 3);
    // The AWS CLI: protection off for one, as the describe shows; a stranger refused with AWS's words.
    let (url, grp, first) = (r.url.clone(), group.clone(), protected[0].clone());
    let (off, shown, refused, boto) = tokio::task::spawn_blocking(move || {
        let off = crate::botocore::aws_cli(
            &url,
            &[
                "autoscaling",
                "set-instance-protection",
                "--auto-scaling-group-name",
                &grp,
                "--instance-ids",
                &first,
                "--no-protected-from-scale-in",
            ],
        );
        let shown = crate::botocore::aws_cli(
            &url,
            &[
                "autoscaling",
                "describe-auto-scaling-instances",
                "--instance-ids",
                &first,
            ],
        );
        let refused = crate::botocore::aws_cli(
            &url,
            &[
                "autoscaling",
                "set-instance-protection",
                "--auto-scaling-group-name",
                &grp,
                "--instance-ids",
                "i-0000000000000dead",
                "--protected-from-scale-in",
            ],
        );
        // boto3: back on, as the describe shows; a stranger refused with AWS's code and words.
        let script = format!(
            r#"
import boto3, json
from botocore.exceptions import ClientError
a = boto3.client("autoscaling")
a.set_instance_protection(AutoScalingGroupName="{grp}", InstanceIds=["{first}"], ProtectedFromScaleIn=True)
shown = a.describe_auto_scaling_instances(InstanceIds=["{first}"])["AutoScalingInstances"][0]["ProtectedFromScaleIn"]
try:
    a.set_instance_protection(AutoScalingGroupName="{grp}", InstanceIds=["i-0000000000000dead"], ProtectedFromScaleIn=False)
    err = None
except ClientError as e:
    err = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
print(json.dumps({{"shown": shown, "err": err}}))
"#
        );
        let boto = crate::botocore::boto3(&url, &script, &[]);
        (off, shown, refused, boto)
    })
    .await
    .expect("cli");
    assert_eq!(boto["shown"], true, "{boto}");
    assert_eq!(boto["err"][0], "ValidationError", "{boto}");
    assert!(
        boto["err"][1]
            .as_str()
            .is_some_and(|m| m.contains("is not part of Auto Scaling group")),
        "{boto}"
    );
    assert!(off.0, "{}", off.2);
    assert_eq!(shown.1["AutoScalingInstances"][0]["ProtectedFromScaleIn"], false);
    assert!(
        !refused.0
            && refused.2.contains("(ValidationError)")
            && refused.2.contains("is not part of Auto Scaling group"),
        "{}",
        refused.2
    );
}

/// An instance lifecycle policy that retains (issue 30 item 6): a termination lifecycle action
/// that times out into ABANDON leaves the instance at `Terminating:Retained`, out of the group's
/// capacity (a replacement launches), until TerminateInstanceInAutoScalingGroup; a value AWS
/// does not know is refused.
#[tokio::test]
async fn an_abandoned_termination_hook_retains_the_instance_under_a_retain_policy() {
    use aws_sdk_autoscaling::types::{InstanceLifecyclePolicy, RetentionAction, RetentionTriggers};
    let r = start().await;
    let (group, _) = standard_world(&r, 0, 6, 2).await;
    let asg = asg(&r.url).await;
    let policy = |action: RetentionAction| {
        InstanceLifecyclePolicy::builder()
            .retention_triggers(RetentionTriggers::builder().terminate_hook_abandon(action).build())
            .build()
    };
    let refused = asg
        .update_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .instance_lifecycle_policy(policy(RetentionAction::from("keep")))
        .send()
        .await
        .expect_err("not a retention action");
    assert_eq!(refused.into_service_error().meta().code(), Some("ValidationError"));
    asg.update_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .instance_lifecycle_policy(policy(RetentionAction::Retain))
        .send()
        .await
        .expect("policy");
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("group");
    let kept = g.auto_scaling_groups()[0]
        .instance_lifecycle_policy()
        .and_then(|p| p.retention_triggers())
        .and_then(|t| t.terminate_hook_abandon());
    assert_eq!(kept, Some(&RetentionAction::Retain));
    asg.put_lifecycle_hook()
        .auto_scaling_group_name(&group)
        .lifecycle_hook_name("drain")
        .lifecycle_transition("autoscaling:EC2_INSTANCE_TERMINATING")
        .heartbeat_timeout(60)
        .default_result("ABANDON")
        .send()
        .await
        .expect("hook");
    let victim = states(&asg, &group).await[0].0.clone();
    asg.terminate_instance_in_auto_scaling_group()
        .instance_id(&victim)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .expect("terminate");
    // Deregistration (60 s) then the hook's heartbeat timeout (60 s).
    advance(&r.fake, 150);
    let s = states(&asg, &group).await;
    assert!(
        s.iter().any(|x| x.0 == victim && x.2 == "Terminating:Retained"),
        "{s:?}"
    );
    let serving = s.iter().filter(|x| x.0 != victim && x.2 == "InService").count();
    assert_eq!(serving, 2, "a replacement keeps the desired capacity: {s:?}");
    asg.terminate_instance_in_auto_scaling_group()
        .instance_id(&victim)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .expect("terminate the retained one");
    let s = states(&asg, &group).await;
    assert!(!s.iter().any(|x| x.0 == victim), "{s:?}");
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("group");
    assert_eq!(g.auto_scaling_groups()[0].desired_capacity(), Some(2));
}

async fn metadata(url: &str, id: &str, path: &str) -> (u16, String) {
    let token = imds_token(url, id).await;
    let (s, _, body) = raw_http(
        url,
        "GET",
        &format!("/_imds/{id}/latest/meta-data/{path}"),
        "",
        &[("x-aws-ec2-metadata-token", &token)],
    )
    .await;
    (s, body)
}

/// Issue 30 (Capacity Rebalancing): CapacityRebalance set and described back; a rebalance
/// recommendation shows in the instance's metadata, the group launches the replacement first and
/// terminates the at-risk instance only once the replacement is in service and healthy; an
/// interruption notice shows `spot/instance-action` two minutes ahead.
#[tokio::test]
async fn capacity_rebalancing_replaces_an_at_risk_instance_before_terminating_it() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 6, 3).await;
    let asg = asg(&r.url).await;
    asg.update_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .capacity_rebalance(true)
        .send()
        .await
        .expect("update");
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("describe");
    assert_eq!(g.auto_scaling_groups()[0].capacity_rebalance(), Some(true));
    let ids: Vec<String> = states(&asg, &group).await.into_iter().map(|s| s.0).collect();
    let at_risk = ids[0].clone();
    assert_eq!(
        metadata(&r.url, &at_risk, "events/recommendations/rebalance").await.0,
        404
    );
    assert_eq!(metadata(&r.url, &at_risk, "instance-life-cycle").await.1, "on-demand");
    r.fake
        .rehearsal()
        .rebalance_recommendation(&at_risk)
        .expect("recommendation");
    let (s, body) = metadata(&r.url, &at_risk, "events/recommendations/rebalance").await;
    assert_eq!(s, 200);
    assert!(
        body.starts_with("{\"noticeTime\": \"") && body.ends_with("Z\"}"),
        "{body}"
    );
    assert_eq!(metadata(&r.url, &at_risk, "instance-life-cycle").await.1, "spot");
    // The replacement launches while the at-risk instance still serves.
    let now = states(&asg, &group).await;
    assert_eq!(now.len(), 4, "{now:?}");
    assert!(
        now.iter().any(|(id, _, s)| id == &at_risk && s == "InService"),
        "{now:?}"
    );
    let mut terminated_while_replacement_pending = false;
    for _ in 0..60 {
        advance(&r.fake, 10);
        let now = states(&asg, &group).await;
        let leaving = now
            .iter()
            .any(|(id, _, s)| id == &at_risk && s.starts_with("Terminating"));
        let pending = now.iter().any(|(_, _, s)| s.starts_with("Pending"));
        terminated_while_replacement_pending |= leaving && pending;
    }
    assert!(!terminated_while_replacement_pending);
    let end = states(&asg, &group).await;
    assert!(end.iter().all(|(id, _, _)| id != &at_risk), "{end:?}");
    assert_eq!(end.iter().filter(|(_, _, s)| s == "InService").count(), 3, "{end:?}");

    // An interruption notice: two minutes' warning in the metadata.
    let next = end[0].0.clone();
    assert_eq!(metadata(&r.url, &next, "spot/instance-action").await.0, 404);
    r.fake.rehearsal().spot_interruption(&next).expect("interruption");
    let (s, body) = metadata(&r.url, &next, "spot/instance-action").await;
    assert_eq!(s, 200);
    assert!(body.starts_with("{\"action\": \"terminate\", \"time\": \""), "{body}");
    let (s, time) = metadata(&r.url, &next, "spot/termination-time").await;
    assert_eq!(s, 200);
    assert!(body.contains(&time), "{body} {time}");
    let e = r
        .fake
        .rehearsal()
        .rebalance_recommendation("i-0000000000000dead")
        .expect_err("no such");
    assert_eq!(e.code, "ValidationError");
}
