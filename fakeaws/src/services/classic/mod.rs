//! The Classic Elastic Load Balancing Query API (Version 2012-06-01): load balancers, instance
//! registration, instance health on the simulated clock, health check and connection draining.

use crate::clock::iso;
use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::services::table::{Action, Change, Resource, Service, Unknown};
use crate::world::World;

pub(crate) mod inputs;
mod ops;

pub(crate) use ops::{configure_health_check, create_classic, modify_attributes};

/// The Classic ELB XML namespace.
pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/";

fn not_found(name: &str) -> AwsError {
    AwsError::classic_not_found(name)
}

fn lb<'a>(world: &'a World, name: &str) -> Result<&'a ClassicLb, AwsError> {
    world.classic.get(name).ok_or_else(|| not_found(name))
}

fn instance_ids(world: &World, p: &Params) -> Result<Vec<String>, AwsError> {
    let mut ids = Vec::new();
    for i in p.structs("Instances")? {
        let id = i.req("InstanceId")?.to_string();
        if world
            .instances
            .get(&id)
            .is_none_or(|x| x.lifecycle == Lifecycle::Terminated)
        {
            return Err(AwsError::new(
                400,
                "InvalidInstance",
                format!("EC2 instance {id} is not valid or does not exist"),
            ));
        }
        ids.push(id);
    }
    Ok(ids)
}

fn instances_xml(x: &mut Xml, lb: &ClassicLb) {
    x.list(
        "Instances",
        lb.members.iter().filter(|m| m.draining_until_ms.is_none()),
        |x, m| {
            x.leaf("InstanceId", &m.id);
        },
    );
}

