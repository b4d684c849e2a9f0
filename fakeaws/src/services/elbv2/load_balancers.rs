//! ELBv2 load balancers and their listeners (default actions).

use super::*;

pub(super) fn create_lb(world: &mut World, p: &Params) -> Outcome {
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

pub(super) fn lb_xml(x: &mut Xml, l: &LoadBalancer) {
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

pub(super) fn describe_lbs(world: &mut World, p: &Params) -> Outcome {
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

pub(super) fn actions_from(world: &World, p: &Params) -> Result<Vec<Action>, AwsError> {
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

pub(super) fn create_listener(world: &mut World, p: &Params) -> Outcome {
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

pub(super) fn listener_xml(x: &mut Xml, l: &Listener) {
    x.leaf("ListenerArn", &l.arn)
        .leaf("LoadBalancerArn", &l.load_balancer_arn)
        .leaf("Port", l.port)
        .leaf("Protocol", &l.protocol)
        .list("DefaultActions", &l.actions, |x, a| {
            x.leaf("Type", &a.kind)
                .opt_leaf("TargetGroupArn", a.target_group_arn.as_ref());
        });
}

pub(super) fn describe_listeners(world: &mut World, p: &Params) -> Outcome {
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

pub(super) fn modify_listener(world: &mut World, p: &Params) -> Outcome {
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
