//! Classic Load Balancers: names, `_all_`, `_any_`, connection draining, and the ASG path.

use crate::util::*;

const WORLD: &str = r#"
[[classic_load_balancers]]
name = "old-web"
connection_draining = 90
health_check = { target = "HTTP:80/", interval = 10, timeout = 5, healthy_threshold = 3, unhealthy_threshold = 2 }

[[classic_load_balancers]]
name = "old-api"
health_check = { target = "TCP:80", interval = 5, timeout = 2, healthy_threshold = 2, unhealthy_threshold = 2 }

[[instances]]
availability_zone = "us-east-1a"
load_balancers = ["old-web", "old-api"]

[[instances]]
availability_zone = "us-east-1b"
"#;

fn classic_state(env: &Env, lb: &str, id: &str) -> String {
    let w = env.fake().world();
    match w.classic()[lb].members.iter().find(|m| m.id == id) {
        None => "OutOfService".into(),
        Some(m) if m.draining_until_ms.is_some() => "draining".into(),
        Some(m) if m.in_service => "InService".into(),
        Some(_) => "OutOfService".into(),
    }
}

#[tokio::test]
async fn all_waits_out_connection_draining_and_comes_back_in_service() {
    let mut env = Env::new().await;
    let ids = env.apply(WORLD);
    env.settle(60);
    let id = ids[0].clone();
    assert_eq!(classic_state(&env, "old-web", &id), "InService");
    env.extra.push(("ELB_HOOKS_LOAD_BALANCERS".into(), "_all_".into()));
    let start = env.fake().clock.now_ms();
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    let took = (env.fake().clock.now_ms() - start) / 1000;
    assert!(
        (90..100).contains(&took),
        "draining 90 s bounds the wait, took {took}s:\n{}",
        out.stdout
    );
    assert_eq!(classic_state(&env, "old-web", &id), "OutOfService");
    assert_eq!(classic_state(&env, "old-api", &id), "OutOfService");
    let state = std::fs::read_to_string(env.state_file(&id)).expect("state");
    assert!(state.contains("old-web") && state.contains("old-api"), "{state}");
    env.run(REGISTER, &id).await.ok();
    assert_eq!(classic_state(&env, "old-web", &id), "InService");
    assert_eq!(classic_state(&env, "old-api", &id), "InService");
    assert!(!env.state_file(&id).exists());
}

#[tokio::test]
async fn all_with_no_load_balancer_is_refused_any_is_fine() {
    let mut env = Env::new().await;
    let ids = env.apply(WORLD);
    env.settle(60);
    env.extra.push(("ELB_HOOKS_LOAD_BALANCERS".into(), "_all_".into()));
    let out = env.run(DEREGISTER, &ids[1]).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("_any_"), "{}", out.stderr);
    env.extra.clear();
    env.extra.push(("ELB_HOOKS_LOAD_BALANCERS".into(), "_any_".into()));
    let out = env.run(DEREGISTER, &ids[1]).await;
    out.ok();
    assert!(out.stdout.contains("registered with none"), "{}", out.stdout);
    env.run(REGISTER, &ids[1]).await.ok();
}

#[tokio::test]
async fn named_load_balancer_without_draining_is_immediate() {
    let mut env = Env::new().await;
    let ids = env.apply(WORLD);
    env.settle(60);
    env.extra.push(("ELB_HOOKS_LOAD_BALANCERS".into(), "old-api".into()));
    let start = env.fake().clock.now_ms();
    env.run(DEREGISTER, &ids[0]).await.ok();
    assert!(env.fake().clock.now_ms() - start < 10_000);
    assert_eq!(classic_state(&env, "old-api", &ids[0]), "OutOfService");
    assert_eq!(
        classic_state(&env, "old-web", &ids[0]),
        "InService",
        "only the named one"
    );
    env.run(REGISTER, &ids[0]).await.ok();
    assert_eq!(classic_state(&env, "old-api", &ids[0]), "InService");
}

#[tokio::test]
async fn asg_with_a_classic_load_balancer_waits_for_in_service() {
    let env = Env::new().await;
    env.apply(
        r#"
[[classic_load_balancers]]
name = "old-web"
connection_draining = 30
health_check = { target = "HTTP:80/", interval = 10, timeout = 5, healthy_threshold = 3, unhealthy_threshold = 2 }

[[groups]]
name = "g"
min = 2
max = 3
desired = 2
availability_zones = ["us-east-1a", "us-east-1b"]
load_balancers = ["old-web"]
health_check_type = "ELB"
health_check_grace_period = 300
"#,
    );
    env.settle(120);
    let id = env.members("g")[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    assert_eq!(env.lifecycle(&id), "Standby");
    assert_eq!(classic_state(&env, "old-web", &id), "OutOfService");
    let out = env.run(REGISTER, &id).await;
    out.ok();
    assert!(out.stdout.contains("is InService in old-web"), "{}", out.stdout);
    assert_eq!(env.sizes("g"), (2, 2, 3));
}
