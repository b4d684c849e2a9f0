//! Listener and rule actions and rule conditions: decoded from the Query parameters (shapes and
//! types), checked with ELBv2's validation (a world file's are checked the same way), and written
//! back in the shapes DescribeListeners and DescribeRules return.

use crate::model::*;
use crate::protocol::error::AwsError;
use crate::protocol::query::{in_range, Params};
use crate::protocol::xml::Xml;
use crate::world::World;

/// Fixed-response bodies are at most this many characters.
pub const MAX_BODY: usize = 1024;
const CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

fn constraint(value: &str, at: &str, what: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: {what}"
    ))
}

/// Where the `n`th (from 0) of `prefix`'s members is, as AWS names it in a constraint's message.
fn member_at(prefix: &str, n: usize) -> String {
    format!("{}.{}.member", lower_first(prefix), n + 1)
}

/// Decodes `prefix.member.N` actions (`DefaultActions` or `Actions`): their shape and types. The
/// values are checked by [`check_actions`], on this path and on a world file's alike.
pub fn decode_actions(p: &Params, prefix: &str) -> Result<Vec<Action>, AwsError> {
    let mut out = Vec::new();
    for (i, a) in p.structs(prefix)?.iter().enumerate() {
        let at = member_at(prefix, i);
        let kind = match a.req("Type")? {
            "forward" => forward(a, &at)?,
            "fixed-response" => fixed_response(&a.sub("FixedResponseConfig"), &at)?,
            "redirect" => redirect(&a.sub("RedirectConfig"), &at)?,
            other => {
                return Err(constraint(
                    other,
                    &format!("{at}.type"),
                    "Member must satisfy enum value set: [redirect, forward, fixed-response] (fakeaws models no authenticate actions)",
                ))
            }
        };
        out.push(Action {
            order: a.int("Order")?,
            kind,
        });
    }
    Ok(out)
}

/// Decodes and checks `prefix.member.N` actions against the world (ModifyListener, ModifyRule).
pub fn decode(world: &World, p: &Params, prefix: &str) -> Result<Vec<Action>, AwsError> {
    let mut actions = decode_actions(p, prefix)?;
    check_actions(world, &mut actions, prefix)?;
    Ok(actions)
}

