//! Listener rules and ELBv2 tags through the Rust SDK, boto3 and the AWS CLI: the actions and
//! conditions users write, AWS's limits and error codes.

use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig, PathPatternConditionConfig, ProtocolEnum,
    RuleCondition, RulePriorityPair, Tag, TargetGroupTuple,
};

use crate::botocore::{aws_cli, boto3};
use crate::util::*;

/// An ALB with a listener forwarding to `web`, and a second target group `canary`.
async fn alb(elb: &aws_sdk_elasticloadbalancingv2::Client) -> (String, String, String, String) {
    let mut tgs = Vec::new();
    for name in ["web", "canary"] {
        let t = elb
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id("vpc-1")
            .send()
            .await
            .expect("tg");
        tgs.push(t.target_groups()[0].target_group_arn().expect("arn").to_string());
    }
    let lb = elb
        .create_load_balancer()
        .name("alb")
        .subnets("subnet-a")
        .subnets("subnet-b")
        .send()
        .await
        .expect("lb");
    let lb = lb.load_balancers()[0].load_balancer_arn().expect("arn").to_string();
    let l = elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tgs[0])
                .build(),
        )
        .send()
        .await
        .expect("listener");
    let l = l.listeners()[0].listener_arn().expect("arn").to_string();
    (lb, l, tgs[0].clone(), tgs[1].clone())
}

fn path(p: &str) -> RuleCondition {
    RuleCondition::builder()
        .field("path-pattern")
        .path_pattern_config(PathPatternConditionConfig::builder().values(p).build())
        .build()
}

/// CreateRule with one path-pattern condition and one action.
async fn create(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    listener: impl Into<String>,
    priority: i32,
    pattern: &str,
    action: Action,
) -> Result<
    aws_sdk_elasticloadbalancingv2::operation::create_rule::CreateRuleOutput,
    aws_sdk_elasticloadbalancingv2::error::SdkError<
        aws_sdk_elasticloadbalancingv2::operation::create_rule::CreateRuleError,
    >,
> {
    elb.create_rule()
        .listener_arn(listener)
        .priority(priority)
        .conditions(path(pattern))
        .actions(action)
        .send()
        .await
}

