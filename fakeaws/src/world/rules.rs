//! Listener rules and ELBv2 tags: creating, changing, reordering and deleting rules with ELBv2's
//! limits (priorities unique per listener in 1..50,000, at most [`MAX_RULES`] per load balancer),
//! and tags on load balancers, target groups, listeners and rules. Changes that start or stop a
//! target group's use by a listener restart its targets' health checks, as ELBv2 does.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::*;
use crate::protocol::error::AwsError;

use super::World;

/// Rules per Application Load Balancer, not counting default rules (the AWS default quota).
pub const MAX_RULES: usize = 100;
/// Tags per ELBv2 resource.
pub const MAX_TAGS: usize = 50;

/// A resource's tags, key and value.
pub type Tags = Vec<(String, String)>;

/// Where a rule ARN points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRef {
    /// A listener's default rule.
    Default { listener: String },
    /// A rule of a listener.
    Rule { listener: String, priority: i64 },
}

fn rule_not_found() -> AwsError {
    AwsError::new(400, "RuleNotFound", "One or more rules not found")
}

fn priority_in_use(p: i64) -> AwsError {
    AwsError::new(400, "PriorityInUse", format!("Priority '{p}' is currently in use"))
}

/// Checks a priority is in 1..=50,000.
pub fn check_priority(p: i64, at: &str) -> Result<(), AwsError> {
    if (1..=50_000).contains(&p) {
        Ok(())
    } else {
        Err(AwsError::validation(format!(
            "1 validation error detected: Value '{p}' at '{at}' failed to satisfy constraint: Member must have value between 1 and 50000"
        )))
    }
}

impl World {
    /// Runs a change to listeners or rules, then restarts the health checks of every target group
    /// whose use by a listener started or stopped.
    pub fn change_routing<T>(&mut self, f: impl FnOnce(&mut World) -> Result<T, AwsError>) -> Result<T, AwsError> {
        let before: BTreeSet<String> = self
            .target_groups
            .keys()
            .filter(|a| self.tg_in_use(a))
            .cloned()
            .collect();
        let out = f(self)?;
        let changed: Vec<String> = self
            .target_groups
            .keys()
            .filter(|a| self.tg_in_use(a) != before.contains(*a))
            .cloned()
            .collect();
        for a in changed {
            self.restart_health_checks(&a);
        }
        Ok(out)
    }

    /// The listener and rule an ARN names.
    pub fn find_rule(&self, arn: &str) -> Result<RuleRef, AwsError> {
        for l in self.listeners.values() {
            if l.default_rule_arn() == arn {
                return Ok(RuleRef::Default {
                    listener: l.arn.clone(),
                });
            }
            if let Some(r) = l.rules.iter().find(|r| r.arn == arn) {
                return Ok(RuleRef::Rule {
                    listener: l.arn.clone(),
                    priority: r.priority,
                });
            }
        }
        Err(rule_not_found())
    }

    fn listener_mut(&mut self, arn: &str) -> Result<&mut Listener, AwsError> {
        self.listeners
            .get_mut(arn)
            .ok_or_else(|| AwsError::listener_not_found(arn))
    }

