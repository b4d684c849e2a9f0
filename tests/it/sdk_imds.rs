//! The per-instance metadata service: the Rust SDK's default chain *becomes* the instance.

use crate::util::*;

#[tokio::test]
async fn imdsv2_token_rules() {
    let r = start().await;
    let id = r.fake.world().create_instance("us-east-1b", None, None);
    let base = format!("/_imds/{id}");
    let (s, _, _) = raw_http(&r.url, "PUT", &format!("{base}/latest/api/token"), "", &[]).await;
    assert_eq!(s, 400, "no TTL header");
    let (s, _, _) = raw_http(
        &r.url,
        "PUT",
        &format!("{base}/latest/api/token"),
        "",
        &[("x-aws-ec2-metadata-token-ttl-seconds", "21601")],
    )
    .await;
    assert_eq!(s, 400, "TTL too long");
    let (s, _, _) = raw_http(&r.url, "GET", &format!("{base}/latest/api/token"), "", &[]).await;
    assert_eq!(s, 405);
    let (s, _, _) = raw_http(
        &r.url,
        "PUT",
        &format!("{base}/latest/api/token"),
        "",
        &[
            ("x-aws-ec2-metadata-token-ttl-seconds", "60"),
            ("x-forwarded-for", "1.2.3.4"),
        ],
    )
    .await;
    assert_eq!(s, 403);
    let (s, _, token) = raw_http(
        &r.url,
        "PUT",
        &format!("{base}/latest/api/token"),
        "",
        &[("x-aws-ec2-metadata-token-ttl-seconds", "60")],
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = raw_http(&r.url, "GET", &format!("{base}/latest/meta-data/instance-id"), "", &[]).await;
    assert_eq!(s, 401, "v2 required by default");
    let (s, _, body) = raw_http(
        &r.url,
        "GET",
        &format!("{base}/latest/meta-data/instance-id"),
        "",
        &[("x-aws-ec2-metadata-token", &token)],
    )
    .await;
    assert_eq!((s, body.as_str()), (200, id.as_str()));
    let (_, _, doc) = raw_http(
        &r.url,
        "GET",
        &format!("{base}/latest/dynamic/instance-identity/document"),
        "",
        &[("x-aws-ec2-metadata-token", &token)],
    )
    .await;
    let doc: serde_json::Value = serde_json::from_str(&doc).expect("json");
    assert_eq!(doc["availabilityZone"], "us-east-1b");
    assert_eq!(doc["accountId"].as_str().map(str::len), Some(12));
    advance(&r.fake, 61);
    let (s, _, _) = raw_http(
        &r.url,
        "GET",
        &format!("{base}/latest/meta-data/instance-id"),
        "",
        &[("x-aws-ec2-metadata-token", &token)],
    )
    .await;
    assert_eq!(s, 401, "expired token");
    // Another instance's token is not valid here.
    let other = r.fake.world().create_instance("us-east-1a", None, None);
    let t2 = imds_token(&r.url, &other).await;
    let (s, _, _) = raw_http(
        &r.url,
        "GET",
        &format!("{base}/latest/meta-data/instance-id"),
        "",
        &[("x-aws-ec2-metadata-token", &t2)],
    )
    .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn imdsv1_only_with_the_flag() {
    let r = start_with(fakeaws::Options {
        imds_v1: true,
        clock: fakeaws::ClockMode::Manual,
        ..Default::default()
    })
    .await;
    let id = r.fake.world().create_instance("us-east-1a", None, None);
    let (s, _, body) = raw_http(
        &r.url,
        "GET",
        &format!("/_imds/{id}/latest/meta-data/placement/availability-zone"),
        "",
        &[],
    )
    .await;
    assert_eq!((s, body.as_str()), (200, "us-east-1a"));
}

#[tokio::test]
async fn rust_sdk_default_chain_gets_region_and_credentials_from_the_instance() {
    let r = start().await;
    let id = r.fake.world().create_instance("us-east-1c", None, None);
    let endpoint = r.fake.imds_endpoint(&id);
    // The real default chain reads the process environment. Only this test changes these
    // variables, and no other test reads them (they all configure clients explicitly).
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint);
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/fakeaws-test-config");
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/fakeaws-test-credentials");
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&r.url)
        .load()
        .await;
    assert_eq!(conf.region().map(|r| r.to_string()), Some("us-east-1".to_string()));
    use aws_credential_types::provider::ProvideCredentials;
    let c = conf
        .credentials_provider()
        .expect("provider")
        .provide_credentials()
        .await
        .expect("credentials");
    assert!(c.access_key_id().starts_with("ASIAFAKE"), "{c:?}");
    assert!(c.session_token().is_some_and(|t| t.contains(&id)));
    // And the clients built from it work against the fake.
    let asg = aws_sdk_autoscaling::Client::new(&conf);
    asg.describe_auto_scaling_groups()
        .send()
        .await
        .expect("signed with instance credentials");
    let client = aws_config::imds::Client::builder()
        .endpoint(&endpoint)
        .expect("endpoint")
        .build();
    assert_eq!(
        client.get("/latest/meta-data/instance-id").await.expect("get").as_ref(),
        id
    );
}

