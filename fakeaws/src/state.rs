//! The fake's shared state: the world behind its lock, the clock, injected faults, IMDS tokens,
//! call counts and the data plane (when on). The router, the admin API and the metadata service all use it; it imports none of
//! them, so nothing imports in a circle.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, ClockMode};
use crate::dataplane::{DataPlane, Endpoint};
use crate::protocol::sigv4::{Keyring, Known, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};
use crate::world::routing::{Entrance, Routed};
use crate::world::World;

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
    /// Answer normally: queued before another fault on `*`, it makes that one hit the n-th call.
    Pass,
    /// Do not answer: the call hangs until its caller gives up or dies (a process killed in the
    /// middle of a call), or until [`Fake::release_held`]. Each held call is counted in
    /// [`Fake::held`].
    Hold,
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
    /// Whether Query API requests must carry a valid SigV4 signature of a known credential.
    pub verify_signatures: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            region: "us-east-1".into(),
            imds_v1: false,
            clock: ClockMode::Scaled(1.0),
            max_instances: crate::world::DEFAULT_MAX_INSTANCES,
            verify_signatures: true,
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
    pub(crate) calls: Mutex<BTreeMap<String, u64>>,
    /// Whether IMDSv1 is accepted.
    pub imds_v1: bool,
    base_url: OnceLock<String>,
    region: String,
    data_plane: OnceLock<DataPlane>,
    /// Someone may have changed the world since it last settled (only touched under its lock).
    unsettled: AtomicBool,
    /// How many times the world was locked for a change (see [`Fake::version`]).
    changes: AtomicU64,
    /// How many calls a [`Fault::Hold`] has held so far.
    held: tokio::sync::watch::Sender<u64>,
    /// Bumped by [`Fake::release_held`]: calls held until then go on.
    releases: tokio::sync::watch::Sender<u64>,
    /// The credentials requests may be signed with.
    keys: Mutex<Keyring>,
    /// Unknown access keys already explained in the log (a few: each is said once).
    explained_keys: Mutex<std::collections::BTreeSet<String>>,
    verify_signatures: AtomicBool,
    /// The token non-loopback peers must present to the admin API.
    admin_token: OnceLock<AdminToken>,
    /// S3, made on first use, over `s3_dir` (or a temporary folder).
    s3: OnceLock<Arc<crate::services::s3::S3>>,
    s3_dir: Mutex<Option<std::path::PathBuf>>,
    /// Which trigger-notification endpoint is current (each new one ends the previous delivery).
    notify_generation: AtomicU64,
    /// The order same-instant actions of a driver's processes are served in (see [`crate::turns`]).
    pub turns: crate::turns::Turns,
    /// A driver's holds on an instance's Nth AWS call (see [`crate::gates`]).
    pub gates: crate::gates::CallGates,
    /// The last answer of each read, while the world stays as it was (see [`crate::answers`]).
    pub(crate) answers: crate::answers::Answers,
}

