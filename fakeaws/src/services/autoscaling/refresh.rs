//! Instance refreshes in the Query API: StartInstanceRefresh (its preferences decoded and checked
//! against AWS's ranges), DescribeInstanceRefreshes, CancelInstanceRefresh and
//! RollbackInstanceRefresh.

use crate::clock::iso;
use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::{in_range, Params};
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::table::{Action, Change, Resource};
use crate::world::{RefreshRequest, World};

pub(super) const ACTIONS: &[Action<Params, Option<String>>] = &[
    Action {
        name: "StartInstanceRefresh",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let id = world.start_instance_refresh(request(p)?)?;
            Ok(Some(id_answer(&id)))
        },
    },
    Action {
        name: "DescribeInstanceRefreshes",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: describe,
    },
    Action {
        name: "CancelInstanceRefresh",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let id = world.cancel_instance_refresh(p.req("AutoScalingGroupName")?)?;
            Ok(Some(id_answer(&id)))
        },
    },
    Action {
        name: "RollbackInstanceRefresh",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let id = world.rollback_instance_refresh(p.req("AutoScalingGroupName")?)?;
            Ok(Some(id_answer(&id)))
        },
    },
];

fn id_answer(id: &str) -> String {
    let mut x = Xml::new();
    x.leaf("InstanceRefreshId", id);
    x.finish()
}

/// An enum member, refused with AWS's enum-constraint message.
fn enum_of<T>(p: &Params, key: &str, at: &str, parse: fn(&str) -> Option<T>, all: &str) -> Result<Option<T>, AwsError> {
    p.opt(key)
        .map(|v| {
            parse(v).ok_or_else(|| {
                AwsError::validation(format!(
                    "1 validation error detected: Value '{v}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{all}]"
                ))
            })
        })
        .transpose()
}

/// StartInstanceRefresh's parameters: types here, AWS's ranges and combinations checked too.
fn request(p: &Params) -> Result<RefreshRequest, AwsError> {
    let group = p.req("AutoScalingGroupName")?.to_string();
    match p.opt("Strategy") {
        None | Some("Rolling") => {}
        Some("ReplaceRootVolume") => {
            return Err(AwsError::validation(
                "The ReplaceRootVolume strategy is not modelled by fakeaws: use Rolling.",
            ))
        }
        Some(other) => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'strategy' failed to satisfy constraint: Member must satisfy enum value set: [Rolling, ReplaceRootVolume]"
            )))
        }
    }
    let prefs = preferences(&p.sub("Preferences"))?;
    let d = p.sub("DesiredConfiguration");
    let desired_template = d
        .opt("LaunchTemplate.LaunchTemplateName")
        .or(d.opt("LaunchTemplate.LaunchTemplateId"))
        .map(str::to_string);
    if prefs.auto_rollback && desired_template.is_none() {
        return Err(AwsError::validation(
            "The AutoRollback parameter cannot be set to true when the DesiredConfiguration parameter is empty.",
        ));
    }
    Ok(RefreshRequest {
        group,
        preferences: prefs,
        desired_template,
    })
}

