//! Who may call, as a world file declares it: instance roles with their own policies (groups and
//! stand-alone instances name them), static identities with or without policies; refusals as
//! AWS words them, through the Rust SDK, boto3 and the AWS CLI.

use std::process::Command;

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use fakeaws::spec::{parse, WorldFile};

use crate::botocore::{clean_env_as, python};
use crate::util::*;

const WORLD: &str = r#"
[[roles]]
name = "web-role"
# Read-only on Auto Scaling: a hook under this role cannot change anything.
policies = [{ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "autoscaling:Describe*", Resource = "*" }] }]

[[identities]]
name = "deployer"
access_key_id = "AKIADEPLOYER00000001"
secret_access_key = "deployer-secret"
# As JSON text, pasted from IAM: everything but the load balancers.
policies = ['''{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "*", "Resource": "*"},
  {"Effect": "Deny", "Action": "elasticloadbalancing:*", "Resource": "*"}]}''']

[[identities]]
name = "admin"
access_key_id = "AKIAADMIN00000000001"
secret_access_key = "admin-secret"

[[groups]]
name = "web"
min = 1
max = 2
desired = 1
availability_zones = ["us-east-1a"]
role = "web-role"

[[instances]]
availability_zone = "us-east-1b"
"#;

async fn started() -> (fakeaws::Running, Vec<String>) {
    let r = start().await;
    let WorldFile::Spec(spec) = parse(WORLD, "world.toml").expect("parses") else {
        panic!("a spec")
    };
    let ids = r.fake.rehearsal().apply(&spec).expect("applies");
    (r, ids)
}

/// The role credentials an instance's metadata service hands out: (role, key, secret, token).
async fn role_credentials(url: &str, id: &str) -> (String, String, String, String) {
    let token = imds_token(url, id).await;
    let h = [("x-aws-ec2-metadata-token", token.as_str())];
    let base = format!("/_imds/{id}/latest/meta-data/iam/security-credentials/");
    let (s, _, role) = raw_http(url, "GET", &base, "", &h).await;
    assert_eq!(s, 200);
    let (s, _, doc) = raw_http(url, "GET", &format!("{base}{role}"), "", &h).await;
    assert_eq!(s, 200, "{doc}");
    let v: serde_json::Value = serde_json::from_str(&doc).expect("json");
    let field = |k: &str| v[k].as_str().expect(k).to_string();
    (role, field("AccessKeyId"), field("SecretAccessKey"), field("Token"))
}

#[tokio::test]
async fn a_groups_role_from_the_world_file_governs_its_instances() {
    let (r, standalone) = started().await;
    let member = r.fake.rehearsal().group_members("web")[0].clone();
    let (role, key, secret, token) = role_credentials(&r.url, &member).await;
    assert_eq!(role, "web-role");
    let c = aws_sdk_autoscaling::Client::new(&sdk_config_as(&r.url, &key, &secret, Some(&token)).await);
    c.describe_auto_scaling_groups()
        .send()
        .await
        .expect("Describe* is allowed");
    let e = c
        .set_desired_capacity()
        .auto_scaling_group_name("web")
        .desired_capacity(2)
        .send()
        .await
        .expect_err("refused");
    let group_arn = r.fake.world_read().groups()["web"].arn.clone();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(
        e.message(),
        Some(
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/web-role/{member} is not authorized to perform: \
                 autoscaling:SetDesiredCapacity on resource: {group_arn} because no identity-based policy allows \
                 the autoscaling:SetDesiredCapacity action"
            )
            .as_str()
        )
    );
    assert_eq!(r.fake.world_read().groups()["web"].desired, 1, "nothing changed");
    // An instance that names no role has the default one, under the hooks' policy.
    let (role, key, secret, token) = role_credentials(&r.url, &standalone[0]).await;
    assert_eq!(role, "fakeaws-instance-role");
    let c = aws_sdk_autoscaling::Client::new(&sdk_config_as(&r.url, &key, &secret, Some(&token)).await);
    c.describe_auto_scaling_instances()
        .send()
        .await
        .expect("in the hooks' policy");
    let e = c
        .delete_auto_scaling_group()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect_err("not in the hooks' policy");
    assert_eq!(e.code(), Some("AccessDenied"));
}

