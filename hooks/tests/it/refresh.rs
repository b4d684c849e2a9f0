//! Issue 30: an instance refresh under way when deregister starts. By default the hooks refuse
//! before changing anything; with `instance_refresh = "wait"` they wait for it to end, then take
//! the instance out as usual.

use fakeaws::model::{ProtectedPreference, RefreshPreferences, RefreshStatus};
use fakeaws::rehearsal::RefreshRequest;

use crate::util::*;

/// A refresh of `g` replacing every instance but `keep` (protected from scale in, which the
/// refresh leaves alone), one at a time with a minute's warm-up.
fn start_refresh(env: &Env, g: &str, keep: &str) {
    env.fake()
        .world()
        .set_instance_protection(g, &[keep.to_string()], true)
        .expect("protect");
    env.fake()
        .rehearsal()
        .start_instance_refresh(RefreshRequest {
            group: g.to_string(),
            preferences: RefreshPreferences {
                min_healthy_percentage: 50,
                instance_warmup_s: Some(60),
                scale_in_protected_instances: ProtectedPreference::Ignore,
                ..RefreshPreferences::default()
            },
            desired_template: None,
        })
        .expect("refresh");
}

fn refresh_status(env: &Env, g: &str) -> RefreshStatus {
    env.fake().rehearsal().refresh_status(g).expect("a refresh")
}

#[tokio::test]
async fn deregister_refuses_while_an_instance_refresh_runs_and_changes_nothing() {
    let env = Env::new().await;
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    start_refresh(&env, &g, &id);
    let out = env.run(DEREGISTER, &id).await;
    assert_eq!(out.code, 3, "refused:\n{}\n{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("an instance refresh of web-asg is under way") && all.contains("nothing was changed"),
        "{all}"
    );
    assert_eq!(env.lifecycle(&id), "InService");
    assert!(env.suspended(&g).is_empty(), "{:?}", env.suspended(&g));
    assert!(env.tags(&g).is_empty(), "{:?}", env.tags(&g));
    assert_eq!(refresh_status(&env, &g), RefreshStatus::InProgress);
}

#[tokio::test]
async fn deregister_waits_for_an_instance_refresh_when_told_to() {
    let mut env = Env::new().await;
    env.extra.push(("ELB_HOOKS_INSTANCE_REFRESH".into(), "wait".into()));
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    start_refresh(&env, &g, &id);
    let out = env.run(DEREGISTER, &id).await;
    out.ok();
    assert!(
        out.stdout.contains("an instance refresh of web-asg is under way")
            && out.stdout.contains("the instance refresh of web-asg has ended"),
        "{}",
        out.stdout
    );
    assert_eq!(refresh_status(&env, &g), RefreshStatus::Successful);
    assert_eq!(env.lifecycle(&id), "Standby");
    // InstanceRefresh is held with the other processes while the instance is out.
    assert!(env.suspended(&g).contains(&"InstanceRefresh".to_string()));
    env.run(REGISTER, &id).await.ok();
    env.assert_restored(&g, (1, 2, 4));
}

#[tokio::test]
async fn a_bad_instance_refresh_setting_is_named() {
    let mut env = Env::new().await;
    env.extra.push(("ELB_HOOKS_INSTANCE_REFRESH".into(), "pause".into()));
    let g = env.asg_world(1, 4, 2);
    let id = env.members(&g)[0].clone();
    let out = env.run(DEREGISTER, &id).await;
    assert_ne!(out.code, 0);
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("'pause' is not refuse or wait"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}
