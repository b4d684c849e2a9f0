//! Auto Scaling actions through the real `aws-sdk-autoscaling` client.

use crate::util::*;

pub(crate) async fn states(asg: &aws_sdk_autoscaling::Client, group: &str) -> Vec<(String, String, String)> {
    let out = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .expect("describe");
    out.auto_scaling_groups()[0]
        .instances()
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.availability_zone().unwrap_or_default().to_string(),
                i.lifecycle_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn create_launches_balanced_and_registers() {
    let r = start().await;
    let (group, tg) = standard_world(&r, 1, 6, 4).await;
    let asg = asg(&r.url).await;
    let elb = elb(&r.url).await;
    let s = states(&asg, &group).await;
    assert_eq!(s.len(), 4);
    assert_eq!(s.iter().filter(|x| x.1 == "us-east-1a").count(), 2);
    assert!(s.iter().all(|x| x.2 == "InService"), "{s:?}");
    let health = elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .expect("health");
    let descs = health.target_health_descriptions();
    assert_eq!(descs.len(), 4);
    for d in descs {
        assert_eq!(
            d.target_health().and_then(|h| h.state()).map(|s| s.as_str()),
            Some("healthy")
        );
    }
    let inst = asg
        .describe_auto_scaling_instances()
        .instance_ids(&s[0].0)
        .send()
        .await
        .expect("instances");
    let i = &inst.auto_scaling_instances()[0];
    assert_eq!(i.auto_scaling_group_name(), Some("web-asg"));
    assert_eq!(i.health_status(), Some("HEALTHY"));
    let acts = asg
        .describe_scaling_activities()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("acts");
    assert_eq!(acts.activities().len(), 4);
    assert!(acts.activities()[0]
        .description()
        .unwrap_or_default()
        .starts_with("Launching a new EC2 instance: i-"));
    assert!(acts.activities()[0].start_time().is_some());
}

/// `IncludeInstances=false` (AWS's answer to throttling on large groups): the group's settings,
/// none of its members; the default still lists them. boto3 sends the same parameter.
#[tokio::test(flavor = "multi_thread")]
async fn a_group_can_be_described_without_its_instances() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 6, 4).await;
    let asg = asg(&r.url).await;
    let read = |with: Option<bool>| {
        asg.describe_auto_scaling_groups()
            .auto_scaling_group_names(&group)
            .set_include_instances(with)
            .send()
    };
    let without = read(Some(false)).await.expect("describe");
    let g = &without.auto_scaling_groups()[0];
    assert_eq!((g.min_size(), g.desired_capacity()), (Some(1), Some(4)));
    assert!(g.instances().is_empty());
    assert_eq!(
        read(None).await.expect("describe").auto_scaling_groups()[0]
            .instances()
            .len(),
        4
    );
    assert_eq!(
        read(Some(true)).await.expect("describe").auto_scaling_groups()[0]
            .instances()
            .len(),
        4
    );
    let url = r.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        crate::botocore::boto3(
            &url,
            "import boto3, json\nc = boto3.client('autoscaling')\ng = c.describe_auto_scaling_groups(AutoScalingGroupNames=['web-asg'], IncludeInstances=False)['AutoScalingGroups'][0]\nprint(json.dumps([g['DesiredCapacity'], len(g.get('Instances', []))]))\n",
            &[],
        )
    })
    .await
    .expect("boto3");
    assert_eq!(out, serde_json::json!([4, 0]));
}

#[tokio::test]
async fn size_validation_uses_aws_messages() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 3, 2).await;
    let asg = asg(&r.url).await;
    let err = asg
        .set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(4)
        .send()
        .await
        .unwrap_err();
    let e = err.into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationError"));
    assert_eq!(
        e.meta().message(),
        Some("New SetDesiredCapacity value 4 is above max value 3 for the AutoScalingGroup.")
    );
    let err = asg
        .update_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .min_size(4)
        .max_size(10)
        .desired_capacity(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().message(),
        Some("Desired capacity:2 must be between the specified min size:4 and max size:10")
    );
    let err = asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("nope")
        .min_size(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().message(),
        Some("AutoScalingGroup name not found - nope")
    );
    // Raising min alone drags desired along, as AWS does.
    asg.update_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .min_size(3)
        .send()
        .await
        .expect("update");
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("describe");
    assert_eq!(g.auto_scaling_groups()[0].desired_capacity(), Some(3));
}

