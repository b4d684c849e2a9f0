//! Warm pools in the Query API: PutWarmPool (AWS's constraints on each member), DescribeWarmPool
//! (the configuration and the pool's instances, in pages of at most 50), DeleteWarmPool; and the
//! `WarmPoolConfiguration` / `WarmPoolSize` members DescribeAutoScalingGroups adds.

use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::table::{Action, Change, Resource};
use crate::world::{WarmPoolRequest, World};

pub(super) const ACTIONS: &[Action<Params, Option<String>>] = &[
    Action {
        name: "PutWarmPool",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            world.put_warm_pool(request(p)?)?;
            // An empty PutWarmPoolResult (botocore looks for it).
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "DescribeWarmPool",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: describe,
    },
    Action {
        name: "DeleteWarmPool",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            world.delete_warm_pool(p.req("AutoScalingGroupName")?, p.bool("ForceDelete")?.unwrap_or(false))?;
            Ok(Some(String::new()))
        },
    },
];

/// An integer member at or above `min`, refused with AWS's constraint message.
fn at_least(p: &Params, key: &str, at: &str, min: i64) -> Result<Option<i64>, AwsError> {
    match p.int(key)? {
        Some(v) if v < min => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{v}' at '{at}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        ))),
        other => Ok(other),
    }
}

/// PutWarmPool's parameters, typed and checked.
fn request(p: &Params) -> Result<WarmPoolRequest, AwsError> {
    let pool_state = p
        .opt("PoolState")
        .map(|v| {
            PoolState::parse(v).ok_or_else(|| {
                AwsError::validation(format!(
                    "1 validation error detected: Value '{v}' at 'poolState' failed to satisfy constraint: Member must satisfy enum value set: [Hibernated, Running, Stopped]"
                ))
            })
        })
        .transpose()?;
    Ok(WarmPoolRequest {
        group: p.req("AutoScalingGroupName")?.to_string(),
        max_group_prepared_capacity: at_least(p, "MaxGroupPreparedCapacity", "maxGroupPreparedCapacity", -1)?,
        min_size: at_least(p, "MinSize", "minSize", 0)?,
        pool_state,
        reuse_on_scale_in: p.bool("InstanceReusePolicy.ReuseOnScaleIn")?,
    })
}

/// DescribeWarmPool: the configuration (none for a group without a pool) and the pool's
/// instances, oldest first, in pages of MaxRecords (at most 50).
fn describe(world: &mut World, p: &Params) -> Outcome {
    let group = p.req("AutoScalingGroupName")?;
    let max_records = p.int_in("MaxRecords", 1, 50)?.unwrap_or(50) as usize;
    let start: usize = match p.opt("NextToken") {
        None | Some("") => 0,
        Some(t) => t.parse().map_err(|_| AwsError::invalid_next_token())?,
    };
    let g = world.group(group)?;
    let all: Vec<&Instance> = g.warm.iter().filter_map(|id| world.instances.get(id)).collect();
    let mut x = Xml::new();
    if let Some(pool) = &g.warm_pool {
        super::groups::configuration_xml(&mut x, pool);
    }
    x.list("Instances", all.iter().skip(start).take(max_records), |x, i| {
        super::groups::member_xml(x, i)
    });
    if start + max_records < all.len() {
        x.leaf("NextToken", start + max_records);
    }
    Ok(Some(x.finish()))
}
