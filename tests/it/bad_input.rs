//! Malformed, hostile and random input: always an AWS-shaped error, never a panic or HTML.

use proptest::prelude::*;

use crate::util::*;

fn is_error_response(body: &str, code: &str) -> bool {
    body.contains("<ErrorResponse xmlns=\"")
        && body.contains(&format!("<Code>{code}</Code>"))
        && body.contains("<RequestId>")
}

#[tokio::test]
async fn malformed_requests_get_aws_shaped_errors() {
    let r = start().await;
    let cases: &[(&str, u16, &str, &str)] = &[
        (
            "Action=Frobnicate&Version=2011-01-01",
            400,
            "InvalidAction",
            "Frobnicate",
        ),
        (
            "Action=Frobnicate&Version=2015-12-01",
            400,
            "InvalidAction",
            "Frobnicate",
        ),
        ("Action=DescribeAutoScalingGroups", 400, "MissingParameter", "Version"),
        ("Version=2011-01-01", 400, "MissingAction", "Action"),
        (
            "Action=DescribeAutoScalingGroups&Version=1999-01-01",
            400,
            "InvalidParameterValue",
            "1999-01-01",
        ),
        (
            "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=g",
            400,
            "ValidationError",
            "DesiredCapacity",
        ),
        (
            "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=g&DesiredCapacity=two",
            400,
            "ValidationError",
            "DesiredCapacity",
        ),
        (
            "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=nope&DesiredCapacity=2",
            400,
            "ValidationError",
            "AutoScalingGroup name not found - nope",
        ),
        (
            "Action=EnterStandby&Version=2011-01-01&AutoScalingGroupName=g&ShouldDecrementDesiredCapacity=perhaps",
            400,
            "ValidationError",
            "ShouldDecrementDesiredCapacity",
        ),
        (
            "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.0=x",
            400,
            "ValidationError",
            "member.0",
        ),
        (
            "Action=DescribeTargetHealth&Version=2015-12-01",
            400,
            "ValidationError",
            "targetGroupArn",
        ),
        (
            "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn%3Ax",
            400,
            "TargetGroupNotFound",
            "arn:x",
        ),
        (
            "Action=Frobnicate&Version=2012-06-01",
            400,
            "InvalidAction",
            "Classic Elastic Load Balancing",
        ),
        ("%%%&&&==", 400, "MissingParameter", "Version"),
    ];
    for (body, status, code, needle) in cases {
        let (s, rid, text) = raw(&r.url, body).await;
        assert_eq!(s, *status, "{body}: {text}");
        assert!(rid.is_some(), "{body}: x-amzn-RequestId header");
        assert!(is_error_response(&text, code), "{body}: {text}");
        assert!(
            text.to_lowercase().contains(&needle.to_lowercase()),
            "{body}: message should name {needle}: {text}"
        );
    }
    let (s, _, text) = raw_http(&r.url, "GET", "/", "", &[]).await;
    assert_eq!(s, 400);
    assert!(is_error_response(&text, "InvalidAction"));
    let (s, _, _) = raw(
        &r.url,
        "Action=DescribeAutoScalingGroups&Version=2011-01-01\u{fffd}\u{0}",
    )
    .await;
    assert!(s == 200 || s == 400);
}

#[tokio::test]
async fn signing_service_must_match_the_version() {
    let r = start().await;
    let body = "Action=DescribeAutoScalingGroups&Version=2011-01-01";
    let host = r.url.trim_start_matches("http://");
    let signed = fakeaws::protocol::sigv4::sign_query_as(
        "elasticloadbalancing",
        fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
        fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
        "us-east-1",
        host,
        body,
    );
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    headers.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (s, _, text) = raw_http(&r.url, "POST", "/", body, &headers).await;
    assert_eq!(s, 400);
    assert!(
        text.contains("signed for service &apos;elasticloadbalancing&apos;"),
        "{text}"
    );
}

#[tokio::test]
async fn empty_results_are_present_and_result_comes_first() {
    let r = start().await;
    let (s, _, text) = raw(&r.url, "Action=DescribeAutoScalingGroups&Version=2011-01-01").await;
    assert_eq!(s, 200);
    let result = text.find("<DescribeAutoScalingGroupsResult>").expect("result");
    let meta = text.find("<ResponseMetadata>").expect("metadata");
    assert!(result < meta);
    assert!(text.contains("xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\""));
}

#[tokio::test]
async fn injected_faults_are_answered_then_cleared() {
    let r = start().await;
    r.fake
        .faults
        .inject("DescribeAutoScalingGroups", fakeaws::Fault::Throttle, 2);
    r.fake
        .faults
        .inject("DescribeAutoScalingGroups", fakeaws::Fault::Unavailable, 1);
    let body = "Action=DescribeAutoScalingGroups&Version=2011-01-01";
    let (s, _, t) = raw(&r.url, body).await;
    assert_eq!(s, 400);
    assert!(is_error_response(&t, "Throttling"));
    raw(&r.url, body).await;
    let (s, _, t) = raw(&r.url, body).await;
    assert_eq!(s, 503);
    assert!(is_error_response(&t, "ServiceUnavailable"));
    assert!(t.contains("<Type>Receiver</Type>"));
    let (s, _, _) = raw(&r.url, body).await;
    assert_eq!(s, 200);
    // The SDK sees throttling as a retryable error code.
    r.fake.faults.inject("*", fakeaws::Fault::Throttle, 1);
    let err = asg(&r.url)
        .await
        .describe_auto_scaling_groups()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("Throttling"));
}

