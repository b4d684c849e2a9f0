//! Target groups: resolving names / ARNs, (de)registering, and waiting for a target to be gone
//! or healthy in several groups at once (one polling loop, each group with its own deadline).

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::TargetDescription;

use crate::config::TargetGroups;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::state::Registration;

/// What the hooks need to know about a target group.
#[derive(Debug, Clone)]
pub struct Tg {
    pub arn: String,
    pub name: String,
    pub port: i32,
    pub healthy_timeout: Duration,
    /// When a newly registered target can first be healthy: HealthyThresholdCount x interval.
    pub healthy_after: Duration,
    /// A load balancer uses it (a listener or rule forwards to it). Targets of a target group no
    /// load balancer uses stay `unused` (`Target.NotInUse`) for ever: nothing to wait for there.
    pub in_use: bool,
}

/// Drops the target groups no load balancer uses from a health wait, saying so.
pub fn only_in_use(ctx: &Ctx, tgs: &mut Vec<Tg>) {
    tgs.retain(|t| {
        if !t.in_use {
            ctx.info(format!(
                "target group {} is used by no load balancer: its targets stay unused (Target.NotInUse), so the hooks do not wait for health there",
                t.name
            ));
        }
        t.in_use
    });
}

fn target(id: &str, port: Option<i32>) -> TargetDescription {
    TargetDescription::builder().id(id).set_port(port).build()
}

/// Describes target groups by name or ARN (or all of them).
pub async fn describe(ctx: &Ctx, names_or_arns: Option<&[String]>) -> Result<Vec<Tg>> {
    let (arns, names): (Vec<String>, Vec<String>) = match names_or_arns {
        Some(list) => list.iter().cloned().partition(|s| s.starts_with("arn:")),
        None => (vec![], vec![]),
    };
    let mut out = Vec::new();
    let mut batches: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    if names_or_arns.is_none() {
        batches.push((vec![], vec![]));
    }
    if !arns.is_empty() {
        batches.push((arns, vec![]));
    }
    if !names.is_empty() {
        batches.push((vec![], names));
    }
    for (arns, names) in batches {
        let resp = ctx
            .must("DescribeTargetGroups", || {
                ctx.elb
                    .describe_target_groups()
                    .set_target_group_arns((!arns.is_empty()).then(|| arns.clone()))
                    .set_names((!names.is_empty()).then(|| names.clone()))
                    .send()
            })
            .await?;
        for t in resp.target_groups() {
            let interval = t.health_check_interval_seconds().unwrap_or(30) as u64;
            let timeout = t.health_check_timeout_seconds().unwrap_or(5) as u64;
            let threshold = t.healthy_threshold_count().unwrap_or(5) as u64;
            out.push(Tg {
                arn: t.target_group_arn().unwrap_or_default().to_string(),
                name: t.target_group_name().unwrap_or_default().to_string(),
                port: t.port().unwrap_or(80),
                healthy_timeout: Duration::from_secs(threshold * (timeout + interval) + 30),
                healthy_after: Duration::from_secs(threshold * interval),
                in_use: !t.load_balancer_arns().is_empty(),
            });
        }
    }
    Ok(out)
}

/// The timing attributes of a target group the hooks wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `deregistration_delay.timeout_seconds` (AWS's default 300 s).
    pub delay: Duration,
    /// `slow_start.duration_seconds` (0: off).
    pub slow_start: Duration,
}

/// A target group's [`Timing`], in one DescribeTargetGroupAttributes.
pub async fn timing(ctx: &Ctx, arn: &str) -> Result<Timing> {
    let attrs = ctx
        .must("DescribeTargetGroupAttributes", || {
            ctx.elb.describe_target_group_attributes().target_group_arn(arn).send()
        })
        .await?;
    let seconds = |key: &str| {
        attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some(key))
            .and_then(|a| a.value())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Ok(Timing {
        delay: Duration::from_secs(seconds("deregistration_delay.timeout_seconds").unwrap_or(300)),
        slow_start: Duration::from_secs(seconds("slow_start.duration_seconds").unwrap_or(0)),
    })
}

