//! Applying a world spec: each part as the typed request of the API call it stands for
//! (CreateTargetGroup, CreateLoadBalancer, CreateListener, CreateRule, CreateAutoScalingGroup ...),
//! through the operation the API's handler calls, so a spec is validated exactly as the
//! equivalent AWS calls would be. No Query strings are built.

use super::ListenerSpec;
use super::PolicySpec;
use super::WorldSpec;
use super::{ClassicSpec, GroupSpec, LoadBalancerSpec, TargetGroupSpec};
use crate::model::{Action, ActionKind, Condition, LifecycleTransition, LoadBalancerType, WeightedTarget};
use crate::protocol::error::AwsError;
use crate::services::autoscaling::{self, inputs};
use crate::services::{classic, elbv2};
use crate::world::scaling::{AdjustmentType, PolicyType};
use crate::world::World;

/// An error of `action`, named as the world file's equivalent call.
fn named(action: &str, e: AwsError) -> AwsError {
    AwsError {
        message: format!("{action}: {}", e.message),
        ..e
    }
}

/// Applies a spec to a world. Returns the ids of the stand-alone instances, in spec order.
pub fn apply(world: &mut World, spec: &WorldSpec) -> Result<Vec<String>, AwsError> {
    apply_identities(world, spec)?;
    let tg_arn = |world: &World, name: &str| -> Result<String, AwsError> {
        world
            .target_groups
            .values()
            .find(|t| t.name == name)
            .map(|t| t.arn.clone())
            .ok_or_else(|| AwsError::validation(format!("target group '{name}' is not defined in the world file")))
    };
    for tg in &spec.target_groups {
        apply_target_group(world, tg)?;
    }
    for lb in &spec.load_balancers {
        apply_load_balancer(world, lb, &tg_arn)?;
    }
    for c in &spec.classic_load_balancers {
        apply_classic(world, c)?;
    }
    for g in &spec.groups {
        apply_group(world, g, &tg_arn)?;
    }
    let mut ids = Vec::new();
    for inst in &spec.instances {
        if !world.valid_az(&inst.availability_zone) {
            return Err(AwsError::validation(format!(
                "instance availability zone '{}' is not in region {}",
                inst.availability_zone, world.region
            )));
        }
        for _ in 0..inst.count {
            let id = world.create_instance(&inst.availability_zone, None, None);
            if let Some(role) = &inst.role {
                world.set_instance_role(&id, role);
            }
            for t in &inst.target_groups {
                let arn = tg_arn(world, &t.name)?;
                let port = t.port.or(world.target_groups.get(&arn).map(|x| x.port)).unwrap_or(80);
                world.register_target(&arn, &id, port);
            }
            for lb in &inst.load_balancers {
                if !world.classic.contains_key(lb) {
                    return Err(AwsError::validation(format!(
                        "classic load balancer '{lb}' is not defined in the world file"
                    )));
                }
                world.classic_register(lb, &id);
            }
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Roles' policies and static identities, each policy checked to be a policy document.
fn apply_identities(world: &mut World, spec: &WorldSpec) -> Result<(), AwsError> {
    for role in &spec.roles {
        let policies = policy_documents(&role.policies, &format!("role '{}'", role.name))?;
        world.identities.roles.insert(role.name.clone(), policies);
    }
    for id in &spec.identities {
        let what = format!("identity '{}'", id.name);
        if id.access_key_id.is_empty() || id.secret_access_key.is_empty() {
            return Err(AwsError::validation(format!(
                "{what} needs a non-empty access_key_id and secret_access_key"
            )));
        }
        if id.access_key_id == crate::protocol::sigv4::DEFAULT_ACCESS_KEY_ID {
            return Err(AwsError::validation(format!(
                "{what}: access_key_id {} is the fake's default pair; give the identity a key of its own",
                id.access_key_id
            )));
        }
        if world.identities.users.contains_key(&id.access_key_id) {
            return Err(AwsError::validation(format!(
                "{what}: access_key_id {} is already another identity's",
                id.access_key_id
            )));
        }
        let policies = match &id.policies {
            Some(p) => Some(policy_documents(p, &what)?),
            None => None,
        };
        let user = crate::model::User {
            name: id.name.clone(),
            secret_access_key: id.secret_access_key.clone(),
            policies,
        };
        world.identities.users.insert(id.access_key_id.clone(), user);
    }
    Ok(())
}

/// Policy documents given as tables or as JSON text, each with a `Statement`.
fn policy_documents(given: &[serde_json::Value], what: &str) -> Result<Vec<serde_json::Value>, AwsError> {
    given
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let doc = match p {
                serde_json::Value::String(text) => serde_json::from_str(text)
                    .map_err(|e| AwsError::validation(format!("{what}: policy {} is not JSON: {e}", i + 1)))?,
                other => other.clone(),
            };
            if crate::iam::is_policy_document(&doc) {
                Ok(doc)
            } else {
                Err(AwsError::validation(format!(
                    "{what}: policy {} is not a policy document (it needs a Statement)",
                    i + 1
                )))
            }
        })
        .collect()
}

/// A target group: CreateTargetGroup, then ModifyTargetGroupAttributes for its delay, slow start,
/// connection termination and routing algorithm.
fn apply_target_group(world: &mut World, tg: &TargetGroupSpec) -> Result<(), AwsError> {
    let hc = &tg.health_check;
    let create = elbv2::inputs::CreateTargetGroup {
        name: tg.name.clone(),
        protocol: Some(tg.protocol.clone()),
        port: Some(tg.port),
        health_check: elbv2::inputs::HealthCheckInput {
            path: hc.path.clone(),
            interval: hc.interval,
            timeout: hc.timeout,
            healthy_threshold: hc.healthy_threshold,
            unhealthy_threshold: hc.unhealthy_threshold,
            ..Default::default()
        },
        ..Default::default()
    };
    let created = elbv2::create_tg(world, &create).map_err(|e| named("CreateTargetGroup", e))?;
    let attributes: Vec<(Option<String>, Option<String>)> = [
        (
            "deregistration_delay.timeout_seconds",
            tg.deregistration_delay.map(|v| v.to_string()),
        ),
        ("slow_start.duration_seconds", tg.slow_start.map(|v| v.to_string())),
        (
            "deregistration_delay.connection_termination.enabled",
            tg.connection_termination.map(|v| v.to_string()),
        ),
        (
            "load_balancing.algorithm.type",
            tg.algorithm.map(|a| a.as_str().to_string()),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((Some(k.to_string()), Some(v?))))
    .collect();
    if !attributes.is_empty() {
        let modify = elbv2::inputs::ModifyTargetGroupAttributes {
            arn: created.arn,
            attributes,
        };
        elbv2::modify_tg_attributes(world, &modify).map_err(|e| named("ModifyTargetGroupAttributes", e))?;
    }
    Ok(())
}

/// An ALB or NLB in two subnets, its listeners forwarding to their target groups, their rules.
fn apply_load_balancer(
    world: &mut World,
    lb: &LoadBalancerSpec,
    tg_arn: &dyn Fn(&World, &str) -> Result<String, AwsError>,
) -> Result<(), AwsError> {
    let create = elbv2::inputs::CreateLoadBalancer {
        name: lb.name.clone(),
        kind: Some(lb.kind),
        subnets: vec!["subnet-0fakeaws0000000a".into(), "subnet-0fakeaws0000000b".into()],
        ..Default::default()
    };
    let lb_arn = elbv2::create_lb(world, &create)
        .map_err(|e| named("CreateLoadBalancer", e))?
        .arn;
    for l in &lb.listeners {
        let tg = tg_arn(world, &l.target_group)?;
        let proto = l.protocol.clone().unwrap_or_else(|| {
            if lb.kind == LoadBalancerType::Network {
                "TCP".into()
            } else {
                "HTTP".into()
            }
        });
        let create = elbv2::inputs::CreateListener {
            load_balancer_arn: lb_arn.clone(),
            port: Some(l.port),
            protocol: Some(proto),
            default_actions: vec![forward_to(tg)],
            tags: Vec::new(),
        };
        let listener = elbv2::create_listener(world, &create).map_err(|e| named("CreateListener", e))?;
        create_rules(world, &lb.name, &listener.arn, l, tg_arn)?;
    }
    Ok(())
}

/// A plain forward to one target group.
fn forward_to(arn: String) -> Action {
    Action {
        order: None,
        kind: ActionKind::Forward {
            target_groups: vec![WeightedTarget { arn, weight: 1 }],
            single: true,
            stickiness: None,
        },
    }
}

/// A Classic Load Balancer with one HTTP listener in two zones, its health check and draining.
fn apply_classic(world: &mut World, c: &ClassicSpec) -> Result<(), AwsError> {
    let region = world.region.clone();
    let create = classic::inputs::CreateClassic {
        name: c.name.clone(),
        listeners: vec![classic::inputs::ListenerInput {
            protocol: Some("HTTP".into()),
            instance_protocol: None,
            load_balancer_port: Some(c.port),
            instance_port: Some(c.instance_port.unwrap_or(c.port)),
        }],
        availability_zones: vec![format!("{region}a"), format!("{region}b")],
        subnets: Vec::new(),
    };
    classic::create_classic(world, &create).map_err(|e| named("CreateLoadBalancer", e))?;
    if let Some(h) = &c.health_check {
        let configure = classic::inputs::ConfigureHealthCheck {
            name: c.name.clone(),
            target: Some(h.target.clone()),
            interval: Some(h.interval),
            timeout: Some(h.timeout),
            unhealthy_threshold: Some(h.unhealthy_threshold),
            healthy_threshold: Some(h.healthy_threshold),
        };
        classic::configure_health_check(world, &configure).map_err(|e| named("ConfigureHealthCheck", e))?;
    }
    if let Some(t) = c.connection_draining {
        let modify = classic::inputs::ModifyAttributes {
            name: c.name.clone(),
            draining_enabled: Some(true),
            draining_timeout: Some(t),
            ..Default::default()
        };
        classic::modify_attributes(world, &modify).map_err(|e| named("ModifyLoadBalancerAttributes", e))?;
    }
    Ok(())
}

/// A group and what hangs on it: CreateAutoScalingGroup (with its lifecycle hooks), its role,
/// SuspendProcesses, PutScalingPolicy and PutScheduledUpdateGroupAction, each as a typed request.
fn apply_group(
    world: &mut World,
    g: &GroupSpec,
    tg_arn: &dyn Fn(&World, &str) -> Result<String, AwsError>,
) -> Result<(), AwsError> {
    let hooks = g
        .lifecycle_hooks
        .iter()
        .map(|h| {
            let transition = match h.transition.as_str() {
                "launching" => LifecycleTransition::Launching,
                "terminating" => LifecycleTransition::Terminating,
                other => inputs::transition(other)?,
            };
            Ok(inputs::Hook {
                name: h.name.clone(),
                transition: Some(transition),
                heartbeat_timeout: h.heartbeat_timeout,
                default_result: h.default_result,
                ..Default::default()
            })
        })
        .collect::<Result<_, AwsError>>()
        .map_err(|e| named("CreateAutoScalingGroup", e))?;
    let create = inputs::CreateGroup {
        name: g.name.clone(),
        launch_template: Some(format!("{}-template", g.name)),
        min: Some(g.min),
        max: Some(g.max),
        desired: g.desired,
        availability_zones: g.availability_zones.clone(),
        target_group_arns: g
            .target_groups
            .iter()
            .map(|t| tg_arn(world, t))
            .collect::<Result<_, _>>()?,
        load_balancer_names: g.load_balancers.clone(),
        health_check_type: g.health_check_type,
        health_check_grace_period: g.health_check_grace_period,
        new_instances_protected_from_scale_in: g.new_instances_protected_from_scale_in.then_some(true),
        terminate_hook_abandon: g.terminate_hook_abandon,
        capacity_rebalance: g.capacity_rebalance.then_some(true),
        lifecycle_hooks: hooks,
        ..Default::default()
    };
    autoscaling::create_group(world, &create).map_err(|e| named("CreateAutoScalingGroup", e))?;
    if let Some(role) = &g.role {
        world.set_group_role(&g.name, role);
    }
    if let Some(w) = &g.warm_pool {
        world
            .put_warm_pool(crate::world::WarmPoolRequest {
                group: g.name.clone(),
                max_group_prepared_capacity: w.max_group_prepared_capacity,
                min_size: w.min_size,
                pool_state: w.pool_state,
                reuse_on_scale_in: w.reuse_on_scale_in,
            })
            .map_err(|e| named("PutWarmPool", e))?;
    }
    if !g.suspended_processes.is_empty() {
        world
            .suspend(&g.name, &g.suspended_processes)
            .map_err(|e| named("SuspendProcesses", e))?;
    }
    for pol in &g.scaling_policies {
        let put = policy_input(&g.name, pol).map_err(|e| named("PutScalingPolicy", e))?;
        autoscaling::put_policy(world, &put).map_err(|e| named("PutScalingPolicy", e))?;
    }
    for a in &g.scheduled_actions {
        let put = inputs::PutScheduled {
            group: g.name.clone(),
            name: a.name.clone(),
            start_ms: a
                .start_time
                .as_deref()
                .map(|t| inputs::iso_ms("StartTime", t))
                .transpose()
                .map_err(|e| named("PutScheduledUpdateGroupAction", e))?,
            recurrence: a.recurrence.clone(),
            min: a.min,
            max: a.max,
            desired: a.desired,
            ..Default::default()
        };
        autoscaling::put_scheduled(world, &put).map_err(|e| named("PutScheduledUpdateGroupAction", e))?;
    }
    Ok(())
}

/// PutScalingPolicy for a policy of `group`.
fn policy_input(group: &str, pol: &PolicySpec) -> Result<inputs::PutPolicy, AwsError> {
    Ok(inputs::PutPolicy {
        group: group.to_string(),
        name: pol.name.clone(),
        policy_type: pol.policy_type.as_deref().map(PolicyType::parse).transpose()?,
        adjustment_type: pol.adjustment_type.as_deref().map(AdjustmentType::parse).transpose()?,
        scaling_adjustment: pol.scaling_adjustment,
        cooldown: pol.cooldown,
        steps: pol
            .steps
            .iter()
            .map(|s| inputs::StepInput {
                lower: s.lower,
                upper: s.upper,
                adjustment: Some(s.adjustment),
            })
            .collect(),
        target_value: pol.target_value,
        ..Default::default()
    })
}

/// A listener's own rules (CreateRule each), after the listener itself.
fn create_rules(
    world: &mut World,
    lb_name: &str,
    listener: &str,
    l: &ListenerSpec,
    tg_arn: &dyn Fn(&World, &str) -> Result<String, AwsError>,
) -> Result<(), AwsError> {
    for r in &l.rules {
        let kind = match (&r.target_group, &r.fixed_response) {
            (Some(t), None) => forward_to(tg_arn(world, t)?).kind,
            (None, Some(f)) => ActionKind::FixedResponse {
                status_code: f.status_code,
                content_type: Some("text/plain".into()),
                message_body: Some(f.body.clone()),
            },
            _ => {
                return Err(AwsError::validation(format!(
                    "load balancer {}: the rule at priority {} needs exactly one of target_group and fixed_response",
                    lb_name, r.priority
                )))
            }
        };
        let create = elbv2::inputs::CreateRule {
            listener_arn: listener.to_string(),
            priority: Some(r.priority),
            conditions: Some(vec![Condition::PathPattern {
                values: vec![r.path.clone()],
            }]),
            actions: vec![Action { order: None, kind }],
            tags: Vec::new(),
        };
        elbv2::create_rule(world, &create).map_err(|e| named("CreateRule", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::query::Params;
    use crate::spec::{parse, WorldFile};

    /// The error a world file gets, and the one the same request gets through the API.
    fn both(
        world_file: &str,
        service: &crate::services::table::Service<Params, Option<String>>,
        body: &str,
    ) -> (String, String) {
        let WorldFile::Spec(spec) = parse(world_file, "w.toml").expect("parses") else {
            panic!("a spec")
        };
        let from_file = apply(&mut World::new("us-east-1", 0), &spec).expect_err("refused");
        let p = Params::decode(body.as_bytes()).expect("decodes");
        let action = p.opt("Action").expect("action").to_string();
        let mut world = World::new("us-east-1", 0);
        let from_api = service.handle(&mut world, &action, &p).expect_err("refused");
        (from_file.message, from_api.message)
    }

    /// A world file's values are checked by the operation the API's handler calls: out of
    /// range, the same refusal, named as the call it stands for.
    #[test]
    fn a_world_file_is_refused_as_the_api_call_would_be() {
        let (file, api) = both(
            "[[target_groups]]\nname = \"web\"\nport = 80\nhealth_check = { interval = 400 }\n",
            &elbv2::SERVICE,
            "Action=CreateTargetGroup&Name=web&Port=80&Protocol=HTTP&HealthCheckIntervalSeconds=400",
        );
        assert_eq!(file, format!("CreateTargetGroup: {api}"));
        assert!(api.contains("HealthCheckIntervalSeconds"), "{api}");

        let (file, api) = both(
            "[[groups]]\nname = \"g\"\nmin = 1\nmax = 2\navailability_zones = [\"us-east-1a\"]\n\
             lifecycle_hooks = [{ name = \"h\", transition = \"launching\", heartbeat_timeout = 10 }]\n",
            &autoscaling::SERVICE,
            "Action=CreateAutoScalingGroup&AutoScalingGroupName=g&MinSize=1&MaxSize=2&AvailabilityZones.member.1=us-east-1a\
             &LaunchTemplate.LaunchTemplateName=t&LifecycleHookSpecificationList.member.1.LifecycleHookName=h\
             &LifecycleHookSpecificationList.member.1.LifecycleTransition=autoscaling:EC2_INSTANCE_LAUNCHING\
             &LifecycleHookSpecificationList.member.1.HeartbeatTimeout=10",
        );
        assert_eq!(file, format!("CreateAutoScalingGroup: {api}"));
        assert!(api.contains("HeartbeatTimeout"), "{api}");
    }

    /// A fixed-response rule's status code is checked on a world file's rule too.
    #[test]
    fn a_world_file_rule_gets_the_apis_checks() {
        let file = "[[target_groups]]\nname = \"web\"\nport = 80\n\
            [[load_balancers]]\nname = \"alb\"\n\
            [[load_balancers.listeners]]\nport = 80\ntarget_group = \"web\"\n\
            [[load_balancers.listeners.rules]]\npriority = 1\npath = \"/x\"\nfixed_response = { status_code = 302 }\n";
        let WorldFile::Spec(spec) = parse(file, "w.toml").expect("parses") else {
            panic!("a spec")
        };
        let e = apply(&mut World::new("us-east-1", 0), &spec).expect_err("302 is not a fixed response");
        assert!(e.message.starts_with("CreateRule: "), "{}", e.message);
        assert!(e.message.contains("^(2|4|5)"), "{}", e.message);
    }
}