/// `Preferences`: each member typed and checked against AWS's ranges and combinations; the
/// defaults the CLI and SDKs get for the others.
fn preferences(q: &Params) -> Result<RefreshPreferences, AwsError> {
    let mut prefs = RefreshPreferences::default();
    let min = in_range(
        "Preferences.MinHealthyPercentage",
        q.int("MinHealthyPercentage")?,
        0,
        100,
    )?;
    let max = in_range(
        "Preferences.MaxHealthyPercentage",
        q.int("MaxHealthyPercentage")?,
        100,
        200,
    )?;
    if let Some(max) = max {
        if min.is_none() {
            return Err(AwsError::validation(
                "MaxHealthyPercentage requires MinHealthyPercentage: specify both.",
            ));
        }
        if max - min.unwrap_or(0) > 100 {
            return Err(AwsError::validation(
                "The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100.",
            ));
        }
        if max > 100 {
            return Err(AwsError::validation(
                "fakeaws models MaxHealthyPercentage 100 only (terminate, then launch); launching before terminating is not modelled.",
            ));
        }
    }
    prefs.min_healthy_percentage = min.unwrap_or(90);
    prefs.instance_warmup_s = in_range(
        "Preferences.InstanceWarmup",
        q.int("InstanceWarmup")?,
        0,
        i32::MAX as i64,
    )?;
    let checkpoints: Vec<i64> = q
        .list("CheckpointPercentages")?
        .iter()
        .map(|v| {
            v.parse::<i64>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
                AwsError::validation(format!("Checkpoint percentage {v} is not valid: it must be 1 to 100."))
            })
        })
        .collect::<Result<_, _>>()?;
    if checkpoints.windows(2).any(|w| w[0] >= w[1]) {
        return Err(AwsError::validation(
            "CheckpointPercentages must be in ascending order with no repeats.",
        ));
    }
    prefs.checkpoint_delay_s = in_range("Preferences.CheckpointDelay", q.int("CheckpointDelay")?, 0, 172_800)?;
    if prefs.checkpoint_delay_s.is_some() && checkpoints.is_empty() {
        return Err(AwsError::validation("CheckpointDelay requires CheckpointPercentages."));
    }
    prefs.checkpoint_percentages = checkpoints;
    prefs.skip_matching = q.bool("SkipMatching")?.unwrap_or(false);
    prefs.auto_rollback = q.bool("AutoRollback")?.unwrap_or(false);
    prefs.bake_time_s = in_range("Preferences.BakeTime", q.int("BakeTime")?, 0, 172_800)?.unwrap_or(0);
    if let Some(s) = enum_of(
        q,
        "StandbyInstances",
        "preferences.standbyInstances",
        StandbyPreference::parse,
        "Terminate, Ignore, Wait",
    )? {
        prefs.standby_instances = s;
    }
    if let Some(s) = enum_of(
        q,
        "ScaleInProtectedInstances",
        "preferences.scaleInProtectedInstances",
        ProtectedPreference::parse,
        "Refresh, Ignore, Wait",
    )? {
        prefs.scale_in_protected_instances = s;
    }
    Ok(prefs)
}

fn refresh_xml(x: &mut Xml, w: &World, r: &InstanceRefresh) {
    let p = &r.preferences;
    x.leaf("InstanceRefreshId", &r.id)
        .leaf("AutoScalingGroupName", &r.group)
        .leaf("Status", r.status.as_str())
        .opt_leaf("StatusReason", r.status_reason.as_deref())
        .leaf("StartTime", iso(r.start_ms))
        .opt_leaf("EndTime", r.end_ms.map(iso))
        .leaf("PercentageComplete", r.percentage_complete(w.warmed(r)))
        .leaf("InstancesToUpdate", r.instances_to_update())
        .elem("Preferences", |x| {
            x.leaf("MinHealthyPercentage", p.min_healthy_percentage)
                .leaf("MaxHealthyPercentage", p.max_healthy_percentage)
                .opt_leaf("InstanceWarmup", p.instance_warmup_s)
                .str_list("CheckpointPercentages", &p.checkpoint_percentages)
                .opt_leaf("CheckpointDelay", p.checkpoint_delay_s)
                .leaf("SkipMatching", p.skip_matching)
                .leaf("AutoRollback", p.auto_rollback)
                .leaf("ScaleInProtectedInstances", p.scale_in_protected_instances.as_str())
                .leaf("StandbyInstances", p.standby_instances.as_str())
                .leaf("BakeTime", p.bake_time_s);
        })
        .leaf("Strategy", "Rolling");
    if let Some(t) = &r.desired_template {
        x.elem("DesiredConfiguration", |x| {
            x.elem("LaunchTemplate", |x| {
                x.leaf("LaunchTemplateName", t);
            });
        });
    }
}

/// DescribeInstanceRefreshes: newest first, by id if asked, in pages of MaxRecords (50, at most 100).
fn describe(world: &mut World, p: &Params) -> Outcome {
    let group = p.req("AutoScalingGroupName")?;
    let ids = p.list("InstanceRefreshIds")?;
    let max_records = p.int_in("MaxRecords", 1, 100)?.unwrap_or(50) as usize;
    let start: usize = match p.opt("NextToken") {
        None | Some("") => 0,
        Some(t) => t.parse().map_err(|_| AwsError::invalid_next_token())?,
    };
    let all: Vec<&InstanceRefresh> = world
        .instance_refreshes(group)
        .into_iter()
        .filter(|r| ids.is_empty() || ids.contains(&r.id))
        .collect();
    let mut x = Xml::new();
    x.list("InstanceRefreshes", all.iter().skip(start).take(max_records), |x, r| {
        refresh_xml(x, world, r)
    });
    if start + max_records < all.len() {
        x.leaf("NextToken", start + max_records);
    }
    Ok(Some(x.finish()))
}
