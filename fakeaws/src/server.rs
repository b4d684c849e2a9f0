//! The HTTP face of the fake: one axum [`Router`] serving the AWS Query APIs on `POST /`,
//! CodeDeploy's JSON 1.1 API (`X-Amz-Target`), S3's REST API, the per-instance metadata services under `/_imds/{instance}/`, and the admin API under `/_fakeaws/`.
//!
//! [`app`] builds the router from a shared [`Fake`]; tests can drive it without a socket.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::admin;
use crate::protocol::error::AwsError;
use crate::protocol::json;
use crate::protocol::query::Params;
use crate::services::table::{Change, Service};
use crate::services::{autoscaling, classic, codedeploy, elbv2, imds};
use crate::state::{Fake, Fault};

/// The Query APIs, each known by its `Version`.
const QUERY: [&Service<Params, Option<String>>; 3] = [&autoscaling::SERVICE, &elbv2::SERVICE, &classic::SERVICE];

/// The Query API a request is for: by its `Version`, else by the service it was signed for
/// (for an error's namespace); Auto Scaling when neither says.
fn query_service(version: &str, signer: Option<&str>) -> &'static Service<Params, Option<String>> {
    QUERY
        .iter()
        .find(|s| s.version == version)
        .or_else(|| {
            QUERY
                .iter()
                .find(|s| version.is_empty() && Some(s.signing_name) == signer)
        })
        .copied()
        .unwrap_or(&autoscaling::SERVICE)
}

/// The router for a fake.
pub fn app(fake: Arc<Fake>) -> Router {
    Router::new()
        .nest("/_fakeaws", admin::router(fake.clone()))
        .fallback(dispatch)
        .with_state(fake)
}

async fn dispatch(State(fake): State<Arc<Fake>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/_imds/") {
        let (id, sub) = rest.split_once('/').unwrap_or((rest, ""));
        return imds::handle(&fake, id, sub, req.method(), req.headers()).await;
    }
    // A driver's process acting at the same instant as others is served on its turn.
    let _turn = match fake.turns.acting() {
        0 => None,
        _ => match fake.auth.caller_instance(req.headers()) {
            Some(instance) => fake.turns.by_instance(&instance).await,
            None => None,
        },
    };
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
    if crate::services::s3::is_s3(req.method(), &path, req.uri().query(), auth) {
        if fake.auth.verifies_signatures() && auth.is_some() {
            let now = chrono::Utc::now().timestamp_millis();
            if let Some(refused) = crate::services::s3::too_skewed(req.headers(), now, &fake.metrics.request_id()) {
                return refused;
            }
        }
        return match fake.s3() {
            Ok(s3) => s3.handle(req).await,
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        };
    }
    let method = req.method().clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), 4 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            let mut resp = aws_response(
                &fake,
                autoscaling::NAMESPACE,
                Err(AwsError::validation(
                    "The request body is too large or could not be read.",
                )),
                "",
            );
            // The rest of the body is not read: the connection cannot carry another request,
            // and a keep-alive client is told so rather than finding a closed socket.
            resp.headers_mut()
                .insert(axum::http::header::CONNECTION, HeaderValue::from_static("close"));
            return resp;
        }
    };
    if method == Method::POST && headers.contains_key("x-amz-target") {
        return json_call(&fake, &path_and_query, &headers, &body).await;
    }
    if method != Method::POST {
        let err = AwsError::new(
            400,
            "InvalidAction",
            format!("fakeaws answers the AWS Query protocol with POST /; {method} {path} is not an AWS action."),
        );
        return aws_response(&fake, autoscaling::NAMESPACE, Err(err), "");
    }
    query(&fake, &path_and_query, &headers, &body).await
}

/// The credential scope service of a SigV4 `Authorization` header, if any.
fn signing_service(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    let scope = cred.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_string)
}

