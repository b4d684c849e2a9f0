//! The Auto Scaling path, and a regression test for each defect of the sample scripts.

use crate::util::*;
use fakeaws::model::Process;

use hooks::asg::TAG_PROCS;

/// The processes the hooks hold by default (InstanceRefresh since issue 30).
const DEFAULTS: [&str; 5] = [
    "AZRebalance",
    "AlarmNotification",
    "InstanceRefresh",
    "ReplaceUnhealthy",
    "ScheduledActions",
];

#[tokio::test]
async fn standby_round_trip_restores_everything() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 3);
    let id = env.members(&g)[0].clone();
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    assert!(out.stdout.contains("EnterStandby"), "{}", out.stdout);
    assert_eq!(env.lifecycle(&id), "Standby");
    assert_eq!(env.sizes(&g), (1, 2, 4));
    assert_eq!(env.suspended(&g), DEFAULTS);
    assert!(env.state_file(&id).exists(), "state recorded");
    let out = env.run(REGISTER, &id).await;
    out.ok();
    assert_eq!(env.lifecycle(&id), "InService");
    assert_eq!(
        env.health("web", &id),
        "healthy",
        "register waits until healthy:\n{}",
        out.stdout
    );
    env.assert_restored(&g, (1, 3, 4));
    assert!(!env.state_file(&id).exists(), "state cleared");
    // Every log line carries the elapsed time.
    assert!(
        out.stdout
            .lines()
            .all(|l| l.starts_with('[') && l.contains("s] register-with-elb: ")),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn rerunning_after_success_is_a_no_op() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    env.run(REGISTER, &id).await.ok();
    let before = env.fake().world().activities().len();
    let sizes = env.sizes(&g);
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.fake().world().activities().len(), before);
    assert_eq!(env.sizes(&g), sizes);
    let calls = env.fake().metrics.call_counts();
    assert_eq!(calls.get("autoscaling:ExitStandby"), Some(&1));
}

/// Seed 003 and upstream #70 / #57 / #42: with min == desired the scripts lowered MinSize, and a
/// failed deployment left it lowered forever (the flag lived in /tmp under the deployment id).
#[tokio::test]
async fn issue_70_failed_deployment_then_next_deployment_repairs_min_size() {
    let mut env = Env::new().await;
    let g = env.asg_world(1, 2, 1);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    assert_eq!(env.sizes(&g), (0, 0, 2));
    // The deployment fails here: register never runs. The next deployment starts.
    env.deployment = "d-2".into();
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    assert!(out.stdout.contains("found what deployment d-1 left"), "{}", out.stdout);
    let out = env.run(REGISTER, &id).await;
    out.ok();
    assert_eq!(env.sizes(&g), (1, 1, 2), "MinSize restored:\n{}", out.stdout);
    assert!(env.suspended(&g).is_empty());
    assert!(env.tags(&g).is_empty());
}

/// The scripts restored MinSize as `current + 1`; we restore the recorded original.
#[tokio::test]
async fn min_size_restored_to_the_recorded_original_not_current_plus_one() {
    let env = Env::new().await;
    let g = env.asg_world(2, 4, 2);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    assert_eq!(env.sizes(&g), (0, 1, 4));
    // Someone sets MinSize meanwhile; current + 1 would now be 1.
    env.fake().world().set_min_size(&g, 0).expect("min 0");
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.sizes(&g), (2, 2, 4));
}

/// The scripts' "already InService" early exit skipped the restore and the resume.
#[tokio::test]
async fn early_exit_does_not_skip_restore() {
    let env = Env::new().await;
    let g = env.asg_world(2, 4, 2);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    // An operator takes the instance out of Standby by hand.
    env.fake()
        .world()
        .exit_standby(&g, std::slice::from_ref(&id))
        .expect("exit");
    env.settle(40);
    assert_eq!(env.lifecycle(&id), "InService");
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.sizes(&g), (2, 2, 4));
    assert!(env.suspended(&g).is_empty());
}

/// Processes the operator had suspended stay suspended (the scripts resumed all four when the
/// flag file was missing).
#[tokio::test]
async fn operator_suspended_processes_are_left_alone() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    env.fake()
        .world()
        .suspend(&g, &[Process::AzRebalance, Process::HealthCheck])
        .expect("suspend");
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    assert_eq!(
        env.suspended(&g),
        [
            "AZRebalance",
            "AlarmNotification",
            "HealthCheck",
            "InstanceRefresh",
            "ReplaceUnhealthy",
            "ScheduledActions"
        ]
    );
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.suspended(&g), ["AZRebalance", "HealthCheck"]);
}

