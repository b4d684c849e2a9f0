//! The least-privilege policy of docs/hooks.md is enough and no more: every hooks test and scenario runs its
//! instances under it (the fake's default for instance roles, read from `hooks/iam-policy.json`,
//! the file docs/hooks.md shows); here each statement is taken out in turn, the hooks fail with exit 1
//! naming a permission of that statement, and with the policy whole again the next deployment puts
//! the fleet right.

use crate::kill_points::{next_deployment_converges, setup, Path};
use crate::util::*;

const POLICY: &str = include_str!("../../iam-policy.json");

/// The policy with statement `i` taken out.
fn without(env: &Env, i: usize) -> (serde_json::Value, Vec<String>) {
    let w = env.fake().world();
    let mut p = fakeaws::hooks_policy(w.region(), w.account_id());
    let removed = p["Statement"].as_array_mut().expect("statements").remove(i);
    let actions = removed["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    (p, actions)
}

fn role_of(env: &Env, id: &str) -> String {
    env.fake().world().instances()[id].role.clone()
}

/// Runs `steps` under the policy without statement `i`: some hook must fail with exit 1 naming one
/// of its actions. Then the whole policy again and the next deployment's deregister and register.
async fn statement_is_needed(i: usize, path: Path, maintenance: bool) {
    let mut env = Env::new().await;
    let id = setup(&mut env, path);
    if maintenance {
        std::fs::create_dir_all(&env.state_dir).expect("dir");
        std::fs::write(env.state_dir.join("page.html"), "<h1>Back soon</h1>").expect("page");
        let cfg = env.state_dir.join("elb-hooks.toml");
        std::fs::write(&cfg, "[maintenance]\npage = \"page.html\"\nthreshold = 1\n").expect("config");
        env.extra.push(("ELB_HOOKS_CONFIG".into(), cfg.display().to_string()));
    }
    let role = role_of(&env, &id);
    let (policy, actions) = without(&env, i);
    env.fake().set_role_policies(&role, vec![policy]);
    let de = env.run(DEREGISTER, &id).await;
    let re = env.run(REGISTER, &id).await;
    let named = [&de, &re].iter().any(|o| {
        o.code == 1
            && o.stderr.contains("AccessDenied")
            && actions.iter().any(|a| {
                o.stderr
                    .contains(&format!("is not authorized to perform: {a} on resource"))
            })
    });
    assert!(
        named,
        "statement {i} ({actions:?}) removed on {path:?}: no hook failed naming it\n{}\n{}\n{}\n{}",
        de.stdout, de.stderr, re.stdout, re.stderr
    );
    let whole = {
        let w = env.fake().world();
        fakeaws::hooks_policy(w.region(), w.account_id())
    };
    env.fake().set_role_policies(&role, vec![whole]);
    next_deployment_converges(&mut env, path, &id, &format!("statement {i} restored")).await;
}

#[test]
fn the_policy_file_is_the_readmes() {
    let readme = include_str!("../../../docs/hooks.md");
    let start = readme
        .find("## IAM policy for the instance profile")
        .and_then(|i| readme[i..].find("```json").map(|j| i + j + "```json\n".len()))
        .expect("docs/hooks.md shows the policy");
    let end = start + readme[start..].find("```").expect("block ends");
    assert_eq!(
        &readme[start..end],
        POLICY,
        "docs/hooks.md and hooks/iam-policy.json differ"
    );
    let v: serde_json::Value = serde_json::from_str(POLICY).expect("JSON");
    assert_eq!(v["Statement"].as_array().map(Vec::len), Some(6));
}

#[tokio::test]
async fn the_describe_statement_is_needed() {
    statement_is_needed(0, Path::Asg, false).await;
}

#[tokio::test]
async fn the_auto_scaling_statement_is_needed() {
    statement_is_needed(1, Path::Asg, false).await;
}

#[tokio::test]
async fn the_target_registration_statement_is_needed() {
    statement_is_needed(2, Path::TargetGroups, false).await;
}

#[tokio::test]
async fn the_classic_statement_is_needed() {
    statement_is_needed(3, Path::Classic, false).await;
}

#[tokio::test]
async fn the_maintenance_statement_is_needed_with_a_maintenance_page() {
    statement_is_needed(5, Path::TargetGroups, true).await;
}