/// Classic Elastic Load Balancing (Query, 2012-06-01).
pub(crate) const SERVICE: Service<Params, Option<String>> = Service {
    signing_name: "elasticloadbalancing",
    version: "2012-06-01",
    namespace: NAMESPACE,
    title: "Classic Elastic Load Balancing",
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
            let lb = create_classic(world, &inputs::CreateClassic::decode(p)?)?;
            let mut x = Xml::new();
            x.leaf("DNSName", &lb.dns_name);
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "DescribeLoadBalancers",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| {
            let names = p.list("LoadBalancerNames")?;
            for n in &names {
                lb(world, n)?;
            }
            let mut x = Xml::new();
            x.list(
                "LoadBalancerDescriptions",
                world
                    .classic
                    .values()
                    .filter(|l| names.is_empty() || names.contains(&l.name)),
                |x, l| {
                    x.leaf("LoadBalancerName", &l.name).leaf("DNSName", &l.dns_name).list(
                        "ListenerDescriptions",
                        &l.listeners,
                        |x, li| {
                            x.elem("Listener", |x| {
                                x.leaf("Protocol", &li.protocol)
                                    .leaf("LoadBalancerPort", li.port)
                                    .leaf("InstanceProtocol", &li.instance_protocol)
                                    .leaf("InstancePort", li.instance_port);
                            })
                            .str_list("PolicyNames", Vec::<String>::new());
                        },
                    );
                    instances_xml(x, l);
                    x.str_list("AvailabilityZones", &l.availability_zones)
                        .elem("HealthCheck", |x| {
                            let h = &l.health_check;
                            x.leaf("Target", &h.target)
                                .leaf("Interval", h.interval_s)
                                .leaf("Timeout", h.timeout_s)
                                .leaf("UnhealthyThreshold", h.unhealthy_threshold)
                                .leaf("HealthyThreshold", h.healthy_threshold);
                        });
                    x.leaf("CreatedTime", iso(l.created_ms))
                        .leaf("Scheme", "internet-facing");
                },
            );
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "DeleteLoadBalancer",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            world.delete_classic(p.req("LoadBalancerName")?);
            Ok(Some(String::new()))
        },
    },
    Action {
        name: "RegisterInstancesWithLoadBalancer",
        changes: Change::Fleet,
        resource: Resource::ClassicNamed("LoadBalancerName"),
        handler: |world, p| {
            let name = p.req("LoadBalancerName")?.to_string();
            lb(world, &name)?;
            for id in instance_ids(world, p)? {
                world.classic_register(&name, &id);
            }
            let mut x = Xml::new();
            instances_xml(&mut x, lb(world, &name)?);
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "DeregisterInstancesFromLoadBalancer",
        changes: Change::Fleet,
        resource: Resource::ClassicNamed("LoadBalancerName"),
        handler: |world, p| {
            let name = p.req("LoadBalancerName")?.to_string();
            lb(world, &name)?;
            for id in instance_ids(world, p)? {
                world.classic_deregister(&name, &id);
            }
            world.tick(world.now_ms);
            let mut x = Xml::new();
            instances_xml(&mut x, lb(world, &name)?);
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "DescribeInstanceHealth",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| {
            let name = p.req("LoadBalancerName")?.to_string();
            let l = lb(world, &name)?.clone();
            let asked = instance_ids(world, p)?;
            let ids: Vec<String> = if asked.is_empty() {
                l.members.iter().map(|m| m.id.clone()).collect()
            } else {
                asked
            };
            let mut x = Xml::new();
            x.list("InstanceStates", ids, |x, id| {
                let (state, code, desc) = match l.members.iter().find(|m| m.id == id) {
                    None => (
                        "OutOfService",
                        "Instance",
                        "Instance is not currently registered with the LoadBalancer.",
                    ),
                    Some(m) if m.draining_until_ms.is_some() => {
                        ("InService", "N/A", "Instance deregistration currently in progress.")
                    }
                    Some(m) if m.in_service => ("InService", "N/A", "N/A"),
                    Some(m) if !m.checked => ("OutOfService", "ELB", "Instance registration is still in progress."),
                    Some(_) => (
                        "OutOfService",
                        "Instance",
                        "Instance has failed at least the UnhealthyThreshold number of health checks consecutively.",
                    ),
                };
                x.leaf("InstanceId", &id)
                    .leaf("State", state)
                    .leaf("ReasonCode", code)
                    .leaf("Description", desc);
            });
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "ConfigureHealthCheck",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            let hc = configure_health_check(world, &inputs::ConfigureHealthCheck::decode(p)?)?;
            let mut x = Xml::new();
            x.elem("HealthCheck", |x| {
                x.leaf("Target", &hc.target)
                    .leaf("Interval", hc.interval_s)
                    .leaf("Timeout", hc.timeout_s)
                    .leaf("UnhealthyThreshold", hc.unhealthy_threshold)
                    .leaf("HealthyThreshold", hc.healthy_threshold);
            });
            Ok(Some(x.finish()))
        },
    },
    Action {
        name: "DescribeLoadBalancerAttributes",
        changes: Change::Nothing,
        resource: Resource::Any,
        handler: |world, p| {
            let l = lb(world, p.req("LoadBalancerName")?)?;
            Ok(Some(attributes(l)))
        },
    },
    Action {
        name: "ModifyLoadBalancerAttributes",
        changes: Change::Fleet,
        resource: Resource::Any,
        handler: |world, p| {
            let m = inputs::ModifyAttributes::decode(p)?;
            modify_attributes(world, &m)?;
            let mut x = Xml::new();
            x.leaf("LoadBalancerName", &m.name);
            let body = attributes(lb(world, &m.name)?);
            Ok(Some(format!("{}{body}", x.finish())))
        },
    },
];

fn attributes(l: &ClassicLb) -> String {
    let mut x = Xml::new();
    x.elem("LoadBalancerAttributes", |x| {
        x.elem("CrossZoneLoadBalancing", |x| {
            x.leaf("Enabled", l.cross_zone);
        })
        .elem("AccessLog", |x| {
            x.leaf("Enabled", false);
        })
        .elem("ConnectionDraining", |x| {
            x.leaf("Enabled", l.draining_enabled)
                .leaf("Timeout", l.draining_timeout_s);
        })
        .elem("ConnectionSettings", |x| {
            x.leaf("IdleTimeout", l.idle_timeout_s);
        });
    });
    x.finish()
}
