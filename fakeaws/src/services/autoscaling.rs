//! The Auto Scaling Query API (Version 2011-01-01): decodes each action's parameters, calls the
//! world, writes the response in the shapes botocore and the Rust SDK expect.

use crate::clock::iso;
use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
pub use crate::protocol::Outcome;
use crate::world::World;

/// The Auto Scaling XML namespace.
pub const NAMESPACE: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

/// Runs one Auto Scaling action.
pub fn handle(world: &mut World, action: &str, p: &Params) -> Outcome {
    match action {
        "CreateAutoScalingGroup" => create_group(world, p),
        "DescribeAutoScalingGroups" => describe_groups(world, p),
        "UpdateAutoScalingGroup" => update_group(world, p),
        "DeleteAutoScalingGroup" => {
            let name = p.req("AutoScalingGroupName")?;
            world.delete_group(name, p.bool("ForceDelete")?.unwrap_or(false))?;
            Ok(None)
        }
        "DescribeAutoScalingInstances" => describe_instances(world, p),
        "SetDesiredCapacity" => {
            let desired = size(p, "DesiredCapacity")?.ok_or_else(|| AwsError::missing("DesiredCapacity"))?;
            world.set_desired(p.req("AutoScalingGroupName")?, desired)?;
            Ok(None)
        }
        "TerminateInstanceInAutoScalingGroup" => {
            let id = p.req("InstanceId")?;
            let decrement = p.bool("ShouldDecrementDesiredCapacity")?.ok_or_else(|| AwsError::missing("ShouldDecrementDesiredCapacity"))?;
            let act = world.terminate_in_group(id, decrement)?;
            let mut x = Xml::new();
            let a = world.activities.iter().find(|a| a.id == act).cloned();
            if let Some(a) = a {
                x.elem("Activity", |x| activity(x, world, &a));
            }
            Ok(Some(x.finish()))
        }
        "SetInstanceHealth" => {
            let id = p.req("InstanceId")?;
            let status = p.req("HealthStatus")?;
            let healthy = match status {
                "Healthy" => true,
                "Unhealthy" => false,
                other => {
                    return Err(AwsError::validation(format!(
                        "Value '{other}' for HealthStatus is invalid: valid values are Healthy and Unhealthy."
                    )))
                }
            };
            let respect = p.bool("ShouldRespectGracePeriod")?.unwrap_or(true);
            let inst = world
                .instances
                .get(id)
                .filter(|i| i.group.is_some())
                .ok_or_else(|| AwsError::validation(format!("Instance Id not found - No managed instance found for instance ID: {id}")))?;
            let group = world.group(inst.group.as_deref().unwrap_or_default())?;
            let in_grace = world.now_ms < inst.launched_ms + group.health_check_grace_period_s * 1000;
            if !(respect && in_grace && !healthy) {
                if let Some(i) = world.instances.get_mut(id) {
                    i.healthy = healthy;
                }
            }
            Ok(None)
        }
        "EnterStandby" => {
            let group = p.req("AutoScalingGroupName")?.to_string();
            let ids = p.list_max("InstanceIds", 20)?;
            let decrement = p
                .bool("ShouldDecrementDesiredCapacity")?
                .ok_or_else(|| AwsError::missing("ShouldDecrementDesiredCapacity"))?;
            let acts = world.enter_standby(&group, &ids, decrement)?;
            Ok(Some(activities(world, &acts)))
        }
        "ExitStandby" => {
            let group = p.req("AutoScalingGroupName")?.to_string();
            let ids = p.list_max("InstanceIds", 20)?;
            let acts = world.exit_standby(&group, &ids)?;
            Ok(Some(activities(world, &acts)))
        }
        "SuspendProcesses" => {
            world.suspend(p.req("AutoScalingGroupName")?, &p.list("ScalingProcesses")?)?;
            Ok(None)
        }
        "ResumeProcesses" => {
            world.resume(p.req("AutoScalingGroupName")?, &p.list("ScalingProcesses")?)?;
            Ok(None)
        }
        "DescribeScalingActivities" => describe_activities(world, p),
        "AttachLoadBalancerTargetGroups" => {
            let arns = p.list_max("TargetGroupARNs", 10)?;
            world.attach_target_groups(p.req("AutoScalingGroupName")?, &arns)?;
            Ok(Some(String::new()))
        }
        "DetachLoadBalancerTargetGroups" => {
            let arns = p.list_max("TargetGroupARNs", 10)?;
            world.detach_target_groups(p.req("AutoScalingGroupName")?, &arns)?;
            Ok(Some(String::new()))
        }
        "DescribeLoadBalancerTargetGroups" => {
            let g = world.group(p.req("AutoScalingGroupName")?)?;
            let mut x = Xml::new();
            x.list("LoadBalancerTargetGroups", &g.target_groups, |x, arn| {
                x.leaf("LoadBalancerTargetGroupARN", arn).leaf("State", "InService");
            });
            Ok(Some(x.finish()))
        }
        "DescribeLoadBalancers" => {
            let g = world.group(p.req("AutoScalingGroupName")?)?;
            let mut x = Xml::new();
            x.list("LoadBalancers", &g.load_balancer_names, |x, n| {
                x.leaf("LoadBalancerName", n).leaf("State", "InService");
            });
            Ok(Some(x.finish()))
        }
        "AttachLoadBalancers" => {
            let names = p.list_max("LoadBalancerNames", 10)?;
            let group = p.req("AutoScalingGroupName")?.to_string();
            for n in &names {
                if !world.classic.contains_key(n) {
                    return Err(AwsError::validation(format!("There is no ACTIVE Load Balancer named '{n}'")));
                }
            }
            let g = world.group_mut(&group)?;
            for n in &names {
                if !g.load_balancer_names.contains(n) {
                    g.load_balancer_names.push(n.clone());
                }
            }
            let members = g.instances.clone();
            for id in members {
                if world.instances.get(&id).is_some_and(|i| i.lifecycle == Lifecycle::InService) {
                    for n in &names {
                        world.classic_register(n, &id);
                    }
                }
            }
            Ok(Some(String::new()))
        }
        "DetachLoadBalancers" => {
            let names = p.list_max("LoadBalancerNames", 10)?;
            let g = world.group_mut(p.req("AutoScalingGroupName")?)?;
            g.load_balancer_names.retain(|n| !names.contains(n));
            let members = g.instances.clone();
            for id in members {
                for n in &names {
                    world.classic_deregister(n, &id);
                }
            }
            Ok(Some(String::new()))
        }
        "PutLifecycleHook" => put_hook(world, p),
        "CreateOrUpdateTags" => {
            let tags = tags_from(p, None)?;
            if tags.is_empty() {
                return Err(AwsError::missing("Tags"));
            }
            for (g, k, v, pr) in tags {
                world.group_mut(&g)?.tags.insert(k, (v, pr));
            }
            Ok(None)
        }
        "DeleteTags" => {
            for (g, k, _, _) in tags_from(p, None)? {
                world.group_mut(&g)?.tags.remove(&k);
            }
            Ok(None)
        }
        "DescribeTags" => describe_tags(world, p),
        "DescribeLifecycleHooks" => describe_hooks(world, p),
        "DeleteLifecycleHook" => {
            let name = p.req("LifecycleHookName")?;
            let g = world.group_mut(p.req("AutoScalingGroupName")?)?;
            if g.hooks.remove(name).is_none() {
                return Err(AwsError::validation(format!("No Lifecycle Hook found with name {name}")));
            }
            Ok(Some(String::new()))
        }
        "CompleteLifecycleAction" => {
            let group = p.req("AutoScalingGroupName")?;
            let hook = p.req("LifecycleHookName")?;
            let result = p.req("LifecycleActionResult")?;
            if result != "CONTINUE" && result != "ABANDON" {
                return Err(AwsError::validation(format!(
                    "Value '{result}' for LifecycleActionResult is invalid: valid values are CONTINUE and ABANDON."
                )));
            }
            let id = world.find_hook_wait(group, hook, p.opt("LifecycleActionToken"), p.opt("InstanceId"))?;
            world.lifecycle_result(&id, result);
            world.tick(world.now_ms);
            Ok(Some(String::new()))
        }
        "RecordLifecycleActionHeartbeat" => {
            let group = p.req("AutoScalingGroupName")?;
            let hook = p.req("LifecycleHookName")?;
            let id = world.find_hook_wait(group, hook, p.opt("LifecycleActionToken"), p.opt("InstanceId"))?;
            world.heartbeat(&id);
            Ok(Some(String::new()))
        }
        other => crate::services::scaling::handle(world, other, p).unwrap_or_else(|| Err(AwsError::new(
            400,
            "InvalidAction",
            format!("The action {other} is not valid for this web service (Auto Scaling, 2011-01-01), or fakeaws does not implement it."),
        ))),
    }
}

