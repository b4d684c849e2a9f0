//! Soak: 10,000 random calls over loopback across every service the fake serves (Auto Scaling,
//! ELBv2 with listener rules and tags, Classic ELB), signed as clients sign them, with a few unsigned
//! or tampered ones among them, time moving and applications failing in between. Every answer is a
//! success or an AWS-shaped client error (never a 5xx), and every invariant holds after every call.
//! Bounded and seeded: it stops by itself and plays the same sequence each run.

use crate::util::*;

const WORLD: &str = r#"
[[target_groups]]
name = "web"
port = 80
deregistration_delay = 20
health_check = { interval = 10, healthy_threshold = 2, unhealthy_threshold = 2 }

[[target_groups]]
name = "api"
port = 8080
deregistration_delay = 5

[[load_balancers]]
name = "alb"
listeners = [{ port = 80, target_group = "web" }]

[[classic_load_balancers]]
name = "old"
connection_draining = 15
health_check = { target = "HTTP:80/", interval = 10, timeout = 5, healthy_threshold = 2, unhealthy_threshold = 2 }

[[groups]]
name = "g1"
min = 1
max = 6
desired = 3
availability_zones = ["us-east-1a", "us-east-1b"]
target_groups = ["web"]
health_check_type = "ELB"
health_check_grace_period = 60

[[groups]]
name = "g2"
min = 0
max = 4
desired = 2
availability_zones = ["us-east-1c"]
load_balancers = ["old"]
"#;

const CALLS: usize = 10_000;

