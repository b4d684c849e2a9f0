//! The hooks against the AWS CLI's view of the world: the CLI builds it, the hooks run, the CLI checks.

use std::process::Command;

use crate::util::*;

fn aws(url: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new("aws")
        .args(args)
        .args(["--output", "json"])
        .env("AWS_ACCESS_KEY_ID", fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
        )
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_PAGER", "")
        .output()
        .expect("the AWS CLI runs (pip install awscli)");
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).expect("json")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hooks_round_trip_in_a_world_built_with_the_aws_cli() {
    let env = Env::new().await;
    let url = env.r.url.clone();
    let u = url.clone();
    let tg = tokio::task::spawn_blocking(move || {
        let tg = aws(
            &u,
            &[
                "elbv2",
                "create-target-group",
                "--name",
                "cli-web",
                "--protocol",
                "HTTP",
                "--port",
                "80",
                "--vpc-id",
                "vpc-1",
                "--health-check-interval-seconds",
                "10",
                "--healthy-threshold-count",
                "2",
            ],
        )["TargetGroups"][0]["TargetGroupArn"]
            .as_str()
            .expect("arn")
            .to_string();
        aws(
            &u,
            &[
                "elbv2",
                "modify-target-group-attributes",
                "--target-group-arn",
                &tg,
                "--attributes",
                "Key=deregistration_delay.timeout_seconds,Value=20",
            ],
        );
        let lb = aws(
            &u,
            &[
                "elbv2",
                "create-load-balancer",
                "--name",
                "cli-alb",
                "--subnets",
                "subnet-a",
                "subnet-b",
            ],
        )["LoadBalancers"][0]["LoadBalancerArn"]
            .as_str()
            .expect("lb")
            .to_string();
        aws(
            &u,
            &[
                "elbv2",
                "create-listener",
                "--load-balancer-arn",
                &lb,
                "--protocol",
                "HTTP",
                "--port",
                "80",
                "--default-actions",
                &format!("Type=forward,TargetGroupArn={tg}"),
            ],
        );
        aws(
            &u,
            &[
                "autoscaling",
                "create-auto-scaling-group",
                "--auto-scaling-group-name",
                "cli-asg",
                "--launch-template",
                "LaunchTemplateName=cli-template",
                "--min-size",
                "2",
                "--max-size",
                "3",
                "--desired-capacity",
                "2",
                "--availability-zones",
                "us-east-1a",
                "us-east-1b",
                "--target-group-arns",
                &tg,
                "--health-check-type",
                "ELB",
                "--health-check-grace-period",
                "300",
            ],
        );
        tg
    })
    .await
    .expect("join");
    env.settle(60);
    let id = env.members("cli-asg")[0].clone();
    env.run(DEREGISTER, &id).await.ok();
    let (u, i) = (url.clone(), id.clone());
    let state = tokio::task::spawn_blocking(move || {
        aws(
            &u,
            &["autoscaling", "describe-auto-scaling-instances", "--instance-ids", &i],
        )["AutoScalingInstances"][0]["LifecycleState"]
            .clone()
    })
    .await
    .expect("join");
    assert_eq!(state, "Standby");
    env.run(REGISTER, &id).await.ok();
    let u = url.clone();
    let (group, health) = tokio::task::spawn_blocking(move || {
        let g = aws(
            &u,
            &[
                "autoscaling",
                "describe-auto-scaling-groups",
                "--auto-scaling-group-names",
                "cli-asg",
            ],
        )["AutoScalingGroups"][0]
            .clone();
        let h = aws(&u, &["elbv2", "describe-target-health", "--target-group-arn", &tg]);
        (g, h)
    })
    .await
    .expect("join");
    assert_eq!(group["MinSize"], 2);
    assert_eq!(group["DesiredCapacity"], 2);
    assert_eq!(group["SuspendedProcesses"], serde_json::json!([]));
    assert_eq!(group["Tags"], serde_json::json!([]));
    let states: Vec<&str> = health["TargetHealthDescriptions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["TargetHealth"]["State"].as_str())
        .collect();
    assert_eq!(states, ["healthy", "healthy"]);
}
