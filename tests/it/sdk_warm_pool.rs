//! Warm pools (issue 30 item 1) through the real `aws-sdk-autoscaling` client: the pool filled
//! beside the group (not among its instances), its launch hook's `Warmed:Pending:Wait`, a
//! scale-out taking a warmed instance (held again at `Pending:Wait`), the pool refilled, a
//! scale-in returning an instance with `ReuseOnScaleIn`, the metadata's target lifecycle state,
//! DeleteWarmPool refused and forced, AWS's constraints.

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{InstanceReusePolicy, LifecycleState, WarmPoolState};

use crate::sdk_autoscaling::states;
use crate::util::*;

/// The pool's instances: (id, lifecycle state), and the configuration's MinSize.
async fn pool(asg: &aws_sdk_autoscaling::Client, group: &str) -> (Vec<(String, String)>, Option<i32>) {
    let out = asg
        .describe_warm_pool()
        .auto_scaling_group_name(group)
        .send()
        .await
        .expect("describe warm pool");
    let instances = out
        .instances()
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.lifecycle_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
            )
        })
        .collect();
    (instances, out.warm_pool_configuration().and_then(|c| c.min_size()))
}

#[tokio::test]
async fn a_scale_out_takes_a_warmed_instance_and_the_pool_refills() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 4, 2).await;
    let asg = asg(&r.url).await;
    asg.put_lifecycle_hook()
        .auto_scaling_group_name(&group)
        .lifecycle_hook_name("launch")
        .lifecycle_transition("autoscaling:EC2_INSTANCE_LAUNCHING")
        .heartbeat_timeout(300)
        .default_result("ABANDON")
        .send()
        .await
        .expect("hook");
    // MaxGroupPreparedCapacity 3 with 2 desired: a pool of one, but MinSize 2 keeps two.
    asg.put_warm_pool()
        .auto_scaling_group_name(&group)
        .max_group_prepared_capacity(3)
        .min_size(2)
        .pool_state(WarmPoolState::Stopped)
        .send()
        .await
        .expect("put warm pool");
    let (warm, min) = pool(&asg, &group).await;
    assert_eq!(min, Some(2));
    assert_eq!(warm.len(), 2, "{warm:?}");
    assert!(warm.iter().all(|(_, s)| s == "Warmed:Pending"), "{warm:?}");
    // Not among the group's instances; the group says how big its pool is.
    let g = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .expect("describe")
        .auto_scaling_groups()[0]
        .clone();
    assert_eq!(g.instances().len(), 2);
    assert_eq!(g.warm_pool_size(), Some(2));
    let conf = g.warm_pool_configuration().expect("configuration");
    assert_eq!(conf.max_group_prepared_capacity(), Some(3));
    assert_eq!(conf.pool_state(), Some(&WarmPoolState::Stopped));
    // Booted: the launch hook holds each at Warmed:Pending:Wait; CONTINUE stops it in the pool.
    advance(&r.fake, 30);
    let (warm, _) = pool(&asg, &group).await;
    assert!(warm.iter().all(|(_, s)| s == "Warmed:Pending:Wait"), "{warm:?}");
    let imds = aws_config::imds::Client::builder()
        .endpoint(r.fake.imds_endpoint(&warm[0].0))
        .expect("endpoint")
        .build();
    let target = imds
        .get("/latest/meta-data/autoscaling/target-lifecycle-state")
        .await
        .expect("target state");
    assert_eq!(target.as_ref(), "Warmed:Stopped");
    for (id, _) in &warm {
        asg.complete_lifecycle_action()
            .auto_scaling_group_name(&group)
            .lifecycle_hook_name("launch")
            .instance_id(id)
            .lifecycle_action_result("CONTINUE")
            .send()
            .await
            .expect("continue");
    }
    let (rested, _) = pool(&asg, &group).await;
    assert!(rested.iter().all(|(_, s)| s == "Warmed:Stopped"), "{rested:?}");
    let seen = asg
        .describe_auto_scaling_instances()
        .instance_ids(&warm[0].0)
        .send()
        .await
        .expect("dasi");
    assert_eq!(
        seen.auto_scaling_instances()[0].lifecycle_state(),
        Some("Warmed:Stopped")
    );

    // A scale-out takes a warmed instance: same id, now a member, held by the hook again.
    asg.set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(3)
        .send()
        .await
        .expect("scale out");
    let members = states(&asg, &group).await;
    let taken: Vec<&(String, String, String)> = members
        .iter()
        .filter(|(id, _, _)| warm.iter().any(|(w, _)| w == id))
        .collect();
    assert_eq!(taken.len(), 1, "{members:?}");
    assert_eq!(taken[0].2, "Pending");
    let acts = asg
        .describe_scaling_activities()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("activities");
    assert!(
        acts.activities().iter().any(|a| a.description()
            == Some(format!("Launching a new EC2 instance from warm pool: {}", taken[0].0).as_str())),
        "{acts:?}"
    );
    advance(&r.fake, 30);
    let id = taken[0].0.clone();
    let members = states(&asg, &group).await;
    assert!(
        members.iter().any(|(m, _, s)| m == &id && s == "Pending:Wait"),
        "{members:?}"
    );
    let target = aws_config::imds::Client::builder()
        .endpoint(r.fake.imds_endpoint(&id))
        .expect("endpoint")
        .build()
        .get("/latest/meta-data/autoscaling/target-lifecycle-state")
        .await
        .expect("target state");
    assert_eq!(target.as_ref(), "InService");
    asg.complete_lifecycle_action()
        .auto_scaling_group_name(&group)
        .lifecycle_hook_name("launch")
        .instance_id(&id)
        .lifecycle_action_result("CONTINUE")
        .send()
        .await
        .expect("continue");
    assert!(states(&asg, &group)
        .await
        .iter()
        .any(|(m, _, s)| m == &id && s == "InService"));
    // The pool keeps MinSize 2: one new instance launched into it.
    let (refilled, _) = pool(&asg, &group).await;
    assert_eq!(refilled.len(), 2, "{refilled:?}");
    assert!(
        refilled
            .iter()
            .any(|(w, s)| !warm.iter().any(|(o, _)| o == w) && s == "Warmed:Pending:Wait"),
        "{refilled:?}"
    );
}

