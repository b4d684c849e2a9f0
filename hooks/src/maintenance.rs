//! The maintenance page: a top-priority `fixed-response` listener rule that answers every request
//! while too few targets are healthy, instead of the load balancer's blank 503.
//!
//! `deregister-from-elb` shows it before taking out the last healthy target(s) behind a listener
//! (fewer than `threshold` others healthy), and checks again once its own target is out (hooks of
//! other instances may have left at the same moment: AllAtOnce). `register-with-elb` removes it once
//! `threshold` targets are healthy again. The rule is tagged as the hooks' with the deployment that
//! created it: creating is idempotent (a PriorityInUse for our own rule is success), removing is
//! idempotent (RuleNotFound is success, when deleting or when reading the tags of a rule just
//! listed: hooks of other instances act at the same time), and a page left by another deployment
//! is removed as soon as enough targets are healthy.

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, PathPatternConditionConfig, RuleCondition, Tag,
};

use crate::arn::short;
use crate::config::Maintenance;
use crate::ctx::{aws_error, AwsFailure, Ctx};
use crate::error::{HookError, Result};

/// The tag marking the hooks' maintenance rule; its value is the deployment that created it.
pub const TAG: &str = "codedeploy-elb-hooks:maintenance";

/// The rule at the configured priority of a listener.
enum Slot {
    Free,
    /// The hooks' rule, created by this deployment.
    Ours {
        arn: String,
        deployment: String,
    },
    /// Someone else's rule.
    Taken {
        arn: String,
    },
}

/// Listeners whose default action forwards to the target group (ALB listeners only).
async fn listeners_of(ctx: &Ctx, tg_arn: &str) -> Result<Vec<String>> {
    let tgs = ctx
        .must("DescribeTargetGroups", || {
            ctx.elb.describe_target_groups().target_group_arns(tg_arn).send()
        })
        .await?;
    let lbs: Vec<String> = tgs
        .target_groups()
        .iter()
        .flat_map(|t| t.load_balancer_arns().iter().cloned())
        .collect();
    let mut out = Vec::new();
    for lb in lbs {
        let ls = ctx
            .must("DescribeListeners", || {
                ctx.elb.describe_listeners().load_balancer_arn(&lb).send()
            })
            .await?;
        for l in ls.listeners() {
            let forwards_here = l.default_actions().iter().any(|a| {
                a.target_group_arn() == Some(tg_arn)
                    || a.forward_config()
                        .is_some_and(|f| f.target_groups().iter().any(|t| t.target_group_arn() == Some(tg_arn)))
            });
            if !forwards_here {
                continue;
            }
            let proto = l.protocol().map(|p| p.as_str().to_string()).unwrap_or_default();
            if proto != "HTTP" && proto != "HTTPS" {
                ctx.warn(format!(
                    "listener {} is {proto}: only Application Load Balancer listeners have rules, so it shows no maintenance page",
                    short(l.listener_arn().unwrap_or_default())
                ));
                continue;
            }
            out.extend(l.listener_arn().map(str::to_string));
        }
    }
    Ok(out)
}

/// Healthy targets of a target group, this instance's included or not.
async fn healthy(ctx: &Ctx, tg_arn: &str, count_self: bool) -> Result<usize> {
    let h = ctx
        .must("DescribeTargetHealth", || {
            ctx.elb.describe_target_health().target_group_arn(tg_arn).send()
        })
        .await?;
    Ok(h.target_health_descriptions()
        .iter()
        .filter(|d| count_self || d.target().and_then(|t| t.id()) != Some(ctx.instance_id.as_str()))
        .filter(|d| d.target_health().and_then(|t| t.state()).map(|s| s.as_str()) == Some("healthy"))
        .count())
}