    /// Adds a rule to a listener.
    pub fn create_rule(
        &mut self,
        listener_arn: &str,
        priority: i64,
        conditions: Vec<Condition>,
        actions: Vec<Action>,
    ) -> Result<Rule, AwsError> {
        check_priority(priority, "priority")?;
        let l = self
            .listeners
            .get(listener_arn)
            .ok_or_else(|| AwsError::listener_not_found(listener_arn))?;
        let lb = self.load_balancers.get(&l.load_balancer_arn);
        if lb.is_some_and(|lb| lb.kind != LoadBalancerType::Application) {
            return Err(AwsError::new(
                400,
                "InvalidLoadBalancerAction",
                "Rules are supported only by listeners of Application Load Balancers",
            ));
        }
        if l.rules.iter().any(|r| r.priority == priority) {
            return Err(priority_in_use(priority));
        }
        let lb_arn = l.load_balancer_arn.clone();
        let on_lb: usize = self
            .listeners
            .values()
            .filter(|o| o.load_balancer_arn == lb_arn)
            .map(|o| o.rules.len())
            .sum();
        if on_lb >= MAX_RULES {
            return Err(AwsError::new(
                400,
                "TooManyRules",
                format!("You've reached the limit on the number of rules per load balancer ({MAX_RULES})"),
            ));
        }
        if conditions.is_empty() {
            return Err(AwsError::validation("A rule must have at least one condition"));
        }
        if actions.is_empty() {
            return Err(AwsError::validation("A rule must have at least one action"));
        }
        self.check_association(&lb_arn, &actions)?;
        let short = self.next_rand();
        let arn = format!(
            "{}/{short:016x}",
            listener_arn.replacen(":listener/", ":listener-rule/", 1)
        );
        let rule = Rule {
            arn,
            priority,
            conditions,
            actions,
        };
        let out = rule.clone();
        self.change_routing(|w| {
            let l = w.listener_mut(listener_arn)?;
            l.rules.push(rule);
            l.rules.sort_by_key(|r| r.priority);
            Ok(())
        })?;
        Ok(out)
    }

    /// Replaces a rule's conditions and/or actions (the default rule's actions only).
    pub fn modify_rule(
        &mut self,
        arn: &str,
        conditions: Option<Vec<Condition>>,
        actions: Option<Vec<Action>>,
    ) -> Result<(), AwsError> {
        let found = self.find_rule(arn)?;
        if let Some(a) = &actions {
            let listener = match &found {
                RuleRef::Default { listener } | RuleRef::Rule { listener, .. } => listener,
            };
            let lb = self.listener_mut(listener)?.load_balancer_arn.clone();
            self.check_association(&lb, a)?;
        }
        match found {
            RuleRef::Default { listener } => {
                if conditions.is_some() {
                    return Err(AwsError::new(
                        400,
                        "OperationNotPermitted",
                        "The conditions of a default rule cannot be modified",
                    ));
                }
                self.change_routing(|w| {
                    if let Some(a) = actions {
                        w.listener_mut(&listener)?.actions = a;
                    }
                    Ok(())
                })
            }
            RuleRef::Rule { listener, priority } => self.change_routing(|w| {
                let l = w.listener_mut(&listener)?;
                let r = l
                    .rules
                    .iter_mut()
                    .find(|r| r.priority == priority)
                    .ok_or_else(rule_not_found)?;
                if let Some(c) = conditions {
                    r.conditions = c;
                }
                if let Some(a) = actions {
                    r.actions = a;
                }
                Ok(())
            }),
        }
    }

    /// Deletes a rule (not a default rule).
    pub fn delete_rule(&mut self, arn: &str) -> Result<(), AwsError> {
        match self.find_rule(arn)? {
            RuleRef::Default { .. } => Err(AwsError::new(
                400,
                "OperationNotPermitted",
                format!("Default rule '{arn}' cannot be deleted"),
            )),
            RuleRef::Rule { listener, .. } => {
                self.change_routing(|w| {
                    w.listener_mut(&listener)?.rules.retain(|r| r.arn != arn);
                    Ok(())
                })?;
                self.elb_tags.remove(arn);
                Ok(())
            }
        }
    }

