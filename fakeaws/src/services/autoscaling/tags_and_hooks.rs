//! Auto Scaling group tags and lifecycle hooks.

use crate::model::LifecycleHook;
use crate::model::LifecycleResult;
use crate::model::LifecycleTransition;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::world::World;
/// Tags as `(group, key, value, propagate)`; `default_group` fills a missing ResourceId.
pub(super) fn tags_from(
    p: &Params,
    default_group: Option<&str>,
) -> Result<Vec<(String, String, String, bool)>, AwsError> {
    let mut out = Vec::new();
    for t in p.structs("Tags")? {
        let group = match (t.opt("ResourceId"), default_group) {
            (Some(g), _) => g.to_string(),
            (None, Some(g)) => g.to_string(),
            (None, None) => return Err(AwsError::missing("Tags.member.N.ResourceId")),
        };
        if let Some(rt) = t.opt("ResourceType") {
            if rt != "auto-scaling-group" {
                return Err(AwsError::validation(format!(
                    "Value '{rt}' for ResourceType is invalid: it must be auto-scaling-group."
                )));
            }
        }
        let key = t.req("Key")?.to_string();
        if key.len() > 128 {
            return Err(AwsError::validation(format!(
                "Tag key '{key}' is longer than 128 characters."
            )));
        }
        let value = t.opt("Value").unwrap_or_default().to_string();
        if value.len() > 256 {
            return Err(AwsError::validation(format!(
                "The value of tag '{key}' is longer than 256 characters."
            )));
        }
        out.push((group, key, value, t.bool("PropagateAtLaunch")?.unwrap_or(false)));
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

pub(super) fn hook_from(h: &Params) -> Result<LifecycleHook, AwsError> {
    let name = h.req("LifecycleHookName")?.to_string();
    let transition = h.req("LifecycleTransition")?;
    let transition = LifecycleTransition::parse(transition).ok_or_else(|| {
        AwsError::validation(format!(
            "Invalid Lifecycle Transition: {transition}. Valid values are autoscaling:EC2_INSTANCE_LAUNCHING and autoscaling:EC2_INSTANCE_TERMINATING."
        ))
    })?;
    let default_result = lifecycle_result(h, "DefaultResult")?.unwrap_or(LifecycleResult::Abandon);
    Ok(LifecycleHook {
        name,
        transition,
        heartbeat_timeout_s: h.int_in("HeartbeatTimeout", 30, 7200)?.unwrap_or(3600),
        default_result,
        notification_metadata: h.opt("NotificationMetadata").map(str::to_string),
        notification_target_arn: h.opt("NotificationTargetARN").map(str::to_string),
        role_arn: h.opt("RoleARN").map(str::to_string),
    })
}

pub(super) fn put_hook(world: &mut World, p: &Params) -> Outcome {
    let group = p.req("AutoScalingGroupName")?.to_string();
    world.group(&group)?;
    let name = p.req("LifecycleHookName")?.to_string();
    let existing = world.group(&group)?.hooks.get(&name).cloned();
    let mut merged = p.clone();
    if let Some(e) = existing {
        merged
            .0
            .entry("LifecycleTransition".into())
            .or_insert(e.transition.to_string());
        merged
            .0
            .entry("HeartbeatTimeout".into())
            .or_insert(e.heartbeat_timeout_s.to_string());
        merged
            .0
            .entry("DefaultResult".into())
            .or_insert(e.default_result.to_string());
    }
    let hook = hook_from(&merged)?;
    world.put_lifecycle_hook(&group, hook)?;
    Ok(Some(String::new()))
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

/// A lifecycle action result parameter (`DefaultResult`, `LifecycleActionResult`), if given.
pub(super) fn lifecycle_result(p: &Params, name: &str) -> Result<Option<LifecycleResult>, AwsError> {
    p.opt(name)
        .map(|r| {
            LifecycleResult::parse(r).ok_or_else(|| {
                AwsError::validation(format!(
                    "Value '{r}' for {name} is invalid: valid values are CONTINUE and ABANDON."
                ))
            })
        })
        .transpose()
}
