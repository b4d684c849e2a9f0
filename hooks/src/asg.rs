//! The Auto Scaling path: Standby instead of plain deregistration, with MinSize and process
//! handling that is safe when several instances of one group run the hooks at once.
//!
//! Shared facts live on the group itself, as tags, written *before* the change they describe:
//! `codedeploy-elb-hooks:original-min-size` (the MinSize before any hook lowered it) and
//! `codedeploy-elb-hooks:suspended-processes` (what the hooks suspended, as opposed to what the
//! operator had). Restores are monotone and idempotent: while siblings are out MinSize goes back up
//! to `min(original, desired)`, and the last instance back restores the original itself (even if
//! the group shrank meanwhile); every write is computed from a fresh read, so concurrent hooks
//! converge on the original without a lock; processes are resumed by the last instance back.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_autoscaling::types::Tag;

use crate::ctx::Ctx;
use crate::error::{HookError, Result};
use crate::state::State;
use crate::tg;

/// Tag holding the MinSize before the hooks lowered it.
pub const TAG_MIN: &str = "codedeploy-elb-hooks:original-min-size";
/// Tag holding the processes the hooks suspended.
pub const TAG_PROCS: &str = "codedeploy-elb-hooks:suspended-processes";

/// The parts of a group the hooks look at.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: String,
    pub min: i32,
    pub max: i32,
    pub desired: i32,
    pub suspended: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub target_groups: Vec<String>,
    /// Attached Classic Load Balancers.
    pub load_balancer_names: Vec<String>,
    /// Member id -> lifecycle state.
    pub members: BTreeMap<String, String>,
    /// Members Auto Scaling has marked `Unhealthy`.
    pub unhealthy: Vec<String>,
}

/// The group and lifecycle state of an instance, if it is in a group.
pub async fn membership(ctx: &Ctx) -> Result<Option<(String, String)>> {
    let resp = ctx
        .must("DescribeAutoScalingInstances", || {
            ctx.asg
                .describe_auto_scaling_instances()
                .instance_ids(&ctx.instance_id)
                .send()
        })
        .await?;
    Ok(resp.auto_scaling_instances().first().map(|i| {
        (
            i.auto_scaling_group_name().unwrap_or_default().to_string(),
            i.lifecycle_state().unwrap_or_default().to_string(),
        )
    }))
}

/// Where the instance is: its group (read fresh) and its lifecycle state there, or `None` outside
/// Auto Scaling. `hint` is the group a state file names: one DescribeAutoScalingGroups answers
/// both questions when the instance is still a member (an instance belongs to one group at most);
/// otherwise DescribeAutoScalingInstances finds the group.
pub async fn locate(ctx: &Ctx, hint: Option<&str>) -> Result<Option<(Group, String)>> {
    if let Some(name) = hint {
        if let Ok(g) = group(ctx, name).await {
            if let Some(lifecycle) = g.members.get(&ctx.instance_id).cloned() {
                return Ok(Some((g, lifecycle)));
            }
        }
    }
    match membership(ctx).await? {
        Some((name, lifecycle)) => Ok(Some((group(ctx, &name).await?, lifecycle))),
        None => Ok(None),
    }
}

/// Reads a group.
pub async fn group(ctx: &Ctx, name: &str) -> Result<Group> {
    read_group(ctx, name).await.map_err(|e| match e.code.as_deref() {
        Some("NotFound") => HookError::Unexpected(format!("Auto Scaling group {name} not found")),
        _ => crate::ctx::aws_error("DescribeAutoScalingGroups", &e),
    })
}

/// Reads a group; a group that does not exist is a failure with code `NotFound`.
async fn read_group(ctx: &Ctx, name: &str) -> std::result::Result<Group, crate::ctx::AwsFailure> {
    let resp = ctx
        .call("DescribeAutoScalingGroups", || {
            ctx.asg
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(name)
                .send()
        })
        .await?;
    let g = resp
        .auto_scaling_groups()
        .first()
        .ok_or_else(|| crate::ctx::AwsFailure {
            code: Some("NotFound".into()),
            message: format!("Auto Scaling group {name} not found"),
            transient: false,
        })?;
    Ok(Group {
        name: name.to_string(),
        min: g.min_size().unwrap_or(0),
        max: g.max_size().unwrap_or(0),
        desired: g.desired_capacity().unwrap_or(0),
        suspended: g
            .suspended_processes()
            .iter()
            .filter_map(|p| p.process_name().map(str::to_string))
            .collect(),
        tags: g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect(),
        target_groups: g.target_group_arns().to_vec(),
        load_balancer_names: g.load_balancer_names().to_vec(),
        members: g
            .instances()
            .iter()
            .map(|i| {
                (
                    i.instance_id().unwrap_or_default().to_string(),
                    i.lifecycle_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                )
            })
            .collect(),
        unhealthy: g
            .instances()
            .iter()
            .filter(|i| i.health_status() == Some("Unhealthy"))
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect(),
    })
}