    /// Sets several rules' priorities at once (all or nothing). Returns the rules, changed.
    pub fn set_rule_priorities(&mut self, changes: &[(String, i64)]) -> Result<Vec<Rule>, AwsError> {
        let mut by_listener: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        for (i, (arn, p)) in changes.iter().enumerate() {
            check_priority(*p, &format!("rulePriorities.{}.member.priority", i + 1))?;
            match self.find_rule(arn)? {
                RuleRef::Default { .. } => {
                    return Err(AwsError::new(
                        400,
                        "OperationNotPermitted",
                        format!("The priority of default rule '{arn}' cannot be changed"),
                    ))
                }
                RuleRef::Rule { listener, .. } => by_listener.entry(listener).or_default().push((arn.clone(), *p)),
            }
        }
        let mut next = self.listeners.clone();
        let mut out = Vec::new();
        for (listener, list) in by_listener {
            let Some(l) = next.get_mut(&listener) else { continue };
            for (arn, p) in &list {
                if let Some(r) = l.rules.iter_mut().find(|r| &r.arn == arn) {
                    r.priority = *p;
                }
            }
            let mut seen = BTreeSet::new();
            for r in &l.rules {
                if !seen.insert(r.priority) {
                    return Err(priority_in_use(r.priority));
                }
            }
            l.rules.sort_by_key(|r| r.priority);
            out.extend(
                l.rules
                    .iter()
                    .filter(|r| list.iter().any(|(a, _)| a == &r.arn))
                    .cloned(),
            );
        }
        self.listeners = next;
        Ok(out)
    }

    /// What kind of ELBv2 resource an ARN names, if it exists.
    fn elb_resource_exists(&self, arn: &str) -> Result<(), AwsError> {
        let found = if arn.contains(":loadbalancer/") {
            self.load_balancers.contains_key(arn)
        } else if arn.contains(":targetgroup/") {
            self.target_groups.contains_key(arn)
        } else if arn.contains(":listener-rule/") {
            self.find_rule(arn).is_ok()
        } else if arn.contains(":listener/") {
            self.listeners.contains_key(arn)
        } else {
            return Err(AwsError::validation(format!(
                "'{arn}' is not a valid ELBv2 resource ARN"
            )));
        };
        if found {
            return Ok(());
        }
        Err(if arn.contains(":loadbalancer/") {
            AwsError::load_balancers_not_found()
        } else if arn.contains(":targetgroup/") {
            AwsError::target_group_not_found(arn)
        } else if arn.contains(":listener-rule/") {
            rule_not_found()
        } else {
            AwsError::listener_not_found(arn)
        })
    }

    /// Adds or overwrites tags on resources (all must exist; at most [`MAX_TAGS`] each).
    pub fn add_elb_tags(&mut self, arns: &[String], tags: &[(String, String)]) -> Result<(), AwsError> {
        for a in arns {
            self.elb_resource_exists(a)?;
            let mut keys: BTreeSet<&str> = self
                .elb_tags
                .get(a)
                .map(|t| t.keys().map(String::as_str).collect())
                .unwrap_or_default();
            keys.extend(tags.iter().map(|(k, _)| k.as_str()));
            if keys.len() > MAX_TAGS {
                return Err(AwsError::new(
                    400,
                    "TooManyTags",
                    format!("You've reached the limit on the number of tags for resource '{a}' ({MAX_TAGS})"),
                ));
            }
        }
        for a in arns {
            let t = self.elb_tags.entry(a.clone()).or_default();
            for (k, v) in tags {
                t.insert(k.clone(), v.clone());
            }
        }
        Ok(())
    }

    /// Removes tag keys from resources.
    pub fn remove_elb_tags(&mut self, arns: &[String], keys: &[String]) -> Result<(), AwsError> {
        for a in arns {
            self.elb_resource_exists(a)?;
        }
        for a in arns {
            if let Some(t) = self.elb_tags.get_mut(a) {
                t.retain(|k, _| !keys.contains(k));
            }
        }
        Ok(())
    }

    /// The tags of each resource, in the order asked.
    pub fn elb_tags_of(&self, arns: &[String]) -> Result<Vec<(String, Tags)>, AwsError> {
        arns.iter()
            .map(|a| {
                self.elb_resource_exists(a)?;
                let tags = self
                    .elb_tags
                    .get(a)
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                Ok((a.clone(), tags))
            })
            .collect()
    }
}