/// Checks actions' values as ELBv2 does (orders, weights, target groups that exist, status codes,
/// content types, bodies, redirects that go somewhere; one forward or fixed-response), then puts
/// them in their order.
pub fn check_actions(world: &World, actions: &mut [Action], prefix: &str) -> Result<(), AwsError> {
    for (i, a) in actions.iter().enumerate() {
        let at = member_at(prefix, i);
        match &a.kind {
            ActionKind::Forward {
                target_groups,
                stickiness,
                ..
            } => check_forward(world, target_groups, *stickiness)?,
            ActionKind::FixedResponse {
                status_code,
                content_type,
                message_body,
            } => check_fixed_response(*status_code, content_type.as_deref(), message_body.as_deref(), &at)?,
            ActionKind::Redirect {
                protocol,
                port,
                host,
                path,
                query,
                ..
            } => check_redirect([protocol, port, host, path, query], &at)?,
        }
        in_range("Order", a.order, 1, 50_000)?;
    }
    if actions.iter().filter(|a| a.type_name() != "redirect").count() > 1 {
        return Err(AwsError::new(
            400,
            "TooManyActions",
            "You can specify only one of forward or fixed-response per rule",
        ));
    }
    actions.sort_by_key(|a| a.order.unwrap_or(i64::MAX));
    Ok(())
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn forward(a: &Params, at: &str) -> Result<ActionKind, AwsError> {
    let single = a.opt("TargetGroupArn").map(str::to_string);
    let cfg = a.sub("ForwardConfig");
    let mut groups = Vec::new();
    for t in cfg.structs("TargetGroups")? {
        let arn = t.req("TargetGroupArn")?.to_string();
        let weight = t.int("Weight")?.unwrap_or(1);
        groups.push(WeightedTarget { arn, weight });
    }
    match (&single, groups.is_empty()) {
        (None, true) => {
            return Err(AwsError::validation(format!(
                "A target group ARN must be specified for action type 'forward' ({at})"
            )))
        }
        (Some(s), false) if groups.len() != 1 || &groups[0].arn != s => {
            return Err(AwsError::validation(
                "You cannot specify both a target group ARN and a forward config with different target groups",
            ))
        }
        (Some(s), true) => groups.push(WeightedTarget {
            arn: s.clone(),
            weight: 1,
        }),
        _ => {}
    }
    let sticky = cfg.sub("TargetGroupStickinessConfig");
    let stickiness = match sticky.bool("Enabled")? {
        Some(true) => Some(sticky.int("DurationSeconds")?.unwrap_or(3600)),
        _ => None,
    };
    Ok(ActionKind::Forward {
        target_groups: groups,
        single: single.is_some(),
        stickiness,
    })
}

fn check_forward(world: &World, groups: &[WeightedTarget], stickiness: Option<i64>) -> Result<(), AwsError> {
    for g in groups {
        in_range("Weight", Some(g.weight), 0, 999)?;
    }
    if groups.len() > 5 {
        return Err(AwsError::new(
            400,
            "TooManyTargetGroups",
            "A forward action can have at most 5 target groups",
        ));
    }
    for g in groups {
        if !world.target_groups.contains_key(&g.arn) {
            return Err(AwsError::target_group_not_found(&g.arn));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    if !groups.iter().all(|g| seen.insert(g.arn.as_str())) {
        return Err(AwsError::validation(
            "A forward action cannot list the same target group twice",
        ));
    }
    in_range("DurationSeconds", stickiness, 1, 604_800)?;
    Ok(())
}

fn fixed_response(c: &Params, at: &str) -> Result<ActionKind, AwsError> {
    let code = c.req("StatusCode").map_err(|_| {
        AwsError::validation(format!(
            "A status code must be specified for action type 'fixed-response' ({at})"
        ))
    })?;
    let status_code = match code.parse::<u16>() {
        Ok(n) if code.len() == 3 && code.chars().all(|ch| ch.is_ascii_digit()) => n,
        _ => return Err(status_code_constraint(code, at)),
    };
    Ok(ActionKind::FixedResponse {
        status_code,
        content_type: c.opt("ContentType").map(str::to_string),
        message_body: c.opt("MessageBody").map(str::to_string),
    })
}

fn status_code_constraint(code: &str, at: &str) -> AwsError {
    constraint(
        code,
        &format!("{at}.fixedResponseConfig.statusCode"),
        "Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$",
    )
}

fn check_fixed_response(code: u16, content_type: Option<&str>, body: Option<&str>, at: &str) -> Result<(), AwsError> {
    if !matches!(code / 100, 2 | 4 | 5) {
        return Err(status_code_constraint(&code.to_string(), at));
    }
    if let Some(ct) = content_type {
        if !CONTENT_TYPES.contains(&ct) {
            return Err(constraint(
                ct,
                &format!("{at}.fixedResponseConfig.contentType"),
                &format!("Member must be one of {}", CONTENT_TYPES.join(", ")),
            ));
        }
    }
    if let Some(b) = body {
        if b.chars().count() > MAX_BODY {
            return Err(constraint(
                &format!("{}...", b.chars().take(20).collect::<String>()),
                &format!("{at}.fixedResponseConfig.messageBody"),
                &format!("Member must have length less than or equal to {MAX_BODY}"),
            ));
        }
    }
    Ok(())
}

fn redirect(c: &Params, at: &str) -> Result<ActionKind, AwsError> {
    let status_code = match c.req("StatusCode").map_err(|_| {
        AwsError::validation(format!(
            "A status code must be specified for action type 'redirect' ({at})"
        ))
    })? {
        "HTTP_301" => 301,
        "HTTP_302" => 302,
        other => {
            return Err(constraint(
                other,
                &format!("{at}.redirectConfig.statusCode"),
                "Member must satisfy enum value set: [HTTP_301, HTTP_302]",
            ))
        }
    };
    Ok(ActionKind::Redirect {
        protocol: c.opt("Protocol").unwrap_or("#{protocol}").to_string(),
        port: c.opt("Port").unwrap_or("#{port}").to_string(),
        host: c.opt("Host").unwrap_or("#{host}").to_string(),
        path: c.opt("Path").unwrap_or("/#{path}").to_string(),
        query: c.opt("Query").unwrap_or("#{query}").to_string(),
        status_code,
    })
}

/// A redirect's protocol, port, host, path and query.
fn check_redirect([protocol, port, host, path, query]: [&String; 5], at: &str) -> Result<(), AwsError> {
    if !matches!(protocol.as_str(), "HTTP" | "HTTPS" | "#{protocol}") {
        return Err(constraint(
            protocol,
            &format!("{at}.redirectConfig.protocol"),
            "Member must satisfy regular expression pattern: ^(HTTPS?|#\\{protocol\\})$",
        ));
    }
    if protocol == "#{protocol}" && port == "#{port}" && host == "#{host}" && path == "/#{path}" && query == "#{query}"
    {
        return Err(AwsError::validation(
            "The redirect configuration is not valid: it would redirect to the original URL (a loop)",
        ));
    }
    if !path.starts_with('/') {
        return Err(AwsError::validation("The redirect path must start with a '/'"));
    }
    Ok(())
}

/// Decodes a rule's `Conditions`: their fields and values. The values are checked by
/// [`check_conditions`].
pub fn decode_conditions(p: &Params) -> Result<Vec<Condition>, AwsError> {
    let mut out = Vec::new();
    for (i, c) in p.structs("Conditions")?.iter().enumerate() {
        let at = format!("conditions.{}.member", i + 1);
        let field = c.req("Field")?;
        let values = |cfg: &str| -> Result<Vec<String>, AwsError> {
            let v = c.sub(cfg).list("Values")?;
            if v.is_empty() {
                return c.list("Values");
            }
            Ok(v)
        };
        let cond = match field {
            "path-pattern" => Condition::PathPattern {
                values: values("PathPatternConfig")?,
            },
            "host-header" => Condition::HostHeader {
                values: values("HostHeaderConfig")?,
            },
            "http-header" => {
                let cfg = c.sub("HttpHeaderConfig");
                let name = cfg.req("HttpHeaderName")?.to_string();
                Condition::HttpHeader {
                    name,
                    values: values("HttpHeaderConfig")?,
                }
            }
            "query-string" => {
                let mut kv = Vec::new();
                for q in c.sub("QueryStringConfig").structs("Values")? {
                    let value = q.req("Value")?.to_string();
                    kv.push((q.opt("Key").map(str::to_string), value));
                }
                Condition::QueryString { values: kv }
            }
            other => {
                return Err(constraint(
                    other,
                    &format!("{at}.field"),
                    "Member must be one of path-pattern, host-header, http-header, query-string (fakeaws models no http-request-method or source-ip conditions)",
                ))
            }
        };
        out.push(cond);
    }
    Ok(out)
}

/// Decodes and checks a rule's `Conditions` (ModifyRule).
pub fn conditions(p: &Params) -> Result<Vec<Condition>, AwsError> {
    let conditions = decode_conditions(p)?;
    check_conditions(&conditions)?;
    Ok(conditions)
}

/// Checks conditions as ELBv2 does: values 1 to 128 characters, at least one per condition, one
/// condition per field (headers and query strings aside), five values in all.
pub fn check_conditions(conditions: &[Condition]) -> Result<(), AwsError> {
    for (i, cond) in conditions.iter().enumerate() {
        let at = format!("conditions.{}.member", i + 1);
        let patterns: &[String] = match cond {
            Condition::PathPattern { values } | Condition::HostHeader { values } => values,
            Condition::HttpHeader { values, .. } => values,
            Condition::QueryString { .. } => &[],
        };
        for s in patterns {
            if s.is_empty() || s.chars().count() > 128 {
                return Err(constraint(
                    s,
                    &format!("{at}.values"),
                    "Member must have length between 1 and 128",
                ));
            }
        }
        let field = cond.field();
        if cond.value_count() == 0 {
            return Err(AwsError::validation(format!(
                "A condition of field '{field}' must have at least one value"
            )));
        }
        if conditions[..i]
            .iter()
            .any(|o| o.field() == field && field != "http-header" && field != "query-string")
        {
            return Err(AwsError::validation(format!(
                "A rule can have only one '{field}' condition"
            )));
        }
    }
    let total: usize = conditions.iter().map(Condition::value_count).sum();
    if total > 5 {
        return Err(AwsError::new(
            400,
            "TooManyConditionValues",
            format!("A rule can have at most 5 condition values in total, not {total}"),
        ));
    }
    Ok(())
}

/// Writes one action.
pub fn action_xml(x: &mut Xml, a: &Action) {
    x.leaf("Type", a.type_name()).opt_leaf("Order", a.order);
    match &a.kind {
        ActionKind::Forward {
            target_groups,
            single,
            stickiness,
        } => {
            if *single {
                x.opt_leaf("TargetGroupArn", target_groups.first().map(|t| &t.arn));
            }
            x.elem("ForwardConfig", |x| {
                x.list("TargetGroups", target_groups, |x, t| {
                    x.leaf("TargetGroupArn", &t.arn).leaf("Weight", t.weight);
                });
                x.elem("TargetGroupStickinessConfig", |x| {
                    x.leaf("Enabled", stickiness.is_some())
                        .opt_leaf("DurationSeconds", *stickiness);
                });
            });
        }
        ActionKind::FixedResponse {
            status_code,
            content_type,
            message_body,
        } => {
            x.elem("FixedResponseConfig", |x| {
                x.opt_leaf("MessageBody", message_body.as_ref())
                    .leaf("StatusCode", status_code)
                    .opt_leaf("ContentType", content_type.as_ref());
            });
        }
        ActionKind::Redirect {
            protocol,
            port,
            host,
            path,
            query,
            status_code,
        } => {
            x.elem("RedirectConfig", |x| {
                x.leaf("Protocol", protocol)
                    .leaf("Port", port)
                    .leaf("Host", host)
                    .leaf("Path", path)
                    .leaf("Query", query)
                    .leaf("StatusCode", format!("HTTP_{status_code}"));
            });
        }
    }
}

/// Writes one condition, in both the legacy `Values` and the typed config shapes.
pub fn condition_xml(x: &mut Xml, c: &Condition) {
    x.leaf("Field", c.field());
    match c {
        Condition::PathPattern { values } => {
            x.str_list("Values", values).elem("PathPatternConfig", |x| {
                x.str_list("Values", values);
            });
        }
        Condition::HostHeader { values } => {
            x.str_list("Values", values).elem("HostHeaderConfig", |x| {
                x.str_list("Values", values);
            });
        }
        Condition::HttpHeader { name, values } => {
            x.elem("HttpHeaderConfig", |x| {
                x.leaf("HttpHeaderName", name).str_list("Values", values);
            });
        }
        Condition::QueryString { values } => {
            x.elem("QueryStringConfig", |x| {
                x.list("Values", values, |x, (k, v)| {
                    x.opt_leaf("Key", k.as_ref()).leaf("Value", v);
                });
            });
        }
    }
}