#[tokio::test]
async fn launch_suspended_aborts_and_changes_nothing() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    env.fake().world().suspend(&g, &[Process::Launch]).expect("suspend");
    let id = env.members(&g)[0].clone();
    let out = env.run(DEREGISTER, &id).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("Launch process of web-asg is suspended"),
        "{}",
        out.stderr
    );
    assert_eq!(env.lifecycle(&id), "InService");
    assert_eq!(env.sizes(&g), (1, 2, 4));
    assert_eq!(env.suspended(&g), ["Launch"]);
    assert!(env.tags(&g).is_empty());
}

#[tokio::test]
async fn processes_untouched_when_handling_is_off() {
    let mut env = Env::new().await;
    env.extra.push(("ELB_HOOKS_HANDLE_PROCESSES".into(), "false".into()));
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    assert!(env.suspended(&g).is_empty());
    env.run(REGISTER, &id).await.ok();
    assert_eq!(
        env.calls("autoscaling:SuspendProcesses") + env.calls("autoscaling:ResumeProcesses"),
        0
    );
}

/// Upstream #84: concurrent hooks in one group (HalfAtATime) raced on MinSize and failed with
/// "To place into standby 1 instances, please update the AutoScalingGroup sizes appropriately".
#[tokio::test]
async fn issue_84_concurrent_hooks_in_one_group() {
    let env = Env::new().await;
    let g = env.asg_world(4, 6, 4);
    let ids = env.members(&g);
    let outs = env.run_many(&[(DEREGISTER, &ids[0]), (DEREGISTER, &ids[1])]).await;
    for o in &outs {
        o.ok();
    }
    assert_eq!(env.lifecycle(&ids[0]), "Standby");
    assert_eq!(env.lifecycle(&ids[1]), "Standby");
    let (min, desired, _) = env.sizes(&g);
    assert_eq!(desired, 2);
    assert!(min <= 2, "MinSize {min} must leave room for both");
    let outs = env.run_many(&[(REGISTER, &ids[0]), (REGISTER, &ids[1])]).await;
    for o in &outs {
        o.ok();
    }
    env.assert_restored(&g, (4, 4, 6));
    // All four at once (AllAtOnce).
    let outs = env
        .run_many(&ids.iter().map(|i| (DEREGISTER, i.as_str())).collect::<Vec<_>>())
        .await;
    outs.iter().for_each(|o| {
        o.ok();
    });
    assert_eq!(env.sizes(&g), (0, 0, 6));
    let outs = env
        .run_many(&ids.iter().map(|i| (REGISTER, i.as_str())).collect::<Vec<_>>())
        .await;
    outs.iter().for_each(|o| {
        o.ok();
    });
    env.assert_restored(&g, (4, 4, 6));
}

/// PR #26 (closed unmerged): the scripts put traffic on the instance as soon as it was InService.
/// We wait until it is healthy in every target group; an app that never comes up fails the hook.
#[tokio::test]
async fn register_waits_for_healthy_and_fails_when_the_app_is_down() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    env.fake().world().set_app(&id, false).expect("down");
    let out = env.run(REGISTER, &id).await;
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("waiting for healthy"), "{}", out.stderr);
    assert!(env.state_file(&id).exists(), "state kept for the repair");
}

/// A scale-out instance held in Pending:Wait by CodeDeploy's lifecycle hook: nothing to do.
#[tokio::test]
async fn pending_wait_instance_is_left_to_the_lifecycle_hook() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 1);
    env.fake()
        .rehearsal()
        .put_launch_hook(&g, "deploy", 3600)
        .expect("hook");
    env.fake().world().set_desired(&g, 2).expect("scale out");
    env.settle(31);
    let new = env.members(&g)[1].clone();
    assert_eq!(env.lifecycle(&new), "Pending:Wait");
    env.run(DEREGISTER, &new).await.ok();
    env.run(REGISTER, &new).await.ok();
    assert_eq!(env.lifecycle(&new), "Pending:Wait");
    assert_eq!(env.sizes(&g), (1, 2, 4));
}

impl Env {
    pub fn calls(&self, name: &str) -> u64 {
        self.fake().metrics.call_counts().get(name).copied().unwrap_or(0)
    }
}

