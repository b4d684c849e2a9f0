//! Issue 30 item 1: CodeDeploy deploys to an instance held at `Warmed:Pending:Wait` as it enters
//! a warm pool. Deregister and register find it in the pool and change nothing: no Standby, no
//! processes, no load balancer, no tags; Auto Scaling registers it when it leaves the pool.

use crate::util::*;

#[tokio::test]
async fn an_instance_entering_the_warm_pool_is_left_alone() {
    let env = Env::new().await;
    env.asg_world_unsettled(
        1,
        3,
        2,
        "lifecycle_hooks = [{ name = \"launch\", transition = \"launching\", heartbeat_timeout = 600 }]\nwarm_pool = { min_size = 1 }",
    );
    env.settle(40);
    let warm = env.fake().world().groups()["web-asg"].warm.clone();
    assert_eq!(warm.len(), 1, "{warm:?}");
    let id = warm[0].clone();
    assert_eq!(env.lifecycle(&id), "Warmed:Pending:Wait");
    let before = env.fake().metrics.call_counts();
    for hook in [DEREGISTER, REGISTER] {
        let out = env.run(hook, &id).await;
        assert_eq!(out.code, 0, "{hook}:\n{}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("warm pool"), "{hook}:\n{}", out.stdout);
    }
    let calls = env.fake().metrics.call_counts();
    let made: Vec<&String> = calls
        .iter()
        .filter(|(k, v)| before.get(*k).copied().unwrap_or(0) < **v)
        .map(|(k, _)| k)
        .collect();
    assert!(made.iter().all(|k| k.contains(":Describe")), "only reads: {made:?}");
    assert_eq!(env.lifecycle(&id), "Warmed:Pending:Wait");
    assert!(env.suspended("web-asg").is_empty());
    assert!(env.tags("web-asg").is_empty(), "{:?}", env.tags("web-asg"));
}
