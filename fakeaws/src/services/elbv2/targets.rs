//! ELBv2 targets: registration, deregistration and their health.

use crate::model::Lifecycle;
use crate::model::Target;
use crate::model::TargetHealth;
use crate::model::TargetHealthReason;
use crate::model::TargetHealthState;
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::elbv2::tg;
use crate::world::World;
pub(super) fn targets_of(p: &Params) -> Result<Vec<(String, Option<i64>)>, AwsError> {
    let mut out = Vec::new();
    for t in p.structs("Targets")? {
        let id = t.req("Id")?.to_string();
        let port = t.int_in("Port", 1, 65535)?;
        out.push((id, port));
    }
    Ok(out)
}

pub(super) fn check_instances(world: &World, targets: &[(String, Option<i64>)]) -> Result<(), AwsError> {
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

pub(super) fn register_targets(world: &mut World, p: &Params) -> Outcome {
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

pub(super) fn deregister_targets(world: &mut World, p: &Params) -> Outcome {
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

pub(super) fn describe_target_health(world: &mut World, p: &Params) -> Outcome {
    let arn = p.req("TargetGroupArn")?.to_string();
    let t = tg(world, &arn)?.clone();
    let asked = targets_of(p)?;
    check_instances(world, &asked)?;
    let mut rows: Vec<(String, i64, TargetHealth)> = Vec::new();
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
                    TargetHealth::because(
                        TargetHealthState::Unused,
                        TargetHealthReason::NotRegistered,
                        "Target is not registered to the target group",
                    ),
                ));
            }
            for m in matches {
                rows.push((m.id.clone(), m.port, world.target_health(&t, m)));
            }
        }
    }
    let mut x = Xml::new();
    x.list("TargetHealthDescriptions", rows, |x, (id, port, health)| {
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
            x.leaf("State", health.state.as_str())
                .opt_leaf("Reason", health.reason.map(|r| r.as_str()))
                .opt_leaf("Description", health.description);
        });
    });
    Ok(Some(x.finish()))
}
