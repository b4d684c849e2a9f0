//! The Auto Scaling Query API (Version 2011-01-01): decodes each action's parameters, calls the
//! world, writes the response in the shapes botocore and the Rust SDK expect.

mod activities;
mod groups;
pub(crate) mod inputs;
mod refresh;
mod scaling;
mod tags_and_hooks;
mod warm_pool;

use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::services::table::{Action, Change, Resource, Service, Unknown};
use activities::*;
use groups::*;
use inputs::lifecycle_result;

pub(crate) use groups::create_group;
pub(crate) use scaling::{put_policy, put_scheduled};
pub(crate) use tags_and_hooks::put_hook;
use tags_and_hooks::*;

/// The Auto Scaling XML namespace.
pub const NAMESPACE: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

/// Auto Scaling (Query, 2011-01-01): groups, instances, tags and hooks, activities, and (in
/// [`scaling`]) policies and scheduled actions, (in [`refresh`]) instance refreshes, (in
/// [`warm_pool`]) warm pools.
pub(crate) const SERVICE: Service<Params, Option<String>> = Service {
    signing_name: "autoscaling",
    version: "2011-01-01",
    namespace: NAMESPACE,
    title: "Auto Scaling",
    unknown: Unknown::InvalidAction,
    actions: &[ACTIONS, scaling::ACTIONS, refresh::ACTIONS, warm_pool::ACTIONS],
};

