//! The Elastic Load Balancing v2 Query API (Version 2015-12-01): load balancers, target groups,
//! listeners and their rules, tags, targets and their health, in the shapes botocore and the Rust SDK expect.

mod actions;
pub(crate) mod inputs;
mod listeners;
mod load_balancers;
mod rules;
mod tags;
mod target_groups;
mod targets;

use crate::services::table::{Action, Change, Resource, Service, Unknown};

use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::world::World;
pub(crate) use listeners::create_listener;
use listeners::*;
pub(crate) use load_balancers::create_lb;
use load_balancers::*;
pub(crate) use rules::create_rule;
use rules::*;
use tags::*;
use target_groups::*;
pub(crate) use target_groups::{create_tg, modify_tg_attributes};
use targets::*;

/// The ELBv2 XML namespace.
pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

/// Elastic Load Balancing v2 (Query, 2015-12-01).
pub(crate) const SERVICE: Service<Params, Option<String>> = Service {
    signing_name: "elasticloadbalancing",
    version: "2015-12-01",
    namespace: NAMESPACE,
    title: "Elastic Load Balancing v2",
    unknown: Unknown::InvalidAction,
    actions: &[ACTIONS],
};

/// Every action of this table: name, whether it changes the world, IAM resource, handler.
pub(crate) const ACTIONS: &[Action<Params, Option<String>>] = &[
    Action {
        name: "CreateLoadBalancer",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            let lb = create_lb(world, &inputs::CreateLoadBalancer::decode(p)?)?;
            Ok(lb_result(&lb))
        },
    },
    Action {
        name: "DescribeLoadBalancers",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_lbs(world, p),
    },
    Action {
        name: "DeleteLoadBalancer",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            world.delete_load_balancer(p.req("LoadBalancerArn")?)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "CreateTargetGroup",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            let t = create_tg(world, &inputs::CreateTargetGroup::decode(p)?)?;
            Ok(tg_result(world, &t))
        },
    },
    Action {
        name: "DescribeTargetGroups",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_tgs(world, p),
    },
    Action {
        name: "ModifyTargetGroup",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| modify_tg(world, p),
    },
    Action {
        name: "DeleteTargetGroup",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            world.delete_target_group(p.req("TargetGroupArn")?)?;
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "DescribeTargetGroupAttributes",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| {
            let tg = tg(world, p.req("TargetGroupArn")?)?;
            Ok(Some(attributes(&tg.attributes.pairs())))
        },
    },
    Action {
        name: "ModifyTargetGroupAttributes",
        changes: Change::Fleet,
        resource: Resource::Arn(&["TargetGroupArn"]),
        handler: |world, p| modify_tg_attributes(world, &inputs::ModifyTargetGroupAttributes::decode(p)?),
    },
    Action {
        name: "RegisterTargets",
        changes: Change::Fleet,
        resource: Resource::Arn(&["TargetGroupArn"]),
        handler: |world, p| register_targets(world, p),
    },
    Action {
        name: "DeregisterTargets",
        changes: Change::Fleet,
        resource: Resource::Arn(&["TargetGroupArn"]),
        handler: |world, p| deregister_targets(world, p),
    },
    Action {
        name: "DescribeTargetHealth",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_target_health(world, p),
    },
    Action {
        name: "CreateListener",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            let l = create_listener(world, &inputs::CreateListener::decode(p)?)?;
            Ok(listener_result(&l))
        },
    },
    Action {
        name: "DescribeListeners",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_listeners(world, p),
    },
    Action {
        name: "ModifyListener",
        changes: Change::Fleet,
        resource: Resource::Arn(&["ListenerArn"]),
        handler: |world, p| modify_listener(world, p),
    },
    Action {
        name: "DeleteListener",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| delete_listener(world, p),
    },
    Action {
        name: "CreateRule",
        changes: Change::Fleet,
        resource: Resource::Arn(&["ListenerArn"]),
        handler: |world, p| {
            let rule = create_rule(world, &inputs::CreateRule::decode(p)?)?;
            Ok(rule_result(&rule))
        },
    },
    Action {
        name: "DescribeRules",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_rules(world, p),
    },
    Action {
        name: "ModifyRule",
        changes: Change::Fleet,
        resource: Resource::Arn(&["RuleArn"]),
        handler: |world, p| modify_rule(world, p),
    },
    Action {
        name: "DeleteRule",
        changes: Change::Fleet,
        resource: Resource::Arn(&["RuleArn"]),
        handler: |world, p| delete_rule(world, p),
    },
    Action {
        name: "SetRulePriorities",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| set_rule_priorities(world, p),
    },
    Action {
        name: "AddTags",
        changes: Change::Tags,
        resource: Resource::Arn(&["ResourceArns.member.1", "LoadBalancerNames.member.1"]),
        handler: |world, p| add_tags(world, p),
    },
    Action {
        name: "RemoveTags",
        changes: Change::Tags,
        resource: Resource::Arn(&["ResourceArns.member.1", "LoadBalancerNames.member.1"]),
        handler: |world, p| remove_tags(world, p),
    },
    Action {
        name: "DescribeTags",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| describe_tags(world, p),
    },
];

fn tg<'a>(world: &'a World, arn: &str) -> Result<&'a TargetGroup, AwsError> {
    world
        .target_groups
        .get(arn)
        .ok_or_else(|| AwsError::target_group_not_found(arn))
}

fn lb_not_found() -> AwsError {
    AwsError::load_balancers_not_found()
}

fn check_name(kind: &str, name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(AwsError::validation(format!(
            "{kind} name '{name}' can have a maximum of 32 characters, can contain only alphanumeric characters or hyphens, and must not begin or end with a hyphen"
        )))
    }
}
