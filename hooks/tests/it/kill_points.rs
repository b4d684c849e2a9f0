//! Kill at every call: for each AWS call k a hook makes, the fake holds the k-th call, the hook is
//! SIGKILLed there, and what CodeDeploy runs next (the next deployment's deregister, then its
//! register) must leave the fleet as it was: MinSize original, processes as the operator left
//! them, nothing in Standby, targets healthy, no tags or state left.

use crate::util::*;

/// The four ways the hooks take an instance out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path {
    /// Auto Scaling, process handling on, MinSize below desired.
    Asg,
    /// Auto Scaling with MinSize == DesiredCapacity (MinSize is lowered and restored).
    AsgMinEqualsDesired,
    /// Target groups, outside Auto Scaling.
    TargetGroups,
    /// Classic Load Balancers, outside Auto Scaling.
    Classic,
}

const TG_WORLD: &str = r#"
[[target_groups]]
name = "tg-a"
port = 80
deregistration_delay = 30
health_check = { interval = 10, healthy_threshold = 2 }

[[load_balancers]]
name = "alb"
listeners = [{ port = 80, target_group = "tg-a" }]

[[instances]]
availability_zone = "us-east-1a"
target_groups = [{ name = "tg-a" }]
"#;

const CLASSIC_WORLD: &str = r#"
[[classic_load_balancers]]
name = "old-web"
connection_draining = 20
health_check = { target = "HTTP:80/", interval = 10, timeout = 5, healthy_threshold = 2, unhealthy_threshold = 2 }

[[instances]]
availability_zone = "us-east-1a"
load_balancers = ["old-web"]
"#;

/// A fresh world for `path`; returns the instance the hooks run on.
pub(crate) fn setup(env: &mut Env, path: Path) -> String {
    match path {
        Path::Asg => {
            let g = env.asg_world(1, 4, 2);
            env.members(&g)[0].clone()
        }
        Path::AsgMinEqualsDesired => {
            let g = env.asg_world(2, 4, 2);
            env.members(&g)[0].clone()
        }
        Path::TargetGroups => {
            let id = env.apply(TG_WORLD).remove(0);
            env.settle(60);
            id
        }
        Path::Classic => {
            env.extra.push(("ELB_HOOKS_LOAD_BALANCERS".into(), "_all_".into()));
            let id = env.apply(CLASSIC_WORLD).remove(0);
            env.settle(60);
            id
        }
    }
}

/// The fleet is as it was before any hook ran.
fn assert_converged(env: &Env, path: Path, id: &str, what: &str) {
    match path {
        Path::Asg | Path::AsgMinEqualsDesired => {
            let min = if matches!(path, Path::Asg) { 1 } else { 2 };
            assert_eq!(env.sizes("web-asg"), (min, 2, 4), "{what}: sizes");
            assert!(
                env.suspended("web-asg").is_empty(),
                "{what}: suspended {:?}",
                env.suspended("web-asg")
            );
            assert!(env.tags("web-asg").is_empty(), "{what}: tags {:?}", env.tags("web-asg"));
            assert_eq!(env.lifecycle(id), "InService", "{what}");
            assert_eq!(env.health("web", id), "healthy", "{what}");
        }
        Path::TargetGroups => assert_eq!(env.health("tg-a", id), "healthy", "{what}"),
        Path::Classic => {
            let w = env.fake().world();
            let m = w.classic()["old-web"].members.iter().find(|m| m.id == id);
            assert!(
                m.is_some_and(|m| m.in_service && m.draining_until_ms.is_none()),
                "{what}: not InService in old-web"
            );
        }
    }
    assert!(!env.state_file(id).exists(), "{what}: state file left");
}