/// A group size: an Integer in AWS's model (0 to 2^31 - 1).
fn size(p: &Params, key: &str) -> Result<Option<i64>, AwsError> {
    p.int_in(key, 0, i32::MAX as i64)
}

fn create_group(world: &mut World, p: &Params) -> Outcome {
    let name = p.req("AutoScalingGroupName")?.to_string();
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
    let template = p
        .opt("LaunchTemplate.LaunchTemplateName")
        .or(p.opt("LaunchTemplate.LaunchTemplateId"))
        .or(p.opt("MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName"))
        .map(str::to_string);
    let config = p.opt("LaunchConfigurationName").map(str::to_string);
    if template.is_none() && config.is_none() && p.opt("InstanceId").is_none() {
        return Err(AwsError::validation(
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.",
        ));
    }
    let min = size(p, "MinSize")?.ok_or_else(|| AwsError::missing("MinSize"))?;
    let max = size(p, "MaxSize")?.ok_or_else(|| AwsError::missing("MaxSize"))?;
    let desired = size(p, "DesiredCapacity")?.unwrap_or(min);
    World::check_sizes(min, max, desired)?;
    world.check_quota(desired)?;
    let mut azs = p.list("AvailabilityZones")?;
    let vpc = p.opt("VPCZoneIdentifier").unwrap_or_default().to_string();
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
    let tgs = p.list("TargetGroupARNs")?;
    for arn in &tgs {
        if !world.target_groups.contains_key(arn) {
            return Err(AwsError::validation(format!("Target group not found: {arn}")));
        }
    }
    let hct = p.opt("HealthCheckType").unwrap_or("EC2").to_string();
    if !["EC2", "ELB", "VPC_LATTICE", "EBS"].contains(&hct.as_str()) {
        return Err(AwsError::validation(format!(
            "Value '{hct}' for HealthCheckType is invalid."
        )));
    }
    let mut hooks = std::collections::BTreeMap::new();
    for h in p.structs("LifecycleHookSpecificationList")? {
        let hook = hook_from(&h)?;
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
        target_groups: tgs,
        health_check_type: hct,
        health_check_grace_period_s: p.int("HealthCheckGracePeriod")?.unwrap_or(0),
        default_cooldown_s: p.int("DefaultCooldown")?.unwrap_or(300),
        launch_template: template,
        launch_configuration: config,
        suspended: Default::default(),
        hooks,
        created_ms: world.now_ms,
        instances: Vec::new(),
        new_instances_protected_from_scale_in: p.bool("NewInstancesProtectedFromScaleIn")?.unwrap_or(false),
        tags: Default::default(),
        load_balancer_names: p.list("LoadBalancerNames")?,
    };
    for n in &group.load_balancer_names {
        if !world.classic.contains_key(n) {
            return Err(AwsError::validation(format!("Provided Load Balancers may not be valid. Please ensure they exist and try again. There is no ACTIVE Load Balancer named '{n}'")));
        }
    }
    world.groups.insert(name.clone(), group);
    let tags = tags_from(p, Some(&name))?;
    if let Some(g) = world.groups.get_mut(&name) {
        for (_, k, v, prop) in tags {
            g.tags.insert(k, (v, prop));
        }
    }
    world.tick(world.now_ms);
    Ok(None)
}

