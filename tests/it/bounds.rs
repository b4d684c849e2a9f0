//! Issue 10: the fake's cost does not grow with history and no request can take it down: group
//! sizes and the instance quota, the Query content type, reads without a rollback copy, terminated
//! instances pruned after a simulated hour, and EC2-exact instance metadata for line tools.

use std::sync::atomic::Ordering;

use crate::util::*;

const CREATE: &str = "Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=big&LaunchConfigurationName=lc&AvailabilityZones.member.1=us-east-1a";

#[tokio::test]
async fn a_group_of_2_pow_63_instances_is_refused_and_the_next_request_is_served() {
    let r = start().await;
    let huge = i64::MAX;
    let (s, _, body) = raw(
        &r.url,
        &format!("{CREATE}&MinSize={huge}&MaxSize={huge}&DesiredCapacity={huge}"),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("<ErrorResponse") && body.contains("MinSize"), "{body}");
    assert_eq!(r.fake.world().instances().len(), 0, "nothing launched");
    // Within Integer range but past the account's quota: LimitExceeded, nothing launched.
    let (s, _, body) = raw(
        &r.url,
        &format!("{CREATE}&MinSize=0&MaxSize=100000&DesiredCapacity=100000"),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body.contains("<Code>LimitExceeded</Code>") && body.contains("instance limit of 5000"),
        "{body}"
    );
    assert_eq!(r.fake.world().instances().len(), 0);
    // The next requests are served as usual.
    let (s, _, body) = raw(&r.url, &format!("{CREATE}&MinSize=0&MaxSize=6000&DesiredCapacity=2")).await;
    assert_eq!(s, 200, "{body}");
    let (s, _, body) = raw(
        &r.url,
        "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=big",
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // Growing past the quota through SetDesiredCapacity or UpdateAutoScalingGroup is refused too.
    for body in [
        "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=big&DesiredCapacity=5001",
        "Action=UpdateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=big&DesiredCapacity=5999",
    ] {
        let (s, _, text) = raw(&r.url, body).await;
        assert_eq!(s, 400, "{text}");
        assert!(text.contains("LimitExceeded"), "{text}");
    }
    assert_eq!(r.fake.world().group("big").map(|g| g.desired).ok(), Some(2));
    let (s, _, _) = raw(
        &r.url,
        "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=big&DesiredCapacity=5000",
    )
    .await;
    assert_eq!(s, 200, "exactly the quota is allowed");
    // The admin API respects the quota as well.
    let (s, _, text) = raw_http(
        &r.url,
        "POST",
        "/_fakeaws/instances",
        r#"{"availability_zone": "us-east-1a", "count": 1}"#,
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(s, 400, "{text}");
    assert!(text.contains("instance limit"), "{text}");
}

#[tokio::test]
async fn the_quota_is_an_option() {
    let r = start_with(fakeaws::Options {
        clock: fakeaws::ClockMode::Manual,
        max_instances: 3,
        ..fakeaws::Options::default()
    })
    .await;
    let (s, _, body) = raw(&r.url, &format!("{CREATE}&MinSize=0&MaxSize=10&DesiredCapacity=4")).await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("instance limit of 3"), "{body}");
}

#[tokio::test]
async fn a_body_that_is_not_a_form_gets_an_aws_shaped_400() {
    let r = start().await;
    for ct in ["application/json", "text/plain"] {
        let (s, _, body) = raw_http(
            &r.url,
            "POST",
            "/",
            "Action=DescribeAutoScalingGroups&Version=2011-01-01",
            &[("content-type", ct)],
        )
        .await;
        assert_eq!(s, 400, "{ct}: {body}");
        assert!(
            body.contains("<ErrorResponse") && body.contains("application/x-www-form-urlencoded"),
            "{body}"
        );
    }
    // A charset is fine: the request gets past the content type to the signature check (it is
    // unsigned).
    let (s, _, body) = raw_http(
        &r.url,
        "POST",
        "/",
        "Action=DescribeAutoScalingGroups&Version=2011-01-01",
        &[("content-type", "application/x-www-form-urlencoded; charset=utf-8")],
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("<Code>MissingAuthenticationToken</Code>"), "{body}");
}

#[tokio::test]
async fn reads_take_no_copy_of_the_world_and_changes_do() {
    let r = start().await;
    let (group, tg) = standard_world(&r, 1, 6, 4).await;
    let copies = || r.fake.metrics.rollback_copies.load(Ordering::Relaxed);
    let before = copies();
    for _ in 0..20 {
        let (s, _, _) = raw(
            &r.url,
            &format!("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn={tg}"),
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _) = raw(&r.url, "Action=DescribeAutoScalingGroups&Version=2011-01-01").await;
        assert_eq!(s, 200);
    }
    assert_eq!(copies(), before, "reads copied the world");
    let (s, _, _) = raw(
        &r.url,
        &format!("Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName={group}&DesiredCapacity=3"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(copies(), before + 1);
    // A failed change still leaves the world exactly as it was.
    let snapshot = r.fake.world().clone();
    let (s, _, _) = raw(
        &r.url,
        &format!("Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName={group}&DesiredCapacity=99"),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(*r.fake.world(), snapshot);
}

#[tokio::test]
async fn terminated_instances_leave_the_world_after_a_simulated_hour() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 6, 4).await;
    let victim = r
        .fake
        .world()
        .group(&group)
        .map(|g| g.instances[0].clone())
        .expect("member");
    let (s, _, body) = raw(
        &r.url,
        &format!("Action=TerminateInstanceInAutoScalingGroup&Version=2011-01-01&InstanceId={victim}&ShouldDecrementDesiredCapacity=true"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    advance(&r.fake, 120);
    assert_eq!(
        r.fake.world().instances().get(&victim).map(|i| i.lifecycle),
        Some(fakeaws::model::Lifecycle::Terminated)
    );
    advance(&r.fake, 3600);
    assert!(
        !r.fake.world().instances().contains_key(&victim),
        "pruned after an hour"
    );
    let (s, _, body) = raw(
        &r.url,
        &format!("Action=DescribeAutoScalingInstances&Version=2011-01-01&InstanceIds.member.1={victim}"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(!body.contains(&victim), "{body}");
    // 2,000 launches and terminations later the world holds only what is alive or recent.
    for round in 0..100 {
        for d in [20, 1] {
            let (s, _, text) = raw(
                &r.url,
                &format!("Action=UpdateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName={group}&MinSize=1&MaxSize=20&DesiredCapacity={d}"),
            )
            .await;
            assert_eq!(s, 200, "round {round}: {text}");
            advance(&r.fake, 400);
        }
    }
    let w = r.fake.world();
    assert!(w.instances().len() < 300, "{} instances kept", w.instances().len());
}

#[tokio::test]
async fn the_identity_document_reads_like_ec2s_with_line_tools() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 3, 1).await;
    let id = r
        .fake
        .world()
        .group(&group)
        .map(|g| g.instances[0].clone())
        .expect("member");
    let token = imds_token(&r.url, &id).await;
    let (s, _, doc) = raw_http(
        &r.url,
        "GET",
        &format!("/_imds/{id}/latest/dynamic/instance-identity/document"),
        "",
        &[("x-aws-ec2-metadata-token", &token)],
    )
    .await;
    assert_eq!(s, 200);
    // EC2's layout: one "key" : value per line, two-space indent, null keys present.
    let lines: Vec<&str> = doc.lines().collect();
    assert_eq!(lines.first(), Some(&"{"));
    assert_eq!(lines.last(), Some(&"}"));
    assert_eq!(lines.len(), 17, "{doc}");
    assert!(lines.contains(&"  \"billingProducts\" : null,"), "{doc}");
    assert!(lines.contains(&"  \"version\" : \"2017-09-30\""), "{doc}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  \"pendingTime\" : \"") && l.ends_with("Z\",")),
        "{doc}"
    );
    let json: serde_json::Value = serde_json::from_str(&doc).expect("still JSON");
    assert_eq!(json["region"], "us-east-1");
    // The sample scripts' pipeline.
    let doc_for_sh = doc.clone();
    let region = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"grep -i region | awk -F\" '{print $4}'"#)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(doc_for_sh.as_bytes())
            .expect("write");
        String::from_utf8(child.wait_with_output().expect("output").stdout).expect("utf-8")
    })
    .await
    .expect("join");
    assert_eq!(region, "us-east-1\n");
    // The scripts read the instance id and zone the same way.
    for (key, want) in [("instanceId", id.as_str()), ("availabilityZone", "us-east-1")] {
        let line = lines.iter().find(|l| l.contains(&format!("\"{key}\""))).expect("line");
        let field = line.split('"').nth(3).unwrap_or_default();
        assert!(field.starts_with(want), "{key}: {line}");
    }
}

