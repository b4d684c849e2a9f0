//! `rehearse import` on what the AWS CLI prints: `scenarios/import/aws-read.sh` (the
//! read-only script) run against `rehearse serve` holding a known fleet and deployment group,
//! then imported: the world read back is the one served (sizes, zones, health checks, draining,
//! listeners and rules, lifecycle hooks, policies, a Classic Load Balancer with draining) and the
//! scenario names the deployment group as created; it plays. And a hand-checked answer in the
//! shape AWS's documentation shows.

use std::path::Path;
use std::process::Command;

mod common;
use common::{fresh_dir, serve, web_deployment_group, with_aws_env};

const WORLD: &str = r#"
[[target_groups]]
name = "web"
port = 8080
deregistration_delay = 45
health_check = { interval = 15, healthy_threshold = 4, unhealthy_threshold = 3, timeout = 6, path = "/health" }

[[target_groups]]
name = "api"
port = 9000
deregistration_delay = 20

[[load_balancers]]
name = "web-alb"
listeners = [{ port = 80, target_group = "web", rules = [{ priority = 10, path = "/api/*", target_group = "api" }, { priority = 20, path = "/down/*", fixed_response = { status_code = 503, body = "back soon" } }] }]

[[classic_load_balancers]]
name = "old-web"
port = 80
instance_port = 8080
connection_draining = 30
health_check = { target = "HTTP:8080/health", interval = 10, timeout = 5, healthy_threshold = 3, unhealthy_threshold = 2 }

[[groups]]
name = "web-asg"
min = 2
max = 6
desired = 3
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
target_groups = ["web", "api"]
load_balancers = ["old-web"]
health_check_type = "ELB"
health_check_grace_period = 120
lifecycle_hooks = [{ name = "drain-logs", transition = "autoscaling:EC2_INSTANCE_TERMINATING", heartbeat_timeout = 600, default_result = "CONTINUE" }]
scaling_policies = [{ name = "scale-out", policy_type = "SimpleScaling", adjustment_type = "ChangeInCapacity", scaling_adjustment = 2, cooldown = 120 }]
"#;