#[tokio::test]
async fn standby_round_trip_drains_and_comes_back_healthy() {
    let r = start().await;
    let (group, tg) = standard_world(&r, 1, 3, 2).await;
    let asg = asg(&r.url).await;
    let elb = elb(&r.url).await;
    let id = states(&asg, &group).await[0].0.clone();
    let out = asg
        .enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("enter standby");
    assert_eq!(
        out.activities()[0].description(),
        Some(format!("Moving EC2 instance to Standby: {id}").as_str())
    );
    let st = asg
        .describe_auto_scaling_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("d");
    assert_eq!(
        st.auto_scaling_instances()[0].lifecycle_state(),
        Some("EnteringStandby")
    );
    let h = elb
        .describe_target_health()
        .target_group_arn(&tg)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&id)
                .build(),
        )
        .send()
        .await
        .expect("health");
    let th = h.target_health_descriptions()[0].target_health().expect("th");
    assert_eq!(th.state().map(|s| s.as_str()), Some("draining"));
    assert_eq!(th.reason().map(|s| s.as_str()), Some("Target.DeregistrationInProgress"));
    // Deregistration delay is 60 s in the standard world.
    advance(&r.fake, 59);
    let st = asg
        .describe_auto_scaling_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("d");
    assert_eq!(
        st.auto_scaling_instances()[0].lifecycle_state(),
        Some("EnteringStandby")
    );
    advance(&r.fake, 1);
    let st = asg
        .describe_auto_scaling_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("d");
    assert_eq!(st.auto_scaling_instances()[0].lifecycle_state(), Some("Standby"));
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("g");
    assert_eq!(g.auto_scaling_groups()[0].desired_capacity(), Some(1));
    let h = elb
        .describe_target_health()
        .target_group_arn(&tg)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&id)
                .build(),
        )
        .send()
        .await
        .expect("health");
    let th = h.target_health_descriptions()[0].target_health().expect("th");
    assert_eq!(th.state().map(|s| s.as_str()), Some("unused"));
    assert_eq!(th.reason().map(|s| s.as_str()), Some("Target.NotRegistered"));

    // Standby instances cannot enter standby again.
    let err = asg
        .enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().message(),
        Some(format!("The instance {id} is not in InService.").as_str())
    );

    asg.exit_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .send()
        .await
        .expect("exit");
    let st = asg
        .describe_auto_scaling_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("d");
    assert_eq!(st.auto_scaling_instances()[0].lifecycle_state(), Some("Pending"));
    advance(&r.fake, 2);
    let st = asg
        .describe_auto_scaling_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("d");
    assert_eq!(st.auto_scaling_instances()[0].lifecycle_state(), Some("InService"));
    let health = |h: aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput| {
        h.target_health_descriptions()[0]
            .target_health()
            .and_then(|t| t.state())
            .map(|s| s.as_str().to_string())
    };
    let h = elb
        .describe_target_health()
        .target_group_arn(&tg)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&id)
                .build(),
        )
        .send()
        .await
        .expect("h");
    assert_eq!(health(h).as_deref(), Some("initial"));
    advance(&r.fake, 30);
    let h = elb
        .describe_target_health()
        .target_group_arn(&tg)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&id)
                .build(),
        )
        .send()
        .await
        .expect("h");
    assert_eq!(health(h).as_deref(), Some("healthy"));
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("g");
    assert_eq!(g.auto_scaling_groups()[0].desired_capacity(), Some(2));
}

#[tokio::test]
async fn standby_with_decrement_refused_at_min_and_without_decrement_replaces() {
    let r = start().await;
    let (group, _) = standard_world(&r, 2, 4, 2).await;
    let asg = asg(&r.url).await;
    let id = states(&asg, &group).await[0].0.clone();
    let err = asg
        .enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().message(),
        Some("AutoScalingGroup web-asg has min-size=2, max-size=4, and desired-size=2. To place into standby 1 instances, please update the AutoScalingGroup sizes appropriately.")
    );
    asg.enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .expect("standby without decrement");
    let s = states(&asg, &group).await;
    assert_eq!(s.len(), 3, "a replacement was launched: {s:?}");
    assert!(s.iter().any(|x| x.2 == "Pending"));
}

#[tokio::test]
async fn exit_standby_refused_above_max() {
    let r = start().await;
    let (group, _) = standard_world(&r, 0, 2, 2).await;
    let asg = asg(&r.url).await;
    let id = states(&asg, &group).await[0].0.clone();
    asg.enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("standby");
    advance(&r.fake, 60);
    asg.set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(2)
        .send()
        .await
        .expect("desired");
    let err = asg
        .exit_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .send()
        .await
        .unwrap_err();
    let e = err.into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationError"));
    assert!(e.meta().message().unwrap_or_default().contains("max size 2"), "{e:?}");
}

