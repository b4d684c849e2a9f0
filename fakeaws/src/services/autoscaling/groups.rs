//! Auto Scaling groups: creation, updates (sizes within AWS's Integer range and the instance
//! quota), description, and the instances in them.

use crate::clock::iso;
use crate::model::Group;
use crate::model::HealthCheckType;
use crate::model::Instance;
use crate::model::Tag;
use crate::protocol::error::AwsError;
use crate::protocol::query::{in_range, Params};
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::autoscaling::inputs::CreateGroup;
use crate::services::autoscaling::tags_and_hooks::hook_from;
use crate::services::autoscaling::tags_and_hooks::tag_entries;
use crate::services::autoscaling::tags_and_hooks::tag_xml;

use crate::world::World;
/// A group size: an Integer in AWS's model (0 to 2^31 - 1).
pub(super) fn size(key: &str, v: Option<i64>) -> Result<Option<i64>, AwsError> {
    in_range(key, v, 0, i32::MAX as i64)
}

/// CreateAutoScalingGroup.
pub(crate) fn create_group(world: &mut World, c: &CreateGroup) -> Result<(), AwsError> {
    let name = c.name.clone();
    if name.len() > 255 {
        return Err(AwsError::validation(
            "AutoScalingGroupName must be at most 255 characters.",
        ));
    }
    if world.groups.contains_key(&name) {
        return Err(AwsError::new(
            400,
            "AlreadyExists",
            format!("AutoScalingGroup by this name already exists - A group with the name {name} already exists"),
        ));
    }
    if c.launch_template.is_none() && c.launch_configuration.is_none() && c.instance_id.is_none() {
        return Err(AwsError::validation(
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.",
        ));
    }
    let min = size("MinSize", c.min)?.ok_or_else(|| AwsError::missing("MinSize"))?;
    let max = size("MaxSize", c.max)?.ok_or_else(|| AwsError::missing("MaxSize"))?;
    let desired = size("DesiredCapacity", c.desired)?.unwrap_or(min);
    World::check_sizes(min, max, desired)?;
    world.check_quota(desired)?;
    let mut azs = c.availability_zones.clone();
    let vpc = c.vpc_zone_identifier.clone().unwrap_or_default();
    if azs.is_empty() && !vpc.is_empty() {
        azs = subnets_to_azs(world, &vpc);
    }
    if azs.is_empty() {
        return Err(AwsError::validation(
            "At least one Availability Zone or VPC Subnet is required.",
        ));
    }
    for az in &azs {
        if !world.valid_az(az) {
            return Err(AwsError::validation(format!(
                "The availability zone '{az}' is not legal in region {}.",
                world.region
            )));
        }
    }
    for arn in &c.target_group_arns {
        if !world.target_groups.contains_key(arn) {
            return Err(AwsError::validation(format!("Target group not found: {arn}")));
        }
    }
    let mut hooks = std::collections::BTreeMap::new();
    for h in &c.lifecycle_hooks {
        let hook = hook_from(h)?;
        hooks.insert(hook.name.clone(), hook);
    }
    let uuid = world.uuid();
    let arn = world.arn(
        "autoscaling",
        &format!("autoScalingGroup:{uuid}:autoScalingGroupName/{name}"),
    );
    let group = Group {
        name: name.clone(),
        arn,
        min,
        max,
        desired,
        availability_zones: azs,
        vpc_zone_identifier: vpc,
        target_groups: c.target_group_arns.clone(),
        health_check_type: c.health_check_type.unwrap_or(HealthCheckType::Ec2),
        health_check_grace_period_s: c.health_check_grace_period.unwrap_or(0),
        default_cooldown_s: c.default_cooldown.unwrap_or(300),
        launch_template: c.launch_template.clone(),
        launch_configuration: c.launch_configuration.clone(),
        suspended: Default::default(),
        hooks,
        created_ms: world.now_ms,
        instances: Default::default(),
        new_instances_protected_from_scale_in: c.new_instances_protected_from_scale_in.unwrap_or(false),
        terminate_hook_abandon: c.terminate_hook_abandon,
        capacity_rebalance: c.capacity_rebalance.unwrap_or(false),
        tags: Default::default(),
        load_balancer_names: c.load_balancer_names.clone(),
        role: None,
        refresh_template: None,
        warm_pool: None,
        warm: Vec::new(),
    };
    let tags = tag_entries(&c.tags, Some(&name))?
        .into_iter()
        .map(|(_, k, v, prop)| {
            let tag = Tag {
                value: v,
                propagate_at_launch: prop,
            };
            (k, tag)
        })
        .collect();
    world.add_group(group, tags)
}

/// Subnets have no EC2 API here: `subnet-…` ids map onto the region's zones by their position.
pub(super) fn subnets_to_azs(world: &World, vpc: &str) -> Vec<String> {
    let mut azs: Vec<String> = Vec::new();
    for (i, _) in vpc.split(',').filter(|s| !s.trim().is_empty()).enumerate() {
        let az = format!("{}{}", world.region, (b'a' + (i % 6) as u8) as char);
        if !azs.contains(&az) {
            azs.push(az);
        }
    }
    azs
}

