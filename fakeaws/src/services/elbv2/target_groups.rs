//! ELBv2 target groups: creation, description, health-check settings and attributes.

use super::check_name;
use crate::model::Algorithm;
use crate::model::HealthCheck;
use crate::model::TargetGroup;
use crate::model::TargetGroupAttributes;
use crate::protocol::error::AwsError;
use crate::protocol::query::{in_range, Params};
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::elbv2::inputs::{CreateTargetGroup, HealthCheckInput, ModifyTargetGroupAttributes};
use crate::services::elbv2::lb_not_found;
use crate::services::elbv2::tg;
use crate::world::World;
use std::collections::BTreeMap;
/// Health-check settings: those given, else `base`'s (ModifyTargetGroup), else the protocol's
/// defaults; checked against AWS's ranges.
pub(super) fn health_check_from(
    h: &HealthCheckInput,
    protocol: &str,
    base: Option<&HealthCheck>,
) -> Result<HealthCheck, AwsError> {
    let network = protocol == "TCP" || protocol == "UDP" || protocol == "TLS";
    let hc = HealthCheck {
        protocol: h
            .protocol
            .clone()
            .or(base.map(|b| b.protocol.clone()))
            .unwrap_or_else(|| if network { "TCP".into() } else { protocol.to_string() }),
        port: h
            .port
            .clone()
            .or(base.map(|b| b.port.clone()))
            .unwrap_or_else(|| "traffic-port".into()),
        path: h
            .path
            .clone()
            .or(base.and_then(|b| b.path.clone()))
            .or(if network { None } else { Some("/".into()) }),
        interval_s: in_range("HealthCheckIntervalSeconds", h.interval, 5, 300)?
            .or(base.map(|b| b.interval_s))
            .unwrap_or(30),
        timeout_s: in_range("HealthCheckTimeoutSeconds", h.timeout, 2, 120)?
            .or(base.map(|b| b.timeout_s))
            .unwrap_or(if network { 10 } else { 5 }),
        healthy_threshold: in_range("HealthyThresholdCount", h.healthy_threshold, 2, 10)?
            .or(base.map(|b| b.healthy_threshold))
            .unwrap_or(5),
        unhealthy_threshold: in_range("UnhealthyThresholdCount", h.unhealthy_threshold, 2, 10)?
            .or(base.map(|b| b.unhealthy_threshold))
            .unwrap_or(2),
        matcher: h
            .matcher
            .clone()
            .or(base.and_then(|b| b.matcher.clone()))
            .or(if network { None } else { Some("200".into()) }),
        enabled: h.enabled.or(base.map(|b| b.enabled)).unwrap_or(true),
    };
    if hc.timeout_s >= hc.interval_s {
        return Err(AwsError::validation(format!(
            "Health check interval '{}' must be greater than the timeout '{}'",
            hc.interval_s, hc.timeout_s
        )));
    }
    Ok(hc)
}

/// CreateTargetGroup; creating one again with the same settings answers the existing one.
pub(crate) fn create_tg(world: &mut World, c: &CreateTargetGroup) -> Result<TargetGroup, AwsError> {
    let name = c.name.clone();
    check_name("Target group", &name)?;
    let target_type = c.target_type.clone().unwrap_or_else(|| "instance".into());
    let protocol = c.protocol.clone().unwrap_or_else(|| "HTTP".into());
    if !["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"].contains(&protocol.as_str()) {
        return Err(AwsError::validation(format!(
            "Value '{protocol}' for Protocol is invalid."
        )));
    }
    let port = match (in_range("Port", c.port, 1, 65535)?, target_type.as_str()) {
        (Some(port), _) => port,
        (None, "lambda") => 0,
        (None, _) => return Err(AwsError::validation("A port must be specified")),
    };
    let hc = health_check_from(&c.health_check, &protocol, None)?;
    if let Some(existing) = world.target_groups.values().find(|t| t.name == name).cloned() {
        if existing.port == port && existing.protocol == protocol {
            return Ok(existing);
        }
        return Err(AwsError::new(
            400,
            "DuplicateTargetGroupName",
            "A target group with the same name exists, but with different settings",
        ));
    }
    let short = world.next_rand();
    let arn = world.arn("elasticloadbalancing", &format!("targetgroup/{name}/{short:016x}"));
    let t = TargetGroup {
        arn: arn.clone(),
        name,
        protocol: protocol.clone(),
        port,
        vpc_id: c.vpc_id.clone().unwrap_or_else(|| "vpc-0fakeaws00000001".into()),
        target_type,
        health_check: hc,
        attributes: TargetGroupAttributes::defaults(&protocol),
        targets: Vec::new(),
        created_ms: world.now_ms,
    };
    world.add_target_group(t.clone());
    super::tags::tag_new(world, &arn, &c.tags)?;
    Ok(t)
}

/// The answer of CreateTargetGroup and ModifyTargetGroup.
pub(super) fn tg_result(world: &World, t: &TargetGroup) -> Option<String> {
    let mut x = Xml::new();
    x.list("TargetGroups", [t], |x, t| tg_xml(x, world, t));
    Some(x.finish())
}