#[tokio::test]
async fn admin_api_steers_the_fake() {
    let r = start().await;
    let (s, _, body) = raw_http(
        &r.url,
        "POST",
        "/_fakeaws/instances",
        r#"{"availability_zone":"us-east-1a","count":2}"#,
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let made: serde_json::Value = serde_json::from_str(&body).expect("json");
    let id = made[0]["id"].as_str().expect("id").to_string();
    assert!(made[0]["imds_endpoint"]
        .as_str()
        .expect("endpoint")
        .ends_with(&format!("/_imds/{id}/")));
    let (s, _, _) = raw_http(
        &r.url,
        "POST",
        &format!("/_fakeaws/instances/{id}/app"),
        r#"{"up":false}"#,
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(s, 200);
    assert!(!r.fake.world().instances()[&id].app_up);
    let before = r.fake.clock.now_ms();
    let (s, _, body) = raw_http(
        &r.url,
        "POST",
        "/_fakeaws/clock/advance",
        r#"{"seconds":90}"#,
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(r.fake.clock.now_ms() - before, 90_000);
    let (s, _, _) = raw_http(
        &r.url,
        "POST",
        "/_fakeaws/clock/advance",
        r#"{"seconds":-1}"#,
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(s, 400);
    let (s, _, _) = raw_http(
        &r.url,
        "POST",
        "/_fakeaws/faults",
        r#"{"action":"RegisterTargets","kind":"delay","ms":1,"count":3}"#,
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(r.fake.faults.pending().get("RegisterTargets"), Some(&3));
    let (s, _, body) = raw_http(&r.url, "GET", "/_fakeaws/world", "", &[]).await;
    assert_eq!(s, 200);
    assert!(body.contains(&id));
    let (s, _, _) = raw_http(&r.url, "POST", "/_fakeaws/reset", "", &[]).await;
    assert_eq!(s, 200);
    assert!(r.fake.world().instances().is_empty());
    assert!(r.fake.faults.pending().is_empty());
}

#[test]
fn world_files_load_and_saved_state_round_trips() {
    let text = r#"
[[target_groups]]
name = "web"
port = 80
deregistration_delay = 20
health_check = { interval = 10, healthy_threshold = 2 }

[[load_balancers]]
name = "alb"
listeners = [{ port = 80, target_group = "web" }]

[[groups]]
name = "asg"
min = 1
max = 4
desired = 3
availability_zones = ["us-east-1a", "us-east-1b"]
target_groups = ["web"]
lifecycle_hooks = [{ name = "deploy", transition = "launching", heartbeat_timeout = 300, default_result = "CONTINUE" }]

[[instances]]
availability_zone = "us-east-1c"
count = 2
target_groups = [{ name = "web", port = 8080 }]
"#;
    let fakeaws::spec::WorldFile::Spec(spec) = fakeaws::spec::parse(text, "w.toml").expect("parses") else {
        panic!("a spec")
    };
    let mut world = fakeaws::World::new("us-east-1", 0);
    let ids = fakeaws::spec::apply(&mut world, &spec).expect("applies");
    assert_eq!(ids.len(), 2);
    assert_eq!(world.groups()["asg"].instances.len(), 3);
    let tg = world.target_groups().values().next().expect("tg");
    assert_eq!(tg.deregistration_delay_s(), 20);
    assert!(tg.targets.iter().any(|t| t.port == 8080));
    let saved = serde_json::to_string(&fakeaws::spec::SavedState {
        fakeaws_state: 1,
        world: world.clone(),
    })
    .expect("json");
    let fakeaws::spec::WorldFile::Saved(back) = fakeaws::spec::parse(&saved, "s.json").expect("parses") else {
        panic!("a saved state")
    };
    assert_eq!(back.world, world);
    let err = fakeaws::spec::parse("[[groups]]\nname = 'x'\nbogus = 1\n", "w.toml")
        .err()
        .expect("unknown key refused");
    assert!(format!("{err:#}").contains("bogus"));
    let bad = fakeaws::spec::WorldSpec {
        groups: vec![fakeaws::spec::GroupSpec {
            name: "g".into(),
            min: 5,
            max: 2,
            desired: None,
            availability_zones: vec!["us-east-1a".into()],
            target_groups: vec![],
            load_balancers: vec![],
            health_check_type: None,
            health_check_grace_period: None,
            new_instances_protected_from_scale_in: false,
            terminate_hook_abandon: None,
            capacity_rebalance: false,
            warm_pool: None,
            lifecycle_hooks: vec![],
            suspended_processes: vec![],
            scaling_policies: vec![],
            scheduled_actions: vec![],
            role: None,
        }],
        ..Default::default()
    };
    let err = fakeaws::spec::apply(&mut fakeaws::World::new("us-east-1", 0), &bad).unwrap_err();
    assert!(
        err.message
            .contains("Max bound, 2, must be greater than or equal to min bound, 5"),
        "{}",
        err.message
    );
}

fn action_strategy() -> impl Strategy<Value = String> {
    let group = prop_oneof![Just("g1"), Just("g2"), Just("nope")];
    let n = 0i64..6;
    let inst = 0usize..8;
    prop_oneof![
        (group.clone(), n.clone(), n.clone(), n.clone()).prop_map(|(g, a, b, c)| format!(
            "Action=UpdateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName={g}&MinSize={a}&MaxSize={b}&DesiredCapacity={c}"
        )),
        (group.clone(), n.clone()).prop_map(|(g, d)| format!(
            "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName={g}&DesiredCapacity={d}"
        )),
        (group.clone(), inst.clone(), any::<bool>()).prop_map(|(g, i, d)| format!(
            "Action=EnterStandby&Version=2011-01-01&AutoScalingGroupName={g}&InstanceIds.member.1=@{i}&ShouldDecrementDesiredCapacity={d}"
        )),
        (group.clone(), inst.clone()).prop_map(|(g, i)| format!(
            "Action=ExitStandby&Version=2011-01-01&AutoScalingGroupName={g}&InstanceIds.member.1=@{i}"
        )),
        (inst.clone(), any::<bool>()).prop_map(|(i, d)| format!(
            "Action=TerminateInstanceInAutoScalingGroup&Version=2011-01-01&InstanceId=@{i}&ShouldDecrementDesiredCapacity={d}"
        )),
        (group.clone(), prop_oneof![Just("Launch"), Just("Terminate"), Just("AZRebalance"), Just("ReplaceUnhealthy")]).prop_map(|(g, p)| format!(
            "Action=SuspendProcesses&Version=2011-01-01&AutoScalingGroupName={g}&ScalingProcesses.member.1={p}"
        )),
        group.clone().prop_map(|g| format!("Action=ResumeProcesses&Version=2011-01-01&AutoScalingGroupName={g}")),
        (inst.clone(), any::<bool>()).prop_map(|(i, h)| format!(
            "Action=SetInstanceHealth&Version=2011-01-01&InstanceId=@{i}&HealthStatus={}",
            if h { "Healthy" } else { "Unhealthy" }
        )),
        (group.clone(), -3i64..4, prop_oneof![Just("ChangeInCapacity"), Just("ExactCapacity"), Just("PercentChangeInCapacity")]).prop_map(|(g, a, t)| format!(
            "Action=PutScalingPolicy&Version=2011-01-01&AutoScalingGroupName={g}&PolicyName=p&AdjustmentType={t}&ScalingAdjustment={a}&Cooldown=60"
        )),
        (group.clone(), any::<bool>()).prop_map(|(g, h)| format!(
            "Action=ExecutePolicy&Version=2011-01-01&AutoScalingGroupName={g}&PolicyName=p&HonorCooldown={h}"
        )),
        (group.clone(), 0i64..6, prop_oneof![Just("*/5 * * * *"), Just("0 0 * * SUN"), Just("bad")]).prop_map(|(g, d, r)| format!(
            "Action=PutScheduledUpdateGroupAction&Version=2011-01-01&AutoScalingGroupName={g}&ScheduledActionName=s&Recurrence={}&DesiredCapacity={d}",
            r.replace(' ', "+")
        )),
        (1i64..400).prop_map(|s| format!("ADVANCE {s}")),
        inst.prop_map(|i| format!("APPDOWN @{i}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_action_sequences_keep_the_invariants(actions in proptest::collection::vec(action_strategy(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let r = start().await;
            for (g, azs) in [("g1", "AvailabilityZones.member.1=us-east-1a&AvailabilityZones.member.2=us-east-1b"), ("g2", "AvailabilityZones.member.1=us-east-1c")] {
                let (s, _, t) = raw(&r.url, &format!("Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName={g}&LaunchConfigurationName=lc&MinSize=1&MaxSize=5&DesiredCapacity=3&{azs}")).await;
                assert_eq!(s, 200, "{t}");
            }
            for a in actions {
                let ids: Vec<String> = r.fake.world().instances().keys().cloned().collect();
                let resolve = |s: &str| -> String {
                    let mut out = s.to_string();
                    for k in (0..8).rev() {
                        out = out.replace(&format!("@{k}"), ids.get(k).map(String::as_str).unwrap_or("i-missing"));
                    }
                    out
                };
                if let Some(secs) = a.strip_prefix("ADVANCE ") {
                    advance(&r.fake, secs.parse().unwrap_or(1));
                } else if let Some(i) = a.strip_prefix("APPDOWN ") {
                    let _ = r.fake.world().set_app(&resolve(i), false);
                } else {
                    let (s, _, t) = raw(&r.url, &resolve(&a)).await;
                    assert!(s == 200 || (s == 400 && t.contains("<ErrorResponse")), "{a}: {s} {t}");
                }
                let w = r.fake.world();
                if let Err(e) = w.check_invariants() {
                    panic!("after {a}: {e}");
                }
            }
        });
    }
}