pub(super) fn update_group(world: &mut World, p: &Params) -> Outcome {
    let name = p.req("AutoScalingGroupName")?.to_string();
    let g = world.group(&name)?.sizes();
    let min = size("MinSize", p.int("MinSize")?)?;
    let max = size("MaxSize", p.int("MaxSize")?)?;
    let desired_in = size("DesiredCapacity", p.int("DesiredCapacity")?)?;
    let new_min = min.unwrap_or(g.min);
    let new_max = max.unwrap_or(g.max);
    // Like AWS: changing only min or max drags desired capacity along into the new range.
    let new_desired = match desired_in {
        Some(d) => d,
        None => g.desired.clamp(new_min.min(new_max), new_max.max(new_min)),
    };
    World::check_sizes(new_min, new_max, new_desired)?;
    world.check_quota(new_desired - world.capacity_of(&name))?;
    let mut azs = p.list("AvailabilityZones")?;
    if let Some(vpc) = p.opt("VPCZoneIdentifier") {
        if azs.is_empty() {
            azs = subnets_to_azs(world, vpc);
        }
    }
    for az in &azs {
        if !world.valid_az(az) {
            return Err(AwsError::validation(format!(
                "The availability zone '{az}' is not legal in region {}.",
                world.region
            )));
        }
    }
    let hct = health_check_type(p)?;
    let grace = p.int("HealthCheckGracePeriod")?;
    let update = crate::world::GroupUpdate {
        min: new_min,
        max: new_max,
        desired: new_desired,
        availability_zones: (!azs.is_empty()).then_some(azs),
        vpc_zone_identifier: p.opt("VPCZoneIdentifier").map(str::to_string),
        health_check_type: hct,
        health_check_grace_period_s: grace,
        launch_template: p.opt("LaunchTemplate.LaunchTemplateName").map(str::to_string),
        new_instances_protected_from_scale_in: p.bool("NewInstancesProtectedFromScaleIn")?,
        terminate_hook_abandon: crate::services::autoscaling::inputs::retention_action(p)?,
        capacity_rebalance: p.bool("CapacityRebalance")?,
    };
    world.update_group(&name, update)?;
    Ok(None)
}

pub(super) fn describe_groups(world: &mut World, p: &Params) -> Outcome {
    let max_records = p.int_in("MaxRecords", 1, 100)?.unwrap_or(50) as usize;
    // "By default, you can only specify up to 50 names", more with MaxRecords (at most 100).
    let names = p.list_max("AutoScalingGroupNames", max_records.max(50))?;
    let start: usize = match p.opt("NextToken") {
        None | Some("") => 0,
        Some(t) => t.parse().map_err(|_| AwsError::invalid_next_token())?,
    };
    let all: Vec<&Group> = world
        .groups
        .values()
        .filter(|g| names.is_empty() || names.contains(&g.name))
        .collect();
    let page: Vec<&Group> = all.iter().skip(start).take(max_records).copied().collect();
    // IncludeInstances=false: the groups without their members (AWS's answer to throttling on
    // large groups); true by default.
    let with_instances = p.bool("IncludeInstances")?.unwrap_or(true);
    let mut x = Xml::new();
    x.list("AutoScalingGroups", page, |x, g| group_xml(x, world, g, with_instances));
    if start + max_records < all.len() {
        x.leaf("NextToken", start + max_records);
    }
    Ok(Some(x.finish()))
}

/// `WarmPoolConfiguration`, as DescribeWarmPool and DescribeAutoScalingGroups write it (members
/// left unset are not written).
pub(super) fn configuration_xml(x: &mut Xml, pool: &crate::model::WarmPool) {
    x.elem("WarmPoolConfiguration", |x| {
        if let Some(m) = pool.max_group_prepared_capacity {
            x.leaf("MaxGroupPreparedCapacity", m);
        }
        x.leaf("MinSize", pool.min_size)
            .leaf("PoolState", pool.pool_state.as_str());
        if pool.pending_delete {
            x.leaf("Status", "PendingDelete");
        }
        x.elem("InstanceReusePolicy", |x| {
            x.leaf("ReuseOnScaleIn", pool.reuse_on_scale_in);
        });
    });
}

/// One instance as DescribeAutoScalingGroups and DescribeWarmPool list it.
pub(super) fn member_xml(x: &mut Xml, i: &Instance) {
    x.leaf("InstanceId", &i.id)
        .leaf("InstanceType", "t3.micro")
        .leaf("AvailabilityZone", &i.availability_zone)
        .leaf("LifecycleState", i.lifecycle.as_str())
        .leaf("HealthStatus", if i.healthy { "Healthy" } else { "Unhealthy" });
    if let Some(t) = &i.launch_template {
        x.elem("LaunchTemplate", |x| {
            x.leaf("LaunchTemplateName", t).leaf("Version", "1");
        });
    }
    x.leaf("ProtectedFromScaleIn", i.protected_from_scale_in);
}

