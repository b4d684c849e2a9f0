//! Register on the Auto Scaling path: ExitStandby, healthy in the load balancers, InService, then
//! MinSize and the processes restored (the last instance back restores the originals).

use crate::asg::delete_tag;
use crate::asg::exit;
use crate::asg::group;
use crate::asg::hooks_out;
use crate::asg::others_out;
use crate::asg::poll_lifecycle;
use crate::asg::read_group;
use crate::asg::set_tag;
use crate::asg::split_list;
use crate::asg::standby_key;
use crate::asg::unmark_standby;
use crate::asg::until_standby;
use crate::asg::Group;
use crate::asg::TAG_MIN;
use crate::asg::TAG_PROCS;
use std::time::Duration;

use aws_sdk_autoscaling::types::LifecycleState;

use crate::ctx::Ctx;
use crate::error::{HookError, Result};
use crate::state::State;
use crate::tg;

/// Register when the state file says these hooks put the instance in Standby in `group_name`:
/// ExitStandby straight away, as AWS itself refuses it unless the instance is in Standby in that
/// group and MaxSize allows one more. `Ok(false)`: refused, and the caller reads where the
/// instance is (then [`register()`] explains what it finds).
pub async fn register_recorded(ctx: &Ctx, group_name: &str, state: &mut State) -> Result<bool> {
    ctx.info(format!(
        "ExitStandby {} in {group_name} (these hooks put it in Standby)",
        ctx.instance_id
    ));
    exit::asking(ctx, state).await?;
    let r = ctx
        .call("ExitStandby", || {
            ctx.asg
                .exit_standby()
                .auto_scaling_group_name(group_name)
                .instance_ids(&ctx.instance_id)
                .send()
        })
        .await;
    match r {
        Ok(_) => {}
        Err(e) if e.code.as_deref() == Some("ValidationError") => {
            ctx.info(format!(
                "ExitStandby refused ({}); reading where the instance is",
                e.message
            ));
            exit::refused(ctx, state)?;
            return Ok(false);
        }
        Err(e) => return Err(crate::ctx::aws_error("ExitStandby", &e)),
    }
    exit::served(ctx, state)?;
    let left = Group {
        name: group_name.to_string(),
        target_groups: state.target_groups.clone(),
        load_balancer_names: state.load_balancer_names.clone(),
        ..Group::default()
    };
    come_back(ctx, &left, state, true).await?;
    Ok(true)
}

/// Register on the ASG path. `g` is the instance's group as just read, `lifecycle` its state there.
/// How long Auto Scaling keeps an instance `Pending` after ExitStandby before its load balancers
/// register it again (the fake's model of it; later registration only costs more looks).
const EXIT_STANDBY_PENDING: Duration = Duration::from_secs(2);

pub async fn register(ctx: &Ctx, mut g: Group, lifecycle: &LifecycleState, state: &mut State) -> Result<()> {
    let group_name = g.name.clone();
    let group_name = group_name.as_str();
    let exited = match lifecycle {
        LifecycleState::PendingWait | LifecycleState::PendingProceed => {
            ctx.info(format!(
                "{} is {lifecycle}: a new instance; Auto Scaling puts it in service when the lifecycle action completes",
                ctx.instance_id
            ));
            return Ok(());
        }
        LifecycleState::EnteringStandby => {
            until_standby(ctx).await?;
            g = group(ctx, group_name).await?;
            if !ours(ctx, &g, state).await? {
                return leave_operators_standby(ctx, g, state).await;
            }
            if g.desired + 1 > g.max {
                return release_at_max(ctx, g, state).await;
            }
            exit_standby(ctx, &g, state).await?;
            true
        }
        LifecycleState::Standby if !ours(ctx, &g, state).await? => return leave_operators_standby(ctx, g, state).await,
        LifecycleState::Standby if g.desired + 1 > g.max => return release_at_max(ctx, g, state).await,
        LifecycleState::Standby => {
            exit_standby(ctx, &g, state).await?;
            true
        }
        // Deployed to on its way into the warm pool: Auto Scaling registers it with the group's
        // load balancers when a scale-out takes it from the pool (as a new launch), not now.
        warmed if super::is_warm(warmed) => {
            ctx.info(format!(
                "{} is {warmed}: in the group's warm pool; it joins the load balancers when it leaves the pool",
                ctx.instance_id
            ));
            return Ok(());
        }
        LifecycleState::Pending | LifecycleState::InService => false,
        other => {
            return Err(HookError::Refused(format!(
                "{} is {other}; cannot bring it into service",
                ctx.instance_id
            )))
        }
    };
    come_back(ctx, &g, state, exited).await
}