/// Tags as `(group, key, value, propagate)`; `default_group` fills a missing ResourceId.
fn tags_from(p: &Params, default_group: Option<&str>) -> Result<Vec<(String, String, String, bool)>, AwsError> {
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

fn tag_xml(x: &mut Xml, group: &str, key: &str, value: &str, propagate: bool) {
    x.leaf("ResourceId", group)
        .leaf("ResourceType", "auto-scaling-group")
        .leaf("Key", key)
        .leaf("Value", value)
        .leaf("PropagateAtLaunch", propagate);
}

fn describe_tags(world: &mut World, p: &Params) -> Outcome {
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
                .map(|(k, (v, pr))| (g.name.clone(), k.clone(), v.clone(), *pr))
        })
        .filter(|(_, k, v, _)| (keys.is_empty() || keys.contains(k)) && (values.is_empty() || values.contains(v)))
        .collect();
    x.list("Tags", &rows, |x, (g, k, v, pr)| tag_xml(x, g, k, v, *pr));
    Ok(Some(x.finish()))
}

/// Subnets have no EC2 API here: `subnet-…` ids map onto the region's zones by their position.
fn subnets_to_azs(world: &World, vpc: &str) -> Vec<String> {
    let mut azs: Vec<String> = Vec::new();
    for (i, _) in vpc.split(',').filter(|s| !s.trim().is_empty()).enumerate() {
        let az = format!("{}{}", world.region, (b'a' + (i % 6) as u8) as char);
        if !azs.contains(&az) {
            azs.push(az);
        }
    }
    azs
}