#[tokio::test]
async fn reuse_on_scale_in_returns_the_instance_to_the_pool_after_draining() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 4, 3).await;
    let asg = asg(&r.url).await;
    asg.put_warm_pool()
        .auto_scaling_group_name(&group)
        .max_group_prepared_capacity(3)
        .instance_reuse_policy(InstanceReusePolicy::builder().reuse_on_scale_in(true).build())
        .pool_state(WarmPoolState::Running)
        .send()
        .await
        .expect("put warm pool");
    // Prepared capacity 3 and 3 desired: an empty pool.
    assert!(pool(&asg, &group).await.0.is_empty());
    asg.set_desired_capacity()
        .auto_scaling_group_name(&group)
        .desired_capacity(2)
        .send()
        .await
        .expect("scale in");
    let (back, _) = pool(&asg, &group).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].1, "Warmed:Pending", "draining first");
    assert_eq!(states(&asg, &group).await.len(), 2);
    // The target group's 60 s deregistration delay, then at rest, running.
    advance(&r.fake, 61);
    assert_eq!(
        pool(&asg, &group).await.0,
        vec![(back[0].0.clone(), "Warmed:Running".to_string())]
    );
    let seen = asg
        .describe_auto_scaling_instances()
        .instance_ids(&back[0].0)
        .send()
        .await
        .expect("dasi");
    assert_eq!(
        seen.auto_scaling_instances()[0].lifecycle_state(),
        Some(LifecycleState::WarmedRunning.as_str())
    );
}

#[tokio::test]
async fn delete_warm_pool_is_refused_with_instances_unless_forced_and_bad_values_are_named() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 4, 2).await;
    let asg = asg(&r.url).await;
    let e = asg
        .put_warm_pool()
        .auto_scaling_group_name(&group)
        .min_size(-1)
        .send()
        .await
        .expect_err("negative MinSize");
    assert_eq!(e.code(), Some("ValidationError"));
    assert_eq!(
        e.message(),
        Some("1 validation error detected: Value '-1' at 'minSize' failed to satisfy constraint: Member must have value greater than or equal to 0")
    );
    let e = asg
        .put_warm_pool()
        .auto_scaling_group_name(&group)
        .pool_state(WarmPoolState::from("Frozen"))
        .send()
        .await
        .expect_err("unknown state");
    assert!(
        e.message()
            .unwrap_or_default()
            .contains("[Hibernated, Running, Stopped]"),
        "{e:?}"
    );
    let e = asg
        .delete_warm_pool()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect_err("no pool");
    assert_eq!(e.message(), Some("No warm pool found for Auto Scaling group web-asg."));
    asg.put_warm_pool()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("put warm pool");
    // MaxSize 4 less 2 desired.
    assert_eq!(pool(&asg, &group).await.0.len(), 2);
    let e = asg
        .delete_warm_pool()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect_err("instances in the pool");
    assert_eq!(e.code(), Some("ResourceInUse"));
    asg.delete_warm_pool()
        .auto_scaling_group_name(&group)
        .force_delete(true)
        .send()
        .await
        .expect("forced");
    let out = asg
        .describe_warm_pool()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("describe");
    assert!(out.warm_pool_configuration().is_none());
    assert!(out.instances().is_empty());
}

#[tokio::test]
async fn a_forced_group_delete_takes_its_warm_pool_with_it() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 4, 2).await;
    let asg = asg(&r.url).await;
    asg.put_warm_pool()
        .auto_scaling_group_name(&group)
        .send()
        .await
        .expect("put warm pool");
    let (warm, _) = pool(&asg, &group).await;
    assert_eq!(warm.len(), 2);
    asg.delete_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .force_delete(true)
        .send()
        .await
        .expect("forced delete");
    let left = asg.describe_auto_scaling_instances().send().await.expect("dasi");
    assert!(left.auto_scaling_instances().is_empty(), "{left:?}");
}
