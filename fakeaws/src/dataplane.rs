//! The data plane: every ELBv2 listener and Classic Load Balancer of the world served on a
//! loopback port, answering real HTTP the way the load balancer would at this instant. Each
//! request goes through the world's routing function (the same one the scenario runner integrates
//! over simulated time, so the model and the real thing cannot disagree); a request forwarded to
//! an instance is answered from the files of the revision installed there (its document root,
//! told by the rehearsal driver or the admin API).
//!
//! It runs on its own small runtime so that it serves whatever the caller's runtime is doing
//! (a scenario runner blocked on a probe, a test's current-thread runtime).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderValue, Request as HttpRequest, Response, StatusCode};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::model::Request;
use crate::world::routing::{Entrance, Routed};

/// What the load balancer does with the `n`th request through an entrance, now (the world's
/// routing function, as the fake's shared state provides it).
pub type Route = Arc<dyn Fn(&Entrance, &Request, u64) -> Routed + Send + Sync>;

type DocRoots = Arc<Mutex<HashMap<String, PathBuf>>>;

/// Whether an instance's application answers now (the world's app model).
pub type AppUp = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// One entrance being served.
struct Bound {
    label: String,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// Where one entrance is served.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    /// `alb-name:port` or `classic:name`.
    pub entrance: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// The listeners' sockets and the instances' document roots.
pub struct DataPlane {
    rt: Option<tokio::runtime::Runtime>,
    /// Entrance key (listener ARN or `classic:name`) -> its socket.
    bound: Mutex<BTreeMap<String, Bound>>,
    doc_roots: DocRoots,
    /// Instance id -> its application's own port (see [`DataPlane::instance_port`]).
    apps: Mutex<BTreeMap<String, Bound>>,
    /// First port to try for new entrances (0: any free port).
    port_base: u16,
}

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlane")
            .field("endpoints", &self.endpoints())
            .finish()
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn key(e: &Entrance) -> String {
    match e {
        Entrance::Listener { arn, .. } => arn.clone(),
        Entrance::Classic { name } => format!("classic:{name}"),
    }
}

impl DataPlane {
    /// A data plane with no sockets yet; new entrances bind `port_base`, `port_base + 1`, ...
    /// (the first free one), or any free port when `port_base` is 0.
    pub fn new(port_base: u16) -> std::io::Result<DataPlane> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fakeaws-data-plane")
            .enable_all()
            .build()?;
        Ok(DataPlane {
            rt: Some(rt),
            bound: Mutex::new(BTreeMap::new()),
            doc_roots: Arc::new(Mutex::new(HashMap::new())),
            apps: Mutex::new(BTreeMap::new()),
            port_base,
        })
    }