#[tokio::test]
async fn list_parameters_stop_at_awss_documented_maxima() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 6, 2).await;
    let ids: String = (1..=21)
        .map(|n| format!("&InstanceIds.member.{n}=i-{n:017x}"))
        .collect();
    let (s, _, body) = raw(
        &r.url,
        &format!("Action=EnterStandby&Version=2011-01-01&AutoScalingGroupName={group}&ShouldDecrementDesiredCapacity=false{ids}"),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("less than or equal to 20"), "{body}");
    let names: String = (1..=51)
        .map(|n| format!("&AutoScalingGroupNames.member.{n}=g{n}"))
        .collect();
    let (s, _, body) = raw(
        &r.url,
        &format!("Action=DescribeAutoScalingGroups&Version=2011-01-01{names}"),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("less than or equal to 50"), "{body}");
    let (s, _, body) = raw(
        &r.url,
        &format!("Action=DescribeAutoScalingGroups&Version=2011-01-01&MaxRecords=100{names}"),
    )
    .await;
    assert_eq!(s, 200, "MaxRecords raises the limit: {body}");
    let tgs: String = (1..=11)
        .map(|n| {
            format!(
                "&TargetGroupARNs.member.{n}=arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t{n}/0"
            )
        })
        .collect();
    let (s, _, body) = raw(
        &r.url,
        &format!("Action=AttachLoadBalancerTargetGroups&Version=2011-01-01&AutoScalingGroupName={group}{tgs}"),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("less than or equal to 10"), "{body}");
}

