//! The HTTP face of the fake: one axum [`Router`] serving the AWS Query APIs on `POST /`, the
//! per-instance metadata services under `/_imds/{instance}/`, and the admin API under `/_fakeaws/`.
//!
//! [`app`] builds the router from a shared [`Fake`]; tests can drive it without a socket.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, ClockMode};
use crate::error::AwsError;
use crate::query::Params;
use crate::world::World;
use crate::{admin, autoscaling, classic, elbv2, imds};

/// A fault to inject into the next calls of an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// Answer 400 `Throttling`.
    Throttle,
    /// Answer 503 `ServiceUnavailable`.
    Unavailable,
    /// Answer late, after this many real milliseconds.
    Delay { ms: u64 },
}

/// Options the fake starts with.
#[derive(Debug, Clone)]
pub struct Options {
    /// Region of the simulated account.
    pub region: String,
    /// Whether IMDSv1 (no token) is accepted.
    pub imds_v1: bool,
    /// How the clock runs.
    pub clock: ClockMode,
    /// The account's instance quota.
    pub max_instances: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            region: "us-east-1".into(),
            imds_v1: false,
            clock: ClockMode::Scaled(1.0),
            max_instances: crate::world::DEFAULT_MAX_INSTANCES,
        }
    }
}

/// The shared state behind every request.
#[derive(Debug)]
pub struct Fake {
    world: Mutex<World>,
    /// The simulated clock.
    pub clock: Clock,
    faults: Mutex<BTreeMap<String, Vec<Fault>>>,
    pub(crate) tokens: Mutex<HashMap<String, (String, i64)>>,
    requests: AtomicU64,
    /// How many requests took a copy of the world to roll back to (changes do, reads do not).
    pub rollback_copies: AtomicU64,
    calls: Mutex<BTreeMap<String, u64>>,
    /// Whether IMDSv1 is accepted.
    pub imds_v1: bool,
    base_url: OnceLock<String>,
    region: String,
}

impl Fake {
    /// A fake with an empty world.
    pub fn new(options: Options) -> Arc<Fake> {
        let clock = Clock::starting_now(options.clock);
        let mut world = World::new(&options.region, clock.now_ms());
        world.max_instances = options.max_instances;
        Fake::with_world(world, clock, options.imds_v1)
    }

    /// A fake around an existing world and clock.
    pub fn with_world(mut world: World, clock: Clock, imds_v1: bool) -> Arc<Fake> {
        world.now_ms = world.now_ms.min(clock.now_ms());
        let region = world.region.clone();
        Arc::new(Fake {
            world: Mutex::new(world),
            clock,
            faults: Mutex::new(BTreeMap::new()),
            tokens: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            rollback_copies: AtomicU64::new(0),
            calls: Mutex::new(BTreeMap::new()),
            imds_v1,
            base_url: OnceLock::new(),
            region,
        })
    }

    /// Locks the world after bringing it up to the current simulated time.
    pub fn world(&self) -> MutexGuard<'_, World> {
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        w.tick(self.clock.now_ms());
        w
    }

    /// Replaces the whole world (admin reset / load).
    pub fn replace_world(&self, world: World) {
        *self.world.lock().unwrap_or_else(|e| e.into_inner()) = world;
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The region of the simulated account.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Records the address the server listens on, for metadata endpoint URLs.
    pub fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url);
    }

    /// `http://host:port` of the server, once known.
    pub fn base_url(&self) -> String {
        self.base_url
            .get()
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1:4566".into())
    }

    /// The metadata endpoint of one instance (what to put in `AWS_EC2_METADATA_SERVICE_ENDPOINT`).
    pub fn imds_endpoint(&self, instance_id: &str) -> String {
        format!("{}/_imds/{instance_id}/", self.base_url())
    }

    /// Queues `count` faults for `action` (`*` for every action).
    pub fn inject(&self, action: &str, fault: Fault, count: usize) {
        let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        f.entry(action.to_string())
            .or_default()
            .extend(std::iter::repeat_n(fault, count));
    }

    fn take_fault(&self, action: &str) -> Option<Fault> {
        let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        for key in [action, "*"] {
            if let Some(q) = f.get_mut(key) {
                if !q.is_empty() {
                    return Some(q.remove(0));
                }
            }
        }
        None
    }

    /// Faults still queued, per action.
    pub fn pending_faults(&self) -> BTreeMap<String, usize> {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    }

    /// How many times each action was called (`Service:Action`).
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A fresh request id.
    pub fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{:08x}-fa6e-4a5e-8000-{:012x}", n >> 16, n)
    }
}

