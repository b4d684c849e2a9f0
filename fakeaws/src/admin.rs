//! The admin API under `/_fakeaws/` (JSON): what a test or scenario needs to steer the fake and
//! nothing AWS itself offers through its own API. Documented in docs/fakeaws.md.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::iso;
use crate::state::{Fake, Fault};
use crate::world::World;

/// The admin routes, to be nested under `/_fakeaws`, behind [`guard`].
pub fn router(fake: Arc<Fake>) -> Router<Arc<Fake>> {
    Router::new()
        .route("/world", get(world))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/clock/sleep", post(sleep))
        .route("/instances", get(instances).post(create_instances))
        .route("/instances/{id}/app", post(set_app))
        .route("/instances/{id}/docroot", post(set_doc_root))
        .route("/data-plane", get(data_plane))
        .route("/faults", get(faults).post(inject))
        .route("/calls", get(calls))
        .route("/answers", get(answers))
        .route("/codedeploy/notifications", get(notifications))
        .route("/codedeploy/notifications/endpoint", post(notification_endpoint))
        .route("/reset", post(reset))
        .route("/roles/{role}/policies", get(role_policies).post(set_role_policies))
        .fallback(unknown_route)
        .layer(axum::middleware::from_fn_with_state(fake, guard))
}

/// The admin API steers the whole fake: a peer on loopback may use it; any other peer (possible
/// only with `--allow-remote`) must present the configured admin token as `Authorization: Bearer
/// TOKEN`, and is refused when none is configured. Requests that did not come over a socket (a
/// router driven in-process) have no peer and are let through.
async fn guard(State(fake): State<Arc<Fake>>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let Some(peer) = peer.filter(|p| !p.ip().is_loopback()) else {
        return next.run(req).await;
    };
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (fake.auth.admin_token(), presented) {
        (Some(token), Some(p)) if crate::protocol::sigv4::constant_time_eq(token.as_bytes(), p.as_bytes()) => next.run(req).await,
        (None, _) => bad(
            StatusCode::FORBIDDEN,
            format!("the admin API answers loopback peers only ({} is not): start fakeaws with FAKEAWS_ADMIN_TOKEN set to let others in with `Authorization: Bearer TOKEN`", peer.ip()),
        ),
        _ => bad(StatusCode::FORBIDDEN, "the admin API needs `Authorization: Bearer TOKEN` with the configured admin token"),
    }
}

