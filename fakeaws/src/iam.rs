//! IAM identity-based policies, evaluated as IAM does for the calls the fake serves: an explicit
//! Deny wins, then an Allow, else the call is denied; `Action`/`NotAction` and
//! `Resource`/`NotResource` with `*` and `?` wildcards (actions case-insensitively). Instances'
//! role credentials carry their role's policies: by default the hooks' least-privilege policy the
//! README documents (`hooks/iam-policy.json`, one source for both), with `REGION` and `ACCOUNT`
//! filled in and `YOUR-GROUP` / `YOUR-TG` / `YOUR-APPLICATION` / `YOUR-DEPLOYMENT-GROUP` open to any name.

use serde_json::Value;

use crate::protocol::error::AwsError;
use crate::protocol::sigv4::{Known, Principal, PrincipalKind};
use crate::world::World;

/// The policy of docs/hooks.md, as written there (placeholders included).
pub const HOOKS_POLICY: &str = include_str!("../../hooks/iam-policy.json");

/// The hooks' policy for one account, as a rehearsal fleet's roles get it by default.
pub fn hooks_policy(region: &str, account: &str) -> Value {
    // Parsed once per region and account: every signed request of an instance role reads it.
    static PARSED: std::sync::Mutex<Vec<((String, String), Value)>> = std::sync::Mutex::new(Vec::new());
    let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, v)) = parsed.iter().find(|((r, a), _)| r == region && a == account) {
        return v.clone();
    }
    let text = HOOKS_POLICY
        .replace("REGION", region)
        .replace("ACCOUNT", account)
        .replace("YOUR-GROUP", "*")
        .replace("YOUR-TG", "*")
        .replace("YOUR-APPLICATION", "*")
        .replace("YOUR-DEPLOYMENT-GROUP", "*");
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    parsed.push(((region.to_string(), account.to_string()), v.clone()));
    v
}

/// The policies that govern a principal: an instance role's (the hooks' policy unless the world
/// gives it others), a static identity's; `None` when nothing restricts it (a user declared
/// without policies).
pub fn policies_of(world: &World, principal: &Principal) -> Option<Vec<Value>> {
    match principal.kind {
        PrincipalKind::Role => Some(role_policies(world, &principal.name)),
        PrincipalKind::User => world
            .identities
            .users
            .values()
            .find(|u| u.name == principal.name)
            .and_then(|u| u.policies.clone()),
    }
}

/// An instance role's policies: the world's, or the hooks' least-privilege policy.
pub fn role_policies(world: &World, role: &str) -> Vec<Value> {
    world
        .identities
        .roles
        .get(role)
        .cloned()
        .unwrap_or_else(|| vec![hooks_policy(&world.region, &world.account_id)])
}

/// Whether a JSON value is a policy document (it has a `Statement`, one or a list).
pub fn is_policy_document(p: &Value) -> bool {
    matches!(p.get("Statement"), Some(Value::Array(_) | Value::Object(_)))
}

/// A static identity's key, as signature verification knows it.
pub fn user_key(world: &World, access_key_id: &str) -> Option<Known> {
    let user = world.identities.users.get(access_key_id)?;
    Some(Known {
        secret: user.secret_access_key.clone(),
        token: None,
        expires_ms: None,
        principal: Some(Principal {
            kind: PrincipalKind::User,
            arn: format!("arn:aws:iam::{}:user/{}", world.account_id, user.name),
            name: user.name.clone(),
        }),
    })
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => Some(a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()),
        _ => None,
    }
}

/// `*` any run of characters, `?` any one.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

fn any_matches(patterns: &[String], text: &str, fold: bool) -> bool {
    patterns.iter().any(|p| {
        if fold {
            wildcard(p.to_ascii_lowercase().as_bytes(), text.to_ascii_lowercase().as_bytes())
        } else {
            wildcard(p.as_bytes(), text.as_bytes())
        }
    })
}

