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

use aws_sdk_autoscaling::types::{LifecycleState, Tag};

use crate::ctx::Ctx;
use crate::error::{HookError, Result};
use crate::lifecycle::{is_warm, out_of_service, terminating};

mod deregister;
mod exit;
mod processes;
mod quota;
mod refresh;
mod register;

pub use deregister::deregister;
pub use processes::WHILE_MIN_LOWERED;
use processes::{keep_suspended, split_list, suspend, wanted_processes};
pub use register::{register, register_recorded, restore};

/// What every tag of the hooks on a group starts with.
pub const TAG_PREFIX: &str = "codedeploy-elb-hooks:";
/// Tag holding the MinSize before the hooks lowered it.
pub const TAG_MIN: &str = "codedeploy-elb-hooks:original-min-size";
/// Tag holding the processes the hooks suspended.
pub const TAG_PROCS: &str = "codedeploy-elb-hooks:suspended-processes";
/// Prefix of the tag marking an instance these hooks put in Standby (`…:standby:i-0abc`, value:
/// the deployment): one key per instance, so concurrent hooks never overwrite each other's mark.
pub const TAG_STANDBY: &str = "codedeploy-elb-hooks:standby:";
/// Written when a Standby mark could not be (AWS's tag quota): from then until no instance is out,
/// every instance in Standby counts as the hooks', whatever marks the group still carries.
pub const TAG_UNMARKED: &str = "codedeploy-elb-hooks:unmarked-standby";
/// The key of an instance's Standby mark.
fn standby_key(id: &str) -> String {
    format!("{TAG_STANDBY}{id}")
}

/// AWS's quota of tags per Auto Scaling group.
const MAX_GROUP_TAGS: usize = 50;

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
    pub members: BTreeMap<String, LifecycleState>,
    /// Members Auto Scaling has marked `Unhealthy`.
    pub unhealthy: Vec<String>,
    /// Members protected from scale in (never chosen to shrink the group).
    pub protected: Vec<String>,
    /// A write of this run found the group at AWS's tag quota (this instance carries no mark).
    pub no_room_for_mark: bool,
    /// `members` and `unhealthy` were read (see [`group_settings`]).
    pub members_read: bool,
}

/// The group and lifecycle state of an instance, if it is in a group.
pub async fn membership(ctx: &Ctx) -> Result<Option<(String, LifecycleState)>> {
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
            LifecycleState::from(i.lifecycle_state().unwrap_or_default()),
        )
    }))
}

/// Where the instance is: its group (read fresh) and its lifecycle state there, or `None` outside
/// Auto Scaling. `hint` is the group a state file names: one DescribeAutoScalingGroups answers
/// both questions when the instance is still a member (an instance belongs to one group at most);
/// otherwise DescribeAutoScalingInstances finds the group.
pub async fn locate(ctx: &Ctx, hint: Option<&str>) -> Result<Option<(Group, LifecycleState)>> {
    if let Some(name) = hint {
        if let Ok(g) = group(ctx, name).await {
            if let Some(lifecycle) = g.members.get(&ctx.instance_id).cloned() {
                return Ok(Some((g, lifecycle)));
            }
        }
    }
    // The group with its members in one read: deregister needs them (a surplus about to be
    // terminated, anyone else out), and one read of both costs a call less than two.
    match membership(ctx).await? {
        Some((name, lifecycle)) => Ok(Some((group(ctx, &name).await?, lifecycle))),
        None => Ok(None),
    }
}

/// Members counted as the group's capacity: in service or launching (not in Standby, not leaving).
pub fn capacity(g: &Group) -> usize {
    capacity_members(g).count()
}

fn capacity_members(g: &Group) -> impl Iterator<Item = &String> {
    g.members
        .iter()
        .filter(|(_, l)| {
            matches!(
                l,
                LifecycleState::InService
                    | LifecycleState::Pending
                    | LifecycleState::PendingWait
                    | LifecycleState::PendingProceed
            )
        })
        .map(|(id, _)| id)
}

