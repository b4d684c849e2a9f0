//! Deregister on the Auto Scaling path: processes suspended and recorded first, MinSize lowered
//! only when it must be, EnterStandby, then the wait for Standby (re-checking the processes).

use crate::asg::capacity;
use crate::asg::clear_stale_marks;
use crate::asg::group;
use crate::asg::group_settings;
use crate::asg::keep_suspended;
use crate::asg::mark_standby;
use crate::asg::nobody_else_out;
use crate::asg::others_out;
use crate::asg::read_group;
use crate::asg::set_tag;
use crate::asg::split_list;
use crate::asg::surplus_to_terminate;
use crate::asg::suspend;
use crate::asg::until_standby;
use crate::asg::wait_lifecycle;
use crate::asg::wanted_processes;
use crate::asg::Group;
use crate::asg::TAG_MIN;
use crate::asg::TAG_PROCS;
use crate::asg::TAG_STANDBY;
use crate::asg::WHILE_MIN_LOWERED;
use std::time::Duration;

use aws_sdk_autoscaling::types::LifecycleState;

use crate::ctx::Ctx;
use crate::error::{HookError, Result};
use crate::state::State;
use crate::tg;

/// Deregister on the ASG path. `left_by` is the deployment that last wrote the state file.
/// `g` is the instance's group as just read, `lifecycle` its state there. In stages: what the
/// instance's state calls for ([`triage`]), the checks before anything changes ([`preflight`]),
/// the records and the suspension ([`prepare`]), EnterStandby ([`enter_standby`]), then the wait
/// for Standby once the drain is over.
pub async fn deregister(
    ctx: &Ctx,
    g: Group,
    lifecycle: &LifecycleState,
    state: &mut State,
    left_by: &str,
) -> Result<()> {
    let Some(g) = triage(ctx, g, lifecycle, state, left_by).await? else {
        return Ok(());
    };
    let group_name = g.name.clone();
    let Some(g) = preflight(ctx, g).await? else {
        return Ok(());
    };
    let (g, recorded_now) = prepare(ctx, g, state).await?;
    let large = g.members_read && g.members.len() > LARGE_GROUP;
    crate::maintenance::before_leaving(ctx, &g.target_groups).await?;
    let target_groups = enter_standby(ctx, g, state, recorded_now).await?;
    crate::maintenance::after_leaving(ctx, &target_groups).await?;
    // EnterStandby drains the instance out of every target group first: no look before then.
    let mut drained_after = Duration::ZERO;
    let mut slow_start = Duration::ZERO;
    for arn in &target_groups {
        let t = tg::timing(ctx, arn).await?;
        drained_after = drained_after.max(t.delay);
        slow_start = slow_start.max(t.slow_start);
    }
    if state.slow_start_s != slow_start.as_secs() {
        state.slow_start_s = slow_start.as_secs();
        ctx.save(state)?;
    }
    // A MinSize this run lowered keeps the one-read look: that path is the one at the call budget.
    if large && state.lowered_min_from.is_none() {
        wait_standby_large(ctx, &group_name, state, drained_after).await
    } else {
        wait_standby(ctx, &group_name, state, drained_after).await
    }
}

/// Members above which the look at Standby reads the instance and then the group without its
/// members (two answers of about a kilobyte) rather than the group with them (about 0.4 KB a
/// member): one call more, for a tenth of the bytes to decode at 100 members and a
/// hundredth at 1,000.
const LARGE_GROUP: usize = 50;