/// Upstream #64: the scripts ignored TARGET_GROUP_LIST on the Auto Scaling path. Configured target
/// groups are part of the health wait: register returns only once healthy there too.
#[tokio::test]
async fn issue_64_configured_target_groups_count_on_the_asg_path() {
    let mut env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    env.apply(
        "[[target_groups]]\nname = \"api\"\nport = 8080\nhealth_check = { interval = 30, healthy_threshold = 5, timeout = 5 }\n\n[[load_balancers]]\nname = \"api-alb\"\nlisteners = [{ port = 8080, target_group = \"api\" }]\n",
    );
    let id = env.members(&g)[0].clone();
    {
        let mut w = env.fake().world();
        let arn = w
            .target_groups()
            .values()
            .find(|t| t.name == "api")
            .expect("api")
            .arn
            .clone();
        w.register_target(&arn, &id, 8080);
    }
    env.extra.push(("ELB_HOOKS_TARGET_GROUPS".into(), "api".into()));
    env.run(DEREGISTER, &id).await.ok();
    // An operator re-registers the instance in "api" while it is out; its checks restart.
    {
        let mut w = env.fake().world();
        let arn = w
            .target_groups()
            .values()
            .find(|t| t.name == "api")
            .expect("api")
            .arn
            .clone();
        w.deregister_target(&arn, &id, None);
        w.tick(env.fake().clock.now_ms() + 400_000);
    }
    env.settle(400);
    {
        let mut w = env.fake().world();
        let arn = w
            .target_groups()
            .values()
            .find(|t| t.name == "api")
            .expect("api")
            .arn
            .clone();
        w.register_target(&arn, &id, 8080);
    }
    let out = env.run(REGISTER, &id).await;
    out.ok();
    assert!(out.stdout.contains("healthy in targetgroup/api"), "{}", out.stdout);
    assert_eq!(env.health("api", &id), "healthy");
}

/// Issue 9.4: the "already Standby" line names the deployment that left the instance there, not
/// the one running now.
#[tokio::test]
async fn already_standby_names_the_deployment_that_left_it() {
    let mut env = Env::new().await;
    let g = env.asg_world(1, 4, 3);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    env.deployment = "d-2".into();
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    assert!(
        out.stdout.contains("already Standby (left by deployment d-1)"),
        "{}",
        out.stdout
    );
}

/// Issue 9.3: a MinSize restore whose write fails transiently is not re-sent with the value
/// computed before the failure: the group is read again and the write recomputed.
#[tokio::test]
async fn a_failed_restore_write_is_recomputed_from_a_fresh_read() {
    async fn register_reads(fail_once: bool) -> (u64, String) {
        let env = Env::new().await;
        let g = env.asg_world(2, 4, 2);
        let id = env.members(&g)[0].clone();
        env.run(DEREGISTER, &id).await.ok();
        assert_eq!(env.sizes(&g), (0, 1, 4));
        let reads = |env: &Env| {
            env.fake()
                .metrics
                .call_counts()
                .get("autoscaling:DescribeAutoScalingGroups")
                .copied()
                .unwrap_or(0)
        };
        let before = reads(&env);
        if fail_once {
            env.fake()
                .faults
                .inject("UpdateAutoScalingGroup", fakeaws::Fault::Unavailable, 1);
        }
        let out = env.run(REGISTER, &id).await;
        out.ok();
        env.assert_restored(&g, (2, 2, 4));
        (reads(&env) - before, out.stdout.clone())
    }
    let (plain, _) = register_reads(false).await;
    let (failed_once, log) = register_reads(true).await;
    assert!(log.contains("reading the group again before retrying"), "{log}");
    assert_eq!(failed_once, plain + 1, "one more read before the retried write:\n{log}");
}

/// Issue 13: the AWS calls of one Auto Scaling round trip (deregister then register, process
/// handling on, MinSize below desired), counted through the fake. The waits look first when AWS's
/// timers say the state can be reached (the drain, the health checks), then poll each second, so
/// polls no longer grow with the deregistration delay. Budget: the count measured when the waits
/// were reworked; the issue's goal (16, aiming for 12) needs the remaining reads folded together.
#[tokio::test]
async fn an_asg_round_trip_stays_within_its_call_budget() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    let before: u64 = env.fake().metrics.call_counts().values().sum();
    let t0 = env.fake().clock.now_ms();
    let out_de = env.run(DEREGISTER, &id).await;
    out_de.ok();
    // Standby is reached when the 60 s deregistration delay ends: the hook returns within 1 s.
    let t1 = env.fake().clock.now_ms();
    assert!((60_000..=61_000).contains(&(t1 - t0)), "deregister took {} ms", t1 - t0);
    let out_re = env.run(REGISTER, &id).await;
    out_re.ok();
    // The role credentials the hooks used never show in what they print.
    for out in [&out_de, &out_re] {
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains("fakeaws-secret-access-key") && !all.contains("fakeaws-session-token"));
    }
    // Healthy 3 x 10 s after ExitStandby's 2 s: again within 1 s.
    let t2 = env.fake().clock.now_ms();
    assert!((32_000..=33_000).contains(&(t2 - t1)), "register took {} ms", t2 - t1);
    let calls = env.fake().metrics.call_counts();
    let total: u64 = calls.values().sum::<u64>() - before;
    eprintln!("{total} calls: {calls:?}");
    assert!(total <= ROUND_TRIP_BUDGET, "{total} calls: {calls:?}");
}