#[test]
fn the_read_only_script_then_import_gives_back_the_fleet() {
    let dir = fresh_dir("import-test");
    let (_server, url) = serve(&dir, WORLD);
    let url = url.as_str();
    web_deployment_group(
        url,
        &dir,
        &[
            "--deployment-config-name",
            "CodeDeployDefault.HalfAtATime",
            "--auto-rollback-configuration",
            "enabled=true,events=DEPLOYMENT_FAILURE",
            "--load-balancer-info",
            "targetGroupInfoList=[{name=web}]",
        ],
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("import/aws-read.sh");
    let answers = dir.join("answers");
    let out = with_aws_env(
        Command::new("sh").arg(&script).args(["web", "web-dg"]).arg(&answers),
        url,
    )
    .output()
    .expect("sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let into = dir.join("mine");
    let out = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["import"])
        .arg(&answers)
        .arg("--out")
        .arg(&into)
        .output()
        .expect("import");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");

    let served: fakeaws::spec::WorldSpec = toml::from_str(WORLD).expect("world");
    let imported: fakeaws::spec::WorldSpec =
        toml::from_str(&std::fs::read_to_string(into.join("world.toml")).expect("world.toml")).expect("it parses");
    assert_eq!(imported.target_groups.len(), 2);
    for tg in &served.target_groups {
        let got = imported
            .target_groups
            .iter()
            .find(|t| t.name == tg.name)
            .expect("target group");
        assert_eq!(got.port, tg.port, "{}", tg.name);
        assert_eq!(got.deregistration_delay, tg.deregistration_delay, "{}", tg.name);
        for (a, b) in [
            (got.health_check.interval, tg.health_check.interval),
            (got.health_check.timeout, tg.health_check.timeout),
            (got.health_check.healthy_threshold, tg.health_check.healthy_threshold),
            (
                got.health_check.unhealthy_threshold,
                tg.health_check.unhealthy_threshold,
            ),
        ] {
            if let Some(b) = b {
                assert_eq!(a, Some(b), "{}: {got:?}", tg.name);
            }
        }
    }
    assert_eq!(imported.load_balancers, served.load_balancers);
    assert_eq!(imported.classic_load_balancers, served.classic_load_balancers);
    let (g, want) = (&imported.groups[0], &served.groups[0]);
    assert_eq!(
        (
            g.min,
            g.max,
            g.desired,
            &g.availability_zones,
            &g.target_groups,
            &g.load_balancers
        ),
        (
            want.min,
            want.max,
            want.desired,
            &want.availability_zones,
            &want.target_groups,
            &want.load_balancers
        )
    );
    assert_eq!(
        (g.health_check_type, g.health_check_grace_period),
        (want.health_check_type, want.health_check_grace_period)
    );
    assert_eq!(
        g.lifecycle_hooks, want.lifecycle_hooks,
        "CodeDeploy's own launch hook is left to the deployment group"
    );
    assert_eq!(g.scaling_policies.len(), 1);
    assert_eq!(
        (g.scaling_policies[0].scaling_adjustment, g.scaling_policies[0].cooldown),
        (Some(2), Some(120))
    );

    let sc = scenarios::runner::read_file(&into.join("deployment.toml")).expect("the scenario parses");
    assert_eq!(sc.deployment_group.name, "web-dg");
    assert_eq!(sc.deployment_group.autoscaling_groups, ["web-asg"]);
    assert_eq!(sc.deployment_group.target_groups, ["web"]);
    assert!(sc.deployment_group.rollback);
    assert!(matches!(&sc.deployment_group.config, scenarios::schema::ConfigSpec::Named(n) if n == "HalfAtATime"));

    // It plays, from its own folder.
    let out = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["test", "deployment.toml"])
        .current_dir(&into)
        .output()
        .expect("test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("deployment  new"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Answers in the shape AWS's CLI reference shows for these commands (checked by hand against the
/// examples of describe-auto-scaling-groups, describe-target-groups and get-deployment-group).
#[test]
fn a_documentation_shaped_answer_imports() {
    let dir = std::env::temp_dir().join(format!("import-doc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let files = [
        (
            "describe-auto-scaling-groups.json",
            r#"{"AutoScalingGroups": [{"AutoScalingGroupName": "my-asg", "AutoScalingGroupARN": "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:930d940e-891e-4781-a11a-7b0acd480f03:autoScalingGroupName/my-asg", "LaunchTemplate": {"LaunchTemplateName": "my-launch-template", "Version": "1", "LaunchTemplateId": "lt-1234567890abcde12"}, "MinSize": 0, "MaxSize": 1, "DesiredCapacity": 1, "DefaultCooldown": 300, "AvailabilityZones": ["us-west-2a", "us-west-2b", "us-west-2c"], "LoadBalancerNames": [], "TargetGroupARNs": ["arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"], "HealthCheckType": "EC2", "HealthCheckGracePeriod": 300, "Instances": [{"InstanceId": "i-06905f55584de02da", "InstanceType": "t2.micro", "AvailabilityZone": "us-west-2a", "HealthStatus": "Healthy", "LifecycleState": "InService", "ProtectedFromScaleIn": false}], "CreatedTime": "2023-10-28T02:39:22.152Z", "SuspendedProcesses": [{"ProcessName": "AZRebalance", "SuspensionReason": "User suspended at 2023-10-28T02:40:00Z"}], "VPCZoneIdentifier": "subnet-5ea0c127,subnet-6194ea3b,subnet-c934b782", "EnabledMetrics": [], "Tags": [], "TerminationPolicies": ["Default"], "NewInstancesProtectedFromScaleIn": false, "ServiceLinkedRoleARN": "arn", "CapacityRebalance": false}]}"#,
        ),
        (
            "describe-target-groups.json",
            r#"{"TargetGroups": [{"TargetGroupArn": "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067", "TargetGroupName": "my-targets", "Protocol": "HTTP", "Port": 80, "VpcId": "vpc-3ac0fb5f", "HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": true, "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2, "HealthCheckPath": "/", "Matcher": {"HttpCode": "200"}, "LoadBalancerArns": [], "TargetType": "instance", "ProtocolVersion": "HTTP1", "IpAddressType": "ipv4"}]}"#,
        ),
        (
            "get-deployment-group.json",
            r#"{"deploymentGroupInfo": {"applicationName": "WordPress_App", "autoScalingGroups": [{"name": "my-asg", "hook": "CodeDeploy-managed-automatic-launch-deployment-hook-WordPress_DG-1"}], "deploymentGroupId": "cdac3220-0e64-4d63-bb50-e68faEXAMPLE", "deploymentStyle": {"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"}, "ec2TagFilters": [], "onPremisesInstanceTagFilters": [], "serviceRoleArn": "arn:aws:iam::123456789012:role/CodeDeployDemoRole", "deploymentGroupName": "WordPress_DG", "triggerConfigurations": [], "deploymentConfigName": "CodeDeployDefault.OneAtATime", "outdatedInstancesStrategy": "UPDATE"}}"#,
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("answer");
    }
    let im = scenarios::import::import(&dir).expect("imports");
    let g = &im.world.groups[0];
    assert_eq!((g.name.as_str(), g.min, g.max, g.desired), ("my-asg", 0, 1, Some(1)));
    assert_eq!(g.target_groups, ["my-targets"]);
    assert_eq!(g.suspended_processes, [fakeaws::model::Process::AzRebalance]);
    let tg = &im.world.target_groups[0];
    assert_eq!(
        (tg.health_check.interval, tg.health_check.healthy_threshold),
        (Some(30), Some(5))
    );
    assert!(
        im.notes.iter().any(|n| n.contains("default deregistration delay")),
        "a missing attributes answer is said: {:?}",
        im.notes
    );
    assert_eq!(im.group.name, "WordPress_DG");
    assert!(!im.group.traffic_control && !im.group.rollback);
    // Missing the deployment group's answer: named, with the script that saves it.
    std::fs::remove_file(dir.join("get-deployment-group.json")).expect("rm");
    let e = scenarios::import::import(&dir).expect_err("needs it");
    assert!(
        e.to_string()
            .contains("get-deployment-group.json: missing (scenarios/import/aws-read.sh"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