#[tokio::test]
async fn ten_thousand_random_calls_across_services_keep_every_invariant() {
    let r = start().await;
    {
        let fakeaws::spec::WorldFile::Spec(spec) = fakeaws::spec::parse(WORLD, "soak.toml").expect("spec") else {
            panic!("spec expected")
        };
        let mut w = r.fake.world();
        fakeaws::spec::apply(&mut w, &spec).expect("apply");
    }
    advance(&r.fake, 60);
    let mut rng = fastrand::Rng::with_seed(20261122);
    let (mut ok, mut refused, mut denied) = (0usize, 0usize, 0usize);
    for n in 0..CALLS {
        let (ids, tgs, listener, rules) = {
            let w = r.fake.world();
            let ids: Vec<String> = w.instances().keys().cloned().collect();
            let tgs: Vec<String> = w.target_groups().keys().cloned().collect();
            let listener = w.listeners().keys().next().cloned().unwrap_or_default();
            let rules: Vec<String> = w
                .listeners()
                .values()
                .flat_map(|l| l.rules.iter().map(|r| r.arn.clone()))
                .collect();
            (ids, tgs, listener, rules)
        };
        let inst = ids
            .get(rng.usize(..ids.len().max(1)))
            .cloned()
            .unwrap_or_else(|| "i-missing".into());
        let tg = tgs.get(rng.usize(..tgs.len().max(1))).cloned().unwrap_or_default();
        let rule = rules
            .get(rng.usize(..rules.len().max(1)))
            .cloned()
            .unwrap_or_else(|| "arn:nope".into());
        let group = ["g1", "g2", "nope"][rng.usize(..3)];
        let d = rng.i64(0..7);
        let body = match rng.usize(..22) {
            0 => format!("Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName={group}&DesiredCapacity={d}"),
            1 => format!("Action=UpdateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName={group}&MinSize={}&MaxSize={}", rng.i64(0..3), rng.i64(3..7)),
            2 => format!("Action=EnterStandby&Version=2011-01-01&AutoScalingGroupName={group}&InstanceIds.member.1={inst}&ShouldDecrementDesiredCapacity={}", rng.bool()),
            3 => format!("Action=ExitStandby&Version=2011-01-01&AutoScalingGroupName={group}&InstanceIds.member.1={inst}"),
            4 => format!("Action=SuspendProcesses&Version=2011-01-01&AutoScalingGroupName={group}&ScalingProcesses.member.1={}", ["Launch", "Terminate", "AZRebalance", "ReplaceUnhealthy", "HealthCheck"][rng.usize(..5)]),
            5 => format!("Action=ResumeProcesses&Version=2011-01-01&AutoScalingGroupName={group}"),
            6 => format!("Action=SetInstanceHealth&Version=2011-01-01&InstanceId={inst}&HealthStatus={}", if rng.bool() { "Healthy" } else { "Unhealthy" }),
            7 => format!("Action=TerminateInstanceInAutoScalingGroup&Version=2011-01-01&InstanceId={inst}&ShouldDecrementDesiredCapacity={}", rng.bool()),
            8 => format!("Action=CreateOrUpdateTags&Version=2011-01-01&Tags.member.1.ResourceId={group}&Tags.member.1.ResourceType=auto-scaling-group&Tags.member.1.Key=k{}&Tags.member.1.Value=v&Tags.member.1.PropagateAtLaunch=false", rng.u8(..5)),
            9 => format!("Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1={group}"),
            10 => format!("Action=RegisterTargets&Version=2015-12-01&TargetGroupArn={tg}&Targets.member.1.Id={inst}"),
            11 => format!("Action=DeregisterTargets&Version=2015-12-01&TargetGroupArn={tg}&Targets.member.1.Id={inst}"),
            12 => format!("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn={tg}"),
            13 => format!(
                "Action=CreateRule&Version=2015-12-01&ListenerArn={listener}&Priority={}&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=/p{}*&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn={tg}",
                rng.u16(1..30),
                rng.u8(..9)
            ),
            14 => format!("Action=DeleteRule&Version=2015-12-01&RuleArn={rule}"),
            15 => format!("Action=AddTags&Version=2015-12-01&ResourceArns.member.1={tg}&Tags.member.1.Key=t{}&Tags.member.1.Value=v", rng.u8(..5)),
            16 => format!("Action=ModifyTargetGroupAttributes&Version=2015-12-01&TargetGroupArn={tg}&Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value={}", rng.i64(0..40)),
            17 => format!("Action=RegisterInstancesWithLoadBalancer&Version=2012-06-01&LoadBalancerName=old&Instances.member.1.InstanceId={inst}"),
            18 => format!("Action=DeregisterInstancesFromLoadBalancer&Version=2012-06-01&LoadBalancerName=old&Instances.member.1.InstanceId={inst}"),
            19 => "Action=DescribeInstanceHealth&Version=2012-06-01&LoadBalancerName=old".to_string(),
            20 => {
                advance(&r.fake, rng.i64(1..90));
                continue;
            }
            _ => {
                let _ = r.fake.world().set_app(&inst, rng.bool());
                continue;
            }
        };
        // One call in fifty goes unsigned or with a changed byte: refused, and nothing changes.
        let (status, text) = if n % 50 == 7 {
            let before = r.fake.world().clone();
            let (s, _, t) = raw_http(
                &r.url,
                "POST",
                "/",
                &body,
                &[("content-type", "application/x-www-form-urlencoded")],
            )
            .await;
            assert_eq!(s, 403, "unsigned {body}: {t}");
            assert!(*r.fake.world() == before, "an unsigned call changed the world: {body}");
            denied += 1;
            continue;
        } else {
            let (s, _, t) = raw(&r.url, &body).await;
            (s, t)
        };
        match status {
            200 => ok += 1,
            400 | 404 | 409 if text.contains("<ErrorResponse") => refused += 1,
            _ => panic!("call {n}: {body}: {status} {text}"),
        }
        if let Err(e) = r.fake.world().check_invariants() {
            panic!("call {n}: after {body}: {e}");
        }
    }
    eprintln!("soak: {ok} served, {refused} refused with AWS errors, {denied} unsigned refused");
    assert!(
        ok > 1_000 && refused > 100 && denied > 50,
        "{ok} / {refused} / {denied}"
    );
}