/// How many instances Auto Scaling will terminate to bring the group down to its desired
/// capacity: the surplus, but only among members not protected from scale in (protected ones
/// are never chosen, so a surplus of protected instances stays).
pub fn surplus_to_terminate(g: &Group) -> usize {
    let cap = capacity(g);
    let surplus = cap.saturating_sub(usize::try_from(g.desired).unwrap_or(0));
    let unprotected = capacity_members(g).filter(|id| !g.protected.contains(id)).count();
    surplus.min(unprotected)
}

/// Reads a group with its members.
pub async fn group(ctx: &Ctx, name: &str) -> Result<Group> {
    read_or_fail(ctx, name, true).await
}

/// Reads a group without its members (`IncludeInstances=false`): sizes, processes and tags, for a
/// fraction of the answer at fleet scale. Whether other instances are out is then judged from the
/// hooks' Standby marks (see [`hooks_out`]).
pub async fn group_settings(ctx: &Ctx, name: &str) -> Result<Group> {
    read_or_fail(ctx, name, false).await
}

async fn read_or_fail(ctx: &Ctx, name: &str, members: bool) -> Result<Group> {
    read_group_as(ctx, name, members)
        .await
        .map_err(|e| match e.code.as_deref() {
            Some("NotFound") => HookError::Unexpected(format!("Auto Scaling group {name} not found")),
            _ => crate::ctx::aws_error("DescribeAutoScalingGroups", &e),
        })
}

/// Reads a group with its members; a group that does not exist is a failure with code `NotFound`.
async fn read_group(ctx: &Ctx, name: &str) -> std::result::Result<Group, crate::ctx::AwsFailure> {
    read_group_as(ctx, name, true).await
}

async fn read_group_as(ctx: &Ctx, name: &str, members: bool) -> std::result::Result<Group, crate::ctx::AwsFailure> {
    let resp = ctx
        .call("DescribeAutoScalingGroups", || {
            ctx.asg
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(name)
                .include_instances(members)
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
                    i.lifecycle_state().cloned().unwrap_or_else(|| LifecycleState::from("")),
                )
            })
            .collect(),
        unhealthy: g
            .instances()
            .iter()
            .filter(|i| i.health_status() == Some("Unhealthy"))
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect(),
        protected: g
            .instances()
            .iter()
            .filter(|i| i.protected_from_scale_in() == Some(true))
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect(),
        no_room_for_mark: false,
        members_read: members,
    })
}

async fn set_tag(ctx: &Ctx, group: &str, key: &str, value: &str) -> Result<()> {
    set_tags(ctx, group, &[(key, value)]).await
}

/// Writes several of a group's tags in one CreateOrUpdateTags; at AWS's tag quota, making room
/// for them (see [`quota`]).
async fn set_tags(ctx: &Ctx, group: &str, tags: &[(&str, &str)]) -> Result<()> {
    match try_set_tags(ctx, group, tags).await {
        Ok(()) => Ok(()),
        Err(e) if e.code.as_deref() == Some("LimitExceeded") => quota::write_records(ctx, group, tags).await,
        Err(e) => Err(crate::ctx::aws_error("CreateOrUpdateTags", &e)),
    }
}

/// Removes these tags of a group in one DeleteTags.
async fn delete_tags(ctx: &Ctx, group: &str, keys: &[&str]) -> Result<()> {
    let tags: Vec<Tag> = keys
        .iter()
        .map(|k| {
            Tag::builder()
                .resource_id(group)
                .resource_type("auto-scaling-group")
                .key(*k)
                .build()
        })
        .collect();
    ctx.must("DeleteTags", || {
        ctx.asg.delete_tags().set_tags(Some(tags.clone())).send()
    })
    .await?;
    Ok(())
}