/// Every action of this table: name, whether it changes the world, IAM resource, handler.
pub(crate) const ACTIONS: &[Action<Params, Option<String>>] = &[
    Action {
        name: "CreateAutoScalingGroup",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            create_group(world, &inputs::CreateGroup::decode(p)?)?;
            Ok(None)
        },
    },
    Action {
        name: "DescribeAutoScalingGroups",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_groups(world, p),
    },
    Action {
        name: "UpdateAutoScalingGroup",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| update_group(world, p),
    },
    Action {
        name: "DeleteAutoScalingGroup",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let name = p.req("AutoScalingGroupName")?;
            world.delete_group(name, p.bool("ForceDelete")?.unwrap_or(false))?;
            Ok(None)
        },
    },
    Action {
        name: "DescribeAutoScalingInstances",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_instances(world, p),
    },
    Action {
        name: "SetDesiredCapacity",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let desired = size("DesiredCapacity", p.int("DesiredCapacity")?)?
                .ok_or_else(|| AwsError::missing("DesiredCapacity"))?;
            world.set_desired(p.req("AutoScalingGroupName")?, desired)?;
            Ok(None)
        },
    },
    Action {
        name: "TerminateInstanceInAutoScalingGroup",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let id = p.req("InstanceId")?;
            let decrement = p
                .bool("ShouldDecrementDesiredCapacity")?
                .ok_or_else(|| AwsError::missing("ShouldDecrementDesiredCapacity"))?;
            let act = world.terminate_in_group(id, decrement)?;
            let mut x = Xml::new();
            let a = world.activities.iter().find(|a| a.id == act).cloned();
            if let Some(a) = a {
                x.elem("Activity", |x| activity(x, world, &a));
            }
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "SetInstanceHealth",
        changes: Change::Fleet,
        resource: Resource::GroupOfInstance("InstanceId"),
        handler: |world, p| {
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
            world.set_instance_health(id, healthy, respect)?;
            Ok(None)
        },
    },
    Action {
        name: "EnterStandby",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let group = p.req("AutoScalingGroupName")?.to_string();
            let ids = p.list_max("InstanceIds", 20)?;
            let decrement = p
                .bool("ShouldDecrementDesiredCapacity")?
                .ok_or_else(|| AwsError::missing("ShouldDecrementDesiredCapacity"))?;
            let acts = world.enter_standby(&group, &ids, decrement)?;
            Ok(Some(activities(world, &acts)))
        },
    },
    Action {
        name: "ExitStandby",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let group = p.req("AutoScalingGroupName")?.to_string();
            let ids = p.list_max("InstanceIds", 20)?;
            let acts = world.exit_standby(&group, &ids)?;
            Ok(Some(activities(world, &acts)))
        },
    },
    Action {
        name: "SetInstanceProtection",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let group = p.req("AutoScalingGroupName")?.to_string();
            let ids = p.list_max("InstanceIds", 50)?;
            if ids.is_empty() {
                return Err(AwsError::missing("InstanceIds"));
            }
            let protect = p
                .bool("ProtectedFromScaleIn")?
                .ok_or_else(|| AwsError::missing("ProtectedFromScaleIn"))?;
            world.set_instance_protection(&group, &ids, protect)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "SuspendProcesses",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let i = inputs::Processes::decode(p)?;
            world.suspend(&i.group, &i.processes)?;
            Ok(None)
        },
    },
    Action {
        name: "ResumeProcesses",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let i = inputs::Processes::decode(p)?;
            world.resume(&i.group, &i.processes)?;
            Ok(None)
        },
    },
    Action {
        name: "DescribeScalingActivities",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_activities(world, p),
    },
    Action {
        name: "AttachLoadBalancerTargetGroups",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let arns = p.list_max("TargetGroupARNs", 10)?;
            world.attach_target_groups(p.req("AutoScalingGroupName")?, &arns)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "DetachLoadBalancerTargetGroups",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let arns = p.list_max("TargetGroupARNs", 10)?;
            world.detach_target_groups(p.req("AutoScalingGroupName")?, &arns)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "DescribeLoadBalancerTargetGroups",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| {
            let g = world.group(p.req("AutoScalingGroupName")?)?;
            let mut x = Xml::new();
            x.list("LoadBalancerTargetGroups", &g.target_groups, |x, arn| {
                x.leaf("LoadBalancerTargetGroupARN", arn).leaf("State", "InService");
            });
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "DescribeLoadBalancers",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| {
            let g = world.group(p.req("AutoScalingGroupName")?)?;
            let mut x = Xml::new();
            x.list("LoadBalancers", &g.load_balancer_names, |x, n| {
                x.leaf("LoadBalancerName", n).leaf("State", "InService");
            });
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "AttachLoadBalancers",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let names = p.list_max("LoadBalancerNames", 10)?;
            world.attach_load_balancers(p.req("AutoScalingGroupName")?, &names)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "DetachLoadBalancers",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let names = p.list_max("LoadBalancerNames", 10)?;
            world.detach_load_balancers(p.req("AutoScalingGroupName")?, &names)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "PutLifecycleHook",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            put_hook(world, &inputs::Hook::decode(p)?)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "CreateOrUpdateTags",
        changes: Change::Tags,
        resource: Resource::GroupNamed("Tags.member.1.ResourceId"),
        handler: |world, p| {
            let tags = tags_from(p, None)?;
            if tags.is_empty() {
                return Err(AwsError::missing("Tags"));
            }
            for (g, k, v, pr) in tags {
                let tag = Tag {
                    value: v,
                    propagate_at_launch: pr,
                };
                world.put_tag(&g, &k, tag)?;
            }
            Ok(None)
        },
    },
    Action {
        name: "DeleteTags",
        changes: Change::Tags,
        resource: Resource::GroupNamed("Tags.member.1.ResourceId"),
        handler: |world, p| {
            for (g, k, _, _) in tags_from(p, None)? {
                world.delete_tag(&g, &k)?;
            }
            Ok(None)
        },
    },
    Action {
        name: "DescribeTags",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_tags(world, p),
    },
    Action {
        name: "DescribeLifecycleHooks",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_hooks(world, p),
    },
    Action {
        name: "DeleteLifecycleHook",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            world.delete_lifecycle_hook(p.req("AutoScalingGroupName")?, p.req("LifecycleHookName")?)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "CompleteLifecycleAction",
        changes: Change::Fleet,
        resource: Resource::GroupNamed("AutoScalingGroupName"),
        handler: |world, p| {
            let group = p.req("AutoScalingGroupName")?;
            let hook = p.req("LifecycleHookName")?;
            p.req("LifecycleActionResult")?;
            let result = lifecycle_result(p, "LifecycleActionResult")?.unwrap_or(LifecycleResult::Abandon);
            let id = world.find_hook_wait(group, hook, p.opt("LifecycleActionToken"), p.opt("InstanceId"))?;
            world.lifecycle_result(&id, result);
            world.tick(world.now_ms);
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "RecordLifecycleActionHeartbeat",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            let group = p.req("AutoScalingGroupName")?;
            let hook = p.req("LifecycleHookName")?;
            let id = world.find_hook_wait(group, hook, p.opt("LifecycleActionToken"), p.opt("InstanceId"))?;
            world.heartbeat(&id);
            Ok(Some(String::new()))
        },
    },
];