/// What the instance's lifecycle state calls for: `Some(group)` to take it out of service (it is
/// InService, or back there after a register that died), `None` when there is nothing (more) to
/// do (already in the Standby these hooks put it in, an operator's Standby, a new launch, the
/// warm pool).
async fn triage(
    ctx: &Ctx,
    mut g: Group,
    lifecycle: &LifecycleState,
    state: &mut State,
    left_by: &str,
) -> Result<Option<Group>> {
    let group_name = g.name.clone();
    let group_name = group_name.as_str();
    let ours = state.standby && state.group.as_deref().is_none_or(|x| x == group_name);
    match lifecycle {
        LifecycleState::Standby | LifecycleState::EnteringStandby => {
            // Brought out of it by a register that did not finish: this Standby came since.
            if ours && super::exit::own_standby_holds(ctx, group_name, state).await? {
                ctx.info(format!(
                    "{} is already {lifecycle} (left by deployment {left_by}); keeping it out of service",
                    ctx.instance_id
                ));
                state.deployment_id = ctx.deployment_id.clone();
                ctx.save(state)?;
                keep_suspended(ctx, &mut g, state).await?;
                until_standby(ctx).await?;
                return Ok(None);
            }
            if *lifecycle == LifecycleState::EnteringStandby {
                // An operator's Standby still draining: the revision's next scripts stop the
                // application, which would cut the requests it is still answering. Let the
                // drain end first; the Standby stays the operator's (no record, no suspension).
                ctx.info(format!(
                    "{} is EnteringStandby, not put there by these hooks: waiting for its drain to end before the deployment goes on",
                    ctx.instance_id
                ));
                until_standby(ctx).await?;
            }
            ctx.info(format!(
                "{} is in Standby, not put there by these hooks: nothing to do",
                ctx.instance_id
            ));
            return Ok(None);
        }
        // On its way back from the Standby these hooks put it in (a register that died after
        // ExitStandby): not a new launch. Let it arrive, then take it out again.
        LifecycleState::Pending | LifecycleState::PendingProceed if ours => {
            ctx.info(format!(
                "{} is {lifecycle} on its way back from the Standby deployment {left_by} put it in; waiting for InService to take it out again",
                ctx.instance_id
            ));
            wait_lifecycle(
                ctx,
                LifecycleState::InService,
                ctx.settings.in_service_timeout,
                Duration::ZERO,
            )
            .await?;
            g = group(ctx, group_name).await?;
        }
        LifecycleState::PendingWait | LifecycleState::Pending | LifecycleState::PendingProceed => {
            ctx.info(format!(
                "{} is {lifecycle}: a new instance not yet in service (lifecycle hook), nothing to deregister",
                ctx.instance_id
            ));
            // A launch is where a group comes after an instance was terminated while out (its
            // replacement): the marks such instances left go now (the members are read only
            // when there is a mark to look at).
            if !g.members_read && g.tags.keys().any(|k| k.starts_with(TAG_STANDBY)) {
                g = group(ctx, group_name).await?;
            }
            clear_stale_marks(ctx, &g, false).await?;
            return Ok(None);
        }
        // In the warm pool (launched into it, or returned by a scale-in): it serves nothing and
        // is in no load balancer; Standby is only for instances in service, so never that.
        warmed if super::is_warm(warmed) => {
            ctx.info(format!(
                "{} is {warmed}: in the group's warm pool, not in service; nothing to deregister",
                ctx.instance_id
            ));
            return Ok(None);
        }
        LifecycleState::InService => {}
        other => {
            return Err(HookError::Refused(format!(
                "{} is {other}; refusing to take it out of service",
                ctx.instance_id
            )))
        }
    }
    Ok(Some(g))
}