async fn query(fake: &Arc<Fake>, path_and_query: &str, headers: &HeaderMap, body: &Bytes) -> Response {
    // The Query protocol is a form; a JSON or text body is not silently read as one.
    if let Some(ct) = headers.get("content-type") {
        let ct = ct.to_str().unwrap_or_default();
        let essence = ct.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            let err = AwsError::new(
                400,
                "UnsupportedMediaType",
                format!("Content-Type '{ct}' is not supported: the AWS Query protocol takes application/x-www-form-urlencoded bodies."),
            );
            return aws_response(fake, autoscaling::NAMESPACE, Err(err), "");
        }
    }
    let params = match Params::decode(body) {
        Ok(p) => p,
        Err(e) => return aws_response(fake, autoscaling::NAMESPACE, Err(e), ""),
    };
    let version = params.opt("Version").unwrap_or_default().to_string();
    let signer = signing_service(headers);
    // Who is asking comes before what is asked: a request whose signature does not hold is
    // refused whatever it contains.
    let caller = match fake.verify_signature("POST", path_and_query, headers, body) {
        Ok(caller) => caller,
        Err(e) => {
            let ns = query_service(&version, signer.as_deref()).namespace;
            return aws_response(fake, ns, Err(e), "");
        }
    };
    let service = query_service(&version, signer.as_deref());
    let ns = service.namespace;
    if version.is_empty() {
        let err = AwsError::new(
            400,
            "MissingParameter",
            "The request must contain the parameter Version.",
        );
        return aws_response(fake, ns, Err(err), "");
    }
    if service.version != version {
        let served: Vec<String> = QUERY.iter().map(|s| format!("{} {}", s.title, s.version)).collect();
        let err = AwsError::new(
            400,
            "InvalidParameterValue",
            format!(
                "Version {version} is not supported: fakeaws serves {} and {}.",
                served[..served.len() - 1].join(", "),
                served[served.len() - 1]
            ),
        );
        return aws_response(fake, autoscaling::NAMESPACE, Err(err), "");
    }
    if let Some(s) = &signer {
        if s != service.signing_name {
            let err = AwsError::new(
                400,
                "InvalidAction",
                format!(
                    "The request was signed for service '{s}' but Version {version} belongs to '{}'.",
                    service.signing_name
                ),
            );
            return aws_response(fake, ns, Err(err), "");
        }
    }
    let action = match params.req("Action") {
        Ok(a) => a.to_string(),
        Err(_) => {
            let err = AwsError::new(400, "MissingAction", "The request must contain the parameter Action.");
            return aws_response(fake, ns, Err(err), "");
        }
    };
    // The action's entry, looked up once: whether it changes the world, its resource, its handler.
    let entry = service.action(&action);
    let change = entry.map_or(Change::Nothing, |a| a.changes);
    let read_only = change == Change::Nothing;
    let outcome = execute(
        fake,
        caller.as_ref(),
        service.signing_name,
        &action,
        change,
        |world| entry.map_or_else(|| "*".into(), |a| a.resource.resolve(world, &params)),
        |world| {
            // Under the world's lock: the version cannot move while the answer is built.
            let at = fake.version();
            if read_only {
                if let Some(kept) = fake.answers.get(&action, at, body) {
                    return Ok(kept);
                }
            }
            let answer = match entry {
                Some(a) => (a.handler)(world, &params),
                None => Err(service.unknown(&action)),
            };
            if let (true, Ok(a)) = (read_only, &answer) {
                fake.answers.put(&action, at, body, a);
            }
            answer
        },
    )
    .await;
    aws_response(fake, ns, outcome, &action)
}

/// One action, whatever its protocol: counted, faults injected, then under the world's lock the
/// caller's policies checked on the resource the call names, the handler run, and a failed call or
/// a broken invariant rolled back. Reads take no rollback copy: their cost does not grow with
/// what the world holds; a change keeps a copy that shares with the world everything the change
/// leaves alone (persistent collections), so it costs what it touches.
///
/// A call of an instance's process is counted and, if the driver armed a gate at it, held once
/// it has been served and before its answer goes back (see `crate::gates`): what it did to the
/// world is done whatever happens to the caller meanwhile (a client killed while its request is
/// held would otherwise have its request dropped or not, as the connection's close is noticed).
async fn execute<T>(
    fake: &Arc<Fake>,
    caller: Option<&crate::protocol::sigv4::Known>,
    service: &str,
    action: &str,
    change: Change,
    resource: impl FnOnce(&crate::world::World) -> String,
    handler: impl FnOnce(&mut crate::world::World) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let result = serve(fake, caller, service, action, change, resource, handler).await;
    if let Some(instance) = caller
        .and_then(|k| k.principal.as_ref())
        .and_then(|p| p.arn.rsplit('/').next())
    {
        if instance.starts_with("i-") {
            fake.gates.pass(&fake.clock, instance, action).await;
        }
    }
    result
}

