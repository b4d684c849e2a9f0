//! Bad configuration, unreachable metadata, throttling storms, permanent errors.

use crate::util::*;
use fakeaws::model::Process;

#[tokio::test]
async fn bad_config_fails_before_any_aws_call() {
    let mut env = Env::new().await;
    let g = env.asg_world(1, 3, 2);
    let id = env.members(&g)[0].clone();
    let cfg = env.state_dir.join("bad.toml");
    std::fs::create_dir_all(&env.state_dir).expect("dir");
    std::fs::write(&cfg, "target_groups = [\"web\"]\nhandle_procs = true\n").expect("write");
    env.extra.push(("ELB_HOOKS_CONFIG".into(), cfg.display().to_string()));
    let before = env.fake().metrics.call_counts();
    let out = env.run(DEREGISTER, &id).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("handle_procs"), "{}", out.stderr);
    assert_eq!(env.fake().metrics.call_counts(), before);
    env.extra.clear();
    env.extra.push(("ELB_HOOKS_PORT".into(), "0".into()));
    let out = env.run(DEREGISTER, &id).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("port"), "{}", out.stderr);
}

/// The config is found beside the binary as it is started: a revision's `bin/` holding a
/// symbolic link to an installed binary uses the revision's `elb-hooks.toml`.
#[tokio::test]
async fn config_beside_a_symbolic_link_is_the_ones_used() {
    let env = Env::new().await;
    let g = env.asg_world(1, 3, 2);
    let id = env.members(&g)[0].clone();
    let bin = env.state_dir.join("revision").join("bin");
    std::fs::create_dir_all(&bin).expect("dir");
    let link = bin.join("deregister-from-elb");
    std::os::unix::fs::symlink(DEREGISTER, &link).expect("symlink");
    std::fs::write(bin.join("elb-hooks.toml"), "handle_procs = true\n").expect("write");
    let before = env.fake().metrics.call_counts();
    let out = env.run(link.to_str().expect("utf-8 path"), &id).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("handle_procs"), "{}", out.stderr);
    assert!(out.stderr.contains(&bin.display().to_string()), "{}", out.stderr);
    assert_eq!(env.fake().metrics.call_counts(), before);
}

#[tokio::test]
async fn help_describes_the_hook() {
    let out = std::process::Command::new(DEREGISTER)
        .arg("--help")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("deregister-from-elb") && text.contains("Exit codes"),
        "{text}"
    );
}

/// Issue 28: `--version` on both hooks, as on every command of the project.
#[tokio::test]
async fn both_hooks_say_their_version() {
    for (bin, name) in [(DEREGISTER, "deregister-from-elb"), (REGISTER, "register-with-elb")] {
        let out = std::process::Command::new(bin).arg("--version").output().expect("run");
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[tokio::test]
async fn unreachable_metadata_is_a_clear_error_and_changes_nothing() {
    let env = Env::new().await;
    let g = env.asg_world(1, 3, 2);
    let id = env.members(&g)[0].clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = listener.local_addr().expect("addr");
    drop(listener);
    let mut cmd = tokio::process::Command::new(DEREGISTER);
    cmd.env_clear()
        .env("AWS_ENDPOINT_URL", &env.r.url)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", format!("http://{closed}/"))
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("ELB_HOOKS_STATE_DIR", env.state_dir.join("x"));
    let before = env.fake().metrics.call_counts();
    let out = cmd.output().await.expect("run");
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("instance metadata: cannot read the instance id"));
    assert_eq!(env.fake().metrics.call_counts(), before);
    assert_eq!(env.lifecycle(&id), "InService");
}

#[tokio::test]
async fn throttling_storm_is_ridden_out() {
    let env = Env::new().await;
    let g = env.asg_world(1, 3, 2);
    let id = env.members(&g)[0].clone();
    // Seven failures in a row for the first call (the limit is eight attempts), then more later.
    env.fake()
        .faults
        .inject("DescribeAutoScalingInstances", fakeaws::Fault::Unavailable, 3);
    env.fake().faults.inject("*", fakeaws::Fault::Throttle, 4);
    env.fake().faults.inject("EnterStandby", fakeaws::Fault::Throttle, 5);
    env.fake()
        .faults
        .inject("DescribeAutoScalingGroups", fakeaws::Fault::Unavailable, 5);
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    assert!(out.stdout.contains("Throttling"), "{}", out.stdout);
    assert!(out.stdout.contains("ServiceUnavailable"), "{}", out.stdout);
    assert_eq!(env.lifecycle(&id), "Standby");
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.sizes(&g), (1, 2, 3));
}

