//! The fake's shared state: the world behind its lock, the clock, injected faults, IMDS tokens,
//! call counts and the data plane (when on). The router, the admin API and the metadata service all use it; it imports none of
//! them, so nothing imports in a circle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::auth::Auth;
use crate::clock::{Clock, ClockMode};
use crate::dataplane::{DataPlane, Endpoint};
pub use crate::faults::Fault;
use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::protocol::sigv4::Known;
use crate::world::routing::{Entrance, Routed};
use crate::world::World;

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
    /// Faults queued for the next calls.
    pub faults: Faults,
    /// Credentials, signature checking, the admin token.
    pub auth: Auth,
    /// Call counts, request ids.
    pub metrics: Metrics,
    pub(crate) tokens: Mutex<HashMap<String, (String, i64)>>,
    /// Whether IMDSv1 is accepted.
    pub imds_v1: bool,
    base_url: OnceLock<String>,
    region: String,
    data_plane: OnceLock<DataPlane>,
    /// Someone may have changed the world since it last settled (only touched under its lock).
    unsettled: AtomicBool,
    /// How many times the world was locked for a change (see [`Fake::version`]).
    changes: AtomicU64,
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

impl Fake {
    /// A fake with an empty world.
    pub fn new(options: Options) -> Arc<Fake> {
        let clock = Clock::starting_now(options.clock);
        let mut world = World::new(&options.region, clock.now_ms());
        world.max_instances = options.max_instances;
        let fake = Fake::with_world(world, clock, options.imds_v1);
        fake.auth.set_verify_signatures(options.verify_signatures);
        fake
    }

    /// A fake around an existing world and clock.
    pub fn with_world(mut world: World, clock: Clock, imds_v1: bool) -> Arc<Fake> {
        world.now_ms = world.now_ms.min(clock.now_ms());
        let region = world.region.clone();
        Arc::new(Fake {
            world: Mutex::new(world),
            clock,
            faults: Faults::default(),
            auth: Auth::default(),
            metrics: Metrics::default(),
            tokens: Mutex::new(HashMap::new()),
            imds_v1,
            base_url: OnceLock::new(),
            region,
            data_plane: OnceLock::new(),
            unsettled: AtomicBool::new(true),
            changes: AtomicU64::new(0),
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

    /// Locks the world for a change to tags only (a group's, a load balancer's): what reads show
    /// moves ([`Fake::version`]), but nothing the fleet settles on, so it is not settled again
    /// for it (a fleet's hooks write thousands of tags, and settling costs a pass over it).
    pub(crate) fn world_tags(&self) -> MutexGuard<'_, World> {
        let w = self.world_read();
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
        self.faults.clear();
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

    /// The secret of a known access key (the fake's own keys, then the world's identities).
    pub(crate) fn secret_of(&self, access_key_id: &str) -> Option<String> {
        self.auth
            .key(access_key_id)
            .or_else(|| crate::iam::user_key(&self.world_read(), access_key_id))
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
        if !self.auth.verifies_signatures() {
            return Ok(None);
        }
        // The fake's own keys first, then the world's static identities.
        let lookup = |key: &str| {
            self.auth
                .key(key)
                .or_else(|| crate::iam::user_key(&self.world_read(), key))
        };
        let now = chrono::Utc::now().timestamp_millis();
        let verdict = crate::protocol::sigv4::verify(lookup, now, method, path_and_query, headers, body);
        if let Err(e) = &verdict {
            if e.code == "InvalidClientTokenId" {
                self.auth.explain_unknown_key(headers, &lookup);
            }
        }
        verdict.map(Some)
    }

    /// Gives an instance role these identity-based policies (policy documents), in place of the
    /// hooks' least-privilege policy every role has by default.
    pub fn set_role_policies(&self, role: &str, policies: Vec<serde_json::Value>) {
        self.world().identities.roles.insert(role.to_string(), policies);
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
}