pub(super) fn tg_xml(x: &mut Xml, world: &World, t: &TargetGroup) {
    let hc = &t.health_check;
    x.leaf("TargetGroupArn", &t.arn)
        .leaf("TargetGroupName", &t.name)
        .leaf("Protocol", &t.protocol)
        .leaf("Port", t.port)
        .leaf("VpcId", &t.vpc_id)
        .leaf("HealthCheckProtocol", &hc.protocol)
        .leaf("HealthCheckPort", &hc.port)
        .leaf("HealthCheckEnabled", hc.enabled)
        .leaf("HealthCheckIntervalSeconds", hc.interval_s)
        .leaf("HealthCheckTimeoutSeconds", hc.timeout_s)
        .leaf("HealthyThresholdCount", hc.healthy_threshold)
        .leaf("UnhealthyThresholdCount", hc.unhealthy_threshold)
        .opt_leaf("HealthCheckPath", hc.path.as_ref());
    if let Some(m) = &hc.matcher {
        x.elem("Matcher", |x| {
            x.leaf("HttpCode", m);
        });
    }
    x.str_list("LoadBalancerArns", world.tg_load_balancers(&t.arn))
        .leaf("TargetType", &t.target_type)
        .leaf("IpAddressType", "ipv4");
}

pub(super) fn describe_tgs(world: &mut World, p: &Params) -> Outcome {
    let arns = p.list("TargetGroupArns")?;
    let names = p.list("Names")?;
    let lb = p.opt("LoadBalancerArn");
    let not_found = || AwsError::new(400, "TargetGroupNotFound", "One or more target groups not found");
    let mut out: Vec<&TargetGroup> = Vec::new();
    if let Some(lb) = lb {
        if !world.load_balancers.contains_key(lb) {
            return Err(lb_not_found());
        }
        out = world
            .target_groups
            .values()
            .filter(|t| world.tg_load_balancers(&t.arn).iter().any(|l| l == lb))
            .collect();
    } else if arns.is_empty() && names.is_empty() {
        out = world.target_groups.values().collect();
    } else {
        for a in &arns {
            out.push(world.target_groups.get(a).ok_or_else(not_found)?);
        }
        for n in &names {
            out.push(
                world
                    .target_groups
                    .values()
                    .find(|t| &t.name == n)
                    .ok_or_else(not_found)?,
            );
        }
    }
    let mut x = Xml::new();
    x.list("TargetGroups", out, |x, t| tg_xml(x, world, t));
    Ok(Some(x.finish()))
}

pub(super) fn modify_tg(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("TargetGroupArn")?.to_string();
    let t = tg(world, &arn)?.clone();
    let hc = health_check_from(&HealthCheckInput::decode(p)?, &t.protocol, Some(&t.health_check))?;
    world.set_target_group_health_check(&arn, hc);
    let t = tg(world, &arn)?;
    let mut x = Xml::new();
    x.list("TargetGroups", [t], |x, t| tg_xml(x, world, t));
    Ok(Some(x.finish()))
}

pub(super) fn attributes(attrs: &BTreeMap<String, String>) -> String {
    let mut x = Xml::new();
    x.list("Attributes", attrs, |x, (k, v)| {
        x.leaf("Key", k).leaf("Value", v);
    });
    x.finish()
}

/// ModifyTargetGroupAttributes: each key known and its value in range, applied together.
pub(crate) fn modify_tg_attributes(world: &mut World, m: &ModifyTargetGroupAttributes) -> Outcome {
    let arn = m.arn.clone();
    tg(world, &arn)?;
    let attrs = &m.attributes;
    if attrs.is_empty() {
        return Err(AwsError::missing("Attributes"));
    }
    let mut updates = Vec::new();
    for (key, value) in attrs {
        let key = key.clone().ok_or_else(|| AwsError::missing("Key"))?;
        let value = value.clone().unwrap_or_default();
        let int_range = |min: i64, max: i64| -> Result<(), AwsError> {
            match value.parse::<i64>() {
                Ok(v) if (min..=max).contains(&v) => Ok(()),
                _ => Err(AwsError::new(
                    400,
                    "InvalidConfigurationRequest",
                    format!("The value of '{key}' must be an integer between {min} and {max}, not '{value}'"),
                )),
            }
        };
        match key.as_str() {
            "deregistration_delay.timeout_seconds" => int_range(0, 3600)?,
            "slow_start.duration_seconds" => {
                // 30 to 900 seconds, or 0 (off).
                if value != "0" {
                    int_range(30, 900)?;
                }
            }
            "stickiness.lb_cookie.duration_seconds" => int_range(1, 604_800)?,
            "stickiness.enabled"
            | "deregistration_delay.connection_termination.enabled"
            | "preserve_client_ip.enabled"
            | "proxy_protocol_v2.enabled" => {
                if value != "true" && value != "false" {
                    return Err(AwsError::new(
                        400,
                        "InvalidConfigurationRequest",
                        format!("The value of '{key}' must be 'true' or 'false', not '{value}'"),
                    ));
                }
            }
            "load_balancing.algorithm.type" => {
                if Algorithm::parse(&value).is_none() {
                    let valid: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
                    return Err(AwsError::new(
                        400,
                        "InvalidConfigurationRequest",
                        format!(
                            "The value of '{key}' must be one of {}, not '{value}'",
                            valid.join(", ")
                        ),
                    ));
                }
            }
            "stickiness.type"
            | "stickiness.app_cookie.cookie_name"
            | "stickiness.app_cookie.duration_seconds"
            | "load_balancing.cross_zone.enabled" => {}
            _ => {
                return Err(AwsError::validation(format!(
                    "Target group attribute key '{key}' is not recognized"
                )));
            }
        }
        updates.push((key, value));
    }
    let t = world
        .target_groups
        .get_mut(&arn)
        .ok_or_else(|| AwsError::validation("target group vanished"))?;
    let mut next = t.attributes.clone();
    for (k, v) in updates {
        next.set(&k, &v);
    }
    if next.slow_start_s > 0 && next.algorithm == Algorithm::LeastOutstandingRequests {
        return Err(AwsError::new(
            400,
            "InvalidConfigurationRequest",
            "Slow start mode cannot be enabled with the least outstanding requests algorithm",
        ));
    }
    t.attributes = next;
    Ok(Some(attributes(&t.attributes.pairs())))
}