    /// Where each entrance is served, by entrance label.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut out: Vec<Endpoint> = self
            .bound
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|b| Endpoint {
                entrance: b.label.clone(),
                url: format!("http://{}", b.addr),
            })
            .collect();
        out.sort_by(|a, b| a.entrance.cmp(&b.entrance));
        out
    }

    /// The loopback port an instance's application answers on, as a script on the instance would
    /// reach it (`$PORT`): while `up` says the app runs, each request gets the file under the
    /// instance's document root; while it does not, each connection is closed unanswered (the
    /// app is not listening). Bound on first use.
    pub fn instance_port(&self, id: &str, up: &AppUp) -> Option<u16> {
        let rt = self.rt.as_ref()?;
        let mut apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = apps.get(id) {
            return Some(b.addr.port());
        }
        let std_listener = self.bind(&[])?;
        let addr = std_listener.local_addr().ok()?;
        let (up, roots, instance) = (up.clone(), self.doc_roots.clone(), id.to_string());
        let task = rt.spawn(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                return;
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if !up(&instance) {
                    drop(stream);
                    continue;
                }
                let (roots, instance) = (roots.clone(), instance.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: HttpRequest<hyper::body::Incoming>| {
                        let root = roots.lock().unwrap_or_else(|e| e.into_inner()).get(&instance).cloned();
                        let instance = instance.clone();
                        async move {
                            let answer = serve_file(root.as_deref(), req.uri().path(), &instance).await;
                            Ok::<_, std::convert::Infallible>(answer)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        apps.insert(
            id.to_string(),
            Bound {
                label: id.to_string(),
                addr,
                task,
            },
        );
        Some(addr.port())
    }

    /// Sets the document root an instance's application serves.
    pub fn set_doc_root(&self, id: &str, root: PathBuf) {
        self.doc_roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), root);
    }

    /// Binds a socket for every entrance that has none and closes those whose entrance is gone;
    /// requests are answered through `route`. Returns the endpoints opened.
    pub fn sync(&self, entrances: Vec<Entrance>, route: &Route) -> Vec<Endpoint> {
        let Some(rt) = &self.rt else { return Vec::new() };
        let mut bound = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        let wanted: BTreeMap<String, Entrance> = entrances.into_iter().map(|e| (key(&e), e)).collect();
        bound.retain(|k, b| {
            let keep = wanted.contains_key(k);
            if !keep {
                b.task.abort();
            }
            keep
        });
        let mut opened = Vec::new();
        for (k, e) in wanted {
            if bound.contains_key(&k) {
                continue;
            }
            let used: Vec<u16> = bound.values().map(|b| b.addr.port()).collect();
            let Some(std_listener) = self.bind(&used) else {
                tracing::warn!(entrance = %e.label(), "data plane: no free loopback port");
                continue;
            };
            let Ok(addr) = std_listener.local_addr() else { continue };
            let (route, roots) = (route.clone(), self.doc_roots.clone());
            let entrance = e.clone();
            let counter = Arc::new(AtomicU64::new(0));
            let task = rt.spawn(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                    return;
                };
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (route, roots, entrance, counter) =
                        (route.clone(), roots.clone(), entrance.clone(), counter.clone());
                    tokio::spawn(async move {
                        let svc = service_fn(move |req: HttpRequest<hyper::body::Incoming>| {
                            let (route, roots, entrance, counter) =
                                (route.clone(), roots.clone(), entrance.clone(), counter.clone());
                            async move { answer(&route, &roots, &entrance, &counter, &req).await }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
            let ep = Endpoint {
                entrance: e.label(),
                url: format!("http://{addr}"),
            };
            bound.insert(
                k,
                Bound {
                    label: e.label(),
                    addr,
                    task,
                },
            );
            opened.push(ep);
        }
        opened
    }

    fn bind(&self, used: &[u16]) -> Option<std::net::TcpListener> {
        let try_bind = |port: u16| {
            let l = std::net::TcpListener::bind(("127.0.0.1", port)).ok()?;
            l.set_nonblocking(true).ok()?;
            Some(l)
        };
        if self.port_base == 0 {
            return try_bind(0);
        }
        (self.port_base..=u16::MAX)
            .filter(|p| !used.contains(p))
            .take(1000)
            .find_map(try_bind)
    }
}

/// Why a connection is closed without an answer (an NLB target whose application is down).
#[derive(Debug)]
struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Refused {}

/// The page ALB answers with when it cannot forward.
fn elb_page(status: StatusCode) -> Response<Body> {
    let line = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or_default());
    let body = format!(
        "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/html"));
    h.insert("server", HeaderValue::from_static("awselb/2.0"));
    resp
}

async fn answer<B>(
    route: &Route,
    roots: &DocRoots,
    entrance: &Entrance,
    counter: &AtomicU64,
    req: &HttpRequest<B>,
) -> Result<Response<Body>, Refused> {
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let path_and_query = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut r = Request::get(&host, path_and_query);
    r.headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let n = counter.fetch_add(1, Ordering::Relaxed);
    // Routed at the instant the request arrives; the file is read after, without blocking the runtime.
    let routed = route(entrance, &r, n);
    Ok(match routed {
        Routed::Served { instance, .. } => {
            let root = roots.lock().unwrap_or_else(|e| e.into_inner()).get(&instance).cloned();
            let mut resp = serve_file(root.as_deref(), &r.path, &instance).await;
            if let Ok(v) = HeaderValue::from_str(&instance) {
                resp.headers_mut().insert("x-fakeaws-instance", v);
            }
            resp
        }
        Routed::Fixed {
            status,
            content_type,
            body,
        } => {
            let mut resp = Response::new(Body::from(body.unwrap_or_default()));
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let ct = content_type.unwrap_or_else(|| "text/plain".into());
            if let Ok(v) = HeaderValue::from_str(&format!("{ct}; charset=utf-8")) {
                resp.headers_mut().insert("content-type", v);
            }
            resp.headers_mut()
                .insert("server", HeaderValue::from_static("awselb/2.0"));
            resp
        }
        Routed::Redirect { status, location } => {
            let mut resp = elb_page(StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND));
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert("location", v);
            }
            resp
        }
        Routed::BadGateway { .. } => elb_page(StatusCode::BAD_GATEWAY),
        Routed::NoTarget => elb_page(StatusCode::SERVICE_UNAVAILABLE),
        Routed::ConnectionFailed { .. } => return Err(Refused("target application down")),
        Routed::NoListener => return Err(Refused("listener gone")),
    })
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" => "application/javascript",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// What the instance's web server answers for `path`: the file under its document root
/// (`index.html` for a directory), 404 when there is none.
async fn serve_file(root: Option<&Path>, path: &str, instance: &str) -> Response<Body> {
    let not_found = || {
        let mut r = Response::new(Body::from("404 Not Found\n"));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    };
    let Some(root) = root else {
        let mut r = Response::new(Body::from(format!(
            "<html><body><h1>{instance}</h1><p>No revision installed.</p></body></html>\n"
        )));
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("text/html"));
        return r;
    };
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return not_found();
    }
    let mut file = root.join(rel);
    if tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_dir()) {
        file = file.join("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static(content_type(&file)));
            r
        }
        Err(_) => not_found(),
    }
}