async fn set_tag(ctx: &Ctx, group: &str, key: &str, value: &str) -> Result<()> {
    let tag = Tag::builder()
        .resource_id(group)
        .resource_type("auto-scaling-group")
        .key(key)
        .value(value)
        .propagate_at_launch(false)
        .build();
    ctx.must("CreateOrUpdateTags", || {
        ctx.asg.create_or_update_tags().tags(tag.clone()).send()
    })
    .await?;
    Ok(())
}

async fn delete_tag(ctx: &Ctx, group: &str, key: &str) -> Result<()> {
    let tag = Tag::builder()
        .resource_id(group)
        .resource_type("auto-scaling-group")
        .key(key)
        .build();
    ctx.must("DeleteTags", || ctx.asg.delete_tags().tags(tag.clone()).send())
        .await?;
    Ok(())
}

fn out_of_service(state: &str) -> bool {
    matches!(state, "Standby" | "EnteringStandby")
}

/// Waits until the instance's lifecycle state is `want`.
async fn wait_lifecycle(ctx: &Ctx, want: &str, limit: Duration, first_look: Duration) -> Result<()> {
    let start = ctx.clock.elapsed();
    ctx.sleep_until_reachable(first_look, limit).await?;
    loop {
        let state = match ctx
            .call("DescribeAutoScalingInstances", || {
                ctx.asg
                    .describe_auto_scaling_instances()
                    .instance_ids(&ctx.instance_id)
                    .send()
            })
            .await
        {
            Ok(r) => r
                .auto_scaling_instances()
                .first()
                .and_then(|i| i.lifecycle_state())
                .unwrap_or_default()
                .to_string(),
            // Transient even after retries: keep polling until the deadline.
            Err(e) if e.transient => {
                ctx.warn(format!(
                    "DescribeAutoScalingInstances still failing ({}); polling on",
                    e.message
                ));
                "unknown".to_string()
            }
            Err(e) => return Err(crate::ctx::aws_error("DescribeAutoScalingInstances", &e)),
        };
        if state == want {
            ctx.info(format!("{} is {want}", ctx.instance_id));
            return Ok(());
        }
        if ctx.clock.elapsed() - start >= limit {
            return Err(HookError::Timeout(format!(
                "{} is still {state} after {:.0}s (waiting for {want})",
                ctx.instance_id,
                limit.as_secs_f64()
            )));
        }
        ctx.poll_sleep().await?;
    }
}

/// The processes that must stay suspended while MinSize is lowered, whatever `handle_processes`
/// says: with MinSize at 0 a scale-in policy or a scheduled action could shrink the group to
/// nothing mid-deployment (seed 003).
pub const WHILE_MIN_LOWERED: [&str; 2] = ["AlarmNotification", "ScheduledActions"];