#[tokio::test]
async fn suspended_processes_really_suspend() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 5, 2).await;
    let asg = asg(&r.url).await;
    asg.suspend_processes()
        .auto_scaling_group_name(&group)
        .scaling_processes("Launch")
        .scaling_processes("Terminate")
        .send()
        .await
        .expect("suspend");
    asg.set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(4)
        .send()
        .await
        .expect("desired");
    advance(&r.fake, 60);
    assert_eq!(states(&asg, &group).await.len(), 2, "Launch is suspended");
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("g");
    let names: Vec<&str> = g.auto_scaling_groups()[0]
        .suspended_processes()
        .iter()
        .filter_map(|p| p.process_name())
        .collect();
    assert_eq!(names, vec!["Launch", "Terminate"]);
    let err = asg
        .suspend_processes()
        .auto_scaling_group_name(&group)
        .scaling_processes("Lunch")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .into_service_error()
        .meta()
        .message()
        .unwrap_or_default()
        .contains("Lunch"));
    asg.resume_processes()
        .auto_scaling_group_name(&group)
        .scaling_processes("Launch")
        .send()
        .await
        .expect("resume");
    assert_eq!(states(&asg, &group).await.len(), 4, "Launch resumed");
    // Resume with an empty list resumes everything.
    asg.resume_processes()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("resume all");
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("g");
    assert!(g.auto_scaling_groups()[0].suspended_processes().is_empty());
}

#[tokio::test]
async fn scale_in_takes_from_the_most_loaded_zone() {
    let r = start().await;
    let (group, _) = standard_world(&r, 0, 6, 3).await;
    let asg = asg(&r.url).await;
    let before = states(&asg, &group).await;
    assert_eq!(before.iter().filter(|x| x.1 == "us-east-1a").count(), 2);
    asg.set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(2)
        .send()
        .await
        .expect("desired");
    let after = states(&asg, &group).await;
    let terminating: Vec<_> = after.iter().filter(|x| x.2 == "Terminating").collect();
    assert_eq!(terminating.len(), 1);
    assert_eq!(terminating[0].1, "us-east-1a");
    advance(&r.fake, 60);
    let after = states(&asg, &group).await;
    assert_eq!(after.len(), 2);
    assert_eq!(after.iter().filter(|x| x.1 == "us-east-1a").count(), 1);
}

#[tokio::test]
async fn az_rebalance_launches_then_terminates_unless_suspended() {
    for suspended in [false, true] {
        let r = start().await;
        let (group, _) = standard_world(&r, 0, 6, 4).await;
        let asg = asg(&r.url).await;
        if suspended {
            asg.suspend_processes()
                .auto_scaling_group_name(&group)
                .scaling_processes("AZRebalance")
                .send()
                .await
                .expect("s");
        }
        // A third zone makes the group unbalanced (2/2/0).
        asg.update_auto_scaling_group()
            .auto_scaling_group_name(&group)
            .availability_zones("us-east-1a")
            .availability_zones("us-east-1b")
            .availability_zones("us-east-1c")
            .send()
            .await
            .expect("update");
        advance(&r.fake, 200);
        let s = states(&asg, &group).await;
        let in_c = s.iter().filter(|x| x.1 == "us-east-1c").count();
        assert_eq!(s.len(), 4, "{s:?}");
        if suspended {
            assert_eq!(in_c, 0);
        } else {
            assert_eq!(in_c, 1, "{s:?}");
            let acts = asg
                .describe_scaling_activities()
                .auto_scaling_group_name(&group)
                .send()
                .await
                .expect("a");
            let descs: Vec<&str> = acts.activities().iter().filter_map(|a| a.description()).collect();
            assert!(descs[0].starts_with("Terminating EC2 instance"), "{descs:?}");
            assert!(descs[1].starts_with("Launching a new EC2 instance"), "{descs:?}");
        }
    }
}

#[tokio::test]
async fn elb_health_check_replaces_unhealthy_instances() {
    let r = start().await;
    let (group, _) = standard_world(&r, 2, 4, 2).await;
    let asg = asg(&r.url).await;
    let id = states(&asg, &group).await[0].0.clone();
    r.fake.world().set_app(&id, false).expect("app down");
    advance(&r.fake, 20);
    let s = states(&asg, &group).await;
    assert!(s.iter().any(|x| x.0 == id && x.2 == "Terminating"), "{s:?}");
    assert_eq!(s.iter().filter(|x| x.2 == "Pending").count(), 1);
}

