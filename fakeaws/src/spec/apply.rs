//! Applying a world spec: each part through the Query handlers the API uses (CreateTargetGroup,
//! CreateLoadBalancer, CreateListener, CreateRule, CreateAutoScalingGroup ...), so a spec is
//! validated exactly as the equivalent AWS calls would be.

use super::ListenerSpec;
use super::PolicySpec;
use super::WorldSpec;
use crate::model::LoadBalancerType;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::services::{autoscaling, elbv2};
use crate::world::World;

fn call(
    world: &mut World,
    service: &str,
    action: &str,
    pairs: Vec<(String, String)>,
) -> Result<Option<String>, AwsError> {
    let p = Params(pairs.into_iter().collect());
    let out = match service {
        "autoscaling" => autoscaling::handle(world, action, &p),
        "classic" => crate::services::classic::handle(world, action, &p),
        _ => elbv2::handle(world, action, &p),
    };
    out.map_err(|e| AwsError {
        message: format!("{action}: {}", e.message),
        ..e
    })
}

fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
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
        let mut p = vec![kv("Name", &tg.name), kv("Port", tg.port), kv("Protocol", &tg.protocol)];
        let hc = &tg.health_check;
        for (k, v) in [
            ("HealthCheckIntervalSeconds", hc.interval),
            ("HealthCheckTimeoutSeconds", hc.timeout),
            ("HealthyThresholdCount", hc.healthy_threshold),
            ("UnhealthyThresholdCount", hc.unhealthy_threshold),
        ] {
            if let Some(v) = v {
                p.push(kv(k, v));
            }
        }
        if let Some(path) = &hc.path {
            p.push(kv("HealthCheckPath", path));
        }
        call(world, "elbv2", "CreateTargetGroup", p)?;
        let attributes: Vec<(&str, i64)> = [
            ("deregistration_delay.timeout_seconds", tg.deregistration_delay),
            ("slow_start.duration_seconds", tg.slow_start),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
        if !attributes.is_empty() {
            let mut p = vec![kv("TargetGroupArn", tg_arn(world, &tg.name)?)];
            for (i, (k, v)) in attributes.into_iter().enumerate() {
                p.push(kv(&format!("Attributes.member.{}.Key", i + 1), k));
                p.push(kv(&format!("Attributes.member.{}.Value", i + 1), v));
            }
            call(world, "elbv2", "ModifyTargetGroupAttributes", p)?;
        }
    }
    for lb in &spec.load_balancers {
        call(
            world,
            "elbv2",
            "CreateLoadBalancer",
            vec![
                kv("Name", &lb.name),
                kv("Type", lb.kind),
                kv("Subnets.member.1", "subnet-0fakeaws0000000a"),
                kv("Subnets.member.2", "subnet-0fakeaws0000000b"),
            ],
        )?;
        let lb_arn = world
            .load_balancers
            .values()
            .find(|l| l.name == lb.name)
            .map(|l| l.arn.clone())
            .unwrap_or_default();
        for l in &lb.listeners {
            let tg = tg_arn(world, &l.target_group)?;
            let proto = l.protocol.clone().unwrap_or_else(|| {
                if lb.kind == LoadBalancerType::Network {
                    "TCP".into()
                } else {
                    "HTTP".into()
                }
            });
            call(
                world,
                "elbv2",
                "CreateListener",
                vec![
                    kv("LoadBalancerArn", &lb_arn),
                    kv("Port", l.port),
                    kv("Protocol", proto),
                    kv("DefaultActions.member.1.Type", "forward"),
                    kv("DefaultActions.member.1.TargetGroupArn", tg),
                ],
            )?;
            create_rules(world, &lb.name, &lb_arn, l, &tg_arn)?;
        }
    }
    for c in &spec.classic_load_balancers {
        let ip = c.instance_port.unwrap_or(c.port);
        call(
            world,
            "classic",
            "CreateLoadBalancer",
            vec![
                kv("LoadBalancerName", &c.name),
                kv("Listeners.member.1.Protocol", "HTTP"),
                kv("Listeners.member.1.LoadBalancerPort", c.port),
                kv("Listeners.member.1.InstancePort", ip),
                kv("AvailabilityZones.member.1", format!("{}a", world.region)),
                kv("AvailabilityZones.member.2", format!("{}b", world.region)),
            ],
        )?;
        if let Some(h) = &c.health_check {
            call(
                world,
                "classic",
                "ConfigureHealthCheck",
                vec![
                    kv("LoadBalancerName", &c.name),
                    kv("HealthCheck.Target", &h.target),
                    kv("HealthCheck.Interval", h.interval),
                    kv("HealthCheck.Timeout", h.timeout),
                    kv("HealthCheck.HealthyThreshold", h.healthy_threshold),
                    kv("HealthCheck.UnhealthyThreshold", h.unhealthy_threshold),
                ],
            )?;
        }
        if let Some(t) = c.connection_draining {
            call(
                world,
                "classic",
                "ModifyLoadBalancerAttributes",
                vec![
                    kv("LoadBalancerName", &c.name),
                    kv("LoadBalancerAttributes.ConnectionDraining.Enabled", "true"),
                    kv("LoadBalancerAttributes.ConnectionDraining.Timeout", t),
                ],
            )?;
        }
    }
    for g in &spec.groups {
        let mut p = vec![
            kv("AutoScalingGroupName", &g.name),
            kv("MinSize", g.min),
            kv("MaxSize", g.max),
            kv("LaunchTemplate.LaunchTemplateName", format!("{}-template", g.name)),
        ];
        if let Some(d) = g.desired {
            p.push(kv("DesiredCapacity", d));
        }
        for (i, az) in g.availability_zones.iter().enumerate() {
            p.push(kv(&format!("AvailabilityZones.member.{}", i + 1), az));
        }
        for (i, tg) in g.target_groups.iter().enumerate() {
            p.push(kv(&format!("TargetGroupARNs.member.{}", i + 1), tg_arn(world, tg)?));
        }
        for (i, lb) in g.load_balancers.iter().enumerate() {
            p.push(kv(&format!("LoadBalancerNames.member.{}", i + 1), lb));
        }
        if let Some(h) = &g.health_check_type {
            p.push(kv("HealthCheckType", h));
        }
        if let Some(gp) = g.health_check_grace_period {
            p.push(kv("HealthCheckGracePeriod", gp));
        }
        if g.new_instances_protected_from_scale_in {
            p.push(kv("NewInstancesProtectedFromScaleIn", "true"));
        }
        for (i, h) in g.lifecycle_hooks.iter().enumerate() {
            let n = i + 1;
            let transition = match h.transition.as_str() {
                "launching" => "autoscaling:EC2_INSTANCE_LAUNCHING".to_string(),
                "terminating" => "autoscaling:EC2_INSTANCE_TERMINATING".to_string(),
                other => other.to_string(),
            };
            p.push(kv(
                &format!("LifecycleHookSpecificationList.member.{n}.LifecycleHookName"),
                &h.name,
            ));
            p.push(kv(
                &format!("LifecycleHookSpecificationList.member.{n}.LifecycleTransition"),
                transition,
            ));
            if let Some(t) = h.heartbeat_timeout {
                p.push(kv(
                    &format!("LifecycleHookSpecificationList.member.{n}.HeartbeatTimeout"),
                    t,
                ));
            }
            if let Some(r) = &h.default_result {
                p.push(kv(
                    &format!("LifecycleHookSpecificationList.member.{n}.DefaultResult"),
                    r,
                ));
            }
        }
        call(world, "autoscaling", "CreateAutoScalingGroup", p)?;
        if let Some(role) = &g.role {
            world.set_group_role(&g.name, role);
        }
        if !g.suspended_processes.is_empty() {
            let mut p = vec![kv("AutoScalingGroupName", &g.name)];
            for (i, s) in g.suspended_processes.iter().enumerate() {
                p.push(kv(&format!("ScalingProcesses.member.{}", i + 1), s));
            }
            call(world, "autoscaling", "SuspendProcesses", p)?;
        }
        for pol in &g.scaling_policies {
            call(world, "autoscaling", "PutScalingPolicy", policy_params(&g.name, pol))?;
        }
        for a in &g.scheduled_actions {
            let mut p = vec![kv("AutoScalingGroupName", &g.name), kv("ScheduledActionName", &a.name)];
            let opt = [
                ("Recurrence", a.recurrence.clone()),
                ("StartTime", a.start_time.clone()),
                ("MinSize", a.min.map(|v| v.to_string())),
                ("MaxSize", a.max.map(|v| v.to_string())),
                ("DesiredCapacity", a.desired.map(|v| v.to_string())),
            ];
            p.extend(opt.into_iter().filter_map(|(k, v)| v.map(|v| kv(k, v))));
            call(world, "autoscaling", "PutScheduledUpdateGroupAction", p)?;
        }
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

/// PutScalingPolicy parameters for a policy of `group`.
fn policy_params(group: &str, pol: &PolicySpec) -> Vec<(String, String)> {
    let mut p = vec![kv("AutoScalingGroupName", group), kv("PolicyName", &pol.name)];
    let opt = [
        ("PolicyType", pol.policy_type.clone()),
        ("AdjustmentType", pol.adjustment_type.clone()),
        ("ScalingAdjustment", pol.scaling_adjustment.map(|v| v.to_string())),
        ("Cooldown", pol.cooldown.map(|v| v.to_string())),
        (
            "TargetTrackingConfiguration.TargetValue",
            pol.target_value.map(|v| v.to_string()),
        ),
    ];
    p.extend(opt.into_iter().filter_map(|(k, v)| v.map(|v| kv(k, v))));
    for (i, st) in pol.steps.iter().enumerate() {
        let n = i + 1;
        if let Some(l) = st.lower {
            p.push(kv(&format!("StepAdjustments.member.{n}.MetricIntervalLowerBound"), l));
        }
        if let Some(u) = st.upper {
            p.push(kv(&format!("StepAdjustments.member.{n}.MetricIntervalUpperBound"), u));
        }
        p.push(kv(
            &format!("StepAdjustments.member.{n}.ScalingAdjustment"),
            st.adjustment,
        ));
    }
    p
}

/// A listener's own rules (CreateRule each), after the listener itself.
fn create_rules(
    world: &mut World,
    lb_name: &str,
    lb_arn: &str,
    l: &ListenerSpec,
    tg_arn: &dyn Fn(&World, &str) -> Result<String, AwsError>,
) -> Result<(), AwsError> {
    if l.rules.is_empty() {
        return Ok(());
    }
    let listener = world
        .listeners
        .values()
        .find(|x| x.load_balancer_arn == lb_arn && x.port == l.port)
        .map(|x| x.arn.clone())
        .unwrap_or_default();
    for r in &l.rules {
        let mut params = vec![
            kv("ListenerArn", &listener),
            kv("Priority", r.priority),
            kv("Conditions.member.1.Field", "path-pattern"),
            kv("Conditions.member.1.PathPatternConfig.Values.member.1", &r.path),
        ];
        match (&r.target_group, &r.fixed_response) {
            (Some(t), None) => {
                params.push(kv("Actions.member.1.Type", "forward"));
                params.push(kv("Actions.member.1.TargetGroupArn", tg_arn(world, t)?));
            }
            (None, Some(f)) => {
                params.push(kv("Actions.member.1.Type", "fixed-response"));
                params.push(kv("Actions.member.1.FixedResponseConfig.StatusCode", f.status_code));
                params.push(kv("Actions.member.1.FixedResponseConfig.ContentType", "text/plain"));
                params.push(kv("Actions.member.1.FixedResponseConfig.MessageBody", &f.body));
            }
            _ => {
                return Err(AwsError::validation(format!(
                    "load balancer {}: the rule at priority {} needs exactly one of target_group and fixed_response",
                    lb_name, r.priority
                )))
            }
        }
        call(world, "elbv2", "CreateRule", params)?;
    }
    Ok(())
}
