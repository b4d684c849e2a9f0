//! The EC2 instance metadata service, one per simulated instance, under `/_imds/{instance-id}/`.
//!
//! Pointing `AWS_EC2_METADATA_SERVICE_ENDPOINT` at `http://127.0.0.1:PORT/_imds/i-…/` makes a
//! process *be* that instance for the Rust SDK's default chain and for botocore: identity,
//! region, and the credentials of its IAM role. IMDSv2 tokens are enforced as on EC2.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use serde_json::{json, Value};

use crate::clock::iso;
use crate::model::Instance;
use crate::state::Fake;

const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    let mut r = (status, Body::from(text.into())).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    r
}

/// The secret of every role credential the metadata services hand out (the key and the session
/// token differ per instance).
const ROLE_SECRET: &str = "fakeaws-secret-access-key-not-a-secret";

/// Answers one metadata request for instance `id`; `path` is what follows the instance prefix.
pub async fn handle(fake: &Fake, id: &str, path: &str, method: &Method, headers: &HeaderMap) -> Response {
    // Metadata does not change with time: the world as it is will do (no settling of the fleet).
    let (inst, account) = {
        let world = fake.world_peek();
        (world.instances.get(id).cloned(), world.account_id.clone())
    };
    let Some(inst) = inst else {
        return plain(StatusCode::NOT_FOUND, format!("fakeaws has no instance {id}"));
    };
    fake.metrics.count_metadata(path.trim_end_matches('/'));
    let now = fake.clock.now_ms();
    if path == "latest/api/token" {
        return issue_token(fake, id, method, headers, now);
    }
    if method != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    if let Some(refused) = token_refusal(fake, id, headers, now) {
        return refused;
    }
    let target = target_state(fake, &inst, path);
    let ctx = Answer {
        fake,
        inst: &inst,
        account: &account,
        target,
        now,
    };
    match ctx.body(path.trim_end_matches('/')) {
        Some(body) => plain(StatusCode::OK, body),
        None => plain(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `PUT latest/api/token`: an IMDSv2 session token for 1 to 21600 seconds (refused through a
/// proxy, as EC2 refuses a request with `X-Forwarded-For`).
fn issue_token(fake: &Fake, id: &str, method: &Method, headers: &HeaderMap, now: i64) -> Response {
    if method != Method::PUT {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    if headers.contains_key("x-forwarded-for") {
        return plain(StatusCode::FORBIDDEN, "Forbidden");
    }
    let ttl = headers
        .get(TTL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let Some(ttl) = ttl.filter(|t| (1..=21600).contains(t)) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "Bad Request: token TTL must be 1 to 21600 seconds",
        );
    };
    let token = format!("AQAEA{:016x}{:08x}", fastrand::u64(..), ttl);
    fake.tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone(), (id.to_string(), now + ttl * 1000));
    let mut r = plain(StatusCode::OK, token);
    if let Ok(v) = HeaderValue::from_str(&ttl.to_string()) {
        r.headers_mut().insert(TTL_HEADER, v);
    }
    r
}

/// A read needs a live token of this instance, or none when IMDSv1 is allowed: the 401 otherwise.
fn token_refusal(fake: &Fake, id: &str, headers: &HeaderMap, now: i64) -> Option<Response> {
    let valid = match headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) {
        Some(token) => fake
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .is_some_and(|(owner, exp)| owner == id && *exp > now),
        None => fake.imds_v1,
    };
    (!valid).then(|| plain(StatusCode::UNAUTHORIZED, "Unauthorized"))
}

/// An Auto Scaling instance's `autoscaling/target-lifecycle-state` when `path` may show it: the
/// steady state it is headed for, read from the world as of now (it changes with time, unlike
/// the rest).
fn target_state(fake: &Fake, inst: &Instance, path: &str) -> Option<&'static str> {
    let asks = path.starts_with("latest/meta-data/autoscaling") || path.trim_end_matches('/') == "latest/meta-data";
    if !asks || (inst.group.is_none() && inst.lifecycle != crate::model::Lifecycle::Detached) {
        return None;
    }
    let w = fake.world_read();
    w.instances.get(&inst.id).map(|i| {
        let pool = i
            .group
            .as_ref()
            .and_then(|g| w.groups.get(g))
            .and_then(|g| g.warm_pool.as_ref())
            .map_or(crate::model::PoolState::Stopped, |p| p.pool_state);
        target_lifecycle_state(i.lifecycle, pool)
    })
}

/// What one instance's metadata answers with, as of `now`.
struct Answer<'a> {
    fake: &'a Fake,
    inst: &'a Instance,
    account: &'a str,
    target: Option<&'static str>,
    now: i64,
}

