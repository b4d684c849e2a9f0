//! Typed requests of the Classic ELB actions that world files make too (CreateLoadBalancer,
//! ConfigureHealthCheck, ModifyLoadBalancerAttributes): decoded once from a Query request, built
//! directly by `spec::apply`; the operations in `ops.rs` check their values and change the world.

use crate::protocol::error::AwsError;
use crate::protocol::query::Params;

/// One of CreateLoadBalancer's `Listeners`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListenerInput {
    pub protocol: Option<String>,
    pub instance_protocol: Option<String>,
    pub load_balancer_port: Option<i64>,
    pub instance_port: Option<i64>,
}

/// CreateLoadBalancer (Classic).
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateClassic {
    pub name: String,
    pub listeners: Vec<ListenerInput>,
    pub availability_zones: Vec<String>,
    pub subnets: Vec<String>,
}

/// ConfigureHealthCheck.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigureHealthCheck {
    pub name: String,
    pub target: Option<String>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
    pub healthy_threshold: Option<i64>,
}

/// ModifyLoadBalancerAttributes (those the fake models).
#[derive(Debug, Clone, Default)]
pub(crate) struct ModifyAttributes {
    pub name: String,
    pub draining_enabled: Option<bool>,
    pub draining_timeout: Option<i64>,
    pub cross_zone: Option<bool>,
    pub idle_timeout: Option<i64>,
}

impl CreateClassic {
    pub(crate) fn decode(p: &Params) -> Result<CreateClassic, AwsError> {
        Ok(CreateClassic {
            name: p.req("LoadBalancerName")?.to_string(),
            listeners: p
                .structs("Listeners")?
                .iter()
                .map(|l| {
                    Ok(ListenerInput {
                        protocol: l.opt("Protocol").map(str::to_string),
                        instance_protocol: l.opt("InstanceProtocol").map(str::to_string),
                        load_balancer_port: l.int("LoadBalancerPort")?,
                        instance_port: l.int("InstancePort")?,
                    })
                })
                .collect::<Result<_, AwsError>>()?,
            availability_zones: p.list("AvailabilityZones")?,
            subnets: p.list("Subnets")?,
        })
    }
}

impl ConfigureHealthCheck {
    pub(crate) fn decode(p: &Params) -> Result<ConfigureHealthCheck, AwsError> {
        let h = p.sub("HealthCheck");
        Ok(ConfigureHealthCheck {
            name: p.req("LoadBalancerName")?.to_string(),
            target: h.opt("Target").map(str::to_string),
            interval: h.int("Interval")?,
            timeout: h.int("Timeout")?,
            unhealthy_threshold: h.int("UnhealthyThreshold")?,
            healthy_threshold: h.int("HealthyThreshold")?,
        })
    }
}

impl ModifyAttributes {
    pub(crate) fn decode(p: &Params) -> Result<ModifyAttributes, AwsError> {
        let a = p.sub("LoadBalancerAttributes");
        Ok(ModifyAttributes {
            name: p.req("LoadBalancerName")?.to_string(),
            draining_enabled: a.bool("ConnectionDraining.Enabled")?,
            draining_timeout: a.int("ConnectionDraining.Timeout")?,
            cross_zone: a.bool("CrossZoneLoadBalancing.Enabled")?,
            idle_timeout: a.int("ConnectionSettings.IdleTimeout")?,
        })
    }
}