/// What CodeDeploy runs next, the next deployment's deregister and register, both succeed and
/// leave the fleet as it was.
pub(crate) async fn next_deployment_converges(env: &mut Env, path: Path, id: &str, what: &str) {
    env.deployment = "d-2".into();
    for hook in [DEREGISTER, REGISTER] {
        let out = env.run(hook, id).await;
        assert_eq!(
            out.code, 0,
            "{what}: next {hook} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
    }
    assert_converged(env, path, id, what);
}

/// Kills `hook` at each of its calls in turn; returns how many kill points there were (each one
/// converged, or the test fails there).
async fn every_kill_point(path: Path, hook: &str) -> usize {
    let name = if hook == DEREGISTER { "deregister" } else { "register" };
    for k in 1.. {
        let mut env = Env::new().await;
        let id = setup(&mut env, path);
        if hook == REGISTER {
            env.run(DEREGISTER, &id).await.ok();
        }
        if !env.kill_at_call(hook, &id, k).await {
            return k - 1;
        }
        let what = format!("{path:?}: {name} killed at call {k}");
        next_deployment_converges(&mut env, path, &id, &what).await;
    }
    unreachable!()
}

async fn both_hooks(path: Path) {
    let de = every_kill_point(path, DEREGISTER).await;
    let re = every_kill_point(path, REGISTER).await;
    eprintln!(
        "{path:?}: {} of {} kill points converge (deregister {de}, register {re})",
        de + re,
        de + re
    );
    // Every hook makes AWS calls on these paths: a count of zero would mean nothing was tested.
    assert!(
        de >= 2 && re >= 2,
        "{path:?}: deregister {de}, register {re} kill points"
    );
}

#[tokio::test]
async fn asg_path_converges_from_every_kill_point() {
    both_hooks(Path::Asg).await;
}

#[tokio::test]
async fn asg_min_equals_desired_converges_from_every_kill_point() {
    both_hooks(Path::AsgMinEqualsDesired).await;
}

#[tokio::test]
async fn target_group_path_converges_from_every_kill_point() {
    both_hooks(Path::TargetGroups).await;
}

#[tokio::test]
async fn classic_path_converges_from_every_kill_point() {
    both_hooks(Path::Classic).await;
}

/// A register killed at its ExitStandby: the state file records the ask, and cannot say whether
/// AWS served it. Killed while the call is held (never served), then again with AWS serving it
/// (its answer lost with the run) and an operator's Standby after: the next deployment reads the
/// group's scaling activities once and brings the hooks' own Standby back, and leaves the
/// operator's to the operator. Before the ask was recorded, the second case undid the operator's
/// Standby (found by explore at depth 2).
#[tokio::test]
async fn a_register_killed_at_its_exit_standby_is_settled_by_the_scaling_activities() {
    for served in [false, true] {
        let mut env = Env::new().await;
        let id = setup(&mut env, Path::Asg);
        env.run(DEREGISTER, &id).await.ok();
        assert!(env.kill_at_call(REGISTER, &id, 1).await, "register makes a first call");
        let what = if served {
            "served, then an operator's Standby"
        } else {
            "never served"
        };
        assert_eq!(
            env.lifecycle(&id),
            "Standby",
            "{what}: the held ExitStandby was not served"
        );
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(env.state_file(&id)).expect("state file")).expect("JSON");
        assert!(state["exit_asked_ms"].is_i64(), "{what}: the ask is recorded: {state}");
        let before = env.fake().metrics.call_counts();
        if !served {
            next_deployment_converges(&mut env, Path::Asg, &id, what).await;
        } else {
            env.fake()
                .world()
                .exit_standby("web-asg", std::slice::from_ref(&id))
                .expect("served");
            env.settle(60);
            assert_eq!(env.lifecycle(&id), "InService", "{what}");
            env.fake()
                .world()
                .enter_standby("web-asg", std::slice::from_ref(&id), true)
                .expect("an operator's EnterStandby");
            env.settle(120);
            env.deployment = "d-2".into();
            for hook in [DEREGISTER, REGISTER] {
                let out = env.run(hook, &id).await;
                assert_eq!(out.code, 0, "{what}: {hook}\n{}\n{}", out.stdout, out.stderr);
            }
            assert_eq!(env.lifecycle(&id), "Standby", "{what}: the operator's to bring back");
            assert_eq!(env.sizes("web-asg"), (1, 1, 4), "{what}: sizes");
            assert!(env.suspended("web-asg").is_empty(), "{what}: suspended");
            assert!(env.tags("web-asg").is_empty(), "{what}: tags {:?}", env.tags("web-asg"));
            assert!(!env.state_file(&id).exists(), "{what}: state file left");
        }
        let after = env.fake().metrics.call_counts();
        if !served {
            // Without the permission to read the activities: a warning, and the Standby is taken
            // for the hooks' own, as before the ask was recorded.
            let mut env = Env::new().await;
            let id = setup(&mut env, Path::Asg);
            env.run(DEREGISTER, &id).await.ok();
            assert!(env.kill_at_call(REGISTER, &id, 1).await);
            let role = env.fake().world().instances()[&id].role.clone();
            let mut policy = {
                let w = env.fake().world();
                fakeaws::hooks_policy(w.region(), w.account_id())
            };
            let actions = policy["Statement"][0]["Action"].as_array_mut().expect("actions");
            actions.retain(|a| a != "autoscaling:DescribeScalingActivities");
            env.fake().set_role_policies(&role, vec![policy]);
            env.deployment = "d-2".into();
            let de = env.run(DEREGISTER, &id).await;
            assert_eq!(de.code, 0, "{}\n{}", de.stdout, de.stderr);
            assert!(
                (de.stdout.clone() + &de.stderr).contains("autoscaling:DescribeScalingActivities is not allowed"),
                "{}\n{}",
                de.stdout,
                de.stderr
            );
            let re = env.run(REGISTER, &id).await;
            assert_eq!(re.code, 0, "{}\n{}", re.stdout, re.stderr);
            assert_eq!(env.lifecycle(&id), "InService", "without the permission");
            assert!(!env.state_file(&id).exists(), "without the permission: state file left");
        }
        let looks = after.get("autoscaling:DescribeScalingActivities").copied().unwrap_or(0)
            - before
                .get("autoscaling:DescribeScalingActivities")
                .copied()
                .unwrap_or(0);
        assert_eq!(looks, 1, "{what}: one look at the activities settles it");
    }
}

