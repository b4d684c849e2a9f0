//! Whether the Standby the state file records is still the hooks' own once register has asked
//! for ExitStandby. Register saves the time it asks as the last thing before the call, and that
//! AWS served it once the answer is in; a run killed between the two leaves it unknown. Then the
//! group's scaling activities tell: AWS records each ExitStandby it serves ("Moving EC2 instance
//! out of Standby: i-…"), so one since the ask means the hooks' Standby is over (a Standby found
//! now is someone else's), and none means the call never reached AWS (it is still theirs).

use aws_sdk_autoscaling::types::ScalingActivityStatusCode;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::state::State;

/// How far an activity's start may be before the recorded ask and still be its answer: the
/// instance's clock and AWS's agree to well within this (Amazon Time Sync; the rehearsals share
/// one clock), and the ExitStandby before the hooks' own EnterStandby is minutes older.
const CLOCK_ALLOWANCE_MS: i64 = 1_000;

/// Pages of activities read at most (100 each) before giving up on finding the answer.
const MAX_PAGES: usize = 20;

/// Records, as the last thing before the call, that register asks for ExitStandby now.
pub async fn asking(ctx: &Ctx, state: &mut State) -> Result<()> {
    let now = ctx
        .clock
        .now_ms()
        .await
        .map_err(|e| crate::error::HookError::Clock(e.into()))?;
    state.exit_asked_ms = Some(now);
    ctx.save(state)
}

/// Records that AWS served the ExitStandby: the hooks' Standby is over.
pub fn served(ctx: &Ctx, state: &mut State) -> Result<()> {
    state.exited_standby = true;
    state.exit_asked_ms = None;
    ctx.save(state)
}

/// Records that AWS refused the ExitStandby (the instance is where it was).
pub fn refused(ctx: &Ctx, state: &mut State) -> Result<()> {
    state.exit_asked_ms = None;
    ctx.save(state)
}

/// Whether a Standby the state file says these hooks asked for in `group` still holds: not once
/// register's ExitStandby of it was served. When a killed register left that unknown, the group's
/// activities since its ask settle it (one DescribeScalingActivities, only then), and the answer
/// is saved. Without the permission to read them it stays the hooks' Standby, as before the record
/// (with a warning).
pub async fn own_standby_holds(ctx: &Ctx, group: &str, state: &mut State) -> Result<bool> {
    if state.exited_standby {
        return Ok(false);
    }
    let Some(asked) = state.exit_asked_ms else {
        return Ok(true);
    };
    let Some(was_served) = served_since(ctx, group, asked).await? else {
        return Ok(true);
    };
    ctx.info(format!(
        "a register killed as it asked for ExitStandby of {} left it unknown whether AWS served it; the group's scaling activities say it {}",
        ctx.instance_id,
        if was_served {
            "did: the Standby these hooks put it in is over"
        } else {
            "did not: it is still in the Standby these hooks put it in"
        }
    ));
    if was_served {
        served(ctx, state)?;
    } else {
        refused(ctx, state)?;
    }
    Ok(!was_served)
}

/// Whether an ExitStandby of this instance in `group` started no earlier than `since_ms` (less the
/// allowance): `None` when the activities cannot be read (no permission) or go back too far.
async fn served_since(ctx: &Ctx, group: &str, since_ms: i64) -> Result<Option<bool>> {
    let wanted = format!("Moving EC2 instance out of Standby: {}", ctx.instance_id);
    let since = since_ms - CLOCK_ALLOWANCE_MS;
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let resp = match ctx
            .call("DescribeScalingActivities", || {
                ctx.asg
                    .describe_scaling_activities()
                    .auto_scaling_group_name(group)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
        {
            Ok(r) => r,
            Err(e) if e.code.as_deref() == Some("AccessDenied") => {
                ctx.warn(format!(
                    "cannot tell whether {}'s ExitStandby was served (autoscaling:DescribeScalingActivities is not allowed: add it to the role); taking its Standby for these hooks' own",
                    ctx.instance_id
                ));
                return Ok(None);
            }
            Err(e) => return Err(crate::ctx::aws_error("DescribeScalingActivities", &e)),
        };
        let start = |a: &aws_sdk_autoscaling::types::Activity| {
            a.start_time().and_then(|t| t.to_millis().ok()).unwrap_or(i64::MIN)
        };
        let acts = resp.activities();
        if acts
            .iter()
            .any(|a| start(a) >= since && a.description() == Some(wanted.as_str()))
        {
            return Ok(Some(true));
        }
        // Newest first, those still in progress ahead of the rest: once a finished one is older
        // than the ask, so is every one after it.
        let finished = |a: &aws_sdk_autoscaling::types::Activity| {
            matches!(
                a.status_code(),
                Some(
                    ScalingActivityStatusCode::Successful
                        | ScalingActivityStatusCode::Failed
                        | ScalingActivityStatusCode::Cancelled
                )
            )
        };
        let past = acts.last().is_none_or(|a| finished(a) && start(a) < since);
        token = resp.next_token().map(str::to_string);
        if past || token.is_none() {
            return Ok(Some(false));
        }
    }
    ctx.warn(format!(
        "cannot tell whether {}'s ExitStandby was served: more than {} scaling activities of {group} since; taking its Standby for these hooks' own",
        ctx.instance_id,
        MAX_PAGES * 100
    ));
    Ok(None)
}