pub(super) fn group_xml(x: &mut Xml, world: &World, g: &Group, with_instances: bool) {
    x.leaf("AutoScalingGroupName", &g.name)
        .leaf("AutoScalingGroupARN", &g.arn);
    if let Some(c) = &g.launch_configuration {
        x.leaf("LaunchConfigurationName", c);
    }
    if let Some(t) = &g.launch_template {
        x.elem("LaunchTemplate", |x| {
            x.leaf("LaunchTemplateName", t).leaf("Version", "$Default");
        });
    }
    x.leaf("MinSize", g.min)
        .leaf("MaxSize", g.max)
        .leaf("DesiredCapacity", g.desired)
        .leaf("DefaultCooldown", g.default_cooldown_s)
        .str_list("AvailabilityZones", &g.availability_zones)
        .str_list("LoadBalancerNames", &g.load_balancer_names)
        .str_list("TargetGroupARNs", &g.target_groups)
        .leaf("HealthCheckType", g.health_check_type.as_str())
        .leaf("HealthCheckGracePeriod", g.health_check_grace_period_s);
    let members = g
        .instances
        .iter()
        .filter(|_| with_instances)
        .filter_map(|id| world.instances.get(id));
    x.list("Instances", members, member_xml);
    x.leaf("CreatedTime", iso(g.created_ms));
    x.list("SuspendedProcesses", &g.suspended, |x, (name, reason)| {
        x.leaf("ProcessName", name.as_str()).leaf("SuspensionReason", reason);
    });
    x.leaf("VPCZoneIdentifier", &g.vpc_zone_identifier)
        .list("EnabledMetrics", Vec::<String>::new(), |_, _| {})
        .list("Tags", &g.tags, |x, (k, t)| {
            tag_xml(x, &g.name, k, &t.value, t.propagate_at_launch)
        })
        .str_list("TerminationPolicies", ["Default"])
        .leaf(
            "NewInstancesProtectedFromScaleIn",
            g.new_instances_protected_from_scale_in,
        )
        .leaf(
            "ServiceLinkedRoleARN",
            format!(
                "arn:aws:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
                world.account_id
            ),
        );
    x.leaf("CapacityRebalance", g.capacity_rebalance);
    if let Some(pool) = &g.warm_pool {
        configuration_xml(x, pool);
        x.leaf("WarmPoolSize", g.warm.len());
    }
    if let Some(action) = g.terminate_hook_abandon {
        x.elem("InstanceLifecyclePolicy", |x| {
            x.elem("RetentionTriggers", |x| {
                x.leaf("TerminateHookAbandon", action.as_str());
            });
        });
    }
}

pub(super) fn describe_instances(world: &mut World, p: &Params) -> Outcome {
    let ids = p.list("InstanceIds")?;
    if ids.len() > 50 {
        return Err(AwsError::validation(
            "The number of instance ids that may be passed in is limited to 50.",
        ));
    }
    let max_records = p.int_in("MaxRecords", 1, 50)?.unwrap_or(50) as usize;
    let start: usize = match p.opt("NextToken") {
        None | Some("") => 0,
        Some(t) => t.parse().map_err(|_| AwsError::invalid_next_token())?,
    };
    let all: Vec<&Instance> = world
        .instances
        .values()
        .filter(|i| i.group.is_some() && !i.lifecycle.is_terminated())
        .filter(|i| ids.is_empty() || ids.contains(&i.id))
        .collect();
    let mut x = Xml::new();
    x.list(
        "AutoScalingInstances",
        all.iter().skip(start).take(max_records),
        |x, i| {
            x.leaf("InstanceId", &i.id)
                .leaf("InstanceType", "t3.micro")
                .leaf("AutoScalingGroupName", i.group.as_deref().unwrap_or_default())
                .leaf("AvailabilityZone", &i.availability_zone)
                .leaf("LifecycleState", i.lifecycle.as_str())
                .leaf("HealthStatus", if i.healthy { "HEALTHY" } else { "UNHEALTHY" });
            if let Some(t) = &i.launch_template {
                x.elem("LaunchTemplate", |x| {
                    x.leaf("LaunchTemplateName", t).leaf("Version", "1");
                });
            }
            x.leaf("ProtectedFromScaleIn", i.protected_from_scale_in);
        },
    );
    if start + max_records < all.len() {
        x.leaf("NextToken", start + max_records);
    }
    Ok(Some(x.finish()))
}

/// `HealthCheckType`, if given.
fn health_check_type(p: &Params) -> Result<Option<HealthCheckType>, AwsError> {
    p.opt("HealthCheckType")
        .map(|h| {
            HealthCheckType::parse(h)
                .ok_or_else(|| AwsError::validation(format!("Value '{h}' for HealthCheckType is invalid.")))
        })
        .transpose()
}