async fn slot(ctx: &Ctx, priority: i32, listener: &str) -> Result<Slot> {
    let rules = ctx
        .must("DescribeRules", || {
            ctx.elb.describe_rules().listener_arn(listener).send()
        })
        .await?;
    let want = priority.to_string();
    let Some(rule) = rules.rules().iter().find(|r| r.priority() == Some(want.as_str())) else {
        return Ok(Slot::Free);
    };
    let arn = rule.rule_arn().unwrap_or_default().to_string();
    let tags = match ctx
        .call("DescribeTags", || ctx.elb.describe_tags().resource_arns(&arn).send())
        .await
    {
        Ok(t) => t,
        // Deleted since we listed it (another instance's hook took the page down): free now.
        Err(e) if e.code.as_deref() == Some("RuleNotFound") => {
            ctx.info(format!(
                "the rule at priority {priority} on {} was deleted meanwhile (another instance's hook): the slot is free",
                short(listener)
            ));
            return Ok(Slot::Free);
        }
        Err(e) => return Err(aws_error("DescribeTags", &e)),
    };
    let mark = tags
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .find(|t| t.key() == Some(TAG))
        .map(|t| t.value().unwrap_or_default().to_string());
    Ok(match mark {
        Some(deployment) => Slot::Ours { arn, deployment },
        None => Slot::Taken { arn },
    })
}

fn taken(m: &Maintenance, listener: &str, arn: &str) -> HookError {
    HookError::Refused(format!(
        "listener {} already has a rule at priority {} that is not the hooks' ({}): set [maintenance] priority to a free one",
        short(listener),
        m.priority,
        short(arn)
    ))
}

async fn show(ctx: &Ctx, m: &Maintenance, listener: &str, why: &str) -> Result<()> {
    // Other instances' hooks act at the same time (AllAtOnce): the slot may be taken between our
    // look and our CreateRule (PriorityInUse: look again), or freed again meanwhile.
    let mut attempts = 0;
    loop {
        match slot(ctx, m.priority, listener).await? {
            Slot::Ours { .. } => {
                ctx.info(format!("the maintenance page is already up on {}", short(listener)));
                return Ok(());
            }
            Slot::Taken { arn } => return Err(taken(m, listener, &arn)),
            Slot::Free => {}
        }
        attempts += 1;
        ctx.info(format!(
            "CreateRule {} priority {}: maintenance page ({why})",
            short(listener),
            m.priority
        ));
        match create_page(ctx, m, listener).await {
            Ok(()) => return Ok(()),
            Err(e) if e.code.as_deref() == Some("PriorityInUse") && attempts < 3 => continue,
            Err(e) => return Err(aws_error("CreateRule", &e)),
        }
    }
}

async fn create_page(ctx: &Ctx, m: &Maintenance, listener: &str) -> std::result::Result<(), AwsFailure> {
    let page = Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code(m.status_code.to_string())
                .content_type(&m.content_type)
                .message_body(&m.body)
                .build(),
        )
        .build();
    let everything = RuleCondition::builder()
        .field("path-pattern")
        .path_pattern_config(PathPatternConditionConfig::builder().values("*").build())
        .build();
    let tag = Tag::builder().key(TAG).value(&ctx.deployment_id).build();
    ctx.call("CreateRule", || {
        ctx.elb
            .create_rule()
            .listener_arn(listener)
            .priority(m.priority)
            .conditions(everything.clone())
            .actions(page.clone())
            .tags(tag.clone())
            .send()
    })
    .await
    .map(|_| ())
}

async fn hide(ctx: &Ctx, arn: &str, listener: &str, why: &str) -> Result<()> {
    ctx.info(format!("DeleteRule {}: maintenance page down ({why})", short(listener)));
    match ctx
        .call("DeleteRule", || ctx.elb.delete_rule().rule_arn(arn).send())
        .await
    {
        Ok(_) => Ok(()),
        // Another instance's hook removed it first.
        Err(e) if e.code.as_deref() == Some("RuleNotFound") => Ok(()),
        Err(e) => Err(aws_error("DeleteRule", &e)),
    }
}

/// Before anything changes: refuses (nothing changed) when a rule that is not the hooks' holds
/// the page's priority on a listener of `tgs`, so that the hooks never stop halfway, with the
/// processes suspended and no page to show.
pub async fn check_free(ctx: &Ctx, tgs: &[String]) -> Result<()> {
    let Some(m) = &ctx.settings.maintenance else {
        return Ok(());
    };
    for tg in tgs {
        for l in listeners_of(ctx, tg).await? {
            if let Slot::Taken { arn } = slot(ctx, m.priority, &l).await? {
                return Err(taken(m, &l, &arn));
            }
        }
    }
    Ok(())
}