fn page(status: &str, body: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code(status)
                .content_type("text/html")
                .message_body(body)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn rules_through_the_rust_sdk() {
    let r = start().await;
    let elb = elb(&r.url).await;
    let (lb, listener, web, canary) = alb(&elb).await;

    let created = elb
        .create_rule()
        .listener_arn(&listener)
        .priority(1)
        .conditions(path("*"))
        .actions(page("503", "<h1>Back soon</h1>"))
        .tags(Tag::builder().key("elb-hooks:maintenance").value("d-1").build())
        .send()
        .await
        .expect("rule");
    let rule = created.rules()[0].rule_arn().expect("arn").to_string();
    assert!(rule.contains(":listener-rule/app/alb/"), "{rule}");

    // Weighted forward on another path.
    let weighted = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(TargetGroupTuple::builder().target_group_arn(&web).weight(9).build())
                .target_groups(TargetGroupTuple::builder().target_group_arn(&canary).weight(1).build())
                .build(),
        )
        .build();
    let second = elb
        .create_rule()
        .listener_arn(&listener)
        .priority(10)
        .conditions(path("/shop/*"))
        .actions(weighted)
        .send()
        .await
        .expect("weighted rule");
    let second = second.rules()[0].rule_arn().expect("arn").to_string();

    let rules = elb
        .describe_rules()
        .listener_arn(&listener)
        .send()
        .await
        .expect("rules");
    let got: Vec<(String, bool)> = rules
        .rules()
        .iter()
        .map(|r| {
            (
                r.priority().unwrap_or_default().to_string(),
                r.is_default().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("1".to_string(), false),
            ("10".to_string(), false),
            ("default".to_string(), true)
        ]
    );
    let fixed = rules.rules()[0].actions()[0].fixed_response_config().expect("fixed");
    assert_eq!(fixed.status_code(), Some("503"));
    assert_eq!(fixed.message_body(), Some("<h1>Back soon</h1>"));
    let tgs = rules.rules()[1].actions()[0]
        .forward_config()
        .expect("forward")
        .target_groups();
    assert_eq!(
        tgs.iter().map(|t| t.weight().unwrap_or_default()).collect::<Vec<_>>(),
        [9, 1]
    );
    // The canary group is now in use by a rule: it cannot be deleted.
    let e = elb
        .delete_target_group()
        .target_group_arn(&canary)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceInUse"));

    // AWS's errors.
    let e = create(&elb, &listener, 10, "/x", page("200", "x")).await.unwrap_err();
    assert_eq!(e.code(), Some("PriorityInUse"));
    assert_eq!(e.message(), Some("Priority '10' is currently in use"));
    let e = create(&elb, &listener, 50_001, "/x", page("200", "x"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    let e = create(&elb, &listener, 2, "/x", page("503", &"x".repeat(1025)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    assert!(e.message().unwrap_or_default().contains("1024"), "{e:?}");
    let e = create(&elb, format!("{listener}0"), 2, "/x", page("200", "x"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ListenerNotFound"));

    // Reorder, modify, tags, delete.
    let moved = elb
        .set_rule_priorities()
        .rule_priorities(RulePriorityPair::builder().rule_arn(&second).priority(5).build())
        .send()
        .await
        .expect("priorities");
    assert_eq!(moved.rules()[0].priority(), Some("5"));
    let modified = elb
        .modify_rule()
        .rule_arn(&second)
        .conditions(path("/store/*"))
        .send()
        .await
        .expect("modify");
    let values = modified.rules()[0].conditions()[0]
        .path_pattern_config()
        .expect("config")
        .values();
    assert_eq!(values, ["/store/*"]);
    let tags = elb
        .describe_tags()
        .resource_arns(&rule)
        .resource_arns(&lb)
        .send()
        .await
        .expect("tags");
    let d = tags.tag_descriptions();
    assert_eq!(d[0].tags()[0].key(), Some("elb-hooks:maintenance"));
    assert!(d[1].tags().is_empty());
    elb.remove_tags()
        .resource_arns(&rule)
        .tag_keys("elb-hooks:maintenance")
        .send()
        .await
        .expect("untag");
    let tags = elb.describe_tags().resource_arns(&rule).send().await.expect("tags");
    assert!(tags.tag_descriptions()[0].tags().is_empty());
    elb.delete_rule().rule_arn(&rule).send().await.expect("delete");
    let e = elb.delete_rule().rule_arn(&rule).send().await.unwrap_err();
    assert_eq!(e.code(), Some("RuleNotFound"));
    let default_rule = elb
        .describe_rules()
        .listener_arn(&listener)
        .send()
        .await
        .expect("rules")
        .rules()[1]
        .rule_arn()
        .expect("arn")
        .to_string();
    let e = elb.delete_rule().rule_arn(&default_rule).send().await.unwrap_err();
    assert_eq!(e.code(), Some("OperationNotPermitted"));
    let e = elb
        .describe_tags()
        .resource_arns(format!("{lb}0"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("LoadBalancerNotFound"));
}

#[tokio::test]
async fn too_many_rules_per_load_balancer() {
    let r = start().await;
    let elb = elb(&r.url).await;
    let (_, listener, _, _) = alb(&elb).await;
    for p in 1..=100 {
        create(&elb, &listener, p, &format!("/{p}"), page("200", "ok"))
            .await
            .expect("rule");
    }
    let e = create(&elb, &listener, 101, "/101", page("200", "ok"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("TooManyRules"));
    // DescribeRules pages.
    let page1 = elb
        .describe_rules()
        .listener_arn(&listener)
        .page_size(60)
        .send()
        .await
        .expect("page");
    assert_eq!(page1.rules().len(), 60);
    let page2 = elb
        .describe_rules()
        .listener_arn(&listener)
        .marker(page1.next_marker().expect("marker"))
        .send()
        .await
        .expect("page");
    assert_eq!(page2.rules().len(), 41);
    assert!(page2.next_marker().is_none());
}

const BOTO_RULES: &str = r#"
import boto3, json
from botocore.exceptions import ClientError
elb = boto3.client('elbv2')
tg = elb.create_target_group(Name='web', Protocol='HTTP', Port=80, VpcId='vpc-1')['TargetGroups'][0]['TargetGroupArn']
lb = elb.create_load_balancer(Name='alb', Subnets=['subnet-a', 'subnet-b'])['LoadBalancers'][0]['LoadBalancerArn']
l = elb.create_listener(LoadBalancerArn=lb, Protocol='HTTP', Port=80, DefaultActions=[{'Type': 'forward', 'TargetGroupArn': tg}])['Listeners'][0]['ListenerArn']
r = elb.create_rule(ListenerArn=l, Priority=3,
    Conditions=[{'Field': 'host-header', 'HostHeaderConfig': {'Values': ['old.example.com']}},
                {'Field': 'query-string', 'QueryStringConfig': {'Values': [{'Key': 'v', 'Value': '1'}]}},
                {'Field': 'http-header', 'HttpHeaderConfig': {'HttpHeaderName': 'X-Beta', 'Values': ['yes']}}],
    Actions=[{'Type': 'redirect', 'RedirectConfig': {'Protocol': 'HTTPS', 'Port': '443', 'StatusCode': 'HTTP_301'}}],
    Tags=[{'Key': 'team', 'Value': 'web'}])['Rules'][0]
codes = []
for prio in (3, 60000):
    try:
        elb.create_rule(ListenerArn=l, Priority=prio, Conditions=[{'Field': 'path-pattern', 'Values': ['/x']}],
            Actions=[{'Type': 'fixed-response', 'FixedResponseConfig': {'StatusCode': '503'}}])
    except ClientError as e:
        codes.append(e.response['Error']['Code'])
try:
    elb.create_rule(ListenerArn=l, Priority=4, Conditions=[{'Field': 'path-pattern', 'Values': ['/x']}],
        Actions=[{'Type': 'fixed-response', 'FixedResponseConfig': {'StatusCode': '302'}}])
except ClientError as e:
    codes.append(e.response['Error']['Code'])
rules = elb.describe_rules(ListenerArn=l)['Rules']
tags = elb.describe_tags(ResourceArns=[r['RuleArn'], l])['TagDescriptions']
elb.modify_listener(ListenerArn=l, DefaultActions=[{'Type': 'fixed-response', 'FixedResponseConfig': {'StatusCode': '503', 'ContentType': 'text/plain', 'MessageBody': 'down'}}])
default = elb.describe_listeners(ListenerArns=[l])['Listeners'][0]['DefaultActions'][0]
print(json.dumps({'codes': codes, 'fields': [c['Field'] for c in rules[0]['Conditions']],
    'redirect': rules[0]['Actions'][0]['RedirectConfig'], 'default': rules[1]['IsDefault'],
    'tags': [[t['Key'] for t in d['Tags']] for d in tags], 'listener_default': default}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_through_boto3() {
    let r = start().await;
    let out = boto3(&r.url, BOTO_RULES, &[]);
    assert_eq!(
        out["codes"],
        serde_json::json!(["PriorityInUse", "ValidationError", "ValidationError"])
    );
    assert_eq!(
        out["fields"],
        serde_json::json!(["host-header", "query-string", "http-header"])
    );
    assert_eq!(out["redirect"]["StatusCode"], "HTTP_301");
    assert_eq!(out["redirect"]["Host"], "#{host}");
    assert_eq!(out["default"], true);
    assert_eq!(out["tags"], serde_json::json!([["team"], []]));
    assert_eq!(out["listener_default"]["Type"], "fixed-response");
    assert_eq!(out["listener_default"]["FixedResponseConfig"]["MessageBody"], "down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_through_the_aws_cli() {
    let r = start().await;
    let elb = elb(&r.url).await;
    let (_, listener, _, _) = alb(&elb).await;
    let (ok, out, err) = aws_cli(
        &r.url,
        &[
            "elbv2",
            "create-rule",
            "--listener-arn",
            &listener,
            "--priority",
            "7",
            "--conditions",
            "Field=path-pattern,Values=/maintenance",
            "--actions",
            "Type=fixed-response,FixedResponseConfig={StatusCode=503,ContentType=text/html,MessageBody=down}",
        ],
    );
    assert!(ok, "{err}");
    let arn = out["Rules"][0]["RuleArn"].as_str().expect("arn").to_string();
    let (ok, out, err) = aws_cli(&r.url, &["elbv2", "describe-rules", "--listener-arn", &listener]);
    assert!(ok, "{err}");
    assert_eq!(out["Rules"][0]["Conditions"][0]["Values"][0], "/maintenance");
    assert_eq!(out["Rules"][1]["Priority"], "default");
    let (ok, _, err) = aws_cli(
        &r.url,
        &[
            "elbv2",
            "create-rule",
            "--listener-arn",
            &listener,
            "--priority",
            "7",
            "--conditions",
            "Field=path-pattern,Values=/x",
            "--actions",
            "Type=fixed-response,FixedResponseConfig={StatusCode=200}",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains(
            "An error occurred (PriorityInUse) when calling the CreateRule operation: Priority '7' is currently in use"
        ),
        "{err}"
    );
    let (ok, _, err) = aws_cli(
        &r.url,
        &["elbv2", "add-tags", "--resource-arns", &arn, "--tags", "Key=k,Value=v"],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = aws_cli(&r.url, &["elbv2", "describe-tags", "--resource-arns", &arn]);
    assert!(ok, "{err}");
    assert_eq!(out["TagDescriptions"][0]["Tags"][0]["Value"], "v");
    let (ok, _, err) = aws_cli(&r.url, &["elbv2", "delete-rule", "--rule-arn", &arn]);
    assert!(ok, "{err}");
}

/// AWS allows one load balancer per target group: a second load balancer's listener (or rule)
/// forwarding to it is refused with TargetGroupAssociationLimit, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_group_serves_one_load_balancer() {
    let r = start().await;
    let elb = elb(&r.url).await;
    let (_, listener, web, canary) = alb(&elb).await;
    let second = elb
        .create_load_balancer()
        .name("alb-2")
        .subnets("subnet-a")
        .subnets("subnet-b")
        .send()
        .await
        .expect("lb");
    let second = second.load_balancers()[0].load_balancer_arn().expect("arn").to_string();
    let forward = |tg: &str| {
        Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(tg)
            .build()
    };
    let e = elb
        .create_listener()
        .load_balancer_arn(&second)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward(&web))
        .send()
        .await
        .expect_err("web is alb's");
    assert_eq!(e.code(), Some("TargetGroupAssociationLimit"));
    assert_eq!(
        e.message(),
        Some(
            format!("The following target groups cannot be associated with more than one load balancer: {web}")
                .as_str()
        )
    );
    let l2 = elb
        .create_listener()
        .load_balancer_arn(&second)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward(&canary))
        .send()
        .await
        .expect("canary is free");
    let l2 = l2.listeners()[0].listener_arn().expect("arn").to_string();
    // A rule of the first load balancer, and a change of its default action, cannot take canary.
    let e = create(&elb, &listener, 5, "/c*", forward(&canary))
        .await
        .expect_err("taken");
    assert_eq!(e.code(), Some("TargetGroupAssociationLimit"));
    let e = elb
        .modify_listener()
        .listener_arn(&l2)
        .default_actions(forward(&web))
        .send()
        .await
        .expect_err("taken");
    assert_eq!(e.code(), Some("TargetGroupAssociationLimit"));
    // The same load balancer may forward to its own target group from several listeners and rules.
    create(&elb, &listener, 6, "/w*", forward(&web)).await.expect("its own");
    let tgs = elb
        .describe_target_groups()
        .target_group_arns(&canary)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        tgs.target_groups()[0].load_balancer_arns(),
        std::slice::from_ref(&second)
    );
    // boto3 sees the same error code.
    let out = boto3(
        &r.url,
        &format!(
            "import boto3, botocore, json\nelb = boto3.client('elbv2')\ntry:\n    elb.create_listener(LoadBalancerArn='{second}', Protocol='HTTP', Port=81, DefaultActions=[{{'Type': 'forward', 'TargetGroupArn': '{web}'}}])\n    print(json.dumps('created'))\nexcept botocore.exceptions.ClientError as e:\n    print(json.dumps(e.response['Error']['Code']))\n"
        ),
        &[],
    );
    assert_eq!(out, serde_json::json!("TargetGroupAssociationLimit"));
}
