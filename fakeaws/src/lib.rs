//! fakeaws: a local fake of Elastic Load Balancing v2, Auto Scaling, Classic ELB, the EC2
//! instance metadata service, CodeDeploy's API and S3 (for revisions), faithful enough that the real AWS SDK for Rust, the AWS CLI and boto3 cannot tell it
//! from AWS on the paths CodeDeploy load-balancer hooks use.
//!
//! Layers, outside in: [`server`] (HTTP routing, faults, response framing) and [`admin`] over the
//! shared [`state`] → [`services`] (one function per Query action, and the metadata service) over
//! the wire [`protocol`] → [`world`] (the simulated account and its timed behaviour on the
//! [`clock`]). [`dataplane`] serves the load balancers' listeners as real HTTP through the
//! world's routing. [`notify`] delivers CodeDeploy's trigger notifications to an HTTP endpoint.
//! [`rehearsal`] is the API a rehearsal driver (the scenario runner) steers the fake
//! through. Beside them: [`model`] (plain resources and AWS's enumerated values), [`spec`] (world
//! files), [`iam`] (policies), [`cron`] (scheduled actions' recurrences), [`answers`] (the read
//! answer cache), [`gates`] and [`turns`] (a driver's hold on calls, and same-instant order),
//! [`listen`] (accepting connections within bounds).

// What other crates use: the router, the options, the shared state and its parts, the rehearsal
// API and the types it takes and returns (model, world files), the loopback listener, and SigV4
// signing for raw clients. Everything else is the fake's own.
pub(crate) mod admin;
pub(crate) mod answers;
pub(crate) mod auth;
pub mod clock;
pub(crate) mod cron;
pub(crate) mod dataplane;
pub(crate) mod faults;
pub(crate) mod gates;
pub(crate) mod iam;
pub mod listen;
pub(crate) mod metrics;
pub mod model;
pub(crate) mod notify;
pub mod protocol;
pub mod rehearsal;
pub(crate) mod server;
pub(crate) mod services;
pub mod spec;
pub(crate) mod state;
pub(crate) mod turns;
pub(crate) mod world;

use std::net::SocketAddr;
use std::sync::Arc;

pub use auth::Auth;
pub use clock::{Clock, ClockMode};
pub use dataplane::{AppUp, DataPlane, Endpoint};
pub use faults::{Fault, Faults};
pub use gates::CallGates;
pub use iam::{hooks_policy, HOOKS_POLICY};
pub use metrics::Metrics;
pub use protocol::error::AwsError;
pub use server::app;
pub use state::{Fake, Options};
pub use turns::Turns;
pub use world::{World, DEFAULT_MAX_INSTANCES};

/// A fake serving on a loopback socket, for tests and the scenario runner.
pub struct Running {
    /// The shared state: clock, world, faults.
    pub fake: Arc<Fake>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Starts serving `fake` on `127.0.0.1:0`.
    pub async fn start(fake: Arc<Fake>) -> anyhow::Result<Running> {
        Running::start_at(fake, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts serving `fake` on `addr`.
    pub async fn start_at(fake: Arc<Fake>, addr: SocketAddr) -> anyhow::Result<Running> {
        let listener = listen::bind(addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        fake.set_base_url(url.clone());
        let router = app(fake.clone());
        let task = tokio::spawn(listen::serve(
            listener,
            router,
            listen::Limits::default(),
            std::future::pending(),
        ));
        Ok(Running { fake, addr, url, task })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}