/// See [`an_asg_round_trip_stays_within_its_call_budget`]: deregister 8 (where the instance is,
/// the group with its members in one read (whether Auto Scaling is about to terminate a surplus),
/// the look for an instance refresh (the first instance of a round), the processes record,
/// SuspendProcesses, EnterStandby, the drain's length, one look at Standby, which re-checks the
/// processes; the re-check right after EnterStandby is made only when the read showed another
/// instance out, which could resume them meanwhile), register 6 (ExitStandby straight from the
/// state file, the health-check timers, one look at health (the first allows for ExitStandby's two
/// seconds in Pending), the group, ResumeProcesses, the record's removal). The scripts make 22.
/// Was 16 before the group's settings and members were read together.
const ROUND_TRIP_BUDGET: u64 = 14;

/// Issue 31: the round trip when MinSize == DesiredCapacity (MinSize must go down and back up),
/// counted per action. Deregister 9: the path above plus UpdateAutoScalingGroup, the original
/// MinSize recorded in the same write as the processes record, and no separate read after the
/// MinSize write (the reads after EnterStandby put a removed record back). Register 7: the path
/// above plus UpdateAutoScalingGroup, not read again after it, and the MinSize record removed in
/// the same DeleteTags as the processes record and the mark (a sibling leaving meanwhile writes
/// it again from its state file). Was 23.
#[tokio::test]
async fn a_round_trip_that_lowers_min_size_stays_within_its_call_budget() {
    let env = Env::new().await;
    let g = env.asg_world(2, 4, 2);
    let id = env.members(&g)[0].clone();
    let before = env.fake().metrics.call_counts();
    env.run(DEREGISTER, &id).await.ok();
    let mid = env.fake().metrics.call_counts();
    env.run(REGISTER, &id).await.ok();
    let after = env.fake().metrics.call_counts();
    env.assert_restored(&g, (2, 2, 4));
    let delta = |a: &std::collections::BTreeMap<String, u64>, b: &std::collections::BTreeMap<String, u64>| {
        a.iter()
            .map(|(k, v)| (k.clone(), v - b.get(k).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect::<std::collections::BTreeMap<String, u64>>()
    };
    let (de, re) = (delta(&mid, &before), delta(&after, &mid));
    let n = |m: &std::collections::BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    assert_eq!(n(&de, "autoscaling:CreateOrUpdateTags"), 1, "{de:?}");
    assert_eq!(n(&de, "autoscaling:DescribeAutoScalingGroups"), 2, "{de:?}");
    assert_eq!(n(&re, "autoscaling:DeleteTags"), 1, "{re:?}");
    assert_eq!(n(&re, "autoscaling:DescribeAutoScalingGroups"), 1, "{re:?}");
    assert_eq!(n(&re, "elasticloadbalancing:DescribeTargetHealth"), 1, "{re:?}");
    assert_eq!(n(&de, "autoscaling:DescribeInstanceRefreshes"), 1, "{de:?}");
    let total: u64 = de.values().sum::<u64>() + re.values().sum::<u64>();
    // 18 before the group was read with its members at once and the re-check after EnterStandby
    // left to the look at Standby when nobody else is out.
    assert_eq!(total, 16, "{total} calls: {de:?} {re:?}");
}

/// Issue 31: more instances out at once than AWS's 50-tag quota leaves marks for (the group's own
/// tags fill 44 of 50). The marks give way, the records always fit, the group says every Standby
/// instance counts as the hooks' meanwhile, and after all are back it is as it was: sizes,
/// processes, and none of the hooks' tags (the sentinel included).
#[tokio::test]
async fn at_the_tag_quota_the_records_fit_and_the_group_comes_back_whole() {
    let env = Env::new().await;
    let g = env.asg_world(8, 16, 8);
    {
        let mut w = env.fake().world();
        for i in 0..44 {
            let tag = fakeaws::model::Tag {
                value: "x".into(),
                propagate_at_launch: false,
            };
            w.put_tag(&g, &format!("team:{i:02}"), tag).expect("tag");
        }
    }
    let ids = env.members(&g);
    let runs: Vec<(&str, &str)> = ids.iter().map(|id| (DEREGISTER, id.as_str())).collect();
    let outs = env.run_many(&runs).await;
    for o in &outs {
        o.ok();
    }
    let log: String = outs.iter().map(|o| o.stdout.clone() + &o.stderr).collect();
    assert!(log.contains("no room to mark this instance"), "{log}");
    let tags = env.tags(&g);
    assert!(tags.iter().any(|t| t == hooks::asg::TAG_UNMARKED), "{tags:?}");
    assert!(tags.iter().any(|t| t == hooks::asg::TAG_MIN), "{tags:?}");
    assert!(tags.len() <= 50);
    let runs: Vec<(&str, &str)> = ids.iter().map(|id| (REGISTER, id.as_str())).collect();
    for o in env.run_many(&runs).await {
        o.ok();
    }
    let left: Vec<String> = env.tags(&g).into_iter().filter(|t| !t.starts_with("team:")).collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(env.sizes(&g), (8, 8, 16));
    assert!(env.suspended(&g).is_empty(), "{:?}", env.suspended(&g));
}

/// A sibling that read the group just before this instance's EnterStandby (so it saw nobody else
/// out) resumes the processes just after this instance re-checked them: the deregister hook finds
/// them running at its next look and suspends them again before it returns.
#[tokio::test]
async fn a_siblings_late_resume_during_the_drain_is_undone() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    let mut done = false;
    let out = env
        .run_many_with(&[(DEREGISTER, &id)], |env, _| {
            if !done && env.lifecycle(&id) == "EnteringStandby" {
                done = true;
                let mut w = env.fake().world();
                let all: Vec<Process> = w.groups()[&g].suspended.keys().copied().collect();
                w.resume(&g, &all).expect("resume");
                w.delete_tag(&g, TAG_PROCS).expect("untag");
            }
        })
        .await;
    out[0].ok();
    assert!(done, "the drain was never reached");
    assert_eq!(
        env.suspended(&g),
        [
            "AZRebalance",
            "AlarmNotification",
            "InstanceRefresh",
            "ReplaceUnhealthy",
            "ScheduledActions"
        ]
    );
    assert!(env.tags(&g).contains(&TAG_PROCS.to_string()));
    env.run(REGISTER, &id).await.ok();
    env.assert_restored(&g, (1, 2, 4));
}

/// Two instances writing the processes record at once may drop each other's additions: the
/// instance that comes back puts its own part back, so the last one back resumes everything the
/// hooks suspended.
#[tokio::test]
async fn a_record_a_sibling_overwrote_is_made_whole_on_the_way_back() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    env.fake()
        .world()
        .put_tag(
            &g,
            TAG_PROCS,
            fakeaws::model::Tag {
                value: "AZRebalance".into(),
                propagate_at_launch: false,
            },
        )
        .expect("tag");
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.suspended(&g), Vec::<String>::new());
    env.assert_restored(&g, (1, 2, 4));
}