/// The router for a fake.
pub fn app(fake: Arc<Fake>) -> Router {
    Router::new()
        .nest("/_fakeaws", admin::router())
        .fallback(dispatch)
        .with_state(fake)
}

async fn dispatch(State(fake): State<Arc<Fake>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/_imds/") {
        let (id, sub) = rest.split_once('/').unwrap_or((rest, ""));
        return imds::handle(&fake, id, sub, req.method(), req.headers()).await;
    }
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), 4 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return aws_response(
                &fake,
                autoscaling::NAMESPACE,
                Err(AwsError::validation(
                    "The request body is too large or could not be read.",
                )),
                "",
            )
        }
    };
    if method != Method::POST {
        let err = AwsError::new(
            400,
            "InvalidAction",
            format!("fakeaws answers the AWS Query protocol with POST /; {method} {path} is not an AWS action."),
        );
        return aws_response(&fake, autoscaling::NAMESPACE, Err(err), "");
    }
    query(&fake, &headers, &body).await
}

/// The credential scope service of a SigV4 `Authorization` header, if any.
fn signing_service(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    let scope = cred.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_string)
}

async fn query(fake: &Arc<Fake>, headers: &HeaderMap, body: &Bytes) -> Response {
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
    let (service, ns) = match version.as_str() {
        "2011-01-01" => ("autoscaling", autoscaling::NAMESPACE),
        "2015-12-01" => ("elasticloadbalancing", elbv2::NAMESPACE),
        "2012-06-01" => ("elasticloadbalancing", classic::NAMESPACE),
        "" => {
            let err = AwsError::new(
                400,
                "MissingParameter",
                "The request must contain the parameter Version.",
            );
            let ns = match signer.as_deref() {
                Some("elasticloadbalancing") => elbv2::NAMESPACE,
                _ => autoscaling::NAMESPACE,
            };
            return aws_response(fake, ns, Err(err), "");
        }
        other => {
            let err = AwsError::new(
                400,
                "InvalidParameterValue",
                format!("Version {other} is not supported: fakeaws serves Auto Scaling 2011-01-01, Elastic Load Balancing 2015-12-01 and Classic Elastic Load Balancing 2012-06-01."),
            );
            return aws_response(fake, autoscaling::NAMESPACE, Err(err), "");
        }
    };
    if let Some(s) = &signer {
        if s != service {
            let err = AwsError::new(
                400,
                "InvalidAction",
                format!("The request was signed for service '{s}' but Version {version} belongs to '{service}'."),
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
    {
        let mut calls = fake.calls.lock().unwrap_or_else(|e| e.into_inner());
        *calls.entry(format!("{service}:{action}")).or_default() += 1;
    }
    match fake.take_fault(&action) {
        Some(Fault::Throttle) => return aws_response(fake, ns, Err(AwsError::throttling()), &action),
        Some(Fault::Unavailable) => return aws_response(fake, ns, Err(AwsError::unavailable()), &action),
        Some(Fault::Delay { ms }) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        None => {}
    }
    let outcome = {
        let mut world = fake.world();
        // Reads change nothing, so they take no copy of the world: their cost does not grow with
        // what the world holds. A change keeps a copy to roll back to.
        let read_only = ["Describe", "Get", "List"].iter().any(|p| action.starts_with(p));
        let before = (!read_only).then(|| {
            fake.rollback_copies.fetch_add(1, Ordering::Relaxed);
            world.clone()
        });
        let result = match (service, version.as_str()) {
            ("autoscaling", _) => autoscaling::handle(&mut world, &action, &params),
            (_, "2012-06-01") => classic::handle(&mut world, &action, &params),
            _ => elbv2::handle(&mut world, &action, &params),
        };
        let Some(before) = before else {
            return aws_response(fake, ns, result, &action);
        };
        if result.is_err() {
            // A failed call changes nothing.
            *world = before;
            result
        } else if let Err(broken) = world.check_invariants() {
            *world = before;
            tracing::error!(%action, %broken, "invariant broken; change rolled back");
            Err(AwsError::new(
                500,
                "InternalFailure",
                format!("fakeaws refused a change that broke an invariant: {broken}"),
            ))
        } else {
            result
        }
    };
    aws_response(fake, ns, outcome, &action)
}

fn aws_response(fake: &Fake, ns: &str, outcome: Result<Option<String>, AwsError>, action: &str) -> Response {
    let rid = fake.request_id();
    let (status, body) = match outcome {
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
            (StatusCode::OK, out)
        }
        Err(e) => {
            if e.status >= 500 {
                tracing::warn!(%action, code = %e.code, "answering with a server error");
            }
            (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                e.to_xml(ns, &rid),
            )
        }
    };
    let mut resp = (status, Body::from(body)).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(&rid) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}
