//! Auto Scaling group tags and lifecycle hooks.

use crate::model::LifecycleHook;
use crate::model::LifecycleResult;
use crate::protocol::error::AwsError;
use crate::protocol::query::{in_range, Params};
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::autoscaling::inputs::{Hook, TagInput};
use crate::world::World;
/// Tags as `(group, key, value, propagate)`; `default_group` fills a missing ResourceId.
pub(super) fn tags_from(
    p: &Params,
    default_group: Option<&str>,
) -> Result<Vec<(String, String, String, bool)>, AwsError> {
    tag_entries(&TagInput::decode_all(p)?, default_group)
}

/// Typed tags checked as AWS does (resource type, key and value lengths).
pub(super) fn tag_entries(
    tags: &[TagInput],
    default_group: Option<&str>,
) -> Result<Vec<(String, String, String, bool)>, AwsError> {
    let mut out = Vec::new();
    for t in tags {
        let group = match (&t.resource_id, default_group) {
            (Some(g), _) => g.clone(),
            (None, Some(g)) => g.to_string(),
            (None, None) => return Err(AwsError::missing("Tags.member.N.ResourceId")),
        };
        if let Some(rt) = &t.resource_type {
            if rt != "auto-scaling-group" {
                return Err(AwsError::validation(format!(
                    "Value '{rt}' for ResourceType is invalid: it must be auto-scaling-group."
                )));
            }
        }
        let key = t.key.clone().ok_or_else(|| AwsError::missing("Key"))?;
        if key.len() > 128 {
            return Err(AwsError::validation(format!(
                "Tag key '{key}' is longer than 128 characters."
            )));
        }
        let value = t.value.clone().unwrap_or_default();
        if value.len() > 256 {
            return Err(AwsError::validation(format!(
                "The value of tag '{key}' is longer than 256 characters."
            )));
        }
        out.push((group, key, value, t.propagate_at_launch.unwrap_or(false)));
    }
    Ok(out)
}

pub(super) fn tag_xml(x: &mut Xml, group: &str, key: &str, value: &str, propagate: bool) {
    x.leaf("ResourceId", group)
        .leaf("ResourceType", "auto-scaling-group")
        .leaf("Key", key)
        .leaf("Value", value)
        .leaf("PropagateAtLaunch", propagate);
}

pub(super) fn describe_tags(world: &mut World, p: &Params) -> Outcome {
    let mut groups: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for f in p.structs("Filters")? {
        let name = f.req("Name")?;
        let vals = f.list("Values")?;
        match name {
            "auto-scaling-group" => groups.extend(vals),
            "key" => keys.extend(vals),
            "value" => values.extend(vals),
            "propagate-at-launch" => {}
            other => return Err(AwsError::validation(format!("Filter name '{other}' is invalid."))),
        }
    }
    let mut x = Xml::new();
    let rows: Vec<(String, String, String, bool)> = world
        .groups
        .values()
        .filter(|g| groups.is_empty() || groups.contains(&g.name))
        .flat_map(|g| {
            g.tags
                .iter()
                .map(|(k, t)| (g.name.clone(), k.clone(), t.value.clone(), t.propagate_at_launch))
        })
        .filter(|(_, k, v, _)| (keys.is_empty() || keys.contains(k)) && (values.is_empty() || values.contains(v)))
        .collect();
    x.list("Tags", &rows, |x, (g, k, v, pr)| tag_xml(x, g, k, v, *pr));
    Ok(Some(x.finish()))
}

/// A lifecycle hook as the group keeps it, its values checked (the transition is required, the
/// heartbeat 30 s to 2 hours).
pub(super) fn hook_from(h: &Hook) -> Result<LifecycleHook, AwsError> {
    let transition = h.transition.ok_or_else(|| AwsError::missing("LifecycleTransition"))?;
    Ok(LifecycleHook {
        name: h.name.clone(),
        transition,
        heartbeat_timeout_s: in_range("HeartbeatTimeout", h.heartbeat_timeout, 30, 7200)?.unwrap_or(3600),
        default_result: h.default_result.unwrap_or(LifecycleResult::Abandon),
        notification_metadata: h.notification_metadata.clone(),
        notification_target_arn: h.notification_target_arn.clone(),
        role_arn: h.role_arn.clone(),
    })
}

/// PutLifecycleHook: a hook put again keeps the transition, heartbeat and default result the
/// request leaves out.
pub(crate) fn put_hook(world: &mut World, h: &Hook) -> Result<(), AwsError> {
    let existing = world.group(&h.group)?.hooks.get(&h.name).cloned();
    let mut merged = h.clone();
    if let Some(e) = existing {
        merged.transition = merged.transition.or(Some(e.transition));
        merged.heartbeat_timeout = merged.heartbeat_timeout.or(Some(e.heartbeat_timeout_s));
        merged.default_result = merged.default_result.or(Some(e.default_result));
    }
    let hook = hook_from(&merged)?;
    world.put_lifecycle_hook(&h.group, hook)
}

pub(super) fn describe_hooks(world: &mut World, p: &Params) -> Outcome {
    let g = world.group(p.req("AutoScalingGroupName")?)?;
    let names = p.list("LifecycleHookNames")?;
    let mut x = Xml::new();
    x.list(
        "LifecycleHooks",
        g.hooks.values().filter(|h| names.is_empty() || names.contains(&h.name)),
        |x, h| {
            x.leaf("LifecycleHookName", &h.name)
                .leaf("AutoScalingGroupName", &g.name)
                .leaf("LifecycleTransition", h.transition.as_str())
                .opt_leaf("NotificationTargetARN", h.notification_target_arn.as_ref())
                .opt_leaf("RoleARN", h.role_arn.as_ref())
                .opt_leaf("NotificationMetadata", h.notification_metadata.as_ref())
                .leaf("HeartbeatTimeout", h.heartbeat_timeout_s)
                .leaf("GlobalTimeout", (h.heartbeat_timeout_s * 100).min(172_800))
                .leaf("DefaultResult", h.default_result.as_str());
        },
    );
    Ok(Some(x.finish()))
}