/// A change's undo copy costs what the change touches: the copy kept to roll back to shares
/// every instance and activity the change leaves alone (persistent maps), so a write to a
/// 1,000-instance world does not copy 1,000 instances.
#[test]
fn an_undo_copy_shares_what_the_change_did_not_touch() {
    let mut w = fakeaws::World::new("us-east-1", 0);
    let text =
        "[[groups]]\nname = \"big\"\nmin = 1000\nmax = 1000\navailability_zones = [\"us-east-1a\", \"us-east-1b\"]\n";
    let fakeaws::spec::WorldFile::Spec(spec) = fakeaws::spec::parse(text, "w.toml").expect("parses") else {
        panic!("a spec")
    };
    fakeaws::spec::apply(&mut w, &spec).expect("applies");
    w.tick(600_000);
    let ids: Vec<String> = w.instances().keys().cloned().collect();
    assert_eq!(ids.len(), 1000);
    let before = w.clone();
    w.set_app(&ids[500], false).expect("one instance changes");
    let shared = ids
        .iter()
        .filter(|id| std::ptr::eq(&before.instances()[*id], &w.instances()[*id]))
        .count();
    assert!(
        shared >= 900,
        "only {shared} of 1000 instances shared with the undo copy"
    );
    let activities_shared = before
        .activities()
        .iter()
        .zip(w.activities().iter())
        .filter(|(a, b)| std::ptr::eq(*a, *b))
        .count();
    assert!(
        activities_shared >= before.activities().len() * 9 / 10,
        "{activities_shared} of {} activities shared",
        before.activities().len()
    );
    assert_ne!(before, w, "the change happened");
}