/// Issue 30 item 5: `autoscaling/target-lifecycle-state`, read with the Rust SDK's IMDS client as a
/// script on the instance would: InService once launched, Standby as soon as EnterStandby starts,
/// InService again as ExitStandby starts, Terminated while a termination hook holds it; listed
/// under `autoscaling/`; absent (404) on an instance outside Auto Scaling.
#[tokio::test]
async fn target_lifecycle_state_follows_each_transition() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 4, 2).await;
    let asg = asg(&r.url).await;
    let members: Vec<String> = r.fake.world().groups()[&group].instances.to_vec();
    let id = members[0].clone();
    let client = aws_config::imds::Client::builder()
        .endpoint(r.fake.imds_endpoint(&id))
        .expect("endpoint")
        .build();
    let state = || async {
        client
            .get("/latest/meta-data/autoscaling/target-lifecycle-state")
            .await
            .map(|s| s.as_ref().to_string())
    };
    assert_eq!(state().await.expect("get"), "InService");
    let listing = client.get("/latest/meta-data/").await.expect("listing");
    assert!(
        listing.as_ref().lines().any(|l| l == "autoscaling/"),
        "{}",
        listing.as_ref()
    );
    assert_eq!(
        client
            .get("/latest/meta-data/autoscaling/")
            .await
            .expect("dir")
            .as_ref(),
        "target-lifecycle-state"
    );

    asg.enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("standby");
    assert_eq!(state().await.expect("get"), "Standby", "as soon as EnterStandby starts");
    advance(&r.fake, 60);
    assert_eq!(state().await.expect("get"), "Standby");
    asg.exit_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&id)
        .send()
        .await
        .expect("exit");
    assert_eq!(
        state().await.expect("get"),
        "InService",
        "as soon as ExitStandby starts"
    );

    asg.put_lifecycle_hook()
        .auto_scaling_group_name(&group)
        .lifecycle_hook_name("drain")
        .lifecycle_transition("autoscaling:EC2_INSTANCE_TERMINATING")
        .heartbeat_timeout(300)
        .send()
        .await
        .expect("hook");
    advance(&r.fake, 60);
    asg.terminate_instance_in_auto_scaling_group()
        .instance_id(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("terminate");
    use fakeaws::model::Lifecycle;
    let lifecycle = || r.fake.world().instances().get(&id).map(|i| i.lifecycle);
    assert_eq!(lifecycle(), Some(Lifecycle::Terminating));
    assert_eq!(
        state().await.expect("get"),
        "Terminated",
        "as soon as the termination starts"
    );
    // Drained (60 s), it waits on the hook (300 s heartbeat).
    advance(&r.fake, 90);
    assert_eq!(lifecycle(), Some(Lifecycle::TerminatingWait));
    assert_eq!(
        state().await.expect("get"),
        "Terminated",
        "while the termination hook holds it"
    );

    // Outside Auto Scaling there is no such item.
    let alone = r.fake.world().create_instance("us-east-1a", None, None);
    let client = aws_config::imds::Client::builder()
        .endpoint(r.fake.imds_endpoint(&alone))
        .expect("endpoint")
        .build();
    assert!(client
        .get("/latest/meta-data/autoscaling/target-lifecycle-state")
        .await
        .is_err());
    let listing = client.get("/latest/meta-data/").await.expect("listing");
    assert!(!listing.as_ref().contains("autoscaling"), "{}", listing.as_ref());
}