/// After the instance is back and healthy: while a target group's slow start ramps its share of
/// requests up, it does not yet carry its part of the load, and the deployment's next instance
/// leaving then would put that part on the others. The ramp is waited out (counted from now,
/// when these hooks first saw the instance healthy; a little longer than AWS's, never shorter).
/// `slow_start` is the longest of the instance's target groups, recorded when it left.
pub async fn settle_slow_start(ctx: &Ctx, slow_start: Duration) -> Result<()> {
    if slow_start.is_zero() || !ctx.settings.wait_for_healthy {
        return Ok(());
    }
    ctx.info(format!(
        "slow start: the load balancer ramps this instance's share of requests up over {:.0}s; waiting that out before the deployment goes on",
        slow_start.as_secs_f64()
    ));
    ctx.clock
        .sleep(slow_start)
        .await
        .map_err(|e| crate::error::HookError::Clock(e.into()))
}

/// Health state of one registration (`unused` when not registered).
pub async fn state(ctx: &Ctx, arn: &str, id: &str, port: Option<i32>) -> Result<String> {
    let resp = ctx
        .call("DescribeTargetHealth", || {
            ctx.elb
                .describe_target_health()
                .target_group_arn(arn)
                .targets(target(id, port))
                .send()
        })
        .await;
    match resp {
        Ok(r) => Ok(r
            .target_health_descriptions()
            .iter()
            .filter_map(|d| {
                d.target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_string())
            })
            .next()
            .unwrap_or_else(|| "unused".into())),
        // botocore's target_deregistered waiter treats InvalidTarget as "gone"; so do we.
        Err(e) if e.code.as_deref() == Some("InvalidTarget") => Ok("unused".into()),
        // Still throttled after every retry: inside a wait that is "not yet", not a failure;
        // the wait's own deadline bounds it.
        Err(e) if e.transient => {
            ctx.warn(format!(
                "DescribeTargetHealth still failing ({}); polling on",
                e.message
            ));
            Ok("unknown".into())
        }
        Err(e) => Err(crate::ctx::aws_error("DescribeTargetHealth", &e)),
    }
}

/// Registrations of this instance in every target group (for `target_groups = all`).
pub async fn registrations_everywhere(ctx: &Ctx) -> Result<Vec<(Tg, i32)>> {
    let mut out = Vec::new();
    for t in describe(ctx, None).await? {
        let resp = ctx
            .must("DescribeTargetHealth", || {
                ctx.elb.describe_target_health().target_group_arn(&t.arn).send()
            })
            .await?;
        for d in resp.target_health_descriptions() {
            let Some(tt) = d.target() else { continue };
            let state = d
                .target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                .unwrap_or_default();
            if tt.id() == Some(ctx.instance_id.as_str()) && state != "draining" {
                out.push((t.clone(), tt.port().unwrap_or(t.port)));
            }
        }
    }
    Ok(out)
}

/// Resolves the configured target groups to registrations (with the port override).
pub async fn configured(ctx: &Ctx) -> Result<Vec<(Tg, i32)>> {
    match &ctx.settings.target_groups {
        TargetGroups::All => registrations_everywhere(ctx).await,
        TargetGroups::Listed(list) => {
            let tgs = describe(ctx, Some(list)).await?;
            Ok(tgs
                .into_iter()
                .map(|t| {
                    let port = ctx.settings.port.unwrap_or(t.port);
                    (t, port)
                })
                .collect())
        }
    }
}

/// Waits until every `(arn, port, time limit)` reaches `want` (`unused` or `healthy`), looking
/// first after `first_look`.
pub async fn wait_all(
    ctx: &Ctx,
    want: &str,
    items: Vec<(String, Option<i32>, Duration)>,
    first_look: Duration,
) -> Result<()> {
    let items = items
        .into_iter()
        .map(|(arn, port, limit)| ((arn, port), limit))
        .collect();
    ctx.wait_all(
        want,
        items,
        first_look,
        |(arn, _)| short(arn).to_string(),
        async |(arn, port): &(String, Option<i32>)| state(ctx, arn, &ctx.instance_id, *port).await,
    )
    .await
}