async fn serve<T>(
    fake: &Arc<Fake>,
    caller: Option<&crate::protocol::sigv4::Known>,
    service: &str,
    action: &str,
    change: Change,
    resource: impl FnOnce(&crate::world::World) -> String,
    handler: impl FnOnce(&mut crate::world::World) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let read_only = change == Change::Nothing;
    fake.metrics.count(service, action);
    match fake.faults.take(action) {
        Some(Fault::Throttle) => return Err(AwsError::throttling()),
        Some(Fault::Unavailable) => return Err(AwsError::unavailable()),
        Some(Fault::Delay { ms }) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        Some(Fault::Hold) => fake.faults.hold().await,
        Some(Fault::Pass) | None => {}
    }
    let outcome = {
        let mut world = match change {
            Change::Nothing => fake.world_read(),
            Change::Tags => fake.world_tags(),
            Change::Fleet => fake.world(),
        };
        // What the caller may do: its identity-based policies, on the resource the call names.
        if let Some(principal) = caller.and_then(|k| k.principal.as_ref()) {
            if let Some(policies) = crate::iam::policies_of(&world, principal) {
                let resource = resource(&world);
                let full = format!("{service}:{action}");
                match crate::iam::decide(&policies, &full, &resource) {
                    Some(true) => {}
                    other => {
                        return Err(crate::iam::access_denied(
                            &principal.arn,
                            &full,
                            &resource,
                            other == Some(false),
                        ));
                    }
                }
            }
        }
        let before = (!read_only).then(|| {
            fake.metrics.rollback_copies.fetch_add(1, Ordering::Relaxed);
            world.clone()
        });
        let result = handler(&mut world);
        match before {
            None => result,
            Some(before) if result.is_err() => {
                // A failed call changes nothing.
                *world = before;
                result
            }
            Some(before) => match world.check_invariants_since(&before) {
                Ok(()) => result,
                Err(broken) => {
                    *world = before;
                    tracing::error!(%action, %broken, "invariant broken; change rolled back");
                    Err(AwsError::new(
                        500,
                        "InternalFailure",
                        format!("fakeaws refused a change that broke an invariant: {broken}"),
                    ))
                }
            },
        }
    };
    if outcome.is_ok() && !read_only {
        fake.sync_data_plane();
    }
    outcome
}

/// The AWS JSON 1.1 protocol (CodeDeploy): `X-Amz-Target: CodeDeploy_20141006.Action`.
async fn json_call(fake: &Arc<Fake>, path_and_query: &str, headers: &HeaderMap, body: &Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let rid = fake.metrics.request_id();
    let Some(action) = target.strip_prefix(codedeploy::TARGET_PREFIX) else {
        let err = AwsError::new(
            400,
            "UnknownOperationException",
            format!(
                "X-Amz-Target {target} is not served: fakeaws serves CodeDeploy ({}*) over JSON.",
                codedeploy::TARGET_PREFIX
            ),
        );
        return json::response(Err(err), &rid);
    };
    let caller = match fake.verify_signature("POST", path_and_query, headers, body) {
        Ok(caller) => caller,
        Err(mut e) => {
            // The JSON services' name for it: 400 InvalidSignatureException, same message.
            if e.code == "SignatureDoesNotMatch" {
                e.code = "InvalidSignatureException".into();
                e.status = 400;
            }
            return json::response(Err(e), &rid);
        }
    };
    if let Some(s) = signing_service(headers) {
        if s != "codedeploy" {
            let err = AwsError::new(
                400,
                "InvalidSignatureException",
                format!("The request was signed for service '{s}' but X-Amz-Target {target} belongs to 'codedeploy'."),
            );
            return json::response(Err(err), &rid);
        }
    }
    let doc = match json::Body::decode(body) {
        Ok(d) => d,
        Err(e) => return json::response(Err(e), &rid),
    };
    let entry = codedeploy::SERVICE.action(action);
    let outcome = execute(
        fake,
        caller.as_ref(),
        "codedeploy",
        action,
        entry.map_or(Change::Nothing, |a| a.changes),
        |world| entry.map_or_else(|| "*".into(), |a| a.resource.resolve(world, &doc)),
        |world| match entry {
            Some(a) => (a.handler)(world, &doc),
            None => Err(codedeploy::SERVICE.unknown(action)),
        },
    )
    .await
    .map_err(|mut e| {
        // JSON services name these with the Exception suffix.
        if e.code == "Throttling" || e.code == "AccessDenied" {
            e.code = format!("{}Exception", e.code);
        }
        e
    });
    json::response(outcome, &rid)
}

fn aws_response(fake: &Fake, ns: &str, outcome: Result<Option<String>, AwsError>, action: &str) -> Response {
    let rid = fake.metrics.request_id();
    let body = match outcome {
        Ok(result) => {
            let mut out = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{ns}\">");
            if let Some(inner) = result {
                if inner.is_empty() {
                    out.push_str(&format!("<{action}Result/>"));
                } else {
                    out.push_str(&format!("<{action}Result>{inner}</{action}Result>"));
                }
            }
            out.push_str(&format!(
                "<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></{action}Response>"
            ));
            out
        }
        Err(error) => {
            if error.status >= 500 {
                tracing::warn!(%action, code = %error.code, "answering with a server error");
            }
            let page = crate::protocol::error::ErrorResponse {
                error: &error,
                namespace: ns,
                request_id: &rid,
            };
            return page.into_response();
        }
    };
    let mut resp = (StatusCode::OK, Body::from(body)).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(&rid) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}