/// Before this instance leaves `tgs`: shows the page where fewer than `threshold` other targets
/// are healthy; removes a page another deployment left where enough are.
pub async fn before_leaving(ctx: &Ctx, tgs: &[String]) -> Result<()> {
    let Some(m) = &ctx.settings.maintenance else {
        return Ok(());
    };
    for tg in tgs {
        let others = healthy(ctx, tg, false).await?;
        for l in listeners_of(ctx, tg).await? {
            if others < m.threshold {
                let why = format!(
                    "{others} other healthy target(s) in {}, threshold {}",
                    short(tg),
                    m.threshold
                );
                show(ctx, m, &l, &why).await?;
            } else if let Slot::Ours { arn, deployment } = slot(ctx, m.priority, &l).await? {
                if deployment != ctx.deployment_id {
                    let why = format!("left by deployment {deployment}; {others} healthy target(s) now");
                    hide(ctx, &arn, &l, &why).await?;
                }
            }
        }
    }
    Ok(())
}

/// Once this instance is out of `tgs`: shows the page where siblings leaving at the same time
/// left fewer than `threshold` healthy targets.
pub async fn after_leaving(ctx: &Ctx, tgs: &[String]) -> Result<()> {
    let Some(m) = &ctx.settings.maintenance else {
        return Ok(());
    };
    for tg in tgs {
        let left = healthy(ctx, tg, false).await?;
        if left < m.threshold {
            for l in listeners_of(ctx, tg).await? {
                let why = format!(
                    "{left} healthy target(s) left in {}, threshold {}",
                    short(tg),
                    m.threshold
                );
                show(ctx, m, &l, &why).await?;
            }
        }
    }
    Ok(())
}

/// Once this instance is back in `tgs`: waits until enough targets are healthy (bounded by
/// `limit`), then removes the page. `recorded`: the priority of a page this instance's hooks put
/// up or saw under an earlier revision's `[maintenance]`; without `[maintenance]` now (a rollback to
/// a revision without it) that page still comes down, once a target is healthy.
///
/// "Enough" is the threshold, capped at the targets the group can still reach (registered and not
/// draining: a scale-in may have left fewer than the threshold), and at least one.
pub async fn after_return(ctx: &Ctx, tgs: &[String], limit: Duration, recorded: Option<i32>) -> Result<()> {
    let (priority, threshold) = match (&ctx.settings.maintenance, recorded) {
        (Some(m), _) => (m.priority, m.threshold),
        (None, Some(p)) => {
            ctx.info(format!(
                "no [maintenance] in this revision, but these hooks put a maintenance page up at priority {p}: it comes down once a target is healthy"
            ));
            (p, 1)
        }
        (None, None) => return Ok(()),
    };
    let start = ctx.clock.elapsed();
    for tg in tgs {
        let listeners = listeners_of(ctx, tg).await?;
        let mut pages = Vec::new();
        for l in &listeners {
            if let Slot::Ours { arn, .. } = slot(ctx, priority, l).await? {
                pages.push((l.clone(), arn));
            }
        }
        if pages.is_empty() {
            continue;
        }
        loop {
            let (n, reachable) = health_counts(ctx, tg).await?;
            let want = threshold.min(reachable).max(1);
            if want < threshold {
                ctx.info(format!(
                    "only {reachable} target(s) left in {} (threshold {threshold}): waiting for {want} healthy",
                    short(tg)
                ));
            }
            if n >= want {
                for (l, arn) in &pages {
                    let why = format!("{n} healthy target(s) in {}, threshold {threshold}", short(tg));
                    hide(ctx, arn, l, &why).await?;
                }
                break;
            }
            if ctx.clock.elapsed() - start >= limit {
                return Err(HookError::Timeout(format!(
                    "only {n} healthy target(s) in {} after {:.0}s; the maintenance page stays up until {want} are",
                    short(tg),
                    limit.as_secs_f64(),
                )));
            }
            ctx.poll_sleep().await?;
        }
    }
    Ok(())
}

/// Healthy targets of a target group, and the targets that can still be healthy there (every
/// registered target but those draining).
async fn health_counts(ctx: &Ctx, tg_arn: &str) -> Result<(usize, usize)> {
    let h = ctx
        .must("DescribeTargetHealth", || {
            ctx.elb.describe_target_health().target_group_arn(tg_arn).send()
        })
        .await?;
    let states: Vec<&str> = h
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target_health().and_then(|t| t.state()).map(|s| s.as_str()))
        .collect();
    let healthy = states.iter().filter(|s| **s == "healthy").count();
    let reachable = states.iter().filter(|s| **s != "draining").count();
    Ok((healthy, reachable))
}