/// The checks before anything changes: the members (unless the round holds AZRebalance already),
/// an instance refresh under way, stale marks, a maintenance page that cannot be shown, Launch
/// suspended, a surplus about to be terminated. `None`: nothing to take out (a refresh replaced
/// the instance while the hooks waited).
async fn preflight(ctx: &Ctx, mut g: Group) -> Result<Option<Group>> {
    let group_name = g.name.clone();
    let group_name = group_name.as_str();
    // Whether Auto Scaling may be about to terminate a surplus (below) needs the members, unless
    // these hooks hold AZRebalance for the round already: then an earlier instance of the round
    // looked, before it suspended the process, and no rebalance has started since. (`locate`
    // reads them with the group; a group read without them is read again only when not held.)
    let held = holds(&g, "AZRebalance");
    if !held && !g.members_read {
        g = group(ctx, group_name).await?;
    }
    // The first of a round looks for an instance refresh before changing anything. Later ones
    // find InstanceRefresh held (when it is among the processes): a refresh started since is
    // paused until the round resumes it, so refusing it would refuse what the round itself holds
    // up, at every retry, with the processes suspended meanwhile. Held means on the hooks' record
    // with the process itself: an operator's AZRebalance (left off the record) says nothing of
    // InstanceRefresh.
    if !holds(&g, "InstanceRefresh") && super::refresh::check(ctx, group_name).await? {
        // After waiting: the refresh may have replaced this very instance.
        g = group(ctx, group_name).await?;
        match g.members.get(&ctx.instance_id) {
            Some(LifecycleState::InService) => {}
            other => {
                ctx.info(format!(
                    "{} is {} after the instance refresh: nothing to take out",
                    ctx.instance_id,
                    other.map_or("no longer in the group", LifecycleState::as_str)
                ));
                return Ok(None);
            }
        }
    }
    // Marks an earlier run left behind (its instance terminated while out, or back in service
    // without its hooks finishing) go first, whatever this run decides next.
    clear_stale_marks(ctx, &g, true).await?;
    if ctx.settings.maintenance.is_some() && g.target_groups.is_empty() && !g.load_balancer_names.is_empty() {
        return Err(HookError::Refused(format!(
            "[maintenance] is configured but {} is behind Classic Load Balancers ({}), which have no listener rules to show a page with; remove [maintenance]",
            g.name,
            g.load_balancer_names.join(", ")
        )));
    }
    crate::maintenance::check_free(ctx, &g.target_groups).await?;
    if ctx.settings.handle_processes && g.suspended.iter().any(|p| p == "Launch") {
        return Err(HookError::Refused(format!(
            "the Launch process of {} is suspended: the instance could never leave Standby; resume Launch and retry",
            g.name
        )));
    }
    // More instances in service or launching than desired: Auto Scaling is about to terminate
    // the surplus (an Availability Zone rebalance launches first and terminates once the new
    // instance is in service). Taken out now, this instance's return would be the moment the
    // group terminates one, possibly a serving one, while this one is not yet healthy: two out
    // where the deployment allows one. The new instance waits for this deployment (CodeDeploy's
    // launch hook), so waiting here cannot help: refuse before changing anything.
    // Members protected from scale in are never chosen: a surplus of them stays, harmless.
    // Looked at by the first instance of a round only, as before the members came with the
    // group's first read (see `held` above): an AZ rebalance cannot start once the round holds
    // AZRebalance, and refusing mid-round would fail the deployment with the processes held.
    let look = g.members_read && !held;
    let cap = capacity(&g);
    let terminating = surplus_to_terminate(&g);
    if look && cap as i32 > g.desired && terminating == 0 {
        ctx.info(format!(
            "{} has {cap} instances in service or launching for a desired capacity of {}, but the surplus is protected from scale in: Auto Scaling terminates none of them",
            g.name, g.desired
        ));
    }
    if look && terminating > 0 && !g.suspended.iter().any(|p| p == "Terminate") {
        return Err(HookError::Refused(format!(
            "{} has {cap} instances in service or launching for a desired capacity of {}: Auto Scaling is about to terminate the surplus (an Availability Zone rebalance or a scale-in under way); taking {} out now could cost two serving instances. Retry when the group has settled",
            g.name, g.desired, ctx.instance_id
        )));
    }
    Ok(Some(g))
}

/// Whether these hooks hold `process` on the group: suspended, and on their record of what they
/// suspended (a round of theirs is under way, or one a failed run left).
fn holds(g: &Group, process: &str) -> bool {
    g.suspended.iter().any(|p| p == process)
        && g.tags
            .get(TAG_PROCS)
            .is_some_and(|v| split_list(v).iter().any(|p| p == process))
}