/// The admin token, never shown by `Debug`.
struct AdminToken(String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Fake {
    /// A fake with an empty world.
    pub fn new(options: Options) -> Arc<Fake> {
        let clock = Clock::starting_now(options.clock);
        let mut world = World::new(&options.region, clock.now_ms());
        world.max_instances = options.max_instances;
        let fake = Fake::with_world(world, clock, options.imds_v1);
        fake.set_verify_signatures(options.verify_signatures);
        fake
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
            data_plane: OnceLock::new(),
            unsettled: AtomicBool::new(true),
            changes: AtomicU64::new(0),
            held: tokio::sync::watch::Sender::new(0),
            releases: tokio::sync::watch::Sender::new(0),
            explained_keys: Mutex::default(),
            keys: Mutex::new(Keyring::from([(
                DEFAULT_ACCESS_KEY_ID.to_string(),
                Known {
                    secret: DEFAULT_SECRET_ACCESS_KEY.to_string(),
                    token: None,
                    expires_ms: None,
                    principal: None,
                },
            )])),
            verify_signatures: AtomicBool::new(true),
            admin_token: OnceLock::new(),
            s3: OnceLock::new(),
            s3_dir: Mutex::new(None),
            notify_generation: AtomicU64::new(0),
            turns: Default::default(),
            gates: Default::default(),
            answers: Default::default(),
        })
    }

    /// Locks the world after bringing it up to the current simulated time, for a caller that may
    /// change it.
    pub fn world(&self) -> MutexGuard<'_, World> {
        let w = self.world_read();
        self.unsettled.store(true, Ordering::Relaxed);
        self.changes.fetch_add(1, Ordering::Relaxed);
        w
    }

    /// Locks the world for a change to CodeDeploy's records only (a deployment begun, an
    /// instance's lifecycle event or status, a deployment's end): the fleet does not move, so
    /// [`Fake::version`] stays as it is and a driver's look at the fleet stays valid.
    pub(crate) fn world_records(&self) -> MutexGuard<'_, World> {
        self.world_read()
    }

    /// Changes whenever what [`Fake::world_read`] would show may have changed (the world was
    /// locked for a change, or the clock moved): a driver that looks at the world after every
    /// step looks again only when this differs from its last look.
    pub fn version(&self) -> (u64, i64) {
        (self.changes.load(Ordering::Relaxed), self.clock.now_ms())
    }

    /// Locks the world up to the current simulated time, for a caller that only reads it. When
    /// neither the clock nor anyone with [`Fake::world`] moved it since it last settled, it is
    /// settled already: a read then costs nothing that grows with the fleet.
    pub fn world_read(&self) -> MutexGuard<'_, World> {
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now_ms();
        if now > w.now_ms || self.unsettled.swap(false, Ordering::Relaxed) {
            w.tick(now);
        }
        w
    }

    /// Locks the world as it is, without bringing it up to the current simulated time: for what
    /// time does not change (an instance's metadata), so that a metadata request never pays for
    /// settling the fleet.
    pub(crate) fn world_peek(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the whole world (admin reset / load).
    pub fn replace_world(&self, world: World) {
        *self.world.lock().unwrap_or_else(|e| e.into_inner()) = world;
        self.unsettled.store(true, Ordering::Relaxed);
        self.changes.fetch_add(1, Ordering::Relaxed);
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

    /// Sets the token non-loopback peers must present to the admin API (once).
    pub fn set_admin_token(&self, token: String) {
        let _ = self.admin_token.set(AdminToken(token));
    }

    /// The admin token, if one is configured.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.get().map(|t| t.0.as_str())
    }

    /// Turns SigV4 verification on or off (on by default; `--no-verify-signatures`).
    pub fn set_verify_signatures(&self, on: bool) {
        self.verify_signatures.store(on, Ordering::Relaxed);
    }

    /// Whether requests must be signed.
    pub fn verifies_signatures(&self) -> bool {
        self.verify_signatures.load(Ordering::Relaxed)
    }

    /// Accepts requests signed with this key pair from now on (a session token and an expiry, in
    /// real milliseconds since the epoch, for temporary credentials).
    pub fn add_credentials(&self, access_key_id: &str, known: Known) {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(access_key_id.to_string(), known);
    }

    /// The instance whose role credentials signed a request (from its `Authorization` header),
    /// if any: the identity [`crate::turns`] orders calls by.
    pub(crate) fn caller_instance(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let auth = headers.get("authorization")?.to_str().ok()?;
        let key = auth.split("Credential=").nth(1)?.split('/').next()?;
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let arn = &keys.get(key)?.principal.as_ref()?.arn;
        let last = arn.rsplit('/').next()?;
        last.starts_with("i-").then(|| last.to_string())
    }

    /// The secret of a known access key (the fake's own keys, then the world's identities).
    pub(crate) fn secret_of(&self, access_key_id: &str) -> Option<String> {
        let own = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(access_key_id)
            .cloned();
        own.or_else(|| crate::iam::user_key(&self.world_read(), access_key_id))
            .map(|k| k.secret)
    }

    /// Keeps S3's objects in `dir` (before the first S3 request; by default a temporary folder
    /// removed with the fake).
    pub fn set_s3_dir(&self, dir: std::path::PathBuf) {
        *self.s3_dir.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir);
    }

    /// The current trigger-notification endpoint's number.
    pub(crate) fn notify_generation(&self) -> u64 {
        self.notify_generation.load(Ordering::Relaxed)
    }

    pub(crate) fn next_notify_generation(&self) -> u64 {
        self.notify_generation.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The fake's S3, if a request has used it yet.
    pub fn s3_if_started(&self) -> Option<Arc<crate::services::s3::S3>> {
        self.s3.get().cloned()
    }

    /// The fake's S3 (made on first use).
    pub fn s3(self: &Arc<Self>) -> anyhow::Result<Arc<crate::services::s3::S3>> {
        if let Some(s) = self.s3.get() {
            return Ok(s.clone());
        }
        let dir = self.s3_dir.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let weak = Arc::downgrade(self);
        let secrets: crate::services::s3::SecretLookup =
            Arc::new(move |key: &str| weak.upgrade().and_then(|f| f.secret_of(key)));
        let made = Arc::new(crate::services::s3::S3::new(dir, secrets)?);
        Ok(self.s3.get_or_init(|| made).clone())
    }

    /// Checks a Query API request's signature (when verification is on); the signing key on success.
    pub(crate) fn verify_signature(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<Option<Known>, crate::protocol::error::AwsError> {
        if !self.verifies_signatures() {
            return Ok(None);
        }
        // The fake's own keys first, then the world's static identities.
        let lookup = |key: &str| {
            let own = self.keys.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
            own.or_else(|| crate::iam::user_key(&self.world_read(), key))
        };
        let now = chrono::Utc::now().timestamp_millis();
        let verdict = crate::protocol::sigv4::verify(lookup, now, method, path_and_query, headers, body);
        if let Err(e) = &verdict {
            if e.code == "InvalidClientTokenId" {
                self.explain_unknown_key(headers, &lookup);
            }
        }
        verdict.map(Some)
    }

    /// The answer to an unknown key is AWS's, word for word; the log says once per key which keys
    /// the fake knows and how to turn checking off (moto-style dummy keys such as `testing` are
    /// the usual case).
    fn explain_unknown_key(&self, headers: &axum::http::HeaderMap, lookup: &dyn Fn(&str) -> Option<Known>) {
        let Some(key) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
        else {
            return;
        };
        if lookup(key).is_some() {
            return; // known key, wrong or missing session token
        }
        let mut explained = self.explained_keys.lock().unwrap_or_else(|e| e.into_inner());
        if explained.len() >= 16 || !explained.insert(key.to_string()) {
            return;
        }
        tracing::warn!(
            "a request was signed with access key {key:?}, which fakeaws does not know (answered InvalidClientTokenId, as AWS would): sign with the default pair {} / {}, a pair given with --credentials KEY:SECRET, an instance's role credentials or a world file's [[identities]], or start fakeaws with --no-verify-signatures to accept any",
            crate::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
            crate::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY
        );
    }

    /// Gives an instance role these identity-based policies (policy documents), in place of the
    /// hooks' least-privilege policy every role has by default.
    pub fn set_role_policies(&self, role: &str, policies: Vec<serde_json::Value>) {
        self.world().identities.roles.insert(role.to_string(), policies);
    }

    /// How many calls a [`Fault::Hold`] has held, to wait on.
    pub fn held(&self) -> tokio::sync::watch::Receiver<u64> {
        self.held.subscribe()
    }

    /// Holds a call (a [`Fault::Hold`]) until [`Fake::release_held`], which may never come.
    pub(crate) async fn hold(&self) {
        let mut released = self.releases.subscribe();
        self.held.send_modify(|n| *n += 1);
        let _ = released.changed().await;
    }

    /// Lets every call held so far go on, answered as if it had just arrived: a test pauses a
    /// client between two of its calls and changes the world meanwhile (what another client
    /// acting at that moment would do).
    pub fn release_held(&self) {
        self.releases.send_modify(|n| *n += 1);
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Queues `count` faults for `action` (`*` for every action).
    pub fn inject(&self, action: &str, fault: Fault, count: usize) {
        let mut f = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        f.entry(action.to_string())
            .or_default()
            .extend(std::iter::repeat_n(fault, count));
    }

    pub(crate) fn take_fault(&self, action: &str) -> Option<Fault> {
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

    /// How many times one action (`service:Action`) was called.
    pub fn call_count(&self, action: &str) -> u64 {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(action)
            .copied()
            .unwrap_or(0)
    }

    /// Serves every load balancer listener on a loopback port from now on (see [`DataPlane`]);
    /// new entrances bind from `port_base` up (0: any free port). Returns the endpoints.
    pub fn enable_data_plane(self: &Arc<Self>, port_base: u16) -> std::io::Result<Vec<Endpoint>> {
        if self.data_plane.get().is_none() {
            let _ = self.data_plane.set(DataPlane::new(port_base)?);
        }
        self.sync_data_plane();
        Ok(self.data_plane().map(DataPlane::endpoints).unwrap_or_default())
    }

    /// Starts the data plane without serving any entrance yet (instances' application ports
    /// and document roots need it; [`Fake::enable_data_plane`] serves the listeners too).
    pub fn ensure_data_plane(&self) -> std::io::Result<()> {
        if self.data_plane.get().is_none() {
            let _ = self.data_plane.set(DataPlane::new(0)?);
        }
        Ok(())
    }

    /// The loopback port an instance's application answers on while the world says it runs
    /// (see [`DataPlane::instance_port`]).
    pub fn instance_app_port(self: &Arc<Self>, id: &str) -> std::io::Result<u16> {
        self.ensure_data_plane()?;
        let weak = Arc::downgrade(self);
        let up: crate::dataplane::AppUp = Arc::new(move |id: &str| {
            weak.upgrade()
                .is_some_and(|f| f.world_read().instances.get(id).is_some_and(|i| i.app_up))
        });
        self.data_plane()
            .and_then(|d| d.instance_port(id, &up))
            .ok_or_else(|| std::io::Error::other("no free loopback port for the application"))
    }

    /// The data plane, when enabled.
    pub fn data_plane(&self) -> Option<&DataPlane> {
        self.data_plane.get()
    }

    /// Opens (and closes) data-plane sockets for the world's entrances as they are now; logs
    /// each new one. Does nothing when the data plane is off.
    pub fn sync_data_plane(self: &Arc<Self>) {
        if let Some(d) = self.data_plane.get() {
            let weak = Arc::downgrade(self);
            let route: crate::dataplane::Route = Arc::new(move |e, req, n| {
                let Some(fake) = weak.upgrade() else {
                    return Routed::NoListener;
                };
                let w = fake.world();
                match e {
                    Entrance::Listener { arn, .. } => w.route(arn, req, n),
                    Entrance::Classic { name } => w.route_classic(name, n),
                }
            });
            let entrances = self.world().entrances();
            for ep in d.sync(entrances, &route) {
                tracing::info!(entrance = %ep.entrance, url = %ep.url, "data plane: serving");
            }
        }
    }

    /// A fresh request id.
    pub fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{:08x}-fa6e-4a5e-8000-{:012x}", n >> 16, n)
    }
}