/// Whether one statement applies to `action` on `resource`.
fn applies(st: &Value, action: &str, resource: &str) -> bool {
    let action_ok = match (strings(st.get("Action")), strings(st.get("NotAction"))) {
        (Some(a), _) => any_matches(&a, action, true),
        (None, Some(n)) => !any_matches(&n, action, true),
        (None, None) => false,
    };
    let resource_ok = match (strings(st.get("Resource")), strings(st.get("NotResource"))) {
        (Some(r), _) => any_matches(&r, resource, false),
        (None, Some(n)) => !any_matches(&n, resource, false),
        (None, None) => false,
    };
    action_ok && resource_ok
}

/// IAM's decision for identity-based policies: `Some(true)` allowed, `Some(false)` explicitly
/// denied, `None` no statement allows it (implicitly denied).
pub fn decide(policies: &[Value], action: &str, resource: &str) -> Option<bool> {
    let mut allowed = None;
    for p in policies {
        let statements = match p.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => Vec::new(),
        };
        for st in &statements {
            if !applies(st, action, resource) {
                continue;
            }
            match st.get("Effect").and_then(Value::as_str) {
                Some("Deny") => return Some(false),
                Some("Allow") => allowed = Some(true),
                _ => {}
            }
        }
    }
    allowed
}

/// AWS's AccessDenied for an identity-based refusal.
pub fn access_denied(principal: &str, action: &str, resource: &str, explicit: bool) -> AwsError {
    let why = if explicit {
        "with an explicit deny in an identity-based policy".to_string()
    } else {
        format!("because no identity-based policy allows the {action} action")
    };
    AwsError::new(
        403,
        "AccessDenied",
        format!("User: {principal} is not authorized to perform: {action} on resource: {resource} {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard(
            b"autoscaling:Describe*",
            b"autoscaling:DescribeAutoScalingGroups"
        ));
        assert!(wildcard(b"*", b""));
        assert!(wildcard(b"a?c*", b"abcdef"));
        assert!(!wildcard(b"a?c", b"ac"));
        assert!(!wildcard(b"autoscaling:Describe*", b"autoscaling:EnterStandby"));
    }

    #[test]
    fn explicit_deny_wins_then_allow_else_denied() {
        let allow = json!({"Statement": [{"Effect": "Allow", "Action": "autoscaling:*", "Resource": "*"}]});
        let deny = json!({"Statement": {"Effect": "Deny", "Action": ["AUTOSCALING:enterstandby"], "Resource": "*"}});
        assert_eq!(
            decide(std::slice::from_ref(&allow), "autoscaling:EnterStandby", "arn:x"),
            Some(true)
        );
        assert_eq!(
            decide(&[allow.clone(), deny], "autoscaling:EnterStandby", "arn:x"),
            Some(false)
        );
        assert_eq!(
            decide(
                std::slice::from_ref(&allow),
                "elasticloadbalancing:RegisterTargets",
                "arn:x"
            ),
            None
        );
        let not = json!({"Statement": [{"Effect": "Allow", "NotAction": "autoscaling:Delete*", "NotResource": "arn:secret*"}]});
        assert_eq!(
            decide(std::slice::from_ref(&not), "autoscaling:EnterStandby", "arn:x"),
            Some(true)
        );
        assert_eq!(
            decide(std::slice::from_ref(&not), "autoscaling:DeleteTags", "arn:x"),
            None
        );
        assert_eq!(
            decide(std::slice::from_ref(&not), "autoscaling:EnterStandby", "arn:secret/1"),
            None
        );
    }

    #[test]
    fn the_readme_policy_parses_with_its_placeholders_filled() {
        let p = hooks_policy("us-east-1", "123456789012");
        let arn = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0f:autoScalingGroupName/web";
        assert_eq!(
            decide(std::slice::from_ref(&p), "autoscaling:EnterStandby", arn),
            Some(true)
        );
        assert_eq!(
            decide(std::slice::from_ref(&p), "autoscaling:DeleteAutoScalingGroup", arn),
            None
        );
    }
}
