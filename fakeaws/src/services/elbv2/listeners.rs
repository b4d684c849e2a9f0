//! ELBv2 listeners: their ports, protocols and default actions.

use super::actions::{action_xml, check_actions, decode};
use crate::model::Listener;
use crate::protocol::error::AwsError;
use crate::protocol::query::{in_range, Params};
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::elbv2::inputs::CreateListener;
use crate::services::elbv2::lb_not_found;
use crate::world::World;

/// CreateListener; the same listener again answers the existing one.
pub(crate) fn create_listener(world: &mut World, c: &CreateListener) -> Result<Listener, AwsError> {
    let lb = c.load_balancer_arn.clone();
    if !world.load_balancers.contains_key(&lb) {
        return Err(lb_not_found());
    }
    let port = in_range("Port", c.port, 1, 65535)?.ok_or_else(|| AwsError::missing("Port"))?;
    let protocol = c.protocol.clone().unwrap_or_else(|| "HTTP".into());
    let mut actions = c.default_actions.clone();
    check_actions(world, &mut actions, "DefaultActions")?;
    if actions.is_empty() {
        return Err(AwsError::missing("DefaultActions"));
    }
    if let Some(l) = world
        .listeners
        .values()
        .find(|l| l.load_balancer_arn == lb && l.port == port)
    {
        if l.actions == actions && l.protocol == protocol {
            return Ok(l.clone());
        }
        return Err(AwsError::new(
            400,
            "DuplicateListener",
            "A listener already exists on this port for this load balancer",
        ));
    }
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
        rules: Vec::new(),
    };
    world.add_listener(l.clone())?;
    super::tags::tag_new(world, &arn, &c.tags)?;
    Ok(l)
}

/// The answer of CreateListener.
pub(super) fn listener_result(l: &Listener) -> Option<String> {
    let mut x = Xml::new();
    x.list("Listeners", [l], listener_xml);
    Some(x.finish())
}

pub(super) fn listener_xml(x: &mut Xml, l: &Listener) {
    x.leaf("ListenerArn", &l.arn)
        .leaf("LoadBalancerArn", &l.load_balancer_arn)
        .leaf("Port", l.port)
        .leaf("Protocol", &l.protocol)
        .list("DefaultActions", &l.actions, action_xml);
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
        return Err(AwsError::listener_not_found(&arn));
    }
    let actions = decode(world, p, "DefaultActions")?;
    let port = p.int_in("Port", 1, 65535)?;
    let lb = world.listeners[&arn].load_balancer_arn.clone();
    world.check_association(&lb, &actions)?;
    let l = world.change_routing(|w| {
        let l = w
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
        Ok(l.clone())
    })?;
    let mut x = Xml::new();
    x.list("Listeners", [&l], listener_xml);
    Ok(Some(x.finish()))
}

pub(super) fn delete_listener(world: &mut World, p: &Params) -> Outcome {
    world.delete_listener(p.req("ListenerArn")?)?;
    Ok(Some(String::new()))
}
