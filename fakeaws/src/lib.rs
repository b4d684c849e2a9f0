//! fakeaws: a local fake of Elastic Load Balancing v2, Auto Scaling and the EC2 instance metadata
//! service, faithful enough that the real AWS SDK for Rust, the AWS CLI and boto3 cannot tell it
//! from AWS on the paths CodeDeploy load-balancer hooks use.
//!
//! Layers, outside in: [`server`] (HTTP routing, faults, response framing) → [`autoscaling`] /
//! [`elbv2`] (one function per Query action) → [`world`] (the simulated account and its timed
//! behaviour on the [`clock`]). [`imds`] and [`admin`] sit beside the Query APIs; [`rehearsal`] is the
//! API a rehearsal driver (the scenario runner) steers the fake through.

pub mod admin;
pub mod autoscaling;
pub mod classic;
pub mod clock;
pub mod cron;
pub mod elbv2;
pub mod error;
pub mod imds;
pub mod model;
pub mod query;
pub mod rehearsal;
pub mod scaling;
pub mod server;
pub mod spec;
pub mod world;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;

pub use clock::{Clock, ClockMode};
pub use server::{app, Fake, Fault, Options};
pub use world::World;

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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        fake.set_base_url(url.clone());
        let router = app(fake.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Running { fake, addr, url, task })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}