impl Answer<'_> {
    /// The body at `path` (without a trailing `/`), or `None` for EC2's 404.
    fn body(&self, path: &str) -> Option<String> {
        let inst = self.inst;
        let rebalance = inst.spot.rebalance_ms;
        let interruption = inst.spot.interruption_ms;
        Some(match path {
            "latest/meta-data" => self.listing(),
            "latest/meta-data/autoscaling" if self.target.is_some() => "target-lifecycle-state".into(),
            "latest/meta-data/autoscaling/target-lifecycle-state" => self.target?.to_string(),
            "latest/meta-data/instance-id" => inst.id.clone(),
            "latest/meta-data/instance-life-cycle" => if inst.spot.spot { "spot" } else { "on-demand" }.into(),
            // A Spot Instance's notices, in the shapes of EC2's user guide; 404 until there is one.
            "latest/meta-data/events" if rebalance.is_some() => "recommendations/".into(),
            "latest/meta-data/events/recommendations" if rebalance.is_some() => "rebalance".into(),
            "latest/meta-data/events/recommendations/rebalance" => {
                format!("{{\"noticeTime\": \"{}\"}}", iso_s(rebalance?))
            }
            "latest/meta-data/spot" if interruption.is_some() => "instance-action\ntermination-time".into(),
            "latest/meta-data/spot/instance-action" => {
                format!("{{\"action\": \"terminate\", \"time\": \"{}\"}}", iso_s(interruption?))
            }
            "latest/meta-data/spot/termination-time" => iso_s(interruption?),
            "latest/meta-data/placement/region" => self.fake.region().to_string(),
            "latest/meta-data/placement/availability-zone" => inst.availability_zone.clone(),
            "latest/meta-data/local-ipv4" => inst.private_ip.clone(),
            "latest/meta-data/instance-type" => "t3.micro".into(),
            "latest/meta-data/ami-id" => "ami-0fakeaws000000001".into(),
            "latest/meta-data/iam/security-credentials" => inst.role.clone(),
            "latest/meta-data/iam/info" => ec2_json(&[
                ("Code", json!("Success")),
                ("LastUpdated", json!(iso_s(self.now))),
                (
                    "InstanceProfileArn",
                    json!(format!("arn:aws:iam::{}:instance-profile/{}", self.account, inst.role)),
                ),
                ("InstanceProfileId", json!("AIPAFAKEAWS0000000001")),
            ]),
            p if p.strip_prefix("latest/meta-data/iam/security-credentials/") == Some(inst.role.as_str()) => {
                self.credentials()
            }
            "latest/dynamic/instance-identity/document" => self.identity_document(),
            _ => return None,
        })
    }

    /// The categories, those of a Spot Instance's notices only once there is one.
    fn listing(&self) -> String {
        let inst = self.inst;
        [
            ("ami-id", true),
            ("autoscaling/", self.target.is_some()),
            ("events/", inst.spot.rebalance_ms.is_some()),
            ("instance-id", true),
            ("instance-life-cycle", true),
            ("instance-type", true),
            ("local-ipv4", true),
            ("placement/", true),
            ("iam/", true),
            ("spot/", inst.spot.interruption_ms.is_some()),
        ]
        .iter()
        .filter(|(_, shown)| *shown)
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// The role's credentials, registered with the fake's signature check as they are handed out.
    fn credentials(&self) -> String {
        let inst = self.inst;
        // Expiry is set against real time too: SDKs compare it with the wall clock.
        let expires = self.now.max(chrono::Utc::now().timestamp_millis()) + 6 * 3600 * 1000;
        let key = format!("ASIAFAKE{}", &inst.id[2..inst.id.len().min(14)].to_uppercase());
        let token = format!("fakeaws-session-token-{}", inst.id);
        self.fake.auth.add_credentials(
            &key,
            crate::protocol::sigv4::Known {
                secret: ROLE_SECRET.into(),
                token: Some(token.clone()),
                expires_ms: Some(expires),
                principal: Some(crate::protocol::sigv4::Principal {
                    kind: crate::protocol::sigv4::PrincipalKind::Role,
                    name: inst.role.clone(),
                    arn: format!("arn:aws:sts::{}:assumed-role/{}/{}", self.account, inst.role, inst.id),
                }),
            },
        );
        ec2_json(&[
            ("Code", json!("Success")),
            ("LastUpdated", json!(iso_s(self.now))),
            ("Type", json!("AWS-HMAC")),
            ("AccessKeyId", json!(key)),
            ("SecretAccessKey", json!(ROLE_SECRET)),
            ("Token", json!(token)),
            ("Expiration", json!(iso_s(expires))),
        ])
    }

    /// EC2's layout, key order and null keys included: the sample scripts read it with grep/awk.
    fn identity_document(&self) -> String {
        let inst = self.inst;
        ec2_json(&[
            ("accountId", json!(self.account)),
            ("architecture", json!("x86_64")),
            ("availabilityZone", json!(inst.availability_zone)),
            ("billingProducts", Value::Null),
            ("devpayProductCodes", Value::Null),
            ("marketplaceProductCodes", Value::Null),
            ("imageId", json!("ami-0fakeaws000000001")),
            ("instanceId", json!(inst.id)),
            ("instanceType", json!("t3.micro")),
            ("kernelId", Value::Null),
            ("pendingTime", json!(iso_s(inst.launched_ms))),
            ("privateIp", json!(inst.private_ip)),
            ("ramdiskId", Value::Null),
            ("region", json!(self.fake.region())),
            ("version", json!("2017-09-30")),
        ])
    }
}