/// The records and the suspension before EnterStandby: the processes (and, when MinSize must
/// move, its original) recorded and suspended, the state file saved. Returns the group and
/// whether MinSize's original went on record in that write.
async fn prepare(ctx: &Ctx, mut g: Group, state: &mut State) -> Result<(Group, bool)> {
    // When this read already says MinSize must move, its original goes on record in the same
    // write as the processes record (one call), and the processes that must stay off while it
    // is lowered are suspended with the others.
    let lower_min = g.desired - 1 < g.min;
    let min_record = if lower_min { min_to_record(ctx, &g) } else { None };
    let recorded_now = min_record.is_some();
    if ctx.settings.handle_processes || lower_min {
        if lower_min && !ctx.settings.handle_processes {
            ctx.info(format!(
                "MinSize must be lowered: {} stay suspended until it is restored (process handling is off)",
                WHILE_MIN_LOWERED.join(" and ")
            ));
        }
        state.group = Some(g.name.clone());
        let also: Vec<(&str, String)> = min_record.map(|m| (TAG_MIN, m.to_string())).into_iter().collect();
        suspend(ctx, &mut g, state, &wanted_processes(ctx, lower_min), true, &also).await?;
    }
    state.group = Some(g.name.clone());
    state.target_groups = g.target_groups.clone();
    state.load_balancer_names = g.load_balancer_names.clone();
    if let Some(m) = &ctx.settings.maintenance {
        state.maintenance_priority = Some(m.priority);
    }
    ctx.save(state)?;
    Ok((g, recorded_now))
}

/// EnterStandby, MinSize lowered first when it must be, retried when a sibling's EnterStandby
/// raced ours. Returns the target groups the instance leaves.
async fn enter_standby(ctx: &Ctx, mut g: Group, state: &mut State, recorded_now: bool) -> Result<Vec<String>> {
    let group_name = g.name.clone();
    let group_name = group_name.as_str();
    // Instances of one group deregistering at once (HalfAtATime, AllAtOnce) race: between our
    // MinSize change and our EnterStandby, siblings' EnterStandby lowers DesiredCapacity (#84),
    // and a MinSize left above DesiredCapacity makes UpdateAutoScalingGroup raise DesiredCapacity
    // (launching instances). Lowering it by one, as the scripts did, is unsafe as soon as a
    // sibling we cannot see yet enters Standby between our read and our write; so when MinSize has
    // to move at all it goes to 0, which no concurrent change can make unsafe. The restore goes back
    // to the recorded original, and with process handling on no scaling policy or scheduled action
    // runs meanwhile. The first attempt decides on the read above (only our own writes came
    // since); a stale decision cannot slip through, as EnterStandby itself refuses to take
    // DesiredCapacity below MinSize, and each retry reads afresh.
    let target_groups = g.target_groups.clone();
    // Read before any change of ours: nobody else out means nobody can resume the processes
    // before our EnterStandby, and the check right after it is left to the look at Standby.
    let alone = nobody_else_out(ctx, &g);
    let mut attempt: i32 = 0;
    loop {
        attempt += 1;
        if attempt > 1 {
            g = group_settings(ctx, group_name).await?;
        }
        // A desired capacity of 0 with instances in service (protected from scale in, so Auto
        // Scaling terminates none of them) cannot go lower: EnterStandby then leaves it as it is,
        // which launches nothing (the group stays above it), and register takes back the one
        // ExitStandby adds.
        let decrement = g.desired > 0;
        if decrement && (g.desired - 1 < g.min || (attempt > 1 && g.min > 0)) {
            lower_min_size(ctx, &mut g, state, attempt, recorded_now).await?;
        }
        if attempt == 1 {
            mark_standby(ctx, &g).await?;
        }
        if decrement {
            ctx.info(format!(
                "EnterStandby {} in {} (desired {} -> {})",
                ctx.instance_id,
                g.name,
                g.desired,
                g.desired - 1
            ));
        } else {
            ctx.info(format!(
                "EnterStandby {} in {} (desired stays 0: the instances in service are a surplus protected from scale in, so nothing is launched)",
                ctx.instance_id, g.name
            ));
        }
        let kept = !decrement;
        // Saved as the last thing before the call: a run killed before it asked put nothing in
        // Standby, and a Standby found then is someone else's (see `register::ours`).
        if state.standby_kept_desired != kept || !state.standby || state.exited_standby || state.exit_asked_ms.is_some()
        {
            state.standby_kept_desired = kept;
            state.standby = true;
            state.exited_standby = false;
            state.exit_asked_ms = None;
            ctx.save(state)?;
        }
        let r = ctx
            .call("EnterStandby", || {
                ctx.asg
                    .enter_standby()
                    .auto_scaling_group_name(&g.name)
                    .instance_ids(&ctx.instance_id)
                    .should_decrement_desired_capacity(decrement)
                    .send()
            })
            .await;
        match r {
            Ok(_) => {
                // A sibling coming back between our read and our EnterStandby may have resumed
                // the processes (or overwritten our record): make sure they are off now, not
                // only after the drain. Without siblings (the read showed nobody else out, and
                // no retry raced one), the look at Standby does it.
                if !(alone && attempt == 1) {
                    recheck(ctx, group_name, state).await?;
                }
                break;
            }
            Err(e) if attempt < 50 && e.message.contains("To place into standby") => {
                ctx.warn(format!(
                    "EnterStandby raced with another instance of the group; retrying ({})",
                    e.message
                ));
            }
            Err(e) => return Err(crate::ctx::aws_error("EnterStandby", &e)),
        }
    }
    Ok(target_groups)
}