/// The register hook exits Standby straight from its state file; when someone already brought the
/// instance back, AWS refuses, and the hook reads where the instance is and finishes the job.
#[tokio::test]
async fn register_after_an_operator_exited_standby_still_restores() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    env.fake()
        .world()
        .exit_standby(&g, std::slice::from_ref(&id))
        .expect("exit");
    env.settle(60);
    let out = env.run(REGISTER, &id).await;
    out.ok();
    assert!(out.stdout.contains("ExitStandby refused"), "{}", out.stdout);
    assert_eq!(env.lifecycle(&id), "InService");
    env.assert_restored(&g, (1, 2, 4));
}

/// Process handling over the whole deployment: the last instance back asks CodeDeploy (two calls)
/// and keeps the processes suspended while another instance of the deployment has not started;
/// the last instance of the deployment resumes them. Without the permission, one log line and
/// the processes resumed per instance.
#[tokio::test]
async fn processes_stay_suspended_until_the_deployments_last_instance_is_back() {
    use fakeaws::model::codedeploy::InstanceStatus;
    let mut env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let ids = env.members(&g);
    let fake = env.fake().clone();
    let rh = fake.rehearsal();
    let id = start_deployment(&mut env, &g, &ids);
    // The first instance: out and back while the second has not started.
    rh.instance_event(
        &id,
        &ids[0],
        fakeaws::model::codedeploy::LifecycleEvent::BeforeInstall,
        fakeaws::model::codedeploy::LifecycleEventStatus::InProgress,
        None,
    )
    .expect("event");
    env.run(DEREGISTER, &ids[0]).await.ok();
    let before = env.fake().metrics.call_counts();
    let metadata_before = env.fake().metrics.metadata_counts();
    let out = env.run(REGISTER, &ids[0]).await;
    out.ok();
    assert!(
        out.stdout.contains("1 instance(s) of this deployment still to go"),
        "{}",
        out.stdout
    );
    assert_eq!(env.suspended(&g), DEFAULTS, "held in the gap");
    assert!(
        env.tags(&g).contains(&TAG_PROCS.to_string()),
        "the record stays for the last one"
    );
    let after = env.fake().metrics.call_counts();
    let delta = |k: &str| after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
    assert_eq!(
        (
            delta("codedeploy:ListDeployments"),
            delta("codedeploy:ListDeploymentTargets")
        ),
        (1, 1),
        "two calls to CodeDeploy"
    );
    // One metadata session token and one read of the instance-profile credentials (the role's
    // name, then its keys) for the whole process: the Auto Scaling, ELBv2 and CodeDeploy calls
    // share them. (Each client read them apart before, and each CodeDeploy call again: 2 tokens
    // and 8 credential reads here.)
    let metadata = env.fake().metrics.metadata_counts();
    let metadata_delta = |pred: &dyn Fn(&str) -> bool| -> u64 {
        metadata
            .iter()
            .filter(|(k, _)| pred(k))
            .map(|(k, v)| v - metadata_before.get(k).copied().unwrap_or(0))
            .sum()
    };
    assert_eq!(metadata_delta(&|k| k == "latest/api/token"), 1, "{metadata:?}");
    assert_eq!(
        metadata_delta(&|k| k.starts_with("latest/meta-data/iam/security-credentials")),
        2,
        "{metadata:?}"
    );
    rh.instance_done(&id, &ids[0], InstanceStatus::Succeeded).expect("done");
    // The second (last) instance: back, nothing left to go, processes resumed.
    rh.instance_event(
        &id,
        &ids[1],
        fakeaws::model::codedeploy::LifecycleEvent::BeforeInstall,
        fakeaws::model::codedeploy::LifecycleEventStatus::InProgress,
        None,
    )
    .expect("event");
    env.run(DEREGISTER, &ids[1]).await.ok();
    let out = env.run(REGISTER, &ids[1]).await;
    out.ok();
    assert!(
        out.stdout.contains("no instance of the deployment is left to go"),
        "{}",
        out.stdout
    );
    env.assert_restored(&g, (1, 2, 4));
    // Without the permission: one line, and per-instance behaviour (resumed at once).
    let role = env.fake().world().instances()[&ids[0]].role.clone();
    let mut policy = {
        let w = env.fake().world();
        fakeaws::hooks_policy(w.region(), w.account_id())
    };
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .retain(|s| !s.to_string().contains("codedeploy:"));
    env.fake().set_role_policies(&role, vec![policy]);
    // Deregister's GetDeploymentGroup (for traffic control) is refused: one line, and register
    // does not ask again in this deployment.
    let de = env.run(DEREGISTER, &ids[0]).await;
    de.ok();
    let out = env.run(REGISTER, &ids[0]).await;
    out.ok();
    let both = format!("{}{}", de.stdout, out.stdout);
    let lines: Vec<&str> = both
        .lines()
        .filter(|l| l.contains("may not call codedeploy:"))
        .collect();
    assert_eq!(lines.len(), 1, "{both}");
    assert!(out.stdout.contains("not asked again"), "{}", out.stdout);
    env.assert_restored(&g, (1, 2, 4));
}