/// [`set_tags`], the failure as AWS gave it (a caller can tell the tag quota from the rest).
async fn try_set_tags(
    ctx: &Ctx,
    group: &str,
    tags: &[(&str, &str)],
) -> std::result::Result<(), crate::ctx::AwsFailure> {
    let tags: Vec<Tag> = tags
        .iter()
        .map(|(key, value)| {
            Tag::builder()
                .resource_id(group)
                .resource_type("auto-scaling-group")
                .key(*key)
                .value(*value)
                .propagate_at_launch(false)
                .build()
        })
        .collect();
    ctx.call("CreateOrUpdateTags", || {
        ctx.asg.create_or_update_tags().set_tags(Some(tags.clone())).send()
    })
    .await?;
    Ok(())
}

/// This instance's Standby mark: its key, when the group has room for it beside `more` new tags
/// (at the quota [`mark_standby`] says why there is none).
fn standby_mark(ctx: &Ctx, g: &Group, more: usize) -> Option<String> {
    let key = standby_key(&ctx.instance_id);
    (!g.tags.contains_key(&key) && !g.tags.contains_key(TAG_UNMARKED) && g.tags.len() + more < MAX_GROUP_TAGS)
        .then_some(key)
}

async fn delete_tag(ctx: &Ctx, group: &str, key: &str) -> Result<()> {
    delete_tags(ctx, group, &[key]).await
}

/// Waits until the instance's lifecycle state is `want`.
async fn wait_lifecycle(ctx: &Ctx, want: LifecycleState, limit: Duration, first_look: Duration) -> Result<()> {
    poll_lifecycle(ctx, want.as_str(), limit, first_look, |state| {
        (*state == want).then(|| ctx.info(format!("{} is {want}", ctx.instance_id)))
    })
    .await
}

/// Waits for the instance to reach Standby (its drain over), from now, up to the Standby timeout.
async fn until_standby(ctx: &Ctx) -> Result<()> {
    wait_lifecycle(
        ctx,
        LifecycleState::Standby,
        ctx.settings.standby_timeout,
        Duration::ZERO,
    )
    .await
}

/// Polls the instance's lifecycle state (DescribeAutoScalingInstances) until `done` makes
/// something of it, or `limit` ends: a timeout saying it was waiting for `want`.
async fn poll_lifecycle<T>(
    ctx: &Ctx,
    want: &str,
    limit: Duration,
    first_look: Duration,
    mut done: impl FnMut(&LifecycleState) -> Option<T>,
) -> Result<T> {
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
            Ok(r) => Some(LifecycleState::from(
                r.auto_scaling_instances()
                    .first()
                    .and_then(|i| i.lifecycle_state())
                    .unwrap_or_default(),
            )),
            // Transient even after retries: keep polling until the deadline.
            Err(e) if e.transient => {
                ctx.warn(format!(
                    "DescribeAutoScalingInstances still failing ({}); polling on",
                    e.message
                ));
                None
            }
            Err(e) => return Err(crate::ctx::aws_error("DescribeAutoScalingInstances", &e)),
        };
        if let Some(out) = state.as_ref().and_then(&mut done) {
            return Ok(out);
        }
        if ctx.clock.elapsed() - start >= limit {
            return Err(HookError::Timeout(format!(
                "{} is still {} after {:.0}s (waiting for {want})",
                ctx.instance_id,
                state.as_ref().map_or("unknown", LifecycleState::as_str),
                limit.as_secs_f64()
            )));
        }
        ctx.poll_sleep().await?;
    }
}

/// Whether another member of the group is out of service because of these hooks (Standby, or on
/// its way there, with the hooks' mark). An instance an operator put in Standby holds nothing back.
/// A group at AWS's tag quota cannot carry every mark: there any instance in Standby counts, the
/// safe side.
fn others_out(ctx: &Ctx, g: &Group) -> bool {
    hooks_out(ctx, g, Some(&ctx.instance_id))
}

/// Whether the group may hold instances these hooks put in Standby without their mark (at AWS's
/// tag quota, or `TAG_UNMARKED` on it): then any member out of service counts as theirs.
fn marks_may_be_missing(g: &Group) -> bool {
    g.tags.len() >= MAX_GROUP_TAGS || g.tags.contains_key(TAG_UNMARKED)
}

