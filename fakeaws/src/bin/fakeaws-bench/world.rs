//! The benchmark world, built the same way on fakeaws and moto_server, and the churn run on both.

use anyhow::Context;

use crate::conn::{between, Conn};
use crate::Server;

/// The benchmark world: a target group behind an ALB listener and a group of `n` instances in it.
/// Returns the target group's ARN.
///
/// moto keeps a terminated instance's private address for good, so its two subnets are sized for
/// every launch of the churn (`launches`).
pub async fn build_world(url: &str, n: usize, moto: bool, launches: usize) -> anyhow::Result<String> {
    let mut c = Conn::open(url).await?;
    let (vpc, subnets) = if moto {
        let v = c
            .must("ec2", "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16")
            .await?;
        let vpc = between(&v, "<vpcId>", "</vpcId>").context("no vpcId")?.to_string();
        // The smallest subnet that could hold every launch (moto may not spread them evenly;
        // AWS reserves 5 addresses of each), at most half the VPC's /16.
        let per_subnet = launches + 16;
        let bits = (per_subnet as f64).log2().ceil().clamp(4.0, 15.0) as u32;
        let prefix = 32 - bits;
        let mut subnets = Vec::new();
        for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
            let base = (i as u32) << bits;
            let cidr = format!("10.0.{}.{}%2F{prefix}", (base >> 8) & 255, base & 255);
            let s = c
                .must(
                    "ec2",
                    &format!(
                        "Action=CreateSubnet&Version=2016-11-15&VpcId={vpc}&CidrBlock={cidr}&AvailabilityZone={az}"
                    ),
                )
                .await?;
            subnets.push(
                between(&s, "<subnetId>", "</subnetId>")
                    .context("no subnetId")?
                    .to_string(),
            );
        }
        (vpc, subnets)
    } else {
        (
            "vpc-1".to_string(),
            vec!["subnet-a".to_string(), "subnet-b".to_string()],
        )
    };
    let tg = c
        .must(
            "elasticloadbalancing",
            &format!("Action=CreateTargetGroup&Version=2015-12-01&Name=bench&Protocol=HTTP&Port=80&VpcId={vpc}&HealthCheckIntervalSeconds=10&HealthCheckTimeoutSeconds=5&HealthyThresholdCount=2"),
        )
        .await?;
    let tg = between(&tg, "<TargetGroupArn>", "</TargetGroupArn>")
        .context("no TargetGroupArn")?
        .to_string();
    let lb = c
        .must(
            "elasticloadbalancing",
            &format!(
                "Action=CreateLoadBalancer&Version=2015-12-01&Name=bench&Subnets.member.1={}&Subnets.member.2={}",
                subnets[0], subnets[1]
            ),
        )
        .await?;
    let lb = between(&lb, "<LoadBalancerArn>", "</LoadBalancerArn>")
        .context("no LoadBalancerArn")?
        .to_string();
    c.must(
        "elasticloadbalancing",
        &format!("Action=CreateListener&Version=2015-12-01&LoadBalancerArn={lb}&Protocol=HTTP&Port=80&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={tg}"),
    )
    .await?;
    if moto {
        c.must(
            "autoscaling",
            "Action=CreateLaunchConfiguration&Version=2011-01-01&LaunchConfigurationName=bench&ImageId=ami-12c6146b&InstanceType=t2.micro",
        )
        .await?;
    }
    c.must(
        "autoscaling",
        &format!(
            "Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=bench&LaunchConfigurationName=bench&MinSize=0&MaxSize={}&DesiredCapacity={n}&VPCZoneIdentifier={}%2C{}&TargetGroupARNs.member.1={tg}",
            2 * n,
            subnets[0],
            subnets[1]
        ),
    )
    .await?;
    if !moto {
        c.post_json("/_fakeaws/clock/advance", r#"{"seconds": 120}"#).await?;
    }
    Ok(tg)
}

/// `rounds` launches and terminations of `n` instances: the group doubles, then halves (on
/// fakeaws with the clock moved past the launches, the drains and the health checks).
pub async fn churn(s: &Server, n: usize, rounds: usize) -> anyhow::Result<()> {
    let mut c = Conn::open(&s.url).await?;
    for _ in 0..rounds {
        for d in [2 * n, n] {
            c.must(
                "autoscaling",
                &format!("Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=bench&DesiredCapacity={d}"),
            )
            .await?;
            if !s.moto {
                c.post_json("/_fakeaws/clock/advance", r#"{"seconds": 400}"#).await?;
            }
        }
    }
    if !s.moto {
        c.post_json("/_fakeaws/clock/advance", r#"{"seconds": 3700}"#).await?;
    }
    Ok(())
}
