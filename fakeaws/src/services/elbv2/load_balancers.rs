//! ELBv2 load balancers.

use super::check_name;
use crate::clock::iso;
use crate::model::LoadBalancer;
use crate::model::LoadBalancerType;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::elbv2::inputs::CreateLoadBalancer;
use crate::services::elbv2::lb_not_found;
use crate::world::World;
/// CreateLoadBalancer; creating one again by name answers the existing one.
pub(crate) fn create_lb(world: &mut World, c: &CreateLoadBalancer) -> Result<LoadBalancer, AwsError> {
    let name = c.name.clone();
    check_name("Load balancer", &name)?;
    let kind = c.kind.unwrap_or(LoadBalancerType::Application);
    if let Some(existing) = world.load_balancers.values().find(|l| l.name == name).cloned() {
        return Ok(existing);
    }
    let azs: Vec<(String, String)> = c
        .subnets
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("{}{}", world.region, (b'a' + (i % 6) as u8) as char), s.clone()))
        .collect();
    if kind == LoadBalancerType::Application && azs.len() < 2 {
        return Err(AwsError::validation(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    let short = world.next_rand();
    let prefix = if kind == LoadBalancerType::Network {
        "net"
    } else {
        "app"
    };
    let arn = world.arn(
        "elasticloadbalancing",
        &format!("loadbalancer/{prefix}/{name}/{short:016x}"),
    );
    let lb = LoadBalancer {
        arn: arn.clone(),
        name: name.clone(),
        kind,
        scheme: c.scheme.clone().unwrap_or_else(|| "internet-facing".into()),
        availability_zones: azs,
        created_ms: world.now_ms,
        dns_name: format!("{name}-{}.{}.elb.amazonaws.com", short % 1_000_000_000, world.region),
        vpc_id: "vpc-0fakeaws00000001".to_string(),
    };
    world.add_load_balancer(lb.clone());
    super::tags::tag_new(world, &arn, &c.tags)?;
    Ok(lb)
}

/// The answer of CreateLoadBalancer.
pub(super) fn lb_result(lb: &LoadBalancer) -> Option<String> {
    let mut x = Xml::new();
    x.list("LoadBalancers", [lb], lb_xml);
    Some(x.finish())
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
        .leaf("Type", l.kind.as_str())
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