/// Issue 31: CodeDeploy refusing the check for a reason that will not change within the
/// deployment (here: the application the agent named does not exist) is asked once per instance
/// and deployment: a later run of the same deployment does not ask again, a new deployment does.
/// (Since issue 30 item 9 the first ask is deregister's GetDeploymentGroup, for traffic control:
/// its refusal spares register's ListDeployments too.)
#[tokio::test]
async fn a_lasting_codedeploy_refusal_is_not_asked_again_in_the_same_deployment() {
    let mut env = Env::new().await;
    env.extra.push(("APPLICATION_NAME".into(), "not-an-application".into()));
    env.extra.push(("DEPLOYMENT_GROUP_NAME".into(), "web-dg".into()));
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    let asked = |env: &Env| -> u64 {
        env.fake()
            .metrics
            .call_counts()
            .iter()
            .filter(|(k, _)| k.starts_with("codedeploy:"))
            .map(|(_, n)| n)
            .sum()
    };
    env.run(DEREGISTER, &id).await.ok();
    env.run(REGISTER, &id).await.ok();
    assert_eq!(asked(&env), 1);
    env.run(DEREGISTER, &id).await.ok();
    let out = env.run(REGISTER, &id).await;
    out.ok();
    assert_eq!(asked(&env), 1, "{}", out.stdout);
    assert!(out.stdout.contains("not asked again"), "{}", out.stdout);
    env.deployment = "d-NEXT00001".into();
    env.run(DEREGISTER, &id).await.ok();
    env.run(REGISTER, &id).await.ok();
    assert_eq!(asked(&env), 2);
    env.assert_restored(&g, (1, 2, 4));
}