/// Whether a member of the group (but `except`) is out of service because of these hooks (see
/// [`others_out`]). Without marks for all, every member out counts, but those CodeDeploy showed
/// are not the deployment's (`Ctx::foreign_standby`).
fn hooks_out(ctx: &Ctx, g: &Group, except: Option<&str>) -> bool {
    let marks_may_be_missing = marks_may_be_missing(g);
    let foreign = ctx.foreign_standby.lock().map(|f| f.clone()).unwrap_or_default();
    if !g.members_read {
        // Read without its members: a mark of another instance (or a missing one) says enough.
        return marks_may_be_missing
            || g.tags
                .keys()
                .any(|k| k.strip_prefix(TAG_STANDBY).is_some_and(|id| Some(id) != except));
    }
    g.members.iter().any(|(id, s)| {
        Some(id.as_str()) != except
            && out_of_service(s)
            && (g.tags.contains_key(&standby_key(id)) || (marks_may_be_missing && !foreign.contains(id)))
    })
}

/// Without marks for every instance out, asks CodeDeploy which of the group's members out of
/// service are instances of a deployment in progress; the others are not these hooks' (an
/// operator's Standby) and stop holding MinSize and the processes (`Ctx::foreign_standby`).
/// Nothing is asked while marks suffice, or when this instance is the only one out.
pub(crate) async fn sort_out_unmarked(ctx: &Ctx, g: &Group) -> Result<()> {
    if !g.members_read || !marks_may_be_missing(g) || !others_out(ctx, g) {
        return Ok(());
    }
    let Some(busy) = crate::deployment::in_progress(ctx).await? else {
        return Ok(());
    };
    let foreign: Vec<String> = g
        .members
        .iter()
        .filter(|(id, s)| {
            **id != ctx.instance_id
                && out_of_service(s)
                && !g.tags.contains_key(&standby_key(id))
                && !busy.contains(*id)
        })
        .map(|(id, _)| id.clone())
        .collect();
    if !foreign.is_empty() {
        ctx.info(format!(
            "{} out of service but in no deployment in progress ({}): not these hooks', they hold nothing back",
            foreign.len(),
            foreign.join(", ")
        ));
        if let Ok(mut f) = ctx.foreign_standby.lock() {
            f.extend(foreign);
        }
    }
    Ok(())
}

/// Whether the group, read with its members, shows no other instance these hooks (or an
/// operator) could bring back: no other member in Standby, no other instance's mark, and room for
/// every mark. Then no sibling can resume the processes between that read and this instance's
/// EnterStandby (it would have to go out and come back within a few calls), so the check right
/// after EnterStandby can wait for the look at Standby.
pub(crate) fn nobody_else_out(ctx: &Ctx, g: &Group) -> bool {
    g.members_read
        && g.tags.len() < MAX_GROUP_TAGS
        && !g.tags.contains_key(TAG_UNMARKED)
        && !g
            .tags
            .keys()
            .any(|k| k.strip_prefix(TAG_STANDBY).is_some_and(|id| id != ctx.instance_id))
        && !g
            .members
            .iter()
            .any(|(id, s)| *id != ctx.instance_id && out_of_service(s))
}

/// Marks this instance as put in Standby by these hooks, before EnterStandby. At the tag quota
/// the mark cannot be written: the hooks say so, and siblings count every Standby instance then.
async fn mark_standby(ctx: &Ctx, g: &Group) -> Result<()> {
    let key = standby_key(&ctx.instance_id);
    if g.tags.get(&key) == Some(&ctx.deployment_id) || g.no_room_for_mark || g.tags.contains_key(TAG_UNMARKED) {
        return Ok(());
    }
    let tag = Tag::builder()
        .resource_id(&g.name)
        .resource_type("auto-scaling-group")
        .key(&key)
        .value(&ctx.deployment_id)
        .propagate_at_launch(false)
        .build();
    let r = ctx
        .call("CreateOrUpdateTags", || {
            ctx.asg.create_or_update_tags().tags(tag.clone()).send()
        })
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code.as_deref() == Some("LimitExceeded") => {
            no_room_for_mark(ctx, g);
            quota::write_records(ctx, &g.name, &[]).await
        }
        Err(e) => Err(crate::ctx::aws_error("CreateOrUpdateTags", &e)),
    }
}

