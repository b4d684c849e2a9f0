//! The Classic ELB operations world files share with the API: a load balancer created, its
//! health check configured, its attributes changed, each request's values checked as AWS does.

use super::inputs::{ConfigureHealthCheck, CreateClassic, ModifyAttributes};
use super::lb;
use crate::model::{ClassicHealthCheck, ClassicLb, ClassicListener};
use crate::protocol::error::AwsError;
use crate::protocol::query::in_range;
use crate::world::World;

/// CreateLoadBalancer; the same name with the same listeners answers the existing one.
pub(crate) fn create_classic(world: &mut World, c: &CreateClassic) -> Result<ClassicLb, AwsError> {
    let name = c.name.clone();
    if name.len() > 32 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AwsError::validation(format!(
            "LoadBalancerName '{name}' must be 1-32 alphanumeric characters or hyphens"
        )));
    }
    let mut listeners = Vec::new();
    for l in &c.listeners {
        let protocol = l
            .protocol
            .as_deref()
            .ok_or_else(|| AwsError::missing("Protocol"))?
            .to_uppercase();
        let port = |key: &str, v: Option<i64>| in_range(key, v, 1, 65535)?.ok_or_else(|| AwsError::missing(key));
        listeners.push(ClassicListener {
            instance_protocol: l
                .instance_protocol
                .as_deref()
                .map(str::to_uppercase)
                .unwrap_or_else(|| protocol.clone()),
            protocol,
            port: port("LoadBalancerPort", l.load_balancer_port)?,
            instance_port: port("InstancePort", l.instance_port)?,
        });
    }
    if listeners.is_empty() {
        return Err(AwsError::missing("Listeners"));
    }
    let mut azs = c.availability_zones.clone();
    for (i, _) in c.subnets.iter().enumerate() {
        azs.push(format!("{}{}", world.region, (b'a' + (i % 6) as u8) as char));
    }
    if azs.is_empty() {
        return Err(AwsError::validation(
            "Either AvailabilityZones or Subnets must be specified",
        ));
    }
    if let Some(existing) = world.classic.get(&name) {
        if existing.listeners != listeners {
            return Err(AwsError::new(
                400,
                "DuplicateLoadBalancerName",
                format!("Load balancer name '{name}' already exists"),
            ));
        }
        return Ok(existing.clone());
    }
    let port = listeners[0].instance_port;
    let dns_name = format!(
        "{name}-{}.{}.elb.amazonaws.com",
        world.next_rand() % 1_000_000_000,
        world.region
    );
    world.add_classic(ClassicLb {
        dns_name,
        name: name.clone(),
        created_ms: world.now_ms,
        availability_zones: azs,
        listeners,
        health_check: ClassicHealthCheck {
            target: format!("TCP:{port}"),
            interval_s: 30,
            timeout_s: 5,
            unhealthy_threshold: 2,
            healthy_threshold: 10,
        },
        members: Vec::new(),
        draining_enabled: false,
        draining_timeout_s: 300,
        cross_zone: false,
        idle_timeout_s: 60,
    });
    Ok(lb(world, &name)?.clone())
}

/// ConfigureHealthCheck: every field required, in AWS's ranges, the timeout under the interval.
pub(crate) fn configure_health_check(
    world: &mut World,
    c: &ConfigureHealthCheck,
) -> Result<ClassicHealthCheck, AwsError> {
    lb(world, &c.name)?;
    let target = c
        .target
        .clone()
        .ok_or_else(|| AwsError::missing("HealthCheck.Target"))?;
    let field = |key: &str, v: Option<i64>, min: i64, max: i64| {
        in_range(key, v, min, max)?.ok_or_else(|| AwsError::missing(&format!("HealthCheck.{key}")))
    };
    let hc = ClassicHealthCheck {
        interval_s: field("Interval", c.interval, 5, 300)?,
        timeout_s: field("Timeout", c.timeout, 2, 60)?,
        unhealthy_threshold: field("UnhealthyThreshold", c.unhealthy_threshold, 2, 10)?,
        healthy_threshold: field("HealthyThreshold", c.healthy_threshold, 2, 10)?,
        target,
    };
    if hc.timeout_s >= hc.interval_s {
        return Err(AwsError::validation("HealthCheck Timeout must be less than Interval"));
    }
    world.modify_classic(&c.name, |l| l.health_check = hc.clone())?;
    Ok(hc)
}

/// ModifyLoadBalancerAttributes: connection draining, cross-zone, idle timeout.
pub(crate) fn modify_attributes(world: &mut World, m: &ModifyAttributes) -> Result<(), AwsError> {
    lb(world, &m.name)?;
    let timeout = in_range("ConnectionDraining.Timeout", m.draining_timeout, 1, 3600)?;
    let idle = in_range("ConnectionSettings.IdleTimeout", m.idle_timeout, 1, 4000)?;
    world.modify_classic(&m.name, |l| {
        if let Some(e) = m.draining_enabled {
            l.draining_enabled = e;
        }
        if let Some(t) = timeout {
            l.draining_timeout_s = t;
        }
        if let Some(c) = m.cross_zone {
            l.cross_zone = c;
        }
        if let Some(i) = idle {
            l.idle_timeout_s = i;
        }
    })
}