/// Waits for InService after ExitStandby: `Ok(false)` when the instance went back into Standby
/// meanwhile, someone's EnterStandby after this ExitStandby (EnteringStandby is never on the way
/// back; Standby counts once the instance was seen out of it, or `left` says it was).
async fn back_in_service(ctx: &Ctx, mut left: bool) -> Result<bool> {
    let limit = ctx.settings.in_service_timeout;
    poll_lifecycle(
        ctx,
        LifecycleState::InService.as_str(),
        limit,
        Duration::ZERO,
        |state| match state {
            LifecycleState::InService => {
                ctx.info(format!("{} is InService", ctx.instance_id));
                Some(true)
            }
            LifecycleState::EnteringStandby => Some(false),
            LifecycleState::Standby if left => Some(false),
            LifecycleState::Standby => None,
            _ => {
                left = true;
                None
            }
        },
    )
    .await
}

/// Whether the instance is in Standby (or entering it) now.
async fn in_standby(ctx: &Ctx) -> Result<bool> {
    Ok(crate::asg::membership(ctx)
        .await?
        .is_some_and(|(_, l)| matches!(l, LifecycleState::Standby | LifecycleState::EnteringStandby)))
}

/// Back from the Standby these hooks put it in, the instance went into Standby again, put there
/// by someone else (an operator's EnterStandby): theirs now, as deregister would find it. The
/// hooks' record of their own Standby goes and what they changed on the group is restored, but
/// the run fails: the instance serves nothing, and a success would let CodeDeploy count it healthy
/// and take the next instance out beside it.
async fn put_back_in_standby(ctx: &Ctx, g: &Group, state: &mut State) -> Result<()> {
    ctx.warn(format!(
        "{} went back into Standby after ExitStandby, put there by someone else: leaving it there and restoring what these hooks changed",
        ctx.instance_id
    ));
    state.standby = false;
    ctx.save(state)?;
    let g = group(ctx, &g.name).await?;
    restore(ctx, g, state, false).await?;
    Err(HookError::Refused(format!(
        "{} is in Standby again, put there by someone else after these hooks brought it back: it serves nothing, so this deployment counts it as failed rather than take another instance out beside it. ExitStandby brings it back when its owner is done",
        ctx.instance_id
    )))
}

/// Whether these hooks put the instance in Standby. Their state file says, when it knows the
/// group: deregister saves `standby` before it asks for EnterStandby, so a run killed before that
/// (after the processes record and the mark went on the group) put nothing in Standby, and
/// neither did one whose ExitStandby was served since (a Standby found after it is someone
/// else's; [`exit::own_standby_holds`] settles it when a killed register left that unknown).
/// Without a state file for the group (lost), their mark on the group says.
async fn ours(ctx: &Ctx, g: &Group, state: &mut State) -> Result<bool> {
    if state.exited_standby {
        return Ok(false);
    }
    Ok(match state.group.as_deref() {
        Some(name) if name == g.name => state.standby && exit::own_standby_holds(ctx, &g.name, state).await?,
        _ => g.tags.contains_key(&standby_key(&ctx.instance_id)),
    })
}