fn cli(url: &str, key: &str, secret: &str, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new("aws");
    cmd.args(args);
    clean_env_as(&mut cmd, url, key, secret, None);
    let out = cmd.output().expect("the AWS CLI runs (install awscli)");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

/// boto3's answer to one call: `ok` or the error code and message.
fn boto3(url: &str, key: &str, secret: &str, service: &str, call: &str) -> String {
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(format!(
        "import boto3, botocore\n\
         try:\n    boto3.client('{service}').{call}(); print('ok')\n\
         except botocore.exceptions.ClientError as e:\n    print(e.response['Error']['Code'] + ': ' + e.response['Error']['Message'])",
    ));
    clean_env_as(&mut cmd, url, key, secret, None);
    let out = cmd.output().expect("python3 runs (install python3 with boto3)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn static_identities_from_the_world_file_sign_and_are_held_to_their_policies() {
    let (r, _) = started().await;
    // The Rust SDK: the deployer may use Auto Scaling, not the load balancers (explicit deny).
    let conf = sdk_config_as(&r.url, "AKIADEPLOYER00000001", "deployer-secret", None).await;
    aws_sdk_autoscaling::Client::new(&conf)
        .describe_auto_scaling_groups()
        .send()
        .await
        .expect("allowed");
    let e = aws_sdk_elasticloadbalancingv2::Client::new(&conf)
        .describe_load_balancers()
        .send()
        .await
        .expect_err("denied");
    let denied = "User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: \
                  elasticloadbalancing:DescribeLoadBalancers on resource: * with an explicit deny in an \
                  identity-based policy";
    assert_eq!((e.code(), e.message()), (Some("AccessDenied"), Some(denied)));
    let url = r.url.clone();
    let (b_denied, b_admin, c_denied, c_allowed, c_admin, c_wrong) = tokio::task::spawn_blocking(move || {
        let deployer = ("AKIADEPLOYER00000001", "deployer-secret");
        let admin = ("AKIAADMIN00000000001", "admin-secret");
        (
            boto3(&url, deployer.0, deployer.1, "elbv2", "describe_load_balancers"),
            boto3(&url, admin.0, admin.1, "elbv2", "describe_load_balancers"),
            cli(&url, deployer.0, deployer.1, &["elbv2", "describe-load-balancers"]),
            cli(
                &url,
                deployer.0,
                deployer.1,
                &["autoscaling", "describe-auto-scaling-groups"],
            ),
            cli(&url, admin.0, admin.1, &["elbv2", "describe-target-groups"]),
            cli(
                &url,
                deployer.0,
                "not-its-secret",
                &["autoscaling", "describe-auto-scaling-groups"],
            ),
        )
    })
    .await
    .expect("join");
    assert_eq!(b_denied, format!("AccessDenied: {denied}"));
    // An identity declared without policies may do anything.
    assert_eq!(b_admin, "ok");
    assert!(
        !c_denied.0 && c_denied.1.contains("(AccessDenied)") && c_denied.1.contains(denied),
        "{c_denied:?}"
    );
    assert!(c_allowed.0, "{c_allowed:?}");
    assert!(c_admin.0, "{c_admin:?}");
    assert!(
        !c_wrong.0 && c_wrong.1.contains("(SignatureDoesNotMatch)"),
        "{c_wrong:?}"
    );
}

#[tokio::test]
async fn identities_survive_a_save_and_never_show_their_secrets() {
    let (r, _) = started().await;
    let world = r.fake.world_read().clone();
    let text = serde_json::to_string(&fakeaws::spec::SavedState {
        fakeaws_state: 1,
        world: world.clone(),
    })
    .expect("serialises");
    let WorldFile::Saved(saved) = parse(&text, "state.json").expect("parses") else {
        panic!("a saved state")
    };
    assert_eq!(saved.world.identities(), world.identities());
    assert_eq!(saved.world.groups()["web"].role.as_deref(), Some("web-role"));
    let shown = format!("{world:?}");
    assert!(
        shown.contains("deployer") && !shown.contains("deployer-secret"),
        "secret in Debug"
    );
}

#[test]
fn a_policy_that_is_not_a_policy_document_is_named() {
    let mut w = fakeaws::World::new("us-east-1", 0);
    for (policies, says) in [
        (
            "[{ Effect = \"Allow\" }]",
            "role 'r': policy 1 is not a policy document (it needs a Statement)",
        ),
        ("['{\"Statement\": [}']", "role 'r': policy 1 is not JSON"),
    ] {
        let text = format!("[[roles]]\nname = \"r\"\npolicies = {policies}\n");
        let WorldFile::Spec(spec) = parse(&text, "w.toml").expect("parses") else {
            panic!("a spec")
        };
        let e = fakeaws::spec::apply(&mut w, &spec).expect_err("refused");
        assert!(e.message.contains(says), "{}", e.message);
    }
    let identities = [
        ("name = \"u\"\naccess_key_id = \"\"\nsecret_access_key = \"s\"", "identity 'u' needs a non-empty access_key_id"),
        (
            "name = \"u\"\naccess_key_id = \"AKIAFAKEAWSDEFAULT01\"\nsecret_access_key = \"s\"",
            "is the fake's default pair",
        ),
        (
            "name = \"a\"\naccess_key_id = \"AKIASAME\"\nsecret_access_key = \"s\"\n\n[[identities]]\nname = \"b\"\naccess_key_id = \"AKIASAME\"\nsecret_access_key = \"t\"",
            "identity 'b': access_key_id AKIASAME is already another identity's",
        ),
    ];
    for (body, says) in identities {
        let mut w = fakeaws::World::new("us-east-1", 0);
        let text = format!("[[identities]]\n{body}\n");
        let WorldFile::Spec(spec) = parse(&text, "w.toml").expect("parses") else {
            panic!("a spec")
        };
        let e = fakeaws::spec::apply(&mut w, &spec).expect_err("refused");
        assert!(e.message.contains(says), "{}", e.message);
    }
}
