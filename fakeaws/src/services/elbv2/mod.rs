//! The Elastic Load Balancing v2 Query API (Version 2015-12-01): load balancers, target groups,
//! listeners and their rules, tags, targets and their health, in the shapes botocore and the Rust SDK expect.

mod actions;
mod listeners;
mod load_balancers;
mod rules;
mod tags;
mod target_groups;
mod targets;

use std::collections::BTreeMap;

use crate::clock::iso;
use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::world::World;
use listeners::*;
use load_balancers::*;
use rules::*;
use tags::*;
use target_groups::*;
use targets::*;

/// The ELBv2 XML namespace.
pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

/// Runs one ELBv2 action.
pub fn handle(world: &mut World, action: &str, p: &Params) -> Outcome {
    match action {
        "CreateLoadBalancer" => create_lb(world, p),
        "DescribeLoadBalancers" => describe_lbs(world, p),
        "DeleteLoadBalancer" => {
            world.delete_load_balancer(p.req("LoadBalancerArn")?)?;
            Ok(Some(String::new()))
        }
        "CreateTargetGroup" => create_tg(world, p),
        "DescribeTargetGroups" => describe_tgs(world, p),
        "ModifyTargetGroup" => modify_tg(world, p),
        "DeleteTargetGroup" => {
            world.delete_target_group(p.req("TargetGroupArn")?)?;
            Ok(Some(String::new()))
        }
        "DescribeTargetGroupAttributes" => {
            let tg = tg(world, p.req("TargetGroupArn")?)?;
            Ok(Some(attributes(&tg.attributes.pairs())))
        }
        "ModifyTargetGroupAttributes" => modify_tg_attributes(world, p),
        "RegisterTargets" => register_targets(world, p),
        "DeregisterTargets" => deregister_targets(world, p),
        "DescribeTargetHealth" => describe_target_health(world, p),
        "CreateListener" => create_listener(world, p),
        "DescribeListeners" => describe_listeners(world, p),
        "ModifyListener" => modify_listener(world, p),
        "DeleteListener" => delete_listener(world, p),
        "CreateRule" => create_rule(world, p),
        "DescribeRules" => describe_rules(world, p),
        "ModifyRule" => modify_rule(world, p),
        "DeleteRule" => delete_rule(world, p),
        "SetRulePriorities" => set_rule_priorities(world, p),
        "AddTags" => add_tags(world, p),
        "RemoveTags" => remove_tags(world, p),
        "DescribeTags" => describe_tags(world, p),
        other => Err(AwsError::new(
            400,
            "InvalidAction",
            format!("The action {other} is not valid for this web service (Elastic Load Balancing v2, 2015-12-01), or fakeaws does not implement it."),
        )),
    }
}

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