/// Says that the group's tag quota leaves no room for this instance's Standby mark.
fn no_room_for_mark(ctx: &Ctx, g: &Group) {
    ctx.warn(format!(
        "{} has AWS's {MAX_GROUP_TAGS} tags: no room to mark this instance as the hooks' Standby, so every instance in Standby there (an operator's too) holds MinSize and the processes until the last is back",
        g.name
    ));
}

/// Whether instance `id` has left the group `g` (read with its members) or is being terminated:
/// either way its hooks never bring it back.
fn leaving(g: &Group, id: &str) -> bool {
    g.members.get(id).is_none_or(terminating)
}

/// Removes the Standby marks of instances no longer in the group `g` (read with its members) or
/// being terminated: instances terminated while out, whose hooks never came back to remove them.
/// With `earlier`, also the marks an earlier deployment left on instances now in service (a
/// register killed after ExitStandby, a deployment refused before their turn came): a deployment
/// under way marks with its own id, and only just before EnterStandby. A run that reads the
/// members discounts such marks; one that does not would take them for instances still out (and
/// only be more careful). One DeleteTags, only when there is such a mark.
pub(crate) async fn clear_stale_marks(ctx: &Ctx, g: &Group, earlier: bool) -> Result<()> {
    if !g.members_read {
        return Ok(());
    }
    let stale: Vec<String> = g
        .tags
        .iter()
        .filter(|(k, by)| {
            k.strip_prefix(TAG_STANDBY).is_some_and(|id| {
                leaving(g, id)
                    || (earlier && *by != &ctx.deployment_id && g.members.get(id) == Some(&LifecycleState::InService))
            })
        })
        .map(|(k, _)| k.clone())
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    ctx.info(format!(
        "removing Standby marks no run of these hooks will remove (instances gone, or back in service after an earlier deployment) in {}: {}",
        g.name,
        stale
            .iter()
            .filter_map(|k| k.strip_prefix(TAG_STANDBY))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let keys: Vec<&str> = stale.iter().map(String::as_str).collect();
    delete_tags(ctx, &g.name, &keys).await
}

/// Removes this instance's Standby mark, the marks of instances no longer in the group (a
/// terminated instance's) and the tags `also` names, in one call; none when there is nothing to
/// remove.
async fn unmark_standby(ctx: &Ctx, g: &Group, also: &[&str]) -> Result<()> {
    let stale: Vec<&str> = g
        .tags
        .keys()
        .filter(|k| {
            k.strip_prefix(TAG_STANDBY)
                .is_some_and(|id| id == ctx.instance_id || (g.members_read && leaving(g, id)))
        })
        .map(String::as_str)
        .chain(also.iter().copied())
        .chain((g.tags.contains_key(TAG_UNMARKED) && !others_out(ctx, g)).then_some(TAG_UNMARKED))
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    delete_tags(ctx, &g.name, &stale).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member at `Terminating:Retained` (an abandoned termination under a group policy that
    /// retains) is out of the group's capacity and counts as gone: its Standby mark holds
    /// nothing, and no surplus is counted for it.
    #[test]
    fn a_retained_member_is_out_of_capacity_and_gone() {
        let g = Group {
            desired: 2,
            members: [
                ("i-1".to_string(), LifecycleState::InService),
                ("i-2".to_string(), LifecycleState::InService),
                ("i-3".to_string(), LifecycleState::TerminatingRetained),
            ]
            .into_iter()
            .collect(),
            members_read: true,
            ..Group::default()
        };
        assert_eq!(capacity(&g), 2);
        assert_eq!(surplus_to_terminate(&g), 0);
        assert!(leaving(&g, "i-3"));
        assert!(!leaving(&g, "i-1"));
    }
}
