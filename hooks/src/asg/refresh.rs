//! An instance refresh under way in the group. The first instance of a round looks
//! (DescribeInstanceRefreshes, the newest one) before changing anything and, as configured
//! (`instance_refresh`), refuses or waits for it to end: a refresh terminates instances in
//! batches and launches replacements, so taking instances out at the same time can leave fewer
//! serving than either allows. Later instances of the round need not look: the hooks hold
//! InstanceRefresh with the other processes, which pauses a refresh started meanwhile.

use aws_sdk_autoscaling::types::InstanceRefreshStatus;

use crate::config::RefreshPolicy;
use crate::ctx::Ctx;
use crate::error::{HookError, Result};

/// The group's active refresh, as `id (Status, N% complete)`, if there is one.
async fn active(ctx: &Ctx, group: &str) -> Result<Option<String>> {
    let resp = match ctx
        .call("DescribeInstanceRefreshes", || {
            ctx.asg
                .describe_instance_refreshes()
                .auto_scaling_group_name(group)
                .max_records(1)
                .send()
        })
        .await
    {
        Ok(r) => r,
        // A role without the permission: say what it costs, and go on as before refreshes.
        Err(e) if e.code.as_deref() == Some("AccessDenied") => {
            ctx.warn(format!(
                "cannot look for an instance refresh of {group} (autoscaling:DescribeInstanceRefreshes is not allowed: add it to the role); going on without"
            ));
            return Ok(None);
        }
        Err(e) => return Err(crate::ctx::aws_error("DescribeInstanceRefreshes", &e)),
    };
    Ok(resp.instance_refreshes().first().and_then(|r| {
        let status = r.status()?;
        let active = matches!(
            status,
            InstanceRefreshStatus::Pending
                | InstanceRefreshStatus::InProgress
                | InstanceRefreshStatus::Cancelling
                | InstanceRefreshStatus::RollbackInProgress
                | InstanceRefreshStatus::Baking
        );
        active.then(|| {
            format!(
                "{} ({status}, {}% complete)",
                r.instance_refresh_id().unwrap_or("?"),
                r.percentage_complete().unwrap_or(0)
            )
        })
    }))
}

/// Refuses, or waits until no refresh of `group` is under way (up to `[wait] instance_refresh`).
/// Returns whether it waited (the group has changed since it was read).
pub async fn check(ctx: &Ctx, group: &str) -> Result<bool> {
    let start = ctx.clock.elapsed();
    let limit = ctx.settings.refresh_timeout;
    let mut said = false;
    while let Some(r) = active(ctx, group).await? {
        match ctx.settings.instance_refresh {
            RefreshPolicy::Refuse => {
                return Err(HookError::Refused(format!(
                    "an instance refresh of {group} is under way ({r}): it terminates and launches instances while this deployment takes them out; nothing was changed. Retry when it has ended, or set instance_refresh = \"wait\""
                )))
            }
            RefreshPolicy::Wait => {
                if ctx.clock.elapsed() - start >= limit {
                    return Err(HookError::Timeout(format!(
                        "the instance refresh of {group} is still under way after {:.0}s ({r}); nothing was changed",
                        limit.as_secs_f64()
                    )));
                }
                if !said {
                    ctx.info(format!(
                        "an instance refresh of {group} is under way ({r}): waiting for it to end before taking {} out (up to {:.0}s)",
                        ctx.instance_id,
                        limit.as_secs_f64()
                    ));
                    said = true;
                }
                ctx.clock
                    .sleep(REFRESH_POLL)
                    .await
                    .map_err(|e| HookError::Clock(e.into()))?;
            }
        }
    }
    if said {
        ctx.info(format!("the instance refresh of {group} has ended"));
    }
    Ok(said)
}

/// Between looks at a refresh: it moves in batches of minutes (drain, boot, warm-up).
const REFRESH_POLL: std::time::Duration = std::time::Duration::from_secs(15);
