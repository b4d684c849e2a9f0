//! Typed requests of the ELBv2 actions that world files make too (CreateTargetGroup,
//! ModifyTargetGroupAttributes, CreateLoadBalancer, CreateListener, CreateRule). A Query request
//! is decoded into one once (shapes and types); `spec::apply` builds the same structures. The
//! operation that takes one checks its values and changes the world, so both are validated alike.

use super::actions::{decode_actions, decode_conditions};
use crate::model::{Action, Condition, LoadBalancerType};
use crate::protocol::error::AwsError;
use crate::protocol::query::Params;

/// A tag of a Create call (`Tags.member.N`).
pub(crate) type TagInput = (Option<String>, Option<String>);

/// A target group's health-check settings as CreateTargetGroup and ModifyTargetGroup send them
/// (each left out keeps the current or the protocol's default).
#[derive(Debug, Clone, Default)]
pub(crate) struct HealthCheckInput {
    pub protocol: Option<String>,
    pub port: Option<String>,
    pub path: Option<String>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub healthy_threshold: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
    pub matcher: Option<String>,
    pub enabled: Option<bool>,
}

/// CreateTargetGroup.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateTargetGroup {
    pub name: String,
    pub protocol: Option<String>,
    pub port: Option<i64>,
    pub target_type: Option<String>,
    pub vpc_id: Option<String>,
    pub health_check: HealthCheckInput,
    pub tags: Vec<TagInput>,
}

/// ModifyTargetGroupAttributes: `(key, value)` pairs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModifyTargetGroupAttributes {
    pub arn: String,
    pub attributes: Vec<(Option<String>, Option<String>)>,
}

/// CreateLoadBalancer (ELBv2).
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateLoadBalancer {
    pub name: String,
    pub kind: Option<LoadBalancerType>,
    /// `Subnets`, then the subnets of `SubnetMappings`.
    pub subnets: Vec<String>,
    pub scheme: Option<String>,
    pub tags: Vec<TagInput>,
}

/// CreateListener.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateListener {
    pub load_balancer_arn: String,
    pub port: Option<i64>,
    pub protocol: Option<String>,
    pub default_actions: Vec<Action>,
    pub tags: Vec<TagInput>,
}

/// CreateRule.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateRule {
    pub listener_arn: String,
    pub priority: Option<i64>,
    /// `None` when the request has no `Conditions` at all.
    pub conditions: Option<Vec<Condition>>,
    pub actions: Vec<Action>,
    pub tags: Vec<TagInput>,
}

fn text(p: &Params, key: &str) -> Option<String> {
    p.opt(key).map(str::to_string)
}

/// The `Tags.member.N` of a Create call.
pub(crate) fn decode_tags(p: &Params) -> Result<Vec<TagInput>, AwsError> {
    Ok(p.structs("Tags")?
        .iter()
        .map(|t| (text(t, "Key"), text(t, "Value")))
        .collect())
}

impl HealthCheckInput {
    pub(crate) fn decode(p: &Params) -> Result<HealthCheckInput, AwsError> {
        Ok(HealthCheckInput {
            protocol: text(p, "HealthCheckProtocol"),
            port: text(p, "HealthCheckPort"),
            path: text(p, "HealthCheckPath"),
            interval: p.int("HealthCheckIntervalSeconds")?,
            timeout: p.int("HealthCheckTimeoutSeconds")?,
            healthy_threshold: p.int("HealthyThresholdCount")?,
            unhealthy_threshold: p.int("UnhealthyThresholdCount")?,
            matcher: text(p, "Matcher.HttpCode"),
            enabled: p.bool("HealthCheckEnabled")?,
        })
    }
}

impl CreateTargetGroup {
    pub(crate) fn decode(p: &Params) -> Result<CreateTargetGroup, AwsError> {
        Ok(CreateTargetGroup {
            name: p.req("Name")?.to_string(),
            protocol: text(p, "Protocol"),
            port: p.int("Port")?,
            target_type: text(p, "TargetType"),
            vpc_id: text(p, "VpcId"),
            health_check: HealthCheckInput::decode(p)?,
            tags: decode_tags(p)?,
        })
    }
}

impl ModifyTargetGroupAttributes {
    pub(crate) fn decode(p: &Params) -> Result<ModifyTargetGroupAttributes, AwsError> {
        Ok(ModifyTargetGroupAttributes {
            arn: p.req("TargetGroupArn")?.to_string(),
            attributes: p
                .structs("Attributes")?
                .iter()
                .map(|a| (text(a, "Key"), text(a, "Value")))
                .collect(),
        })
    }
}

impl CreateLoadBalancer {
    pub(crate) fn decode(p: &Params) -> Result<CreateLoadBalancer, AwsError> {
        let kind = p
            .opt("Type")
            .map(|k| {
                LoadBalancerType::parse(k).ok_or_else(|| {
                    AwsError::validation(format!(
                        "Value '{k}' for Type is invalid: valid values are application, network and gateway."
                    ))
                })
            })
            .transpose()?;
        let mut subnets = p.list("Subnets")?;
        for m in p.structs("SubnetMappings")? {
            subnets.push(m.req("SubnetId")?.to_string());
        }
        Ok(CreateLoadBalancer {
            name: p.req("Name")?.to_string(),
            kind,
            subnets,
            scheme: text(p, "Scheme"),
            tags: decode_tags(p)?,
        })
    }
}

impl CreateListener {
    pub(crate) fn decode(p: &Params) -> Result<CreateListener, AwsError> {
        Ok(CreateListener {
            load_balancer_arn: p.req("LoadBalancerArn")?.to_string(),
            port: p.int("Port")?,
            protocol: text(p, "Protocol"),
            default_actions: decode_actions(p, "DefaultActions")?,
            tags: decode_tags(p)?,
        })
    }
}

impl CreateRule {
    pub(crate) fn decode(p: &Params) -> Result<CreateRule, AwsError> {
        Ok(CreateRule {
            listener_arn: p.req("ListenerArn")?.to_string(),
            priority: p.int("Priority")?,
            conditions: p.has_list("Conditions").then(|| decode_conditions(p)).transpose()?,
            actions: decode_actions(p, "Actions")?,
            tags: decode_tags(p)?,
        })
    }
}