/// Upstream #78: the scripts retried everything, even permanent errors, until the hook timed out.
#[tokio::test]
async fn issue_78_permanent_errors_fail_at_once() {
    let mut env = Env::new().await;
    let id = env.fake().world().create_instance("us-east-1a", None, None);
    env.extra
        .push(("ELB_HOOKS_TARGET_GROUPS".into(), "no-such-group".into()));
    let out = env.run(DEREGISTER, &id).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("DescribeTargetGroups failed: TargetGroupNotFound"),
        "{}",
        out.stderr
    );
    assert_eq!(
        env.fake()
            .metrics
            .call_counts()
            .get("elasticloadbalancing:DescribeTargetGroups"),
        Some(&1)
    );
}

/// Upstream #95: the scripts used IMDSv1 only; the fake requires IMDSv2 (as hardened instances do).
#[tokio::test]
async fn issue_95_works_where_imdsv2_is_required() {
    let env = Env::new().await;
    let g = env.asg_world(1, 3, 2);
    let id = env.members(&g)[0].clone();
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    assert!(out.stdout.contains(&id));
}

/// The scripts' `local x=$(cmd); [ $? != 0 ]` never fired: a failed DescribeAutoScalingInstances
/// read as "not in an Auto Scaling group" and the script went on to deregister from target groups.
#[tokio::test]
async fn failed_group_lookup_is_an_error_not_a_missing_group() {
    let env = Env::new().await;
    let g = env.asg_world(1, 3, 2);
    let id = env.members(&g)[0].clone();
    env.fake()
        .faults
        .inject("DescribeAutoScalingInstances", fakeaws::Fault::Unavailable, 20);
    let out = env.run(DEREGISTER, &id).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("DescribeAutoScalingInstances failed: ServiceUnavailable"),
        "{}",
        out.stderr
    );
    assert_eq!(
        env.calls("elasticloadbalancing:DeregisterTargets") + env.calls("elasticloadbalancing:DescribeTargetGroups"),
        0
    );
    assert_eq!(env.lifecycle(&id), "InService");
}

/// The scripts recorded "MinSize decremented" even when UpdateAutoScalingGroup failed. Here the
/// record is written first, the failure stops the hook, and the next run repairs.
#[tokio::test]
async fn failed_min_size_update_stops_the_hook_and_is_repaired() {
    let env = Env::new().await;
    let g = env.asg_world(2, 3, 2);
    let id = env.members(&g)[0].clone();
    env.fake()
        .faults
        .inject("UpdateAutoScalingGroup", fakeaws::Fault::Unavailable, 20);
    let out = env.run(DEREGISTER, &id).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("UpdateAutoScalingGroup failed"), "{}", out.stderr);
    assert_eq!(env.lifecycle(&id), "InService");
    assert_eq!(env.sizes(&g), (2, 2, 3));
    // The deployment failed; the next register (or deployment) puts everything back.
    env.fake()
        .faults
        .inject("UpdateAutoScalingGroup", fakeaws::Fault::Throttle, 0);
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.sizes(&g), (2, 2, 3));
    assert!(env.suspended(&g).is_empty(), "processes resumed");
    assert!(env.tags(&g).is_empty());
}

/// With no record at all (no state file, no tags), register resumes nothing: the scripts resumed
/// all four processes when their flag file was missing.
#[tokio::test]
async fn register_without_a_record_resumes_nothing() {
    let env = Env::new().await;
    let g = env.asg_world(1, 3, 2);
    env.fake()
        .world()
        .suspend(&g, &[Process::AzRebalance, Process::ScheduledActions])
        .expect("suspend");
    let id = env.members(&g)[0].clone();
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.suspended(&g), ["AZRebalance", "ScheduledActions"]);
    assert_eq!(env.calls("autoscaling:ResumeProcesses"), 0);
}

/// Found by explore: the group scaled out to MaxSize while the instance was in Standby, so AWS
/// refuses ExitStandby. Register restores the group (the processes resume) and hands the instance
/// over in Standby, unmarked, failing with what to do; the next register leaves it there.
#[tokio::test]
async fn a_group_filled_to_max_while_out_is_restored_and_the_instance_handed_over() {
    let env = Env::new().await;
    let g = env.asg_world(1, 3, 2);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    assert_eq!(env.lifecycle(&id), "Standby");
    assert!(!env.suspended(&g).is_empty());
    env.fake().world().set_desired(&g, 3).expect("scale out");
    env.settle(120);
    let out = env.run(REGISTER, &id).await;
    assert_eq!(out.code, 3, "refused:\n{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("is left in Standby") && out.stderr.contains("raise MaxSize"),
        "{}",
        out.stderr
    );
    assert_eq!(env.lifecycle(&id), "Standby");
    assert!(env.suspended(&g).is_empty(), "{:?}", env.suspended(&g));
    assert!(env.tags(&g).is_empty(), "{:?}", env.tags(&g));
    // Handed over: the next round leaves it alone.
    env.run(DEREGISTER, &id).await.ok();
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.lifecycle(&id), "Standby");
    assert!(env.suspended(&g).is_empty(), "{:?}", env.suspended(&g));
}
