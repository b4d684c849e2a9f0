//! The maintenance page through the hook binaries: shown before the last healthy target leaves,
//! removed once it is back, a stale page from another deployment removed when safe, and a rule
//! that is not the hooks' never touched.

use fakeaws::model::{Action, ActionKind, Condition};
use fakeaws::Fault;

use crate::util::*;

const WORLD: &str = r#"
[[target_groups]]
name = "web"
port = 80
deregistration_delay = 30
health_check = { interval = 10, healthy_threshold = 2 }

[[load_balancers]]
name = "alb"
listeners = [{ port = 80, target_group = "web" }]

[[instances]]
availability_zone = "us-east-1a"
count = 2
target_groups = [{ name = "web" }]
"#;

/// A config with a maintenance page, in the env's state folder.
fn with_page(env: &mut Env) {
    std::fs::create_dir_all(&env.state_dir).expect("dir");
    std::fs::write(env.state_dir.join("page.html"), "<h1>Back soon</h1>").expect("page");
    let cfg = env.state_dir.join("elb-hooks.toml");
    std::fs::write(&cfg, "target_groups = [\"web\"]\n[maintenance]\npage = \"page.html\"\n").expect("config");
    env.extra.push(("ELB_HOOKS_CONFIG".into(), cfg.display().to_string()));
}

/// The standard world, settled, with the hooks configured for a maintenance page.
async fn env_with_page() -> (Env, Vec<String>) {
    let mut env = Env::new().await;
    let ids = env.apply(WORLD);
    env.settle(60);
    with_page(&mut env);
    (env, ids)
}

fn listener(env: &Env) -> String {
    env.fake().world().listeners().keys().next().cloned().expect("listener")
}

/// (priority, fixed-response body, the hooks' tag value) of each rule.
fn rules(env: &Env) -> Vec<(i64, Option<String>, Option<String>)> {
    let arn = listener(env);
    let w = env.fake().world();
    let l = &w.listeners()[&arn];
    l.rules
        .iter()
        .map(|r| {
            let body = r.actions.iter().find_map(|a| match &a.kind {
                ActionKind::FixedResponse { message_body, .. } => message_body.clone(),
                _ => None,
            });
            let tag = w
                .elb_tags()
                .get(&r.arn)
                .and_then(|t| t.get(hooks::maintenance::TAG).cloned());
            (r.priority, body, tag)
        })
        .collect()
}

#[tokio::test]
async fn the_page_goes_up_for_the_last_healthy_target_and_down_when_it_is_back() {
    let (env, ids) = env_with_page().await;
    // The first instance leaves while the other is healthy: no page.
    env.run(DEREGISTER, &ids[0]).await.ok();
    assert!(rules(&env).is_empty());
    // The second is the last healthy target: the page goes up before it leaves.
    let out = env.run(DEREGISTER, &ids[1]).await;
    out.ok();
    assert!(out.stdout.contains("CreateRule"), "{}", out.stdout);
    let dep = env.deployment.clone();
    assert_eq!(rules(&env), [(1, Some("<h1>Back soon</h1>".into()), Some(dep))]);
    // Run again (CodeDeploy retried the event): still one rule.
    env.run(DEREGISTER, &ids[1]).await.ok();
    assert_eq!(rules(&env).len(), 1);
    // The first back and healthy takes it down; the second finds nothing to remove.
    env.run(REGISTER, &ids[0]).await.ok();
    assert!(rules(&env).is_empty());
    env.run(REGISTER, &ids[1]).await.ok();
    assert!(rules(&env).is_empty());
}

/// AllAtOnce: another instance's hook takes the page down between this hook's listing of the
/// listener's rules and its reading of the rule's tags. The rule is gone, not an error: the hook
/// succeeds and leaves nothing behind.
#[tokio::test]
async fn a_page_taken_down_by_another_hook_meanwhile_is_gone_not_an_error() {
    let (env, ids) = env_with_page().await;
    env.run(DEREGISTER, &ids[0]).await.ok();
    env.run(DEREGISTER, &ids[1]).await.ok();
    let [(_, _, Some(_))] = rules(&env)[..] else {
        panic!("the page is up: {:?}", rules(&env));
    };
    // The register hook's read of the rule's tags waits at the door while the other hook deletes it.
    let fake = env.fake().clone();
    let mut held = fake.faults.held();
    held.borrow_and_update();
    fake.faults.inject("DescribeTags", Fault::Hold, 1);
    let other_hook = async {
        held.changed().await.expect("held");
        let l = listener(&env);
        let arn = fake.world().listeners()[&l].rules[0].arn.clone();
        fake.world().delete_rule(&arn).expect("delete");
        fake.faults.release_held();
    };
    let (out, ()) = tokio::join!(env.run(REGISTER, &ids[0]), other_hook);
    out.ok();
    assert!(out.stdout.contains("was deleted meanwhile"), "{}", out.stdout);
    assert!(rules(&env).is_empty());
}

#[tokio::test]
async fn a_page_left_by_another_deployment_comes_down_once_it_is_safe() {
    let (env, ids) = env_with_page().await;
    let l = listener(&env);
    {
        let mut w = env.fake().world();
        let page = Action {
            order: None,
            kind: ActionKind::FixedResponse {
                status_code: 503,
                content_type: None,
                message_body: Some("old".into()),
            },
        };
        let r = w
            .create_rule(
                &l,
                1,
                vec![Condition::PathPattern {
                    values: vec!["*".into()],
                }],
                vec![page],
            )
            .expect("rule");
        w.add_elb_tags(&[r.arn], &[(hooks::maintenance::TAG.into(), "d-OLD".into())])
            .expect("tag");
    }
    let out = env.run(DEREGISTER, &ids[0]).await;
    out.ok();
    assert!(out.stdout.contains("left by deployment d-OLD"), "{}", out.stdout);
    assert!(rules(&env).is_empty());
}

#[tokio::test]
async fn a_rule_that_is_not_the_hooks_is_never_touched() {
    let mut env = Env::new().await;
    let ids = env.apply(
        r#"
[[target_groups]]
name = "web"
port = 80
health_check = { interval = 10, healthy_threshold = 2 }

[[load_balancers]]
name = "alb"
listeners = [{ port = 80, target_group = "web" }]

[[instances]]
availability_zone = "us-east-1a"
target_groups = [{ name = "web" }]
"#,
    );
    env.settle(60);
    with_page(&mut env);
    let l = listener(&env);
    env.fake()
        .world()
        .create_rule(
            &l,
            1,
            vec![Condition::PathPattern {
                values: vec!["/api/*".into()],
            }],
            vec![Action {
                order: None,
                kind: ActionKind::FixedResponse {
                    status_code: 200,
                    content_type: None,
                    message_body: Some("mine".into()),
                },
            }],
        )
        .expect("rule");
    let out = env.run(DEREGISTER, &ids[0]).await;
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("not the hooks'"), "{}", out.stderr);
    assert_eq!(rules(&env), [(1, Some("mine".into()), None)]);
    assert_eq!(env.health("web", &ids[0]), "healthy", "nothing changed");
}
