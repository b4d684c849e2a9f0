//! AWS's quota of 50 tags per Auto Scaling group. The hooks' records (the original MinSize, the
//! processes they suspended) must always fit; the per-instance Standby marks are what gives way.
//! Once a mark could not be written or was removed to make room, the group carries
//! [`TAG_UNMARKED`]: until no instance is out, every instance in Standby there counts as the
//! hooks' (the safe side), and the last one back removes it.

use crate::asg::delete_tags;
use crate::asg::group_settings;
use crate::asg::try_set_tags;
use crate::asg::MAX_GROUP_TAGS;
use crate::asg::TAG_STANDBY;
use crate::asg::TAG_UNMARKED;
use crate::ctx::Ctx;
use crate::error::{HookError, Result};

/// How often the room is made and the write tried again (siblings at the quota compete for it).
const ATTEMPTS: usize = 5;

/// Writes `tags` with [`TAG_UNMARKED`], after a write found the group at the quota: removes as
/// many Standby marks as the new keys need and tries again. Refused, naming the quota, when the
/// group's other tags leave no room at all.
pub(super) async fn write_records(ctx: &Ctx, name: &str, tags: &[(&str, &str)]) -> Result<()> {
    let mut want: Vec<(&str, &str)> = tags.to_vec();
    if !want.iter().any(|(k, _)| *k == TAG_UNMARKED) {
        want.push((TAG_UNMARKED, ctx.deployment_id.as_str()));
    }
    // Most often the room is there (the records' keys exist already, another instance wrote the
    // sentinel): the group is read only when the write is refused.
    match try_set_tags(ctx, name, &want).await {
        Ok(()) => return Ok(()),
        Err(e) if e.code.as_deref() == Some("LimitExceeded") => {}
        Err(e) => return Err(crate::ctx::aws_error("CreateOrUpdateTags", &e)),
    }
    for _ in 0..ATTEMPTS {
        let fresh = group_settings(ctx, name).await?;
        let new_keys = want.iter().filter(|(k, _)| !fresh.tags.contains_key(*k)).count();
        let room = MAX_GROUP_TAGS.saturating_sub(fresh.tags.len());
        let need = new_keys.saturating_sub(room);
        if need > 0 {
            let marks: Vec<&String> = fresh
                .tags
                .keys()
                .filter(|k| k.starts_with(TAG_STANDBY))
                .take(need)
                .collect();
            if marks.len() < need {
                return Err(HookError::Refused(format!(
                    "{name} has AWS's {MAX_GROUP_TAGS} tags and too few of them are the hooks' own to make room for their records ({}): remove a tag from the group and retry",
                    want.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                )));
            }
            ctx.warn(format!(
                "{name} is at AWS's {MAX_GROUP_TAGS} tags: removing {} Standby mark(s) to make room for the hooks' records; every instance in Standby there counts as the hooks' until the last is back",
                marks.len()
            ));
            let keys: Vec<&str> = marks.iter().map(|k| k.as_str()).collect();
            delete_tags(ctx, name, &keys).await?;
        }
        match try_set_tags(ctx, name, &want).await {
            Ok(()) => return Ok(()),
            Err(e) if e.code.as_deref() == Some("LimitExceeded") => continue,
            Err(e) => return Err(crate::ctx::aws_error("CreateOrUpdateTags", &e)),
        }
    }
    Err(HookError::Refused(format!(
        "{name} stayed at AWS's {MAX_GROUP_TAGS} tags through {ATTEMPTS} attempts to make room for the hooks' records: retry"
    )))
}
