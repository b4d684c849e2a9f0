//! The Elastic Load Balancing v2 Query API (Version 2015-12-01): load balancers, target groups,
//! listeners, targets and their health, in the shapes botocore and the Rust SDK expect.

use std::collections::BTreeMap;

use crate::clock::iso;
use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::world::World;

/// The ELBv2 XML namespace.
pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

/// Runs one ELBv2 action.
pub fn handle(world: &mut World, action: &str, p: &Params) -> Outcome {
    match action {
        "CreateLoadBalancer" => create_lb(world, p),
        "DescribeLoadBalancers" => describe_lbs(world, p),
        "DeleteLoadBalancer" => {
            let arn = p.req("LoadBalancerArn")?;
            if world.load_balancers.remove(arn).is_some() {
                world.listeners.retain(|_, l| l.load_balancer_arn != arn);
            }
            Ok(Some(String::new()))
        }
        "CreateTargetGroup" => create_tg(world, p),
        "DescribeTargetGroups" => describe_tgs(world, p),
        "ModifyTargetGroup" => modify_tg(world, p),
        "DeleteTargetGroup" => {
            let arn = p.req("TargetGroupArn")?.to_string();
            if world.tg_in_use(&arn) {
                return Err(AwsError::new(
                    400,
                    "ResourceInUse",
                    format!("Target group '{arn}' is currently in use by a listener or a rule"),
                ));
            }
            world.target_groups.remove(&arn);
            for g in world.groups.values_mut() {
                g.target_groups.retain(|a| a != &arn);
            }
            Ok(Some(String::new()))
        }
        "DescribeTargetGroupAttributes" => {
            let tg = tg(world, p.req("TargetGroupArn")?)?;
            Ok(Some(attributes(&tg.attributes)))
        }
        "ModifyTargetGroupAttributes" => modify_tg_attributes(world, p),
        "RegisterTargets" => register_targets(world, p),
        "DeregisterTargets" => deregister_targets(world, p),
        "DescribeTargetHealth" => describe_target_health(world, p),
        "CreateListener" => create_listener(world, p),
        "DescribeListeners" => describe_listeners(world, p),
        "ModifyListener" => modify_listener(world, p),
        "DeleteListener" => {
            let arn = p.req("ListenerArn")?;
            let l = world
                .listeners
                .remove(arn)
                .ok_or_else(|| AwsError::new(400, "ListenerNotFound", format!("Listener '{arn}' not found")))?;
            for a in l.actions.iter().filter_map(|a| a.target_group_arn.clone()) {
                restart_health_checks(world, &a);
            }
            Ok(Some(String::new()))
        }
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
        .ok_or_else(|| AwsError::new(400, "TargetGroupNotFound", format!("Target groups '{arn}' not found")))
}

fn lb_not_found() -> AwsError {
    AwsError::new(400, "LoadBalancerNotFound", "One or more load balancers not found")
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

fn create_lb(world: &mut World, p: &Params) -> Outcome {
    let name = p.req("Name")?.to_string();
    check_name("Load balancer", &name)?;
    let kind = p.opt("Type").unwrap_or("application").to_string();
    if !["application", "network", "gateway"].contains(&kind.as_str()) {
        return Err(AwsError::validation(format!(
            "Value '{kind}' for Type is invalid: valid values are application, network and gateway."
        )));
    }
    if let Some(existing) = world.load_balancers.values().find(|l| l.name == name).cloned() {
        let mut x = Xml::new();
        x.list("LoadBalancers", [&existing], lb_xml);
        return Ok(Some(x.finish()));
    }
    let mut subnets = p.list("Subnets")?;
    for m in p.structs("SubnetMappings")? {
        subnets.push(m.req("SubnetId")?.to_string());
    }
    let azs: Vec<(String, String)> = subnets
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("{}{}", world.region, (b'a' + (i % 6) as u8) as char), s.clone()))
        .collect();
    if kind == "application" && azs.len() < 2 {
        return Err(AwsError::validation(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    let short = world.next_rand();
    let prefix = if kind == "network" { "net" } else { "app" };
    let arn = world.arn(
        "elasticloadbalancing",
        &format!("loadbalancer/{prefix}/{name}/{short:016x}"),
    );
    let lb = LoadBalancer {
        arn: arn.clone(),
        name: name.clone(),
        kind,
        scheme: p.opt("Scheme").unwrap_or("internet-facing").to_string(),
        availability_zones: azs,
        created_ms: world.now_ms,
        dns_name: format!("{name}-{}.{}.elb.amazonaws.com", short % 1_000_000_000, world.region),
        vpc_id: "vpc-0fakeaws00000001".to_string(),
    };
    world.load_balancers.insert(arn, lb.clone());
    let mut x = Xml::new();
    x.list("LoadBalancers", [&lb], lb_xml);
    Ok(Some(x.finish()))
}

fn lb_xml(x: &mut Xml, l: &LoadBalancer) {
    x.leaf("LoadBalancerArn", &l.arn)
        .leaf("DNSName", &l.dns_name)
        .leaf("CanonicalHostedZoneId", "Z35SXDOTRQ7X7K")
        .leaf("CreatedTime", iso(l.created_ms))
        .leaf("LoadBalancerName", &l.name)
        .leaf("Scheme", &l.scheme)
        .leaf("VpcId", &l.vpc_id)
        .elem("State", |x| {
            x.leaf("Code", "active");
        })
        .leaf("Type", &l.kind)
        .list("AvailabilityZones", &l.availability_zones, |x, (az, subnet)| {
            x.leaf("ZoneName", az).leaf("SubnetId", subnet);
        })
        .leaf("IpAddressType", "ipv4");
}

fn describe_lbs(world: &mut World, p: &Params) -> Outcome {
    let arns = p.list("LoadBalancerArns")?;
    let names = p.list("Names")?;
    let mut out: Vec<&LoadBalancer> = Vec::new();
    if arns.is_empty() && names.is_empty() {
        out = world.load_balancers.values().collect();
    } else {
        for a in &arns {
            out.push(world.load_balancers.get(a).ok_or_else(lb_not_found)?);
        }
        for n in &names {
            out.push(
                world
                    .load_balancers
                    .values()
                    .find(|l| &l.name == n)
                    .ok_or_else(lb_not_found)?,
            );
        }
    }
    let mut x = Xml::new();
    x.list("LoadBalancers", out, lb_xml);
    Ok(Some(x.finish()))
}

fn default_attributes(protocol: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("deregistration_delay.timeout_seconds".into(), "300".into());
    a.insert("stickiness.enabled".into(), "false".into());
    a.insert(
        "stickiness.type".into(),
        if protocol == "TCP" || protocol == "UDP" {
            "source_ip"
        } else {
            "lb_cookie"
        }
        .into(),
    );
    a.insert("load_balancing.algorithm.type".into(), "round_robin".into());
    a.insert("slow_start.duration_seconds".into(), "0".into());
    a.insert(
        "deregistration_delay.connection_termination.enabled".into(),
        "false".into(),
    );
    a
}

fn health_check_from(p: &Params, protocol: &str, base: Option<&HealthCheck>) -> Result<HealthCheck, AwsError> {
    let network = protocol == "TCP" || protocol == "UDP" || protocol == "TLS";
    let hc = HealthCheck {
        protocol: p
            .opt("HealthCheckProtocol")
            .map(str::to_string)
            .or(base.map(|b| b.protocol.clone()))
            .unwrap_or_else(|| if network { "TCP".into() } else { protocol.to_string() }),
        port: p
            .opt("HealthCheckPort")
            .map(str::to_string)
            .or(base.map(|b| b.port.clone()))
            .unwrap_or_else(|| "traffic-port".into()),
        path: p
            .opt("HealthCheckPath")
            .map(str::to_string)
            .or(base.and_then(|b| b.path.clone()))
            .or(if network { None } else { Some("/".into()) }),
        interval_s: p
            .int_in("HealthCheckIntervalSeconds", 5, 300)?
            .or(base.map(|b| b.interval_s))
            .unwrap_or(30),
        timeout_s: p
            .int_in("HealthCheckTimeoutSeconds", 2, 120)?
            .or(base.map(|b| b.timeout_s))
            .unwrap_or(if network { 10 } else { 5 }),
        healthy_threshold: p
            .int_in("HealthyThresholdCount", 2, 10)?
            .or(base.map(|b| b.healthy_threshold))
            .unwrap_or(5),
        unhealthy_threshold: p
            .int_in("UnhealthyThresholdCount", 2, 10)?
            .or(base.map(|b| b.unhealthy_threshold))
            .unwrap_or(2),
        matcher: p
            .opt("Matcher.HttpCode")
            .map(str::to_string)
            .or(base.and_then(|b| b.matcher.clone()))
            .or(if network { None } else { Some("200".into()) }),
        enabled: p
            .bool("HealthCheckEnabled")?
            .or(base.map(|b| b.enabled))
            .unwrap_or(true),
    };
    if hc.timeout_s >= hc.interval_s {
        return Err(AwsError::validation(format!(
            "Health check interval '{}' must be greater than the timeout '{}'",
            hc.interval_s, hc.timeout_s
        )));
    }
    Ok(hc)
}

fn create_tg(world: &mut World, p: &Params) -> Outcome {
    let name = p.req("Name")?.to_string();
    check_name("Target group", &name)?;
    let target_type = p.opt("TargetType").unwrap_or("instance").to_string();
    let protocol = p.opt("Protocol").unwrap_or("HTTP").to_string();
    if !["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"].contains(&protocol.as_str()) {
        return Err(AwsError::validation(format!(
            "Value '{protocol}' for Protocol is invalid."
        )));
    }
    let port = p.int_in("Port", 1, 65535)?;
    let port = match (port, target_type.as_str()) {
        (Some(port), _) => port,
        (None, "lambda") => 0,
        (None, _) => return Err(AwsError::validation("A port must be specified")),
    };
    let hc = health_check_from(p, &protocol, None)?;
    if let Some(existing) = world.target_groups.values().find(|t| t.name == name).cloned() {
        if existing.port == port && existing.protocol == protocol {
            let mut x = Xml::new();
            x.list("TargetGroups", [&existing], |x, t| tg_xml(x, world, t));
            return Ok(Some(x.finish()));
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
        vpc_id: p.opt("VpcId").unwrap_or("vpc-0fakeaws00000001").to_string(),
        target_type,
        health_check: hc,
        attributes: default_attributes(&protocol),
        targets: Vec::new(),
        created_ms: world.now_ms,
    };
    world.target_groups.insert(arn, t.clone());
    let mut x = Xml::new();
    x.list("TargetGroups", [&t], |x, t| tg_xml(x, world, t));
    Ok(Some(x.finish()))
}

fn tg_xml(x: &mut Xml, world: &World, t: &TargetGroup) {
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

fn describe_tgs(world: &mut World, p: &Params) -> Outcome {
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

fn modify_tg(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("TargetGroupArn")?.to_string();
    let t = tg(world, &arn)?.clone();
    let hc = health_check_from(p, &t.protocol, Some(&t.health_check))?;
    if let Some(tm) = world.target_groups.get_mut(&arn) {
        tm.health_check = hc;
    }
    let t = tg(world, &arn)?;
    let mut x = Xml::new();
    x.list("TargetGroups", [t], |x, t| tg_xml(x, world, t));
    Ok(Some(x.finish()))
}

fn attributes(attrs: &BTreeMap<String, String>) -> String {
    let mut x = Xml::new();
    x.list("Attributes", attrs, |x, (k, v)| {
        x.leaf("Key", k).leaf("Value", v);
    });
    x.finish()
}

fn modify_tg_attributes(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("TargetGroupArn")?.to_string();
    tg(world, &arn)?;
    let attrs = p.structs("Attributes")?;
    if attrs.is_empty() {
        return Err(AwsError::missing("Attributes"));
    }
    let mut updates = Vec::new();
    for a in &attrs {
        let key = a.req("Key")?.to_string();
        let value = a.opt("Value").unwrap_or_default().to_string();
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
            "slow_start.duration_seconds" => int_range(0, 900)?,
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
            "stickiness.type"
            | "load_balancing.algorithm.type"
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
    for (k, v) in updates {
        t.attributes.insert(k, v);
    }
    Ok(Some(attributes(&t.attributes)))
}

fn targets_of(p: &Params) -> Result<Vec<(String, Option<i64>)>, AwsError> {
    let mut out = Vec::new();
    for t in p.structs("Targets")? {
        let id = t.req("Id")?.to_string();
        let port = t.int_in("Port", 1, 65535)?;
        out.push((id, port));
    }
    Ok(out)
}

fn check_instances(world: &World, targets: &[(String, Option<i64>)]) -> Result<(), AwsError> {
    let bad: Vec<String> = targets
        .iter()
        .filter(|(id, _)| {
            world
                .instances
                .get(id)
                .is_none_or(|i| i.lifecycle == Lifecycle::Terminated)
        })
        .map(|(id, _)| format!("'{id}'"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(AwsError::new(
            400,
            "InvalidTarget",
            format!("The following targets are not valid instances: {}", bad.join(", ")),
        ))
    }
}

fn register_targets(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("TargetGroupArn")?.to_string();
    let port = tg(world, &arn)?.port;
    let targets = targets_of(p)?;
    if targets.is_empty() {
        return Err(AwsError::missing("Targets"));
    }
    check_instances(world, &targets)?;
    if targets.len() > 1000 {
        return Err(AwsError::new(
            400,
            "TooManyTargets",
            "You've reached the limit on the number of targets.",
        ));
    }
    for (id, p) in targets {
        world.register_target(&arn, &id, p.unwrap_or(port));
    }
    Ok(Some(String::new()))
}

fn deregister_targets(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("TargetGroupArn")?.to_string();
    let port = tg(world, &arn)?.port;
    let targets = targets_of(p)?;
    if targets.is_empty() {
        return Err(AwsError::missing("Targets"));
    }
    check_instances(world, &targets)?;
    for (id, p) in targets {
        world.deregister_target(&arn, &id, Some(p.unwrap_or(port)));
    }
    world.tick(world.now_ms);
    Ok(Some(String::new()))
}

fn describe_target_health(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("TargetGroupArn")?.to_string();
    let t = tg(world, &arn)?.clone();
    let asked = targets_of(p)?;
    check_instances(world, &asked)?;
    let mut rows: Vec<(String, i64, crate::world::Health)> = Vec::new();
    if asked.is_empty() {
        for target in &t.targets {
            rows.push((target.id.clone(), target.port, world.target_health(&t, target)));
        }
    } else {
        for (id, port) in &asked {
            let matches: Vec<&Target> = t
                .targets
                .iter()
                .filter(|x| &x.id == id && port.is_none_or(|p| p == x.port))
                .collect();
            if matches.is_empty() {
                rows.push((
                    id.clone(),
                    port.unwrap_or(t.port),
                    (
                        "unused".into(),
                        Some("Target.NotRegistered"),
                        Some("Target is not registered to the target group"),
                    ),
                ));
            }
            for m in matches {
                rows.push((m.id.clone(), m.port, world.target_health(&t, m)));
            }
        }
    }
    let mut x = Xml::new();
    x.list(
        "TargetHealthDescriptions",
        rows,
        |x, (id, port, (state, reason, desc))| {
            x.elem("Target", |x| {
                x.leaf("Id", &id).leaf("Port", port);
            });
            x.leaf(
                "HealthCheckPort",
                if t.health_check.port == "traffic-port" {
                    port.to_string()
                } else {
                    t.health_check.port.clone()
                },
            );
            x.elem("TargetHealth", |x| {
                x.leaf("State", &state)
                    .opt_leaf("Reason", reason)
                    .opt_leaf("Description", desc);
            });
        },
    );
    Ok(Some(x.finish()))
}

fn actions_from(world: &World, p: &Params) -> Result<Vec<Action>, AwsError> {
    let mut out = Vec::new();
    for a in p.structs("DefaultActions")? {
        let kind = a.req("Type")?.to_string();
        let mut arn = a.opt("TargetGroupArn").map(str::to_string);
        if arn.is_none() {
            arn = a
                .sub("ForwardConfig")
                .structs("TargetGroups")?
                .first()
                .and_then(|t| t.opt("TargetGroupArn").map(str::to_string));
        }
        if kind == "forward" {
            let Some(a) = &arn else {
                return Err(AwsError::validation("A forward action requires a target group"));
            };
            if !world.target_groups.contains_key(a) {
                return Err(AwsError::new(
                    400,
                    "TargetGroupNotFound",
                    format!("Target groups '{a}' not found"),
                ));
            }
        }
        out.push(Action {
            kind,
            target_group_arn: arn,
        });
    }
    Ok(out)
}

fn restart_health_checks(world: &mut World, tg_arn: &str) {
    let now = world.now_ms;
    if let Some(t) = world.target_groups.get_mut(tg_arn) {
        for target in t.targets.iter_mut().filter(|t| t.state != TargetState::Draining) {
            target.state = TargetState::Initial;
            target.registered_ms = now;
            target.streak_ms = now;
        }
    }
}

fn create_listener(world: &mut World, p: &Params) -> Outcome {
    let lb = p.req("LoadBalancerArn")?.to_string();
    if !world.load_balancers.contains_key(&lb) {
        return Err(lb_not_found());
    }
    let port = p.int_in("Port", 1, 65535)?.ok_or_else(|| AwsError::missing("Port"))?;
    let protocol = p.opt("Protocol").unwrap_or("HTTP").to_string();
    let actions = actions_from(world, p)?;
    if actions.is_empty() {
        return Err(AwsError::missing("DefaultActions"));
    }
    if let Some(l) = world
        .listeners
        .values()
        .find(|l| l.load_balancer_arn == lb && l.port == port)
    {
        if l.actions == actions && l.protocol == protocol {
            let l = l.clone();
            let mut x = Xml::new();
            x.list("Listeners", [&l], listener_xml);
            return Ok(Some(x.finish()));
        }
        return Err(AwsError::new(
            400,
            "DuplicateListener",
            "A listener already exists on this port for this load balancer",
        ));
    }
    let newly_used: Vec<String> = actions
        .iter()
        .filter_map(|a| a.target_group_arn.clone())
        .filter(|a| !world.tg_in_use(a))
        .collect();
    let lb_id = lb
        .rsplit_once("loadbalancer/")
        .map(|(_, r)| r.to_string())
        .unwrap_or_default();
    let short = world.next_rand();
    let arn = world.arn("elasticloadbalancing", &format!("listener/{lb_id}/{short:016x}"));
    let l = Listener {
        arn: arn.clone(),
        load_balancer_arn: lb,
        port,
        protocol,
        actions,
    };
    world.listeners.insert(arn, l.clone());
    for a in newly_used {
        restart_health_checks(world, &a);
    }
    let mut x = Xml::new();
    x.list("Listeners", [&l], listener_xml);
    Ok(Some(x.finish()))
}

fn listener_xml(x: &mut Xml, l: &Listener) {
    x.leaf("ListenerArn", &l.arn)
        .leaf("LoadBalancerArn", &l.load_balancer_arn)
        .leaf("Port", l.port)
        .leaf("Protocol", &l.protocol)
        .list("DefaultActions", &l.actions, |x, a| {
            x.leaf("Type", &a.kind)
                .opt_leaf("TargetGroupArn", a.target_group_arn.as_ref());
        });
}

fn describe_listeners(world: &mut World, p: &Params) -> Outcome {
    let lb = p.opt("LoadBalancerArn");
    let arns = p.list("ListenerArns")?;
    if lb.is_none() && arns.is_empty() {
        return Err(AwsError::validation(
            "You must specify either listener ARNs or a load balancer ARN",
        ));
    }
    if let Some(lb) = lb {
        if !world.load_balancers.contains_key(lb) {
            return Err(lb_not_found());
        }
    }
    for a in &arns {
        if !world.listeners.contains_key(a) {
            return Err(AwsError::new(
                400,
                "ListenerNotFound",
                format!("One or more listeners not found: {a}"),
            ));
        }
    }
    let out: Vec<&Listener> = world
        .listeners
        .values()
        .filter(|l| lb.is_none_or(|lb| l.load_balancer_arn == lb))
        .filter(|l| arns.is_empty() || arns.contains(&l.arn))
        .collect();
    let mut x = Xml::new();
    x.list("Listeners", out, listener_xml);
    Ok(Some(x.finish()))
}

fn modify_listener(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("ListenerArn")?.to_string();
    if !world.listeners.contains_key(&arn) {
        return Err(AwsError::new(
            400,
            "ListenerNotFound",
            format!("Listener '{arn}' not found"),
        ));
    }
    let actions = actions_from(world, p)?;
    let port = p.int_in("Port", 1, 65535)?;
    let newly_used: Vec<String> = actions
        .iter()
        .filter_map(|a| a.target_group_arn.clone())
        .filter(|a| !world.tg_in_use(a))
        .collect();
    let l = world
        .listeners
        .get_mut(&arn)
        .ok_or_else(|| AwsError::validation("listener vanished"))?;
    if let Some(port) = port {
        l.port = port;
    }
    if let Some(proto) = p.opt("Protocol") {
        l.protocol = proto.to_string();
    }
    if !actions.is_empty() {
        l.actions = actions;
    }
    let l = l.clone();
    for a in newly_used {
        restart_health_checks(world, &a);
    }
    let mut x = Xml::new();
    x.list("Listeners", [&l], listener_xml);
    Ok(Some(x.finish()))
}