fn hook_from(h: &Params) -> Result<LifecycleHook, AwsError> {
    let name = h.req("LifecycleHookName")?.to_string();
    let transition = h.req("LifecycleTransition")?.to_string();
    if transition != "autoscaling:EC2_INSTANCE_LAUNCHING" && transition != "autoscaling:EC2_INSTANCE_TERMINATING" {
        return Err(AwsError::validation(format!(
            "Invalid Lifecycle Transition: {transition}. Valid values are autoscaling:EC2_INSTANCE_LAUNCHING and autoscaling:EC2_INSTANCE_TERMINATING."
        )));
    }
    let default_result = h.opt("DefaultResult").unwrap_or("ABANDON").to_string();
    if default_result != "CONTINUE" && default_result != "ABANDON" {
        return Err(AwsError::validation(format!(
            "Value '{default_result}' for DefaultResult is invalid: valid values are CONTINUE and ABANDON."
        )));
    }
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

fn put_hook(world: &mut World, p: &Params) -> Outcome {
    let group = p.req("AutoScalingGroupName")?.to_string();
    world.group(&group)?;
    let name = p.req("LifecycleHookName")?.to_string();
    let existing = world.group(&group)?.hooks.get(&name).cloned();
    let mut merged = p.clone();
    if let Some(e) = existing {
        merged.0.entry("LifecycleTransition".into()).or_insert(e.transition);
        merged
            .0
            .entry("HeartbeatTimeout".into())
            .or_insert(e.heartbeat_timeout_s.to_string());
        merged.0.entry("DefaultResult".into()).or_insert(e.default_result);
    }
    let hook = hook_from(&merged)?;
    world.group_mut(&group)?.hooks.insert(name, hook);
    Ok(Some(String::new()))
}

fn describe_hooks(world: &mut World, p: &Params) -> Outcome {
    let g = world.group(p.req("AutoScalingGroupName")?)?;
    let names = p.list("LifecycleHookNames")?;
    let mut x = Xml::new();
    x.list(
        "LifecycleHooks",
        g.hooks.values().filter(|h| names.is_empty() || names.contains(&h.name)),
        |x, h| {
            x.leaf("LifecycleHookName", &h.name)
                .leaf("AutoScalingGroupName", &g.name)
                .leaf("LifecycleTransition", &h.transition)
                .opt_leaf("NotificationTargetARN", h.notification_target_arn.as_ref())
                .opt_leaf("RoleARN", h.role_arn.as_ref())
                .opt_leaf("NotificationMetadata", h.notification_metadata.as_ref())
                .leaf("HeartbeatTimeout", h.heartbeat_timeout_s)
                .leaf("GlobalTimeout", (h.heartbeat_timeout_s * 100).min(172_800))
                .leaf("DefaultResult", &h.default_result);
        },
    );
    Ok(Some(x.finish()))
}

fn update_group(world: &mut World, p: &Params) -> Outcome {
    let name = p.req("AutoScalingGroupName")?.to_string();
    let g = world.group(&name)?.clone();
    let min = size(p, "MinSize")?;
    let max = size(p, "MaxSize")?;
    let desired_in = size(p, "DesiredCapacity")?;
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
    if let Some(h) = p.opt("HealthCheckType") {
        if !["EC2", "ELB", "VPC_LATTICE", "EBS"].contains(&h) {
            return Err(AwsError::validation(format!(
                "Value '{h}' for HealthCheckType is invalid."
            )));
        }
    }
    let grace = p.int("HealthCheckGracePeriod")?;
    let gm = world.group_mut(&name)?;
    gm.min = new_min;
    gm.max = new_max;
    gm.desired = new_desired;
    if !azs.is_empty() {
        gm.availability_zones = azs;
    }
    if let Some(v) = p.opt("VPCZoneIdentifier") {
        gm.vpc_zone_identifier = v.to_string();
    }
    if let Some(h) = p.opt("HealthCheckType") {
        gm.health_check_type = h.to_string();
    }
    if let Some(gr) = grace {
        gm.health_check_grace_period_s = gr;
    }
    if let Some(t) = p.opt("LaunchTemplate.LaunchTemplateName") {
        gm.launch_template = Some(t.to_string());
    }
    if let Some(b) = p.bool("NewInstancesProtectedFromScaleIn")? {
        gm.new_instances_protected_from_scale_in = b;
    }
    world.tick(world.now_ms);
    Ok(None)
}

fn describe_groups(world: &mut World, p: &Params) -> Outcome {
    let max_records = p.int_in("MaxRecords", 1, 100)?.unwrap_or(50) as usize;
    // "By default, you can only specify up to 50 names", more with MaxRecords (at most 100).
    let names = p.list_max("AutoScalingGroupNames", max_records.max(50))?;
    let start: usize = match p.opt("NextToken") {
        None | Some("") => 0,
        Some(t) => t
            .parse()
            .map_err(|_| AwsError::new(400, "InvalidNextToken", "The token provided is not valid."))?,
    };
    let all: Vec<&Group> = world
        .groups
        .values()
        .filter(|g| names.is_empty() || names.contains(&g.name))
        .collect();
    let page: Vec<&Group> = all.iter().skip(start).take(max_records).copied().collect();
    let mut x = Xml::new();
    x.list("AutoScalingGroups", page, |x, g| group_xml(x, world, g));
    if start + max_records < all.len() {
        x.leaf("NextToken", start + max_records);
    }
    Ok(Some(x.finish()))
}

fn group_xml(x: &mut Xml, world: &World, g: &Group) {
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
        .leaf("HealthCheckType", &g.health_check_type)
        .leaf("HealthCheckGracePeriod", g.health_check_grace_period_s);
    x.list(
        "Instances",
        g.instances.iter().filter_map(|id| world.instances.get(id)),
        |x, i| {
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
        },
    );
    x.leaf("CreatedTime", iso(g.created_ms));
    x.list("SuspendedProcesses", &g.suspended, |x, (name, reason)| {
        x.leaf("ProcessName", name).leaf("SuspensionReason", reason);
    });
    x.leaf("VPCZoneIdentifier", &g.vpc_zone_identifier)
        .list("EnabledMetrics", Vec::<String>::new(), |_, _| {})
        .list("Tags", &g.tags, |x, (k, (v, pr))| tag_xml(x, &g.name, k, v, *pr))
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
}

fn describe_instances(world: &mut World, p: &Params) -> Outcome {
    let ids = p.list("InstanceIds")?;
    if ids.len() > 50 {
        return Err(AwsError::validation(
            "The number of instance ids that may be passed in is limited to 50.",
        ));
    }
    let max_records = p.int_in("MaxRecords", 1, 50)?.unwrap_or(50) as usize;
    let start: usize = match p.opt("NextToken") {
        None | Some("") => 0,
        Some(t) => t
            .parse()
            .map_err(|_| AwsError::new(400, "InvalidNextToken", "The token provided is not valid."))?,
    };
    let all: Vec<&Instance> = world
        .instances
        .values()
        .filter(|i| i.group.is_some() && i.lifecycle != Lifecycle::Terminated)
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

fn activity(x: &mut Xml, world: &World, a: &Activity) {
    let arn = world.groups.get(&a.group).map(|g| g.arn.clone());
    x.leaf("ActivityId", &a.id)
        .leaf("AutoScalingGroupName", &a.group)
        .leaf("Description", &a.description)
        .leaf("Cause", &a.cause)
        .leaf("StartTime", iso(a.start_ms))
        .opt_leaf("EndTime", a.end_ms.map(iso))
        .leaf("StatusCode", &a.status)
        .leaf("Progress", a.progress)
        .leaf("Details", "{}")
        .opt_leaf("AutoScalingGroupARN", arn);
}

fn activities(world: &World, ids: &[String]) -> String {
    let mut x = Xml::new();
    let acts: Vec<Activity> = ids
        .iter()
        .filter_map(|id| world.activities.iter().find(|a| &a.id == id).cloned())
        .collect();
    x.list("Activities", &acts, |x, a| activity(x, world, a));
    x.finish()
}

fn describe_activities(world: &mut World, p: &Params) -> Outcome {
    let group = p.opt("AutoScalingGroupName");
    let ids = p.list("ActivityIds")?;
    let max_records = p.int_in("MaxRecords", 1, 100)?.unwrap_or(100) as usize;
    let start: usize = match p.opt("NextToken") {
        None | Some("") => 0,
        Some(t) => t
            .parse()
            .map_err(|_| AwsError::new(400, "InvalidNextToken", "The token provided is not valid."))?,
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