/// MinSize down to 0 before EnterStandby (attempt `attempt`), its original on record first (in
/// the processes record's write already when `recorded_now`), with the processes that must stay
/// off while it is lowered suspended.
async fn lower_min_size(ctx: &Ctx, g: &mut Group, state: &mut State, attempt: i32, recorded_now: bool) -> Result<()> {
    let siblings = others_out(ctx, g);
    let recorded = g.tags.get(TAG_MIN).and_then(|v| v.parse::<i32>().ok());
    let (original, tagged_before) = match recorded {
        // Written with the processes record just before the loop.
        Some(o) if attempt == 1 && recorded_now => (o, false),
        Some(o) if g.min <= o => (o, true),
        _ => {
            let o = min_to_record(ctx, g).unwrap_or(g.min);
            set_tag(ctx, &g.name, TAG_MIN, &o.to_string()).await?;
            (o, recorded.is_some())
        }
    };
    state.lowered_min_from = Some(original);
    ctx.save(state)?;
    // Before MinSize goes down: no alarm or schedule may act on the group meanwhile.
    let wanted = wanted_processes(ctx, true);
    if wanted
        .iter()
        .any(|p| !g.tags.get(TAG_PROCS).is_some_and(|v| v.split(',').any(|x| x == p)))
    {
        if !ctx.settings.handle_processes {
            ctx.info(format!(
                "MinSize must be lowered: {} stay suspended until it is restored (process handling is off)",
                WHILE_MIN_LOWERED.join(" and ")
            ));
        }
        suspend(ctx, g, state, &wanted, true, &[]).await?;
    }
    let contended = attempt > 1 || siblings || tagged_before;
    let new_min = 0;
    ctx.info(format!(
        "UpdateAutoScalingGroup {} MinSize {} -> {new_min} (original {original}{})",
        g.name,
        g.min,
        if contended {
            "; other instances of the group are deploying too"
        } else {
            ""
        }
    ));
    ctx.must("UpdateAutoScalingGroup", || {
        ctx.asg
            .update_auto_scaling_group()
            .auto_scaling_group_name(&g.name)
            .min_size(new_min)
            .send()
    })
    .await?;
    // A sibling's restore may have deleted the record between our read and our write:
    // the reads after EnterStandby put it back (see `keep_min_record`).
    Ok(())
}