/// A user deployment of `ids` in a deployment group `web-dg` of `g` (application `web`), its id
/// and names in the hooks' environment as the agent gives them.
fn start_deployment(env: &mut Env, g: &str, ids: &[String]) -> String {
    use fakeaws::model::codedeploy::{BundleType, DeploymentCreator, Revision};
    use fakeaws::rehearsal::{DeploymentInput, GroupInput};
    let fake = env.fake().clone();
    let rh = fake.rehearsal();
    rh.create_deployment_group(
        "web",
        "web-dg",
        GroupInput {
            autoscaling_groups: Some(vec![g.to_string()]),
            ..GroupInput::default()
        },
    )
    .expect("group");
    let id = rh
        .start_deployment(
            DeploymentInput {
                application: "web".into(),
                group: "web-dg".into(),
                revision: Revision::s3("releases", "v2.zip", BundleType::Zip),
                config: None,
                description: None,
                creator: DeploymentCreator::User,
                ignore_application_stop_failures: false,
                update_outdated_instances_only: false,
                auto_rollback: None,
            },
            ids,
        )
        .expect("deployment");
    env.deployment = id.clone();
    env.extra.push(("APPLICATION_NAME".into(), "web".into()));
    env.extra.push(("DEPLOYMENT_GROUP_NAME".into(), "web-dg".into()));
    id
}

/// Issue 31, at fleet scale: in a group of more than 50 members the look at Standby reads the
/// instance and then the group without its members (one call more than the one read with them,
/// for a small fraction of the bytes), and the last instance back of a batch looks up only as
/// many of the instances still to go as it takes to find one still in the group (one call of
/// 50, not one per 50 of the 119).
///
/// And CodeDeploy's lists are read page by page: with the first hundred instances still to go
/// gone from the group (terminated), the instances on the next page still hold the processes
/// (the hooks read only the first page before, and resumed them with 19 instances to go).
#[tokio::test]
async fn in_a_large_group_the_hooks_read_small_answers() {
    use fakeaws::model::codedeploy::{LifecycleEvent, LifecycleEventStatus};
    let mut env = Env::new().await;
    let g = env.asg_world(1, 130, 120);
    let ids = env.members(&g);
    let id = start_deployment(&mut env, &g, &ids);
    env.fake()
        .rehearsal()
        .instance_event(
            &id,
            &ids[0],
            LifecycleEvent::BeforeInstall,
            LifecycleEventStatus::InProgress,
            None,
        )
        .expect("event");
    let counts = |env: &Env| env.fake().metrics.call_counts();
    let delta = |a: &std::collections::BTreeMap<String, u64>, b: &std::collections::BTreeMap<String, u64>, k: &str| {
        a.get(k).copied().unwrap_or(0) - b.get(k).copied().unwrap_or(0)
    };
    let before = counts(&env);
    let de = env.run(DEREGISTER, &ids[0]).await;
    de.ok();
    let mid = counts(&env);
    // Where the instance is, and the look at Standby; the group with its members once, then
    // without them.
    assert_eq!(
        delta(&mid, &before, "autoscaling:DescribeAutoScalingInstances"),
        2,
        "{mid:?}"
    );
    assert_eq!(
        delta(&mid, &before, "autoscaling:DescribeAutoScalingGroups"),
        2,
        "{mid:?}"
    );
    assert_eq!(env.lifecycle(&ids[0]), "Standby");
    let re = env.run(REGISTER, &ids[0]).await;
    re.ok();
    let after = counts(&env);
    assert!(
        re.stdout
            .contains("50+ instance(s) of this deployment still to go (the first 50 not yet started looked up)"),
        "{}",
        re.stdout
    );
    assert_eq!(
        delta(&after, &mid, "autoscaling:DescribeAutoScalingInstances"),
        1,
        "{after:?}"
    );
    assert_eq!(env.suspended(&g), DEFAULTS, "held for the instances still to go");
    // The next hundred in CodeDeploy's order terminate before their turn.
    let rh = env.fake().rehearsal();
    let pending: Vec<String> = ids[1..].to_vec();
    for gone in &pending[..100] {
        rh.terminate(gone).expect("terminate");
    }
    env.settle(30);
    rh.instance_done(&id, &ids[0], fakeaws::model::codedeploy::InstanceStatus::Succeeded)
        .expect("done");
    let last = pending[100].clone();
    rh.instance_event(
        &id,
        &last,
        LifecycleEvent::BeforeInstall,
        LifecycleEventStatus::InProgress,
        None,
    )
    .expect("event");
    env.run(DEREGISTER, &last).await.ok();
    let re = env.run(REGISTER, &last).await;
    re.ok();
    assert!(
        re.stdout.contains("18 instance(s) of this deployment still to go"),
        "{}",
        re.stdout
    );
    assert_eq!(env.suspended(&g), DEFAULTS, "held for the 18 on the second page");
}