/// The steady state an instance in `lifecycle` is headed for, as Auto Scaling writes it into
/// `autoscaling/target-lifecycle-state` when the transition begins: launching or coming back from
/// Standby is InService, entering Standby is Standby, any stage of termination is Terminated
/// (a retained instance's too: AWS documents no other value, so the target it was headed for stays).
/// On its way into a warm pool (launched into it, or reused on scale-in), the pool's resting state
/// (`pool`): `Warmed:Stopped`, `Warmed:Running` or `Warmed:Hibernated`; terminated from the pool,
/// `Warmed:Terminated` (User Guide, "Retrieve the target lifecycle state through instance metadata").
pub fn target_lifecycle_state(lifecycle: crate::model::Lifecycle, pool: crate::model::PoolState) -> &'static str {
    use crate::model::Lifecycle as L;
    match lifecycle {
        L::WarmedPending
        | L::WarmedPendingWait
        | L::WarmedPendingProceed
        | L::WarmedStopped
        | L::WarmedRunning
        | L::WarmedHibernated => pool.resting().as_str(),
        L::WarmedTerminating | L::WarmedTerminatingWait | L::WarmedTerminatingProceed | L::WarmedTerminated => {
            "Warmed:Terminated"
        }
        L::Pending | L::PendingWait | L::PendingProceed | L::InService => "InService",
        L::EnteringStandby | L::Standby => "Standby",
        L::Terminating | L::TerminatingWait | L::TerminatingProceed | L::TerminatingRetained | L::Terminated => {
            "Terminated"
        }
        L::Detached => "Detached",
    }
}

/// Seconds-precision ISO 8601 (`2026-11-22T07:45:00Z`), as instance metadata writes times.
fn iso_s(ms: i64) -> String {
    iso(ms - ms.rem_euclid(1000)).replace(".000Z", "Z")
}

/// JSON as EC2's metadata service writes it: one `"key" : value` per line, two-space indent,
/// `null` for absent values, lists as `[ "a", "b" ]`, no trailing newline.
pub fn ec2_json(pairs: &[(&str, Value)]) -> String {
    let value = |v: &Value| match v {
        Value::Array(items) if items.is_empty() => "[ ]".to_string(),
        Value::Array(items) => format!(
            "[ {} ]",
            items.iter().map(Value::to_string).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    };
    let lines: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("  {} : {}", Value::from(*k), value(v)))
        .collect();
    format!("{{\n{}\n}}", lines.join(",\n"))
}