fn bad(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

async fn world(State(fake): State<Arc<Fake>>) -> Response {
    let w = fake.world().clone();
    Json(w).into_response()
}

/// The clock's answer, as every clock endpoint gives it: the time and the sleepers as JSON, and
/// the time again as the `x-fakeaws-now-ms` header (what a client that reads no body needs: the
/// hooks record when they ask for ExitStandby in the simulated time). One reading of the clock
/// for both.
fn clock_answer(fake: &Fake) -> Response {
    let now = fake.clock.now_ms();
    let body = json!({
        "now_ms": now,
        "now": iso(now),
        "sleepers": fake.clock.sleepers().iter().map(|s| json!({"who": s.who, "wake_ms": s.wake_ms})).collect::<Vec<_>>(),
    });
    ([("x-fakeaws-now-ms", now.to_string())], Json(body)).into_response()
}

async fn clock(State(fake): State<Arc<Fake>>) -> Response {
    clock_answer(&fake)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

async fn advance(
    State(fake): State<Arc<Fake>>,
    body: Result<Json<Advance>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(a)) = body else {
        return bad(StatusCode::BAD_REQUEST, "expected JSON {\"seconds\": N}");
    };
    if !a.seconds.is_finite() || a.seconds < 0.0 {
        return bad(StatusCode::BAD_REQUEST, "seconds must be a non-negative number");
    }
    fake.clock.advance_ms((a.seconds * 1000.0) as i64);
    drop(fake.world());
    clock_answer(&fake)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sleep {
    seconds: f64,
    #[serde(default)]
    who: String,
}

async fn sleep(
    State(fake): State<Arc<Fake>>,
    body: Result<Json<Sleep>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(s)) = body else {
        return bad(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"seconds\": N, \"who\": \"...\"}",
        );
    };
    if !s.seconds.is_finite() || s.seconds < 0.0 || s.seconds > 86_400.0 {
        return bad(StatusCode::BAD_REQUEST, "seconds must be between 0 and 86400");
    }
    let sleep = fake.turns.sleep(&fake.clock, &s.who, (s.seconds * 1000.0) as i64).await;
    sleep.wait().await;
    clock_answer(&fake)
}

async fn instances(State(fake): State<Arc<Fake>>) -> Response {
    let w = fake.world();
    let list: Vec<Value> = w
        .instances
        .values()
        .map(|i| {
            json!({
                "id": i.id,
                "group": i.group,
                "availability_zone": i.availability_zone,
                "lifecycle": i.lifecycle.as_str(),
                "healthy": i.healthy,
                "app_up": i.app_up,
                "imds_endpoint": fake.imds_endpoint(&i.id),
            })
        })
        .collect();
    Json(list).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInstances {
    availability_zone: String,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

async fn create_instances(
    State(fake): State<Arc<Fake>>,
    body: Result<Json<NewInstances>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(n)) = body else {
        return bad(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"availability_zone\": \"us-east-1a\", \"count\": 1}",
        );
    };
    let mut w = fake.world();
    if !w.valid_az(&n.availability_zone) {
        return bad(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown availability zone {} in region {}",
                n.availability_zone, w.region
            ),
        );
    }
    if n.count == 0 || n.count > 1000 {
        return bad(StatusCode::BAD_REQUEST, "count must be 1 to 1000");
    }
    if let Err(e) = w.check_quota(n.count as i64) {
        return bad(StatusCode::BAD_REQUEST, e.message);
    }
    let ids: Vec<Value> = (0..n.count)
        .map(|_| {
            let id = w.create_instance(&n.availability_zone, None, None);
            json!({"id": id, "imds_endpoint": fake.imds_endpoint(&id)})
        })
        .collect();
    Json(ids).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct App {
    up: bool,
}

async fn set_app(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<String>,
    body: Result<Json<App>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(a)) = body else {
        return bad(StatusCode::BAD_REQUEST, "expected JSON {\"up\": true|false}");
    };
    match fake.world().set_app(&id, a.up) {
        Ok(()) => Json(json!({"id": id, "app_up": a.up})).into_response(),
        Err(e) => bad(StatusCode::NOT_FOUND, e.message),
    }
}

// No deny_unknown_fields here: serde does not support it together with `flatten`.
#[derive(Deserialize)]
struct Inject {
    action: String,
    #[serde(flatten)]
    fault: Fault,
    #[serde(default = "one")]
    count: usize,
}

async fn inject(
    State(fake): State<Arc<Fake>>,
    body: Result<Json<Inject>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(i)) = body else {
        return bad(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"action\": \"DescribeTargetHealth\", \"kind\": \"throttle\"|\"unavailable\"|\"delay\", \"count\": N, \"ms\": M}",
        );
    };
    fake.faults.inject(&i.action, i.fault, i.count);
    Json(json!({ "pending": fake.faults.pending() })).into_response()
}

async fn faults(State(fake): State<Arc<Fake>>) -> Response {
    Json(json!({ "pending": fake.faults.pending() })).into_response()
}

async fn calls(State(fake): State<Arc<Fake>>) -> Response {
    Json(fake.metrics.call_counts()).into_response()
}