/// Issue 30 item 9: a deployment group that controls traffic itself (WITH_TRAFFIC_CONTROL). The
/// hooks find it with one GetDeploymentGroup (deregister; register reads the state file), say so
/// and change nothing: no Standby, no process suspended, no tag, no registration touched.
#[tokio::test]
async fn the_hooks_leave_a_deployment_group_with_traffic_control_to_codedeploy() {
    use fakeaws::model::codedeploy::DeploymentOption;
    use fakeaws::rehearsal::GroupInput;
    let mut env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    env.fake()
        .rehearsal()
        .create_deployment_group(
            "web",
            "web-dg",
            GroupInput {
                autoscaling_groups: Some(vec![g.clone()]),
                target_group_names: Some(vec!["web".into()]),
                deployment_option: Some(DeploymentOption::WithTrafficControl),
                ..GroupInput::default()
            },
        )
        .expect("group");
    env.extra.push(("APPLICATION_NAME".into(), "web".into()));
    env.extra.push(("DEPLOYMENT_GROUP_NAME".into(), "web-dg".into()));
    let before = env.fake().metrics.call_counts();
    let de = env.run(DEREGISTER, &id).await;
    de.ok();
    let re = env.run(REGISTER, &id).await;
    re.ok();
    let after = env.fake().metrics.call_counts();
    let calls: Vec<(String, u64)> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(
        calls,
        vec![("codedeploy:GetDeploymentGroup".to_string(), 1)],
        "{calls:?}"
    );
    for out in [&de, &re] {
        assert!(
            out.stdout
                .contains("controls traffic itself (WITH_TRAFFIC_CONTROL: target groups [web]"),
            "{}",
            out.stdout
        );
    }
    assert!(!env.state_file(&id).exists(), "register leaves nothing behind");
    env.assert_restored(&g, (1, 2, 4));
}

/// An operator's Standby still draining (EnteringStandby): deregister waits for the drain to end
/// before the deployment goes on (its next script stops the application, which would cut the
/// requests still being answered) and records nothing; register, also finding it
/// EnteringStandby, waits and leaves it in the operator's Standby instead of bringing it back.
#[tokio::test]
async fn an_operators_standby_still_draining_is_waited_for_and_left_alone() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 3);
    let ids = env.members(&g);
    env.fake()
        .world()
        .enter_standby(&g, &ids[..2], true)
        .expect("an operator's EnterStandby");
    assert_eq!(env.lifecycle(&ids[0]), "EnteringStandby");
    let out = env.run(DEREGISTER, &ids[0]).await;
    out.ok();
    assert!(out.stdout.contains("waiting for its drain to end"), "{}", out.stdout);
    assert_eq!(env.lifecycle(&ids[0]), "Standby", "the drain is over when it returns");
    assert_eq!(env.suspended(&g), Vec::<String>::new(), "nothing of its own to do");
    assert_eq!(env.lifecycle(&ids[1]), "Standby");
    // The other one, caught while still draining by register.
    env.fake().world().exit_standby(&g, &ids[1..2]).expect("out");
    env.settle(120);
    env.fake()
        .world()
        .enter_standby(&g, &ids[1..2], true)
        .expect("in again");
    assert_eq!(env.lifecycle(&ids[1]), "EnteringStandby");
    let out = env.run(REGISTER, &ids[1]).await;
    out.ok();
    assert!(out.stdout.contains("leaving it there"), "{}", out.stdout);
    assert_eq!(env.lifecycle(&ids[1]), "Standby", "the operator's to bring back");
}

/// A group scaled in to a desired capacity of 0 while its instances are protected from scale in
/// (they keep serving): EnterStandby cannot lower 0, so the hooks enter Standby without lowering it
/// (nothing is launched) and take back the one ExitStandby adds. They used to retry EnterStandby
/// as a race and fail after suspending the processes, on every deployment.
#[tokio::test]
async fn a_protected_group_at_desired_zero_goes_round_and_stays_at_zero() {
    let env = Env::new().await;
    let g = env.asg_world_with(0, 4, 2, "new_instances_protected_from_scale_in = true");
    env.fake().rehearsal().scale_by(&g, -2).expect("scale in");
    env.settle(10);
    assert_eq!(env.sizes(&g), (0, 0, 4));
    assert_eq!(env.members(&g).len(), 2, "protected: none terminated");
    let id = env.members(&g)[0].clone();
    let before = env.fake().metrics.call_counts();
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    assert!(out.stdout.contains("desired stays 0"), "{}", out.stdout);
    assert_eq!(env.lifecycle(&id), "Standby");
    assert_eq!(env.members(&g).len(), 2, "nothing launched");
    env.run(REGISTER, &id).await.ok();
    assert_eq!(env.lifecycle(&id), "InService");
    env.assert_restored(&g, (0, 0, 4));
    let after = env.fake().metrics.call_counts();
    let n = |k: &str| after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
    assert_eq!(n("autoscaling:EnterStandby"), 1);
    assert_eq!(
        n("autoscaling:UpdateAutoScalingGroup"),
        1,
        "only the desired capacity taken back"
    );
}