pub use crate::arn::short;

/// Deregisters (the maintenance page shown around it when configured) and waits until gone
/// everywhere. Returns the longest slow start of the target groups (see [`settle_slow_start`]).
pub async fn deregister(ctx: &Ctx, regs: &[Registration]) -> Result<Duration> {
    let tgs: Vec<String> = regs.iter().map(|r| r.target_group_arn.clone()).collect();
    crate::maintenance::before_leaving(ctx, &tgs).await?;
    for r in regs {
        ctx.info(format!(
            "DeregisterTargets {}:{} from {}",
            ctx.instance_id,
            r.port,
            short(&r.target_group_arn)
        ));
        ctx.must("DeregisterTargets", || {
            ctx.elb
                .deregister_targets()
                .target_group_arn(&r.target_group_arn)
                .targets(target(&ctx.instance_id, Some(r.port)))
                .send()
        })
        .await?;
    }
    crate::maintenance::after_leaving(ctx, &tgs).await?;
    let mut waits = Vec::new();
    let mut drained_after = Duration::ZERO;
    let mut slow_start = Duration::ZERO;
    for r in regs {
        let t = timing(ctx, &r.target_group_arn).await?;
        drained_after = drained_after.max(t.delay);
        slow_start = slow_start.max(t.slow_start);
        // The delay plus 30 s (the scripts' timeout), unless configured.
        let limit = ctx
            .settings
            .deregister_timeout
            .unwrap_or(t.delay + Duration::from_secs(30));
        waits.push((r.target_group_arn.clone(), Some(r.port), limit));
    }
    wait_all(ctx, "unused", waits, drained_after).await?;
    Ok(slow_start)
}

/// Registers and waits until healthy everywhere. `page`: the priority of a maintenance page these
/// hooks put up (see [`crate::maintenance::after_return`]).
pub async fn register(ctx: &Ctx, regs: &[Registration], page: Option<i32>, slow_start: Duration) -> Result<()> {
    let all = describe(
        ctx,
        Some(&regs.iter().map(|r| r.target_group_arn.clone()).collect::<Vec<_>>()),
    )
    .await?;
    for r in regs {
        ctx.info(format!(
            "RegisterTargets {}:{} in {}",
            ctx.instance_id,
            r.port,
            short(&r.target_group_arn)
        ));
        ctx.must("RegisterTargets", || {
            ctx.elb
                .register_targets()
                .target_group_arn(&r.target_group_arn)
                .targets(target(&ctx.instance_id, Some(r.port)))
                .send()
        })
        .await?;
    }
    let tgs: Vec<String> = regs.iter().map(|r| r.target_group_arn.clone()).collect();
    let healthy_after = all.iter().map(|t| t.healthy_after).max().unwrap_or_default();
    let page_limit = ctx.settings.healthy_timeout.unwrap_or_else(|| {
        all.iter()
            .map(|t| t.healthy_timeout)
            .max()
            .unwrap_or(Duration::from_secs(330))
    });
    if !ctx.settings.wait_for_healthy {
        return crate::maintenance::after_return(ctx, &tgs, page_limit, page).await;
    }
    let mut used = all.clone();
    only_in_use(ctx, &mut used);
    let waits = regs
        .iter()
        .filter(|r| used.iter().any(|t| t.arn == r.target_group_arn))
        .map(|r| {
            let limit = ctx.settings.healthy_timeout.unwrap_or_else(|| {
                all.iter()
                    .find(|t| t.arn == r.target_group_arn)
                    .map(|t| t.healthy_timeout)
                    .unwrap_or(Duration::from_secs(330))
            });
            (r.target_group_arn.clone(), Some(r.port), limit)
        })
        .collect();
    wait_all(ctx, "healthy", waits, healthy_after).await?;
    settle_slow_start(ctx, slow_start).await?;
    crate::maintenance::after_return(ctx, &tgs, page_limit, page).await
}
