//! ELBv2 listener rules: CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities.
//! The listener's default actions appear as its default rule (`IsDefault`, priority `default`).

use super::actions::{action_xml, check_actions, check_conditions, condition_xml, conditions, decode};
use crate::model::Condition;
use crate::model::Listener;
use crate::model::Rule;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::elbv2::inputs::CreateRule;
use crate::world::rules::RuleRef;
use crate::world::World;

fn rule_xml(x: &mut Xml, r: &Rule) {
    x.leaf("RuleArn", &r.arn)
        .leaf("Priority", r.priority)
        .list("Conditions", &r.conditions, condition_xml)
        .list("Actions", &r.actions, action_xml)
        .leaf("IsDefault", false);
}

fn default_rule_xml(x: &mut Xml, l: &Listener) {
    x.leaf("RuleArn", l.default_rule_arn())
        .leaf("Priority", "default")
        .list("Conditions", std::iter::empty::<&Condition>(), condition_xml)
        .list("Actions", &l.actions, action_xml)
        .leaf("IsDefault", true);
}

/// Writes the rule an ARN names, a listener's default rule included.
fn rule_by_arn_xml(world: &World, x: &mut Xml, arn: &str) -> Result<(), AwsError> {
    match world.find_rule(arn)? {
        RuleRef::Default { listener } => {
            if let Some(l) = world.listeners.get(&listener) {
                default_rule_xml(x, l);
            }
        }
        RuleRef::Rule { listener, priority } => {
            if let Some(r) = world
                .listeners
                .get(&listener)
                .and_then(|l| l.rules.iter().find(|r| r.priority == priority))
            {
                rule_xml(x, r);
            }
        }
    }
    Ok(())
}

fn rules_result(rules: &[Rule]) -> String {
    let mut x = Xml::new();
    x.list("Rules", rules, rule_xml);
    x.finish()
}

/// CreateRule.
pub(crate) fn create_rule(world: &mut World, c: &CreateRule) -> Result<Rule, AwsError> {
    let priority = c.priority.ok_or_else(|| AwsError::missing("Priority"))?;
    let conditions = c.conditions.clone().ok_or_else(|| AwsError::missing("Conditions"))?;
    check_conditions(&conditions)?;
    let mut actions = c.actions.clone();
    check_actions(world, &mut actions, "Actions")?;
    let rule = world.create_rule(&c.listener_arn, priority, conditions, actions)?;
    super::tags::tag_new(world, &rule.arn, &c.tags)?;
    Ok(rule)
}

/// The answer of CreateRule.
pub(super) fn rule_result(rule: &Rule) -> Option<String> {
    Some(rules_result(std::slice::from_ref(rule)))
}

pub(super) fn describe_rules(world: &mut World, p: &Params) -> Outcome {
    let listener = p.opt("ListenerArn");
    let arns = p.list_max("RuleArns", 20)?;
    if listener.is_some() != arns.is_empty() {
        return Err(AwsError::validation("You must specify either listener or rule ARNs"));
    }
    let page_size = p.int_in("PageSize", 1, 400)?.unwrap_or(400) as usize;
    let mut x = Xml::new();
    match listener {
        Some(arn) => {
            let l = world
                .listeners
                .get(arn)
                .ok_or_else(|| AwsError::listener_not_found(arn))?;
            let start: usize = match p.opt("Marker") {
                Some(m) => m
                    .parse()
                    .map_err(|_| AwsError::validation(format!("Invalid Marker '{m}'")))?,
                None => 0,
            };
            // Rules by priority, then the default rule last.
            let total = l.rules.len() + 1;
            let end = (start + page_size).min(total);
            x.open("Rules");
            for i in start..end {
                x.open("member");
                match l.rules.get(i) {
                    Some(r) => rule_xml(&mut x, r),
                    None => default_rule_xml(&mut x, l),
                }
                x.close("member");
            }
            x.close("Rules");
            if end < total {
                x.leaf("NextMarker", end);
            }
        }
        None => {
            x.open("Rules");
            for a in &arns {
                x.open("member");
                rule_by_arn_xml(world, &mut x, a)?;
                x.close("member");
            }
            x.close("Rules");
        }
    }
    Ok(Some(x.finish()))
}

pub(super) fn modify_rule(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("RuleArn")?.to_string();
    let conditions = if p.has_list("Conditions") {
        Some(conditions(p)?)
    } else {
        None
    };
    let actions = if p.has_list("Actions") {
        Some(decode(world, p, "Actions")?)
    } else {
        None
    };
    if conditions.as_ref().is_some_and(|c| c.is_empty()) {
        return Err(AwsError::validation("A rule must have at least one condition"));
    }
    if actions.as_ref().is_some_and(|a| a.is_empty()) {
        return Err(AwsError::validation("A rule must have at least one action"));
    }
    world.modify_rule(&arn, conditions, actions)?;
    let mut x = Xml::new();
    x.open("Rules").open("member");
    rule_by_arn_xml(world, &mut x, &arn)?;
    x.close("member").close("Rules");
    Ok(Some(x.finish()))
}

pub(super) fn delete_rule(world: &mut World, p: &Params) -> Outcome {
    world.delete_rule(p.req("RuleArn")?)?;
    Ok(Some(String::new()))
}

pub(super) fn set_rule_priorities(world: &mut World, p: &Params) -> Outcome {
    let mut changes = Vec::new();
    for s in p.structs("RulePriorities")? {
        let arn = s.req("RuleArn")?.to_string();
        let prio = s
            .int("Priority")?
            .ok_or_else(|| AwsError::missing("RulePriorities.member.N.Priority"))?;
        changes.push((arn, prio));
    }
    if changes.is_empty() {
        return Err(AwsError::missing("RulePriorities"));
    }
    let rules = world.set_rule_priorities(&changes)?;
    Ok(Some(rules_result(&rules)))
}
