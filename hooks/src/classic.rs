//! Classic Load Balancers (the sample repository's `load-balancing/elb` scripts): `ELB_LIST` names
//! or `_all_` / `_any_`, deregistration waiting out connection draining, registration waiting for
//! InService with the health-check timing.

use std::time::Duration;

use aws_sdk_elasticloadbalancing::types::Instance;

use crate::config::ClassicLbs;
use crate::ctx::{aws_error, Ctx};
use crate::error::{HookError, Result};

fn me(ctx: &Ctx) -> Instance {
    Instance::builder().instance_id(&ctx.instance_id).build()
}

/// The load balancers to deregister from, per the `_all_` / `_any_` / names rules.
///
/// `recorded`: the load balancers a previous run of these hooks took the instance out of (a
/// deregister killed before it finished): registered with none of them any more is then expected,
/// not a reason to refuse `_all_`.
pub async fn resolve(ctx: &Ctx, which: &ClassicLbs, recorded: &[String]) -> Result<Vec<String>> {
    let names = match which {
        ClassicLbs::Listed(n) => return Ok(n.clone()),
        ClassicLbs::All | ClassicLbs::Any => {
            let d = ctx
                .must("DescribeLoadBalancers", || ctx.classic.describe_load_balancers().send())
                .await?;
            d.load_balancer_descriptions()
                .iter()
                .filter(|l| {
                    l.instances()
                        .iter()
                        .any(|i| i.instance_id() == Some(ctx.instance_id.as_str()))
                })
                .filter_map(|l| l.load_balancer_name().map(str::to_string))
                .collect::<Vec<_>>()
        }
    };
    if names.is_empty() && recorded.is_empty() && *which == ClassicLbs::All {
        return Err(HookError::Refused(format!(
            "load_balancers = [\"_all_\"] but {} is registered with no Classic Load Balancer (use \"_any_\" to allow that)",
            ctx.instance_id
        )));
    }
    Ok(names)
}

async fn state(ctx: &Ctx, lb: &str) -> Result<String> {
    let r = ctx
        .call("DescribeInstanceHealth", || {
            ctx.classic
                .describe_instance_health()
                .load_balancer_name(lb)
                .instances(me(ctx))
                .send()
        })
        .await;
    match r {
        Ok(h) => Ok(h
            .instance_states()
            .first()
            .and_then(|s| s.state())
            .unwrap_or("OutOfService")
            .to_string()),
        Err(e) if e.transient => {
            ctx.warn(format!(
                "DescribeInstanceHealth still failing ({}); polling on",
                e.message
            ));
            Ok("unknown".into())
        }
        Err(e) => Err(aws_error("DescribeInstanceHealth", &e)),
    }
}

async fn wait_all(ctx: &Ctx, want: &str, items: Vec<(String, Duration)>, first_look: Duration) -> Result<()> {
    ctx.wait_all(
        want,
        items,
        first_look,
        |lb| lb.clone(),
        async |lb: &String| state(ctx, lb).await,
    )
    .await
}

/// Deregisters from each load balancer, then waits OutOfService (draining timeout + 30 s).
pub async fn deregister(ctx: &Ctx, lbs: &[String]) -> Result<()> {
    let mut waits = Vec::new();
    let mut drained_after = Duration::ZERO;
    for lb in lbs {
        let attrs = ctx
            .must("DescribeLoadBalancerAttributes", || {
                ctx.classic
                    .describe_load_balancer_attributes()
                    .load_balancer_name(lb)
                    .send()
            })
            .await?;
        let draining = attrs
            .load_balancer_attributes()
            .and_then(|a| a.connection_draining())
            .filter(|d| d.enabled())
            .and_then(|d| d.timeout())
            .unwrap_or(0) as u64;
        ctx.info(format!(
            "DeregisterInstancesFromLoadBalancer {} from {lb} (draining {draining}s)",
            ctx.instance_id
        ));
        ctx.must("DeregisterInstancesFromLoadBalancer", || {
            ctx.classic
                .deregister_instances_from_load_balancer()
                .load_balancer_name(lb)
                .instances(me(ctx))
                .send()
        })
        .await?;
        waits.push((
            lb.clone(),
            ctx.settings
                .deregister_timeout
                .unwrap_or(Duration::from_secs(draining + 30)),
        ));
        drained_after = drained_after.max(Duration::from_secs(draining));
    }
    wait_all(ctx, "OutOfService", waits, drained_after).await
}

/// The InService wait for each load balancer: HealthyThreshold x (Interval + Timeout) + 30 s; and
/// when the instance can first be InService (HealthyThreshold x Interval).
pub async fn healthy_waits(ctx: &Ctx, lbs: &[String]) -> Result<(Vec<(String, Duration)>, Duration)> {
    let d = ctx
        .must("DescribeLoadBalancers", || {
            ctx.classic
                .describe_load_balancers()
                .set_load_balancer_names(Some(lbs.to_vec()))
                .send()
        })
        .await?;
    let first = d
        .load_balancer_descriptions()
        .iter()
        .filter_map(|l| l.health_check())
        .map(|h| Duration::from_secs(h.healthy_threshold() as u64 * h.interval() as u64))
        .max()
        .unwrap_or_default();
    let waits = d
        .load_balancer_descriptions()
        .iter()
        .map(|l| {
            let h = l.health_check();
            let t = h
                .map(|h| h.healthy_threshold() as u64 * (h.interval() as u64 + h.timeout() as u64) + 30)
                .unwrap_or(360);
            (
                l.load_balancer_name().unwrap_or_default().to_string(),
                ctx.settings.healthy_timeout.unwrap_or(Duration::from_secs(t)),
            )
        })
        .collect();
    Ok((waits, first))
}

/// Registers with each load balancer, then waits InService.
pub async fn register(ctx: &Ctx, lbs: &[String]) -> Result<()> {
    for lb in lbs {
        ctx.info(format!(
            "RegisterInstancesWithLoadBalancer {} with {lb}",
            ctx.instance_id
        ));
        ctx.must("RegisterInstancesWithLoadBalancer", || {
            ctx.classic
                .register_instances_with_load_balancer()
                .load_balancer_name(lb)
                .instances(me(ctx))
                .send()
        })
        .await?;
    }
    if !ctx.settings.wait_for_healthy {
        return Ok(());
    }
    let (waits, first) = healthy_waits(ctx, lbs).await?;
    wait_all(ctx, "InService", waits, first).await
}

/// Waits InService in load balancers the instance is already registered with (ASG path).
pub async fn wait_in_service(ctx: &Ctx, lbs: &[String]) -> Result<()> {
    if lbs.is_empty() {
        return Ok(());
    }
    let (waits, first) = healthy_waits(ctx, lbs).await?;
    wait_all(ctx, "InService", waits, first).await
}