#[tokio::test]
async fn terminate_and_set_instance_health() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 4, 3).await;
    let asg = asg(&r.url).await;
    let ids: Vec<String> = states(&asg, &group).await.into_iter().map(|x| x.0).collect();
    let out = asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(&ids[0])
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("terminate");
    assert_eq!(
        out.activity().and_then(|a| a.description()),
        Some(format!("Terminating EC2 instance: {}", ids[0]).as_str())
    );
    asg.set_instance_health()
        .instance_id(&ids[1])
        .health_status("Unhealthy")
        .send()
        .await
        .expect("health");
    let s = states(&asg, &group).await;
    assert!(s.iter().any(|x| x.0 == ids[1] && x.2 == "Terminating"));
    let err = asg
        .set_instance_health()
        .instance_id(&ids[1])
        .health_status("Meh")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .into_service_error()
        .meta()
        .message()
        .unwrap_or_default()
        .contains("HealthStatus"));
    advance(&r.fake, 100);
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("g");
    assert_eq!(g.auto_scaling_groups()[0].desired_capacity(), Some(2));
    assert_eq!(states(&asg, &group).await.len(), 2);
}

#[tokio::test]
async fn launch_lifecycle_hook_holds_instances_until_completed_or_timed_out() {
    let r = start().await;
    let (group, _) = standard_world(&r, 0, 6, 1).await;
    let asg = asg(&r.url).await;
    asg.put_lifecycle_hook()
        .auto_scaling_group_name(&group)
        .lifecycle_hook_name("deploy")
        .lifecycle_transition("autoscaling:EC2_INSTANCE_LAUNCHING")
        .heartbeat_timeout(600)
        .default_result("ABANDON")
        .send()
        .await
        .expect("hook");
    let hooks = asg
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("hooks");
    assert_eq!(hooks.lifecycle_hooks()[0].heartbeat_timeout(), Some(600));
    asg.set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(3)
        .send()
        .await
        .expect("scale out");
    advance(&r.fake, 30);
    let waiting: Vec<String> = states(&asg, &group)
        .await
        .into_iter()
        .filter(|x| x.2 == "Pending:Wait")
        .map(|x| x.0)
        .collect();
    assert_eq!(waiting.len(), 2);
    asg.complete_lifecycle_action()
        .auto_scaling_group_name(&group)
        .lifecycle_hook_name("deploy")
        .instance_id(&waiting[0])
        .lifecycle_action_result("CONTINUE")
        .send()
        .await
        .expect("complete");
    // The other one gets heartbeats and then times out into ABANDON.
    advance(&r.fake, 500);
    asg.record_lifecycle_action_heartbeat()
        .auto_scaling_group_name(&group)
        .lifecycle_hook_name("deploy")
        .instance_id(&waiting[1])
        .send()
        .await
        .expect("heartbeat");
    advance(&r.fake, 500);
    let s = states(&asg, &group).await;
    assert!(s.iter().any(|x| x.0 == waiting[0] && x.2 == "InService"), "{s:?}");
    assert!(s.iter().any(|x| x.0 == waiting[1] && x.2 == "Pending:Wait"), "{s:?}");
    advance(&r.fake, 100);
    let s = states(&asg, &group).await;
    assert!(!s.iter().any(|x| x.0 == waiting[1] && x.2 == "Pending:Wait"), "{s:?}");
    let err = asg
        .complete_lifecycle_action()
        .auto_scaling_group_name(&group)
        .lifecycle_hook_name("deploy")
        .instance_id(&waiting[0])
        .lifecycle_action_result("CONTINUE")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .into_service_error()
        .meta()
        .message()
        .unwrap_or_default()
        .contains("No active Lifecycle Action"));
}

#[tokio::test]
async fn attach_detach_target_groups_and_delete() {
    let r = start().await;
    let (group, tg) = standard_world(&r, 0, 3, 2).await;
    let asg = asg(&r.url).await;
    let elb = elb(&r.url).await;
    let out = asg
        .describe_load_balancer_target_groups()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("d");
    assert_eq!(
        out.load_balancer_target_groups()[0].load_balancer_target_group_arn(),
        Some(tg.as_str())
    );
    asg.detach_load_balancer_target_groups()
        .auto_scaling_group_name(&group)
        .target_group_arns(&tg)
        .send()
        .await
        .expect("detach");
    let h = elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .expect("h");
    assert!(h.target_health_descriptions().iter().all(|d| d
        .target_health()
        .and_then(|t| t.state())
        .map(|s| s.as_str())
        == Some("draining")));
    asg.attach_load_balancer_target_groups()
        .auto_scaling_group_name(&group)
        .target_group_arns(&tg)
        .send()
        .await
        .expect("attach");
    let err = asg
        .delete_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("ResourceInUse"));
    asg.delete_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .force_delete(true)
        .send()
        .await
        .expect("delete");
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("g");
    assert!(g.auto_scaling_groups().is_empty());
}