/// Killed inside its state file write: each hook runs with a file size limit, so the first write
/// of its state file past `limit` bytes ends it there (SIGXFSZ, no cleanup runs, as with
/// SIGKILL), leaving a partial temporary file; the state file itself is never partial, and what
/// CodeDeploy runs next converges and sweeps the leftover. Returns how many (hook, limit) runs
/// died inside a write.
async fn killed_inside_the_state_write(path: Path) -> usize {
    let mut killed = 0;
    for hook in [DEREGISTER, REGISTER] {
        for limit in [1, 64, 200] {
            let mut env = Env::new().await;
            let id = setup(&mut env, path);
            if hook == REGISTER {
                env.run(DEREGISTER, &id).await.ok();
            }
            env.file_size_limit = Some(limit);
            let out = env.run(hook, &id).await;
            env.file_size_limit = None;
            let what = format!("{path:?}: {hook} killed writing its state past {limit} bytes");
            if out.signal != Some(libc::SIGXFSZ) {
                // This hook wrote no state file that large: it ran to the end.
                assert_eq!(out.code, 0, "{what}: {}\n{}", out.stdout, out.stderr);
                continue;
            }
            killed += 1;
            let dir = env.state_file(&id).parent().expect("dir").to_path_buf();
            let partial: Vec<_> = std::fs::read_dir(&dir)
                .expect("state dir")
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                .collect();
            assert_eq!(partial.len(), 1, "{what}: one partial temporary file");
            let written = partial[0].metadata().expect("meta").len();
            assert!(written <= limit, "{what}: {written} bytes");
            if let Ok(text) = std::fs::read_to_string(env.state_file(&id)) {
                serde_json::from_str::<serde_json::Value>(&text).expect("the state file is never partial");
            }
            next_deployment_converges(&mut env, path, &id, &what).await;
            let left: Vec<_> = std::fs::read_dir(&dir)
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "{what}: left {left:?}");
        }
    }
    killed
}

#[tokio::test]
async fn killed_inside_the_state_file_write_every_path_converges() {
    let prlimit = std::process::Command::new("prlimit").arg("--version").output();
    assert!(
        prlimit.is_ok_and(|o| o.status.success()),
        "this test runs the hooks under prlimit: install util-linux"
    );
    let mut total = 0;
    for path in [Path::Asg, Path::AsgMinEqualsDesired, Path::TargetGroups, Path::Classic] {
        let n = killed_inside_the_state_write(path).await;
        assert!(
            n >= 3,
            "{path:?}: the deregister hook writes its state at least once: {n} kills"
        );
        total += n;
    }
    eprintln!("{total} kills inside a state file write, each converged");
}