/// A path under `/_fakeaws/` that is no admin route: a JSON 404 naming it (not S3's answer).
async fn unknown_route(
    method: axum::http::Method,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Response {
    let msg = format!(
        "no admin route {method} {}: see docs/fakeaws.md, Admin API (/_fakeaws/world, /clock, /clock/advance, /instances, /faults, /calls, /answers, ...)",
        uri.path()
    );
    (StatusCode::NOT_FOUND, Json(json!({ "error": msg }))).into_response()
}

/// How many reads the answer cache served (`hits`) and how many it built (`misses`).
async fn answers(State(fake): State<Arc<Fake>>) -> Response {
    let (hits, misses) = fake.answers.counts();
    Json(json!({"hits": hits, "misses": misses})).into_response()
}

/// What CodeDeploy's triggers announced, oldest first (`?since=N`: from the N-th on).
async fn notifications(
    State(fake): State<Arc<Fake>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let since = match q.get("since").map(|s| s.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return bad(StatusCode::BAD_REQUEST, "since must be a number"),
    };
    let w = fake.world_read();
    let all = w.codedeploy_notifications();
    let list: Vec<Value> = all
        .iter()
        .skip(since)
        .map(|n| {
            json!({
                "time": iso(n.at_ms),
                "trigger": n.trigger_name,
                "topic": n.target_arn,
                "event": n.event.as_str(),
                "deploymentId": n.deployment_id,
                "subject": n.subject,
                "message": serde_json::from_str::<Value>(&n.message).unwrap_or(Value::Null),
            })
        })
        .collect();
    Json(json!({ "notifications": list, "next": all.len() })).into_response()
}

/// Delivers trigger notifications to an HTTP endpoint on loopback from now on
/// (`{"url": "http://127.0.0.1:PORT/path"}`), as SNS would to a subscribed endpoint.
async fn notification_endpoint(State(fake): State<Arc<Fake>>, body: String) -> Response {
    let url = match serde_json::from_str::<Value>(&body) {
        Ok(v) => match v.get("url").and_then(Value::as_str) {
            Some(u) => u.to_string(),
            None => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    "expected {\"url\": \"http://127.0.0.1:PORT/path\"}",
                )
            }
        },
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("not JSON: {e}")),
    };
    match crate::notify::start(&fake, url.clone()) {
        Ok(()) => Json(json!({ "delivering_to": url })).into_response(),
        Err(e) => bad(StatusCode::BAD_REQUEST, e),
    }
}

async fn role_policies(State(fake): State<Arc<Fake>>, Path(role): Path<String>) -> Response {
    let policies = crate::iam::role_policies(&fake.world_read(), &role);
    Json(json!({ "role": role, "policies": policies })).into_response()
}

/// Replaces an instance role's identity-based policies (a JSON array of policy documents).
async fn set_role_policies(
    State(fake): State<Arc<Fake>>,
    Path(role): Path<String>,
    body: Result<Json<Vec<Value>>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(policies)) = body else {
        return bad(
            StatusCode::BAD_REQUEST,
            "expected a JSON array of policy documents: [{\"Version\": \"2012-10-17\", \"Statement\": [...]}]",
        );
    };
    if let Some(i) = policies.iter().position(|p| !crate::iam::is_policy_document(p)) {
        return bad(StatusCode::BAD_REQUEST, format!("policy {i} has no Statement"));
    }
    fake.set_role_policies(&role, policies.clone());
    Json(json!({ "role": role, "policies": policies })).into_response()
}

async fn reset(State(fake): State<Arc<Fake>>) -> Response {
    let region = fake.region().to_string();
    fake.replace_world(World::new(&region, fake.clock.now_ms()));
    fake.sync_data_plane();
    Json(json!({"reset": true})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocRoot {
    path: std::path::PathBuf,
}

async fn set_doc_root(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<String>,
    body: Result<Json<DocRoot>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(d)) = body else {
        return bad(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"path\": \"/dir/the/app/serves\"}",
        );
    };
    if !fake.world().instances.contains_key(&id) {
        return bad(StatusCode::NOT_FOUND, format!("no instance {id}"));
    }
    let Some(dp) = fake.data_plane() else {
        return bad(
            StatusCode::CONFLICT,
            "the data plane is off (started with --no-data-plane)",
        );
    };
    dp.set_doc_root(&id, d.path.clone());
    Json(json!({"id": id, "docroot": d.path})).into_response()
}

async fn data_plane(State(fake): State<Arc<Fake>>) -> Response {
    match fake.data_plane() {
        Some(dp) => Json(json!({"endpoints": dp.endpoints()})).into_response(),
        None => bad(
            StatusCode::CONFLICT,
            "the data plane is off (started with --no-data-plane)",
        ),
    }
}