/// Suspends `wanted` (recording on the group first which of them the hooks suspended; processes
/// the operator had suspended are left alone). A list a sibling recorded is extended, never shrunk;
/// `g` is updated with what was written.
///
/// Two instances writing the record at once may each overwrite the other's additions: every
/// instance keeps its own part in its state file and puts it back on the record at its next read
/// of the group (right after EnterStandby, and again on its way back in [`restore`]), so the last
/// instance back resumes the union.
async fn suspend(ctx: &Ctx, g: &mut Group, state: &mut State, wanted: &[String]) -> Result<()> {
    let tagged: Option<Vec<String>> = g.tags.get(TAG_PROCS).map(|v| split_list(v));
    let mut ours = tagged.clone().unwrap_or_default();
    // What this instance suspended earlier is ours even if a sibling's record dropped it.
    for p in &state.suspended {
        if !ours.contains(p) {
            ours.push(p.clone());
        }
    }
    let new: Vec<String> = wanted
        .iter()
        .filter(|p| !ours.contains(p) && !g.suspended.contains(p))
        .cloned()
        .collect();
    if tagged.is_none() {
        let already: Vec<&str> = wanted
            .iter()
            .filter(|p| g.suspended.contains(p))
            .map(String::as_str)
            .collect();
        if !already.is_empty() {
            ctx.info(format!(
                "already suspended by someone else, will be left alone: {}",
                already.join(", ")
            ));
        }
    }
    ours.extend(new.iter().cloned());
    for p in &ours {
        if !state.suspended.contains(p) {
            state.suspended.push(p.clone());
        }
    }
    ctx.save(state)?;
    if tagged.as_ref() != Some(&ours) {
        set_tag(ctx, &g.name, TAG_PROCS, &ours.join(",")).await?;
        g.tags.insert(TAG_PROCS.to_string(), ours.join(","));
    }
    let missing: Vec<String> = ours.iter().filter(|p| !g.suspended.contains(p)).cloned().collect();
    if !missing.is_empty() {
        ctx.info(format!("SuspendProcesses {} on {}", missing.join(", "), g.name));
        ctx.must("SuspendProcesses", || {
            ctx.asg
                .suspend_processes()
                .auto_scaling_group_name(&g.name)
                .set_scaling_processes(Some(missing.clone()))
                .send()
        })
        .await?;
        g.suspended.extend(missing);
    }
    Ok(())
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Reads the group and makes sure what must be suspended now is (see [`wanted_processes`]).
async fn keep_suspended(ctx: &Ctx, g: &mut Group, state: &mut State) -> Result<()> {
    let wanted = wanted_processes(ctx, g.tags.contains_key(TAG_MIN));
    if !wanted.is_empty() {
        suspend(ctx, g, state, &wanted).await?;
    }
    Ok(())
}

/// The processes this run keeps suspended: the configured ones with process handling on, plus
/// [`WHILE_MIN_LOWERED`] while MinSize is lowered.
fn wanted_processes(ctx: &Ctx, min_lowered: bool) -> Vec<String> {
    let mut out: Vec<String> = if ctx.settings.handle_processes {
        ctx.settings.processes.clone()
    } else {
        Vec::new()
    };
    if min_lowered {
        for p in WHILE_MIN_LOWERED {
            if !out.iter().any(|x| x == p) {
                out.push(p.to_string());
            }
        }
    }
    out
}

/// Deregister on the ASG path. `left_by` is the deployment that last wrote the state file.
/// `g` is the instance's group as just read, `lifecycle` its state there.
pub async fn deregister(ctx: &Ctx, mut g: Group, lifecycle: &str, state: &mut State, left_by: &str) -> Result<()> {
    let group_name = g.name.clone();
    let group_name = group_name.as_str();
    let ours = state.standby && state.group.as_deref().is_none_or(|x| x == group_name);
    match lifecycle {
        "Standby" | "EnteringStandby" => {
            if ours {
                ctx.info(format!(
                    "{} is already {lifecycle} (left by deployment {left_by}); keeping it out of service",
                    ctx.instance_id
                ));
                state.deployment_id = ctx.deployment_id.clone();
                ctx.save(state)?;
                keep_suspended(ctx, &mut g, state).await?;
                return wait_lifecycle(ctx, "Standby", ctx.settings.standby_timeout, Duration::ZERO).await;
            }
            ctx.info(format!(
                "{} is in {lifecycle}, not put there by these hooks: nothing to do",
                ctx.instance_id
            ));
            return Ok(());
        }
        // On its way back from the Standby these hooks put it in (a register that died after
        // ExitStandby): not a new launch. Let it arrive, then take it out again.
        "Pending" | "Pending:Proceed" if ours => {
            ctx.info(format!(
                "{} is {lifecycle} on its way back from the Standby deployment {left_by} put it in; waiting for InService to take it out again",
                ctx.instance_id
            ));
            wait_lifecycle(ctx, "InService", ctx.settings.in_service_timeout, Duration::ZERO).await?;
            g = group(ctx, group_name).await?;
        }
        "Pending:Wait" | "Pending" | "Pending:Proceed" => {
            ctx.info(format!(
                "{} is {lifecycle}: a new instance not yet in service (lifecycle hook), nothing to deregister",
                ctx.instance_id
            ));
            return Ok(());
        }
        "InService" => {}
        other => {
            return Err(HookError::Refused(format!(
                "{} is {other}; refusing to take it out of service",
                ctx.instance_id
            )))
        }
    }
    if ctx.settings.maintenance.is_some() && g.target_groups.is_empty() && !g.load_balancer_names.is_empty() {
        return Err(HookError::Refused(format!(
            "[maintenance] is configured but {} is behind Classic Load Balancers ({}), which have no listener rules to show a page with; remove [maintenance]",
            g.name,
            g.load_balancer_names.join(", ")
        )));
    }
    if ctx.settings.handle_processes {
        if g.suspended.iter().any(|p| p == "Launch") {
            return Err(HookError::Refused(format!(
                "the Launch process of {} is suspended: the instance could never leave Standby; resume Launch and retry",
                g.name
            )));
        }
        state.group = Some(g.name.clone());
        suspend(ctx, &mut g, state, &wanted_processes(ctx, false)).await?;
    }
    state.group = Some(g.name.clone());
    state.standby = true;
    state.target_groups = g.target_groups.clone();
    state.load_balancer_names = g.load_balancer_names.clone();
    ctx.save(state)?;
    crate::maintenance::before_leaving(ctx, &g.target_groups).await?;
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
    let mut attempt: i32 = 0;
    loop {
        attempt += 1;
        if attempt > 1 {
            g = group(ctx, group_name).await?;
        }
        if g.desired - 1 < g.min || (attempt > 1 && g.min > 0) {
            let siblings = others_out(ctx, &g);
            let (original, tagged_before) = match g.tags.get(TAG_MIN).and_then(|v| v.parse::<i32>().ok()) {
                Some(o) => (o, true),
                None => {
                    set_tag(ctx, &g.name, TAG_MIN, &g.min.to_string()).await?;
                    (g.min, false)
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
                suspend(ctx, &mut g, state, &wanted).await?;
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
            // A sibling's restore may have deleted the record between our read and our write.
            let after = group(ctx, group_name).await?;
            if !after.tags.contains_key(TAG_MIN) {
                set_tag(ctx, &g.name, TAG_MIN, &original.to_string()).await?;
            }
        }
        ctx.info(format!(
            "EnterStandby {} in {} (desired {} -> {})",
            ctx.instance_id,
            g.name,
            g.desired,
            g.desired - 1
        ));
        let r = ctx
            .call("EnterStandby", || {
                ctx.asg
                    .enter_standby()
                    .auto_scaling_group_name(&g.name)
                    .instance_ids(&ctx.instance_id)
                    .should_decrement_desired_capacity(true)
                    .send()
            })
            .await;
        match r {
            Ok(_) => {
                // A sibling coming back between our read and our EnterStandby may have resumed
                // the processes (or overwritten our record): make sure they are off now, not
                // only after the drain.
                let mut now = group(ctx, group_name).await?;
                keep_suspended(ctx, &mut now, state).await?;
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
    crate::maintenance::after_leaving(ctx, &target_groups).await?;
    // EnterStandby drains the instance out of every target group first: no look before then.
    let mut drained_after = Duration::ZERO;
    for arn in &target_groups {
        drained_after = drained_after.max(tg::deregistration_delay(ctx, arn).await?);
    }
    wait_standby(ctx, group_name, state, drained_after).await
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
                keep_suspended(ctx, &mut g, state).await?;
                g.members
                    .get(&ctx.instance_id)
                    .cloned()
                    .unwrap_or_else(|| "gone".into())
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

/// Register when the state file says these hooks put the instance in Standby in `group_name`:
/// ExitStandby straight away, as AWS itself refuses it unless the instance is in Standby in that
/// group and MaxSize allows one more. `Ok(false)`: refused, and the caller reads where the
/// instance is (then [`register`] explains what it finds).
pub async fn register_recorded(ctx: &Ctx, group_name: &str, state: &mut State) -> Result<bool> {
    ctx.info(format!(
        "ExitStandby {} in {group_name} (these hooks put it in Standby)",
        ctx.instance_id
    ));
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
            return Ok(false);
        }
        Err(e) => return Err(crate::ctx::aws_error("ExitStandby", &e)),
    }
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
pub async fn register(ctx: &Ctx, mut g: Group, lifecycle: &str, state: &mut State) -> Result<()> {
    let group_name = g.name.clone();
    let group_name = group_name.as_str();
    let exited = match lifecycle {
        "Pending:Wait" | "Pending:Proceed" => {
            ctx.info(format!(
                "{} is {lifecycle}: a new instance; Auto Scaling puts it in service when the lifecycle action completes",
                ctx.instance_id
            ));
            return Ok(());
        }
        "EnteringStandby" => {
            wait_lifecycle(ctx, "Standby", ctx.settings.standby_timeout, Duration::ZERO).await?;
            g = group(ctx, group_name).await?;
            exit_standby(ctx, &g).await?;
            true
        }
        "Standby" => {
            exit_standby(ctx, &g).await?;
            true
        }
        "Pending" | "InService" => false,
        other => {
            return Err(HookError::Refused(format!(
                "{} is {other}; cannot bring it into service",
                ctx.instance_id
            )))
        }
    };
    come_back(ctx, &g, state, exited).await
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
    if !health_covers_pending {
        wait_lifecycle(ctx, "InService", ctx.settings.in_service_timeout, Duration::ZERO).await?;
    }
    // Registration happens on the way through Pending, a step of its own: the first look at
    // health allows one poll interval for it.
    let registering = if exited {
        ctx.settings.poll_interval
    } else {
        Duration::ZERO
    };
    if ctx.settings.wait_for_healthy {
        wait_healthy(ctx, left, registering).await?;
    }
    if ctx.settings.maintenance.is_some() {
        let limit = ctx.settings.healthy_timeout.unwrap_or(Duration::from_secs(330));
        crate::maintenance::after_return(ctx, &left.target_groups, limit).await?;
    }
    let mut g = group(ctx, group_name).await?;
    if g.members.get(&ctx.instance_id).map(String::as_str) != Some("InService") {
        wait_lifecycle(ctx, "InService", ctx.settings.in_service_timeout, Duration::ZERO).await?;
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
            wait_healthy(ctx, &attached, Duration::ZERO).await?;
            g = group(ctx, group_name).await?;
        }
    }
    state.standby = false;
    ctx.save(state)?;
    restore(ctx, g, state, ctx.settings.wait_for_healthy).await
}

async fn exit_standby(ctx: &Ctx, g: &Group) -> Result<()> {
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
    ctx.must("ExitStandby", || {
        ctx.asg
            .exit_standby()
            .auto_scaling_group_name(&g.name)
            .instance_ids(&ctx.instance_id)
            .send()
    })
    .await?;
    Ok(())
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

/// Whether another member of the group is still out of service (Standby, or on its way there).
fn others_out(ctx: &Ctx, g: &Group) -> bool {
    g.members
        .iter()
        .any(|(id, s)| id != &ctx.instance_id && out_of_service(s))
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
    let mut transient_failures = 0u32;
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
            match wrote {
                Ok(_) => {}
                Err(e) if e.transient && transient_failures + 1 < ctx.settings.retry_max_attempts => {
                    transient_failures += 1;
                    ctx.warn(format!(
                        "UpdateAutoScalingGroup: {} ({}); reading the group again before retrying",
                        e.code.as_deref().unwrap_or("transport error"),
                        e.message
                    ));
                    ctx.backoff(transient_failures).await?;
                }
                Err(e) => return Err(crate::ctx::aws_error("UpdateAutoScalingGroup", &e)),
            }
            // Re-read: a concurrent restore or EnterStandby may have changed the group meanwhile.
            continue;
        }
        if g.min >= target && !others {
            ctx.info(format!("MinSize of {} is back to {}", g.name, g.min));
            delete_tag(ctx, &g.name, TAG_MIN).await?;
            // A sibling may have lowered MinSize (or entered Standby) between our read and the
            // delete: then the record must stay for its restore.
            let after = group(ctx, group_name).await?;
            if after.min < g.min || others_out(ctx, &after) {
                ctx.info("another instance of the group is leaving: keeping the original MinSize on record");
                set_tag(ctx, &g.name, TAG_MIN, &original.to_string()).await?;
            }
            g = after;
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
    if others_out(ctx, &g) {
        if !record.is_empty() {
            ctx.info("other instances are still in Standby: processes stay suspended for them");
            if tagged.as_ref() != Some(&record) {
                set_tag(ctx, &g.name, TAG_PROCS, &record.join(",")).await?;
            }
        }
    } else if !record.is_empty() || tagged.is_some() {
        let resume: Vec<String> = record.iter().filter(|p| g.suspended.contains(p)).cloned().collect();
        if !resume.is_empty() {
            ctx.info(format!("ResumeProcesses {} on {}", resume.join(", "), g.name));
            ctx.must("ResumeProcesses", || {
                ctx.asg
                    .resume_processes()
                    .auto_scaling_group_name(&g.name)
                    .set_scaling_processes(Some(resume.clone()))
                    .send()
            })
            .await?;
        }
        if tagged.is_some() {
            delete_tag(ctx, &g.name, TAG_PROCS).await?;
        }
    }
    state.suspended.clear();
    ctx.save(state)?;
    Ok(())
}
