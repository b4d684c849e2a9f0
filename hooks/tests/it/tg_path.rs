//! Instances outside any Auto Scaling group: target groups by name, ARN or "all", port override.

use crate::util::*;

const WORLD: &str = r#"
[[target_groups]]
name = "tg-a"
port = 80
deregistration_delay = 120
health_check = { interval = 10, healthy_threshold = 2 }

[[target_groups]]
name = "tg-b"
port = 80
deregistration_delay = 30
health_check = { interval = 5, timeout = 2, healthy_threshold = 3 }

[[load_balancers]]
name = "alb"
listeners = [{ port = 80, target_group = "tg-a" }, { port = 81, target_group = "tg-b" }]

[[instances]]
availability_zone = "us-east-1a"
target_groups = [{ name = "tg-a", port = 8080 }, { name = "tg-b", port = 8080 }]
"#;

#[tokio::test]
async fn two_target_groups_with_a_port_override_in_parallel() {
    let mut env = Env::new().await;
    let id = env.apply(WORLD).remove(0);
    env.settle(60);
    env.extra.push(("ELB_HOOKS_TARGET_GROUPS".into(), "tg-a tg-b".into()));
    env.extra.push(("ELB_HOOKS_PORT".into(), "8080".into()));
    let start = env.fake().clock.now_ms();
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    // Both groups drained at once: the longer delay (120 s) bounds the wait, not 120 + 30.
    let took = (env.fake().clock.now_ms() - start) / 1000;
    assert!((120..150).contains(&took), "took {took}s:\n{}", out.stdout);
    assert_eq!(env.health("tg-a", &id), "unused");
    assert_eq!(env.health("tg-b", &id), "unused");
    let out = env.run(REGISTER, &id).await;
    out.ok();
    assert_eq!(env.health("tg-a", &id), "healthy");
    assert_eq!(env.health("tg-b", &id), "healthy");
    let w = env.fake().world();
    assert!(w
        .target_groups()
        .values()
        .all(|t| t.targets.iter().all(|x| x.port == 8080)));
}

#[tokio::test]
async fn all_groups_the_instance_is_in_are_remembered_between_hooks() {
    let env = Env::new().await;
    let id = env.apply(WORLD).remove(0);
    env.settle(60);
    env.run(DEREGISTER, &id).await.ok();
    assert_eq!(env.health("tg-a", &id), "unused");
    assert_eq!(env.health("tg-b", &id), "unused");
    let state = std::fs::read_to_string(env.state_file(&id)).expect("state");
    assert!(state.contains("targetgroup/tg-a") && state.contains("8080"), "{state}");
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.health("tg-a", &id), "healthy");
    assert_eq!(env.health("tg-b", &id), "healthy");
}

#[tokio::test]
async fn healthy_timeout_follows_the_scripts_formula() {
    let mut env = Env::new().await;
    let id = env.apply(WORLD).remove(0);
    env.settle(60);
    env.extra.push(("ELB_HOOKS_TARGET_GROUPS".into(), "tg-a".into()));
    env.extra.push(("ELB_HOOKS_PORT".into(), "8080".into()));
    env.run(DEREGISTER, &id).await.ok();
    env.fake().world().set_app(&id, false).expect("down");
    let start = env.fake().clock.now_ms();
    let out = env.run(REGISTER, &id).await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    // HealthyThresholdCount x (timeout + interval) + 30 = 2 x (5 + 10) + 30 = 60 s.
    let took = (env.fake().clock.now_ms() - start) / 1000;
    assert!((60..66).contains(&took), "took {took}s");
    assert!(out.stderr.contains("after 60s"), "{}", out.stderr);
    assert!(env.state_file(&id).exists(), "the next run knows what to register");
}

/// Issue 13: the AWS calls of one target-group round trip (deregister then register, one group),
/// within the sample scripts' count for the same path.
#[tokio::test]
async fn a_target_group_round_trip_stays_within_its_call_budget() {
    let mut env = Env::new().await;
    let id = env.apply(WORLD).remove(0);
    env.settle(60);
    env.extra.push(("ELB_HOOKS_TARGET_GROUPS".into(), "tg-a".into()));
    let before: u64 = env.fake().metrics.call_counts().values().sum();
    env.run(DEREGISTER, &id).await.ok();
    env.run(REGISTER, &id).await.ok();
    let calls = env.fake().metrics.call_counts();
    let total: u64 = calls.values().sum::<u64>() - before;
    eprintln!("{total} calls: {calls:?}");
    assert!(total <= 9, "{total} calls: {calls:?}");
}
