//! Scaling processes: which the hooks keep suspended, and the record on the group of which ones
//! they (not the operator) suspended, shared by the instances of a deployment.

use crate::asg::no_room_for_mark;
use crate::asg::quota;
use crate::asg::standby_mark;
use crate::asg::try_set_tags;
use crate::asg::Group;
use crate::asg::TAG_MIN;
use crate::asg::TAG_PROCS;
use crate::asg::TAG_UNMARKED;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::state::State;

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
///
/// `leaving`: this instance is about to enter Standby, so its Standby mark rides along with the
/// record's write when there is one. `also`: other tags to write in the same call (the original
/// MinSize, when it is about to be lowered), written even when the record needs no change.
pub(super) async fn suspend(
    ctx: &Ctx,
    g: &mut Group,
    state: &mut State,
    wanted: &[String],
    leaving: bool,
    also: &[(&str, String)],
) -> Result<()> {
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
    let record_changes = tagged.as_ref() != Some(&ours);
    if record_changes || !also.is_empty() {
        let record = ours.join(",");
        let mark = if leaving {
            standby_mark(ctx, g, 2 + also.len())
        } else {
            None
        };
        let mut tags: Vec<(&str, &str)> = also.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if record_changes {
            tags.push((TAG_PROCS, record.as_str()));
        }
        if let Some(m) = &mark {
            tags.push((m.as_str(), ctx.deployment_id.as_str()));
        }
        // Siblings writing their marks at the same moment may fill the quota the read left room
        // for: the records go on without the mark then.
        let mark = match try_set_tags(ctx, &g.name, &tags).await {
            Ok(()) => mark,
            Err(e) if e.code.as_deref() == Some("LimitExceeded") => {
                if mark.is_some() {
                    no_room_for_mark(ctx, g);
                    tags.pop();
                }
                g.no_room_for_mark = true;
                quota::write_records(ctx, &g.name, &tags).await?;
                g.tags.insert(TAG_UNMARKED.to_string(), ctx.deployment_id.clone());
                None
            }
            Err(e) => return Err(crate::ctx::aws_error("CreateOrUpdateTags", &e)),
        };
        for (k, v) in also {
            g.tags.insert(k.to_string(), v.clone());
        }
        if record_changes {
            g.tags.insert(TAG_PROCS.to_string(), record.clone());
        }
        if let Some(m) = mark {
            g.tags.insert(m, ctx.deployment_id.clone());
        }
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

pub(super) fn split_list(v: &str) -> Vec<String> {
    v.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Reads the group and makes sure what must be suspended now is (see [`wanted_processes`]).
pub(super) async fn keep_suspended(ctx: &Ctx, g: &mut Group, state: &mut State) -> Result<()> {
    let wanted = wanted_processes(ctx, g.tags.contains_key(TAG_MIN));
    if !wanted.is_empty() {
        suspend(ctx, g, state, &wanted, false, &[]).await?;
    }
    Ok(())
}

/// The processes this run keeps suspended: the configured ones with process handling on, plus
/// [`WHILE_MIN_LOWERED`] while MinSize is lowered.
pub(super) fn wanted_processes(ctx: &Ctx, min_lowered: bool) -> Vec<String> {
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
