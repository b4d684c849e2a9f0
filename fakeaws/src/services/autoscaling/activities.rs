//! Scaling activities as DescribeScalingActivities and the standby actions report them.

use crate::clock::iso;
use crate::model::Activity;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::world::World;
pub(super) fn activity(x: &mut Xml, world: &World, a: &Activity) {
    let arn = world.groups.get(&a.group).map(|g| g.arn.clone());
    x.leaf("ActivityId", &a.id)
        .leaf("AutoScalingGroupName", &a.group)
        .leaf("Description", &a.description)
        .leaf("Cause", &a.cause)
        .leaf("StartTime", iso(a.start_ms))
        .opt_leaf("EndTime", a.end_ms.map(iso))
        .leaf("StatusCode", a.status.as_str())
        .leaf("Progress", a.progress)
        .leaf("Details", "{}")
        .opt_leaf("AutoScalingGroupARN", arn);
}

pub(super) fn activities(world: &World, ids: &[String]) -> String {
    let mut x = Xml::new();
    let acts: Vec<Activity> = ids
        .iter()
        .filter_map(|id| world.activities.iter().find(|a| &a.id == id).cloned())
        .collect();
    x.list("Activities", &acts, |x, a| activity(x, world, a));
    x.finish()
}

pub(super) fn describe_activities(world: &mut World, p: &Params) -> Outcome {
    let group = p.opt("AutoScalingGroupName");
    let ids = p.list("ActivityIds")?;
    let max_records = p.int_in("MaxRecords", 1, 100)?.unwrap_or(100) as usize;
    let start: usize = match p.opt("NextToken") {
        None | Some("") => 0,
        Some(t) => t.parse().map_err(|_| AwsError::invalid_next_token())?,
    };
    if let Some(g) = group {
        world.group(g)?;
    }
    let all: Vec<Activity> = world
        .activities
        .iter()
        .rev()
        .filter(|a| group.is_none_or(|g| a.group == g))
        .filter(|a| ids.is_empty() || ids.contains(&a.id))
        .cloned()
        .collect();
    let mut x = Xml::new();
    x.list("Activities", all.iter().skip(start).take(max_records), |x, a| {
        activity(x, world, a)
    });
    if start + max_records < all.len() {
        x.leaf("NextToken", start + max_records);
    }
    Ok(Some(x.finish()))
}