/// Waits for Standby after EnterStandby by reading the group (one call, as a lifecycle read
/// would be), so that each look also re-checks the processes. The check right after EnterStandby
/// covers a sibling's resume that came before it; a last-back sibling that read the group before
/// our EnterStandby and resumes after our check is caught here, at the latest when the drain ends.
async fn wait_standby(ctx: &Ctx, group_name: &str, state: &mut State, first_look: Duration) -> Result<()> {
    let limit = ctx.settings.standby_timeout;
    let start = ctx.clock.elapsed();
    ctx.sleep_until_reachable(first_look, limit).await?;
    loop {
        let now = match read_group(ctx, group_name).await {
            Ok(mut g) => {
                keep_min_record(ctx, &mut g, state).await?;
                keep_suspended(ctx, &mut g, state).await?;
                g.members
                    .get(&ctx.instance_id)
                    .map_or("gone", LifecycleState::as_str)
                    .to_string()
            }
            // Transient even after retries: keep polling until the deadline.
            Err(e) if e.transient => {
                ctx.warn(format!(
                    "DescribeAutoScalingGroups still failing ({}); polling on",
                    e.message
                ));
                "unknown".to_string()
            }
            Err(e) => return Err(crate::ctx::aws_error("DescribeAutoScalingGroups", &e)),
        };
        if now == "Standby" {
            ctx.info(format!("{} is Standby", ctx.instance_id));
            return Ok(());
        }
        if ctx.clock.elapsed() - start >= limit {
            return Err(HookError::Timeout(format!(
                "{} is still {now} after {:.0}s (waiting for Standby)",
                ctx.instance_id,
                limit.as_secs_f64()
            )));
        }
        ctx.poll_sleep().await?;
    }
}

/// [`wait_standby`] in a group of more than [`LARGE_GROUP`] members: the instance's lifecycle state
/// polled until Standby, then the processes and the MinSize record re-checked on one read of the
/// group without its members, as late as the last look of [`wait_standby`] would.
async fn wait_standby_large(ctx: &Ctx, group_name: &str, state: &mut State, first_look: Duration) -> Result<()> {
    wait_lifecycle(ctx, LifecycleState::Standby, ctx.settings.standby_timeout, first_look).await?;
    recheck(ctx, group_name, state).await
}

/// The MinSize record and the processes re-checked on a read of the group without its members.
async fn recheck(ctx: &Ctx, group_name: &str, state: &mut State) -> Result<()> {
    let mut g = group_settings(ctx, group_name).await?;
    keep_min_record(ctx, &mut g, state).await?;
    keep_suspended(ctx, &mut g, state).await
}

/// The original MinSize to put on record before lowering it, or `None` when the record already
/// holds it. The hooks only ever lower MinSize to 0 and bring it back up to the record: a MinSize
/// above the record was raised by someone else (an operator, after a failed deployment left the
/// record): theirs is the original now.
fn min_to_record(ctx: &Ctx, g: &Group) -> Option<i32> {
    match g.tags.get(TAG_MIN).and_then(|v| v.parse::<i32>().ok()) {
        Some(o) if g.min > o => {
            ctx.info(format!(
                "MinSize of {} is {}, above the recorded original {o}: someone raised it; restoring to {} later",
                g.name, g.min, g.min
            ));
            Some(g.min)
        }
        Some(_) => None,
        None => Some(g.min),
    }
}

/// While this instance holds MinSize lowered, the group's record of the original must stand: a
/// sibling's restore may have deleted it between this instance's read and its MinSize write. Each
/// read after EnterStandby (one the wait makes anyway) puts it back from the state file.
async fn keep_min_record(ctx: &Ctx, g: &mut Group, state: &State) -> Result<()> {
    let Some(original) = state.lowered_min_from else {
        return Ok(());
    };
    if g.tags.contains_key(TAG_MIN) || g.min >= original {
        return Ok(());
    }
    ctx.info(format!(
        "the record of {}'s original MinSize was removed while this instance holds it lowered: writing it again ({original})",
        g.name
    ));
    set_tag(ctx, &g.name, TAG_MIN, &original.to_string()).await?;
    g.tags.insert(TAG_MIN.to_string(), original.to_string());
    Ok(())
}
