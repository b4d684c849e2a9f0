//! The Auto Scaling Query API (Version 2011-01-01): decodes each action's parameters, calls the
//! world, writes the response in the shapes botocore and the Rust SDK expect.

mod activities;
mod groups;
mod tags_and_hooks;

use crate::clock::iso;
use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
pub use crate::protocol::Outcome;
use crate::world::World;
use activities::*;
use groups::*;
use tags_and_hooks::*;

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
            world.set_instance_health(id, healthy, respect)?;
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
        "SetInstanceProtection" => {
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
        }
        "SuspendProcesses" => {
            world.suspend(p.req("AutoScalingGroupName")?, &processes(p)?)?;
            Ok(None)
        }
        "ResumeProcesses" => {
            world.resume(p.req("AutoScalingGroupName")?, &processes(p)?)?;
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
            world.attach_load_balancers(p.req("AutoScalingGroupName")?, &names)?;
            Ok(Some(String::new()))
        }
        "DetachLoadBalancers" => {
            let names = p.list_max("LoadBalancerNames", 10)?;
            world.detach_load_balancers(p.req("AutoScalingGroupName")?, &names)?;
            Ok(Some(String::new()))
        }
        "PutLifecycleHook" => put_hook(world, p),
        "CreateOrUpdateTags" => {
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
        }
        "DeleteTags" => {
            for (g, k, _, _) in tags_from(p, None)? {
                world.delete_tag(&g, &k)?;
            }
            Ok(None)
        }
        "DescribeTags" => describe_tags(world, p),
        "DescribeLifecycleHooks" => describe_hooks(world, p),
        "DeleteLifecycleHook" => {
            world.delete_lifecycle_hook(p.req("AutoScalingGroupName")?, p.req("LifecycleHookName")?)?;
            Ok(Some(String::new()))
        }
        "CompleteLifecycleAction" => {
            let group = p.req("AutoScalingGroupName")?;
            let hook = p.req("LifecycleHookName")?;
            p.req("LifecycleActionResult")?;
            let result = lifecycle_result(p, "LifecycleActionResult")?.unwrap_or(LifecycleResult::Abandon);
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

/// `ScalingProcesses`, each a process Auto Scaling knows (none: all of them).
fn processes(p: &Params) -> Result<Vec<Process>, AwsError> {
    // The order AWS names them in its error.
    const NAMED: [Process; 9] = [
        Process::Launch,
        Process::Terminate,
        Process::AddToLoadBalancer,
        Process::AlarmNotification,
        Process::AzRebalance,
        Process::HealthCheck,
        Process::InstanceRefresh,
        Process::ReplaceUnhealthy,
        Process::ScheduledActions,
    ];
    p.list("ScalingProcesses")?
        .iter()
        .map(|n| {
            Process::parse(n).ok_or_else(|| {
                let valid: Vec<&str> = NAMED.iter().map(|p| p.as_str()).collect();
                AwsError::validation(format!(
                    "Invalid scaling process name: {n}. Valid names are {}.",
                    valid.join(", ")
                ))
            })
        })
        .collect()
}