/// An operator's Standby: neither the state file nor the group's marks say these hooks put it
/// there, as deregister saw. Theirs to bring back; it may still be the deployment's last
/// instance, so what the hooks changed on the group for the others comes back now if nothing
/// else holds it.
async fn leave_operators_standby(ctx: &Ctx, g: Group, state: &mut State) -> Result<()> {
    ctx.info(format!(
        "{} is in Standby, not put there by these hooks: leaving it there",
        ctx.instance_id
    ));
    restore(ctx, g, state, false).await
}

/// From ExitStandby (or Pending) to restored: healthy in the load balancers `left` names, then
/// InService confirmed on a fresh read of the group, then [`restore`].
///
/// When the hooks wait for load-balancer health, that wait also covers the way back through
/// Pending (Auto Scaling registers the instance then: it cannot be healthy before); only if the
/// group read that follows does not show InService yet does the lifecycle state get polled.
/// Target groups or load balancers attached while the instance was out are waited on as well.
async fn come_back(ctx: &Ctx, left: &Group, state: &mut State, exited: bool) -> Result<()> {
    let group_name = left.name.as_str();
    let covered = |g: &Group| {
        !g.target_groups.is_empty()
            || !g.load_balancer_names.is_empty()
            || matches!(ctx.settings.target_groups, crate::config::TargetGroups::Listed(_))
    };
    let health_covers_pending = ctx.settings.wait_for_healthy && covered(left);
    if !health_covers_pending && !back_in_service(ctx, false).await? {
        return put_back_in_standby(ctx, left, state).await;
    }
    // Registration happens on the way through Pending, a step of its own (about two seconds after
    // ExitStandby): the first look at health allows that much for it, and at least one poll
    // interval.
    let registering = if exited {
        ctx.settings.poll_interval.max(EXIT_STANDBY_PENDING)
    } else {
        Duration::ZERO
    };
    if ctx.settings.wait_for_healthy {
        if let Err(e) = wait_healthy(ctx, left, registering).await {
            // Never healthy: it may have been put back into Standby meanwhile (its targets
            // deregistered with it), which is someone else's to end, not a timeout to repair.
            if matches!(e, HookError::Timeout(_)) && in_standby(ctx).await? {
                return put_back_in_standby(ctx, left, state).await;
            }
            return Err(e);
        }
        tg::settle_slow_start(ctx, Duration::from_secs(state.slow_start_s)).await?;
    }
    // The page not coming down in time (too few targets healthy) is reported, but only once what
    // the hooks changed on the group is restored: the instance itself is back and healthy.
    let mut late_failure = None;
    if ctx.settings.maintenance.is_some() || state.maintenance_priority.is_some() {
        let limit = ctx.settings.healthy_timeout.unwrap_or(Duration::from_secs(330));
        let page = crate::maintenance::after_return(ctx, &left.target_groups, limit, state.maintenance_priority);
        match page.await {
            Ok(()) => {}
            Err(e @ HookError::Timeout(_)) => {
                ctx.warn(format!("{e}; restoring the group before reporting it"));
                late_failure = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    let mut g = group(ctx, group_name).await?;
    if g.members.get(&ctx.instance_id) != Some(&LifecycleState::InService) {
        // Healthy in its load balancers or seen InService by the first wait (or never out): it
        // has left the Standby these hooks put it in, so Standby now is someone else's.
        if !back_in_service(ctx, true).await? {
            return put_back_in_standby(ctx, &g, state).await;
        }
        g = group(ctx, group_name).await?;
    }
    if ctx.settings.wait_for_healthy {
        let attached = Group {
            name: g.name.clone(),
            target_groups: g
                .target_groups
                .iter()
                .filter(|t| !left.target_groups.contains(t))
                .cloned()
                .collect(),
            load_balancer_names: g
                .load_balancer_names
                .iter()
                .filter(|l| !left.load_balancer_names.contains(l))
                .cloned()
                .collect(),
            ..Group::default()
        };
        if !attached.target_groups.is_empty() || !attached.load_balancer_names.is_empty() {
            ctx.info("load balancers were attached to the group while the instance was out: waiting on them too");
            // Healthy where it was already: a timeout in the new ones is reported after the
            // restore, like the page's.
            match wait_healthy(ctx, &attached, Duration::ZERO).await {
                Ok(()) => {}
                Err(e @ HookError::Timeout(_)) if late_failure.is_none() => {
                    ctx.warn(format!("{e}; restoring the group before reporting it"));
                    late_failure = Some(e);
                }
                Err(e) => return Err(e),
            }
            g = group(ctx, group_name).await?;
        }
    }
    state.standby = false;
    ctx.save(state)?;
    take_back_desired(ctx, &mut g, state).await?;
    restore(ctx, g, state, ctx.settings.wait_for_healthy).await?;
    // Reported now: the instance is back and the group restored; the state file stays for the
    // next run (the caller clears it only on success).
    match late_failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// EnterStandby left a desired capacity of 0 as it was (see `deregister::enter_standby`), and
/// ExitStandby added one: take it back, when the MinSize of the moment allows (a MinSize the
/// restore then raises above it raises the desired capacity with it, as before).
async fn take_back_desired(ctx: &Ctx, g: &mut Group, state: &mut State) -> Result<()> {
    if !state.standby_kept_desired {
        return Ok(());
    }
    if g.desired > g.min.max(0) {
        let desired = g.desired - 1;
        ctx.info(format!(
            "UpdateAutoScalingGroup {} DesiredCapacity {} -> {desired} (ExitStandby added the one EnterStandby did not take)",
            g.name, g.desired
        ));
        ctx.must("UpdateAutoScalingGroup", || {
            ctx.asg
                .update_auto_scaling_group()
                .auto_scaling_group_name(&g.name)
                .desired_capacity(desired)
                .send()
        })
        .await?;
        g.desired = desired;
    }
    state.standby_kept_desired = false;
    ctx.save(state)
}

/// The group reached its MaxSize while this instance was out (a scale-out replaced its capacity),
/// and AWS refuses an ExitStandby above MaxSize. Rather than hold the group's processes suspended
/// until someone raises MaxSize (no alarm, no schedule, no health replacement meanwhile), the
/// hooks restore what they changed (MinSize; the processes once nobody else is out) and hand the
/// instance over, in Standby and unmarked, as an operator's: terminate it, or raise MaxSize and
/// ExitStandby. The script fails, saying so (the instance does not serve the new revision).
async fn release_at_max(ctx: &Ctx, g: Group, state: &mut State) -> Result<()> {
    let (name, desired, max) = (g.name.clone(), g.desired, g.max);
    ctx.warn(format!(
        "{name} reached its MaxSize {max} while {} was out (desired capacity {desired} without it): ExitStandby cannot bring it back; restoring what these hooks changed on the group and leaving {} in Standby",
        ctx.instance_id, ctx.instance_id
    ));
    state.standby = false;
    ctx.save(state)?;
    restore(ctx, g, state, false).await?;
    Err(HookError::Refused(format!(
        "{} is left in Standby: {name} is at its MaxSize {max} without it (a scale-out replaced its capacity while it was out). The group is restored; terminate the instance (aws autoscaling terminate-instance-in-auto-scaling-group) or raise MaxSize and run ExitStandby",
        ctx.instance_id
    )))
}

/// ExitStandby, recorded as asked for just before the call and as served once AWS answers.
async fn exit_standby(ctx: &Ctx, g: &Group, state: &mut State) -> Result<()> {
    if g.desired + 1 > g.max {
        return Err(HookError::Refused(format!(
            "ExitStandby would raise {}'s desired capacity to {} above its MaxSize {}; raise MaxSize and retry",
            g.name,
            g.desired + 1,
            g.max
        )));
    }
    ctx.info(format!(
        "ExitStandby {} in {} (desired {} -> {})",
        ctx.instance_id,
        g.name,
        g.desired,
        g.desired + 1
    ));
    exit::asking(ctx, state).await?;
    ctx.must("ExitStandby", || {
        ctx.asg
            .exit_standby()
            .auto_scaling_group_name(&g.name)
            .instance_ids(&ctx.instance_id)
            .send()
    })
    .await?;
    exit::served(ctx, state)
}

/// Waits until the instance is healthy in every load balancer and target group `g` names (and any
/// configured target group). `registering`: how long after now registration can take place.
async fn wait_healthy(ctx: &Ctx, g: &Group, registering: Duration) -> Result<()> {
    crate::classic::wait_in_service(ctx, &g.load_balancer_names).await?;
    let mut tgs = Vec::new();
    if let crate::config::TargetGroups::Listed(list) = &ctx.settings.target_groups {
        // Fix for upstream #64: the configured target groups are not ignored on the ASG path.
        tgs = tg::describe(ctx, Some(list)).await?;
    }
    let rest: Vec<String> = g
        .target_groups
        .iter()
        .filter(|a| !tgs.iter().any(|t| &&t.arn == a))
        .cloned()
        .collect();
    if !rest.is_empty() {
        tgs.extend(tg::describe(ctx, Some(&rest)).await?);
    }
    tg::only_in_use(ctx, &mut tgs);
    if tgs.is_empty() {
        return Ok(());
    }
    // Registered again on ExitStandby: healthy no sooner than threshold x interval from then.
    let healthy_after = tgs.iter().map(|t| t.healthy_after).max().unwrap_or_default() + registering;
    let waits = tgs
        .iter()
        .map(|t| {
            (
                t.arn.clone(),
                None,
                ctx.settings.healthy_timeout.unwrap_or(t.healthy_timeout),
            )
        })
        .collect();
    tg::wait_all(ctx, "healthy", waits, healthy_after).await
}

/// Puts MinSize and suspended processes back. Idempotent. `g` is the group as just read.
///
/// While other members are still out, MinSize goes back up only as far as DesiredCapacity
/// (`min(original, desired)`: raising it further would make Auto Scaling launch instances under
/// them). Once no member is out, MinSize goes back to the recorded original, whatever happened
/// meanwhile: if the group shrank while instances were out (a scale-in, a terminated instance),
/// Auto Scaling raises DesiredCapacity to meet the original MinSize, which is what a MinSize means.
/// Every write is computed from a fresh read: a write that fails transiently is not retried with
/// its old value, the group is read again.
/// Restores what the hooks changed on the group: MinSize, then (the last instance back) the
/// processes. `healthy_now`: the hooks have just seen this instance healthy in its load balancers.
pub async fn restore(ctx: &Ctx, mut g: Group, state: &mut State, healthy_now: bool) -> Result<()> {
    let group_name = g.name.clone();
    let group_name = group_name.as_str();
    if !g.members_read {
        // Who else is out decides everything below: read the members.
        g = group(ctx, group_name).await?;
    }
    crate::asg::sort_out_unmarked(ctx, &g).await?;
    let mut transient_failures = 0u32;
    // Once MinSize is back to the original with nobody else out, its record goes with the
    // processes record and the Standby mark, in one call.
    let mut min_back = false;
    for attempt in 0..20 {
        if attempt > 0 {
            g = group(ctx, group_name).await?;
        }
        // The group's tag, or (if a sibling deleted it meanwhile) what this instance recorded.
        let tagged = g.tags.get(TAG_MIN).and_then(|v| v.parse::<i32>().ok());
        let Some(original) = tagged.or(state.lowered_min_from.filter(|o| g.min < *o)) else {
            break;
        };
        if tagged.is_none() {
            set_tag(ctx, &g.name, TAG_MIN, &original.to_string()).await?;
        }
        let others = others_out(ctx, &g);
        let mut target = if others { original.min(g.desired) } else { original };
        if target > g.max {
            ctx.warn(format!(
                "the original MinSize {original} is above {}'s MaxSize {} now: restoring MinSize {} (raise MaxSize to restore the rest)",
                g.name, g.max, g.max
            ));
            target = g.max;
        }
        if g.min < target {
            let raises = target > g.desired;
            ctx.info(format!(
                "UpdateAutoScalingGroup {} MinSize {} -> {target} (original {original}){}",
                g.name,
                g.min,
                if raises {
                    format!(
                        "; the group shrank to {} while instances were out: Auto Scaling raises DesiredCapacity to {target} to meet MinSize",
                        g.desired
                    )
                } else {
                    String::new()
                }
            ));
            let wrote = ctx
                .once(|| {
                    ctx.asg
                        .update_auto_scaling_group()
                        .auto_scaling_group_name(&g.name)
                        .min_size(target)
                        .send()
                })
                .await;
            let back = match wrote {
                Ok(_) => target == original && !others,
                Err(e) if e.transient && transient_failures + 1 < ctx.settings.retry_max_attempts => {
                    transient_failures += 1;
                    ctx.warn(format!(
                        "UpdateAutoScalingGroup: {} ({}); reading the group again before retrying",
                        e.code.as_deref().unwrap_or("transport error"),
                        e.message
                    ));
                    ctx.backoff(transient_failures).await?;
                    false
                }
                Err(e) => return Err(crate::ctx::aws_error("UpdateAutoScalingGroup", &e)),
            };
            if !back {
                // Re-read: a concurrent restore or EnterStandby may have changed the group meanwhile.
                continue;
            }
            // Back to the original with nobody else out: the read plus our own write is the group
            // now; a sibling acting meanwhile is caught by the look after the record's removal.
            g.min = target;
        }
        if g.min >= target && !others {
            ctx.info(format!("MinSize of {} is back to {}", g.name, g.min));
            min_back = true;
        } else if attempt == 0 || g.min < original {
            ctx.info(format!(
                "MinSize of {} stays {} until the instances still in Standby return (original {original})",
                g.name, g.min
            ));
        }
        break;
    }
    state.lowered_min_from = None;
    ctx.save(state)?;
    // `g` is the latest read: the processes are decided on it.
    // Health checks failed while the new revision was starting (its app warming up after
    // ExitStandby): Auto Scaling marked the instance Unhealthy, and with ReplaceUnhealthy suspended
    // it waits to replace it the moment the process resumes, although the load balancers have
    // found it healthy since. Clear the stale mark first (only once the hooks saw it healthy).
    if healthy_now && g.unhealthy.contains(&ctx.instance_id) {
        ctx.info(format!(
            "SetInstanceHealth {} Healthy: marked Unhealthy while it was starting, healthy in its load balancers now",
            ctx.instance_id
        ));
        ctx.must("SetInstanceHealth", || {
            ctx.asg
                .set_instance_health()
                .instance_id(&ctx.instance_id)
                .health_status("Healthy")
                .should_respect_grace_period(false)
                .send()
        })
        .await?;
    }
    // The record, with this instance's own part put back if a sibling's write dropped it.
    let tagged: Option<Vec<String>> = g.tags.get(TAG_PROCS).map(|v| split_list(v));
    let mut record = tagged.clone().unwrap_or_default();
    if tagged.is_some() || !state.suspended.is_empty() {
        for p in &state.suspended {
            if !record.contains(p) {
                record.push(p.clone());
            }
        }
    }
    let mut drop_record = false;
    if others_out(ctx, &g) {
        if !record.is_empty() {
            ctx.info("other instances are still in Standby: processes stay suspended for them");
            if tagged.as_ref() != Some(&record) {
                set_tag(ctx, &g.name, TAG_PROCS, &record.join(",")).await?;
            }
        }
    } else if !record.is_empty() && ctx.settings.handle_processes && deployment_goes_on(ctx, &g.name).await? {
        // The next instance of the deployment leaves soon: resuming now would let AZRebalance
        // (and the others) act in the gap. The record stays for the last instance back.
        if tagged.as_ref() != Some(&record) {
            set_tag(ctx, &g.name, TAG_PROCS, &record.join(",")).await?;
        }
    } else if !record.is_empty() || tagged.is_some() {
        resume_suspended(ctx, &g, &record, "").await?;
        // The record goes with this instance's Standby mark, in one call.
        drop_record = tagged.is_some();
    }
    let also: Vec<&str> = drop_record
        .then_some(TAG_PROCS)
        .into_iter()
        .chain(min_back.then_some(TAG_MIN))
        .collect();
    // A sibling that lowered MinSize between our read and this removal writes the record again
    // from its own state file at its next read (right after its EnterStandby, and at each look
    // while it drains): no read of ours is needed here.
    unmark_standby(ctx, &g, &also).await?;
    state.suspended.clear();
    ctx.save(state)?;
    Ok(())
}

/// Whether CodeDeploy says instances of the deployment (or of another one of the group) are still
/// to go, logging what it says; `false` when it cannot be asked. When none is, this is the last
/// instance back of the whole deployment: the deployment group's other Auto Scaling groups
/// (`own` is this instance's) get back what the hooks suspended there too, as their last
/// instances kept it for this moment.
async fn deployment_goes_on(ctx: &Ctx, own: &str) -> Result<bool> {
    match crate::deployment::rest(ctx).await? {
        crate::deployment::Rest::Left(why) => {
            ctx.info(format!(
                "{why}: scaling processes stay suspended until the last instance is back"
            ));
            Ok(true)
        }
        crate::deployment::Rest::Done => {
            ctx.info("no instance of the deployment is left to go: resuming the scaling processes");
            for other in crate::deployment::groups(ctx).await?.unwrap_or_default() {
                if other != own {
                    resume_recorded(ctx, &other).await?;
                }
            }
            Ok(false)
        }
        crate::deployment::Rest::Unknown(why) => {
            ctx.info(why);
            Ok(false)
        }
    }
}

/// Resumes what the hooks' record says they suspended in another group of the deployment group,
/// unless an instance of it is still out (its own return resumes them then).
async fn resume_recorded(ctx: &Ctx, name: &str) -> Result<()> {
    let g = match read_group(ctx, name).await {
        Ok(g) => g,
        Err(e) if e.code.as_deref() == Some("NotFound") => return Ok(()),
        Err(e) => return Err(crate::ctx::aws_error("DescribeAutoScalingGroups", &e)),
    };
    let Some(record) = g.tags.get(TAG_PROCS).map(|v| split_list(v)) else {
        return Ok(());
    };
    if hooks_out(ctx, &g, None) {
        ctx.info(format!(
            "{name}, also in the deployment group, has instances still out: its processes stay suspended for them"
        ));
        return Ok(());
    }
    let why = " (also in the deployment group; its last instance kept them for the end of the deployment)";
    resume_suspended(ctx, &g, &record, why).await?;
    delete_tag(ctx, name, TAG_PROCS).await
}

/// Resumes those of `record` that are suspended in `g` (one ResumeProcesses; none when nothing
/// is), logging it with `why`.
async fn resume_suspended(ctx: &Ctx, g: &Group, record: &[String], why: &str) -> Result<()> {
    let resume: Vec<String> = record.iter().filter(|p| g.suspended.contains(p)).cloned().collect();
    if resume.is_empty() {
        return Ok(());
    }
    ctx.info(format!("ResumeProcesses {} on {}{why}", resume.join(", "), g.name));
    ctx.must("ResumeProcesses", || {
        ctx.asg
            .resume_processes()
            .auto_scaling_group_name(&g.name)
            .set_scaling_processes(Some(resume.clone()))
            .send()
    })
    .await?;
    Ok(())
}
