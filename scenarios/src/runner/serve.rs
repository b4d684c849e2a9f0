//! `rehearse serve` (`cargo xtask rehearse`): fakeaws with CodeDeploy's engine attached, for
//! rehearsing a real pipeline. `aws deploy push` uploads to the fake's S3,
//! `aws deploy create-deployment` creates a deployment, and the engine the scenarios use runs it
//! on the world file's fleet: the revision's scripts and hook binaries as processes with the
//! agent's environment. Simulated time follows real time (times `--time-scale`) while nothing is
//! deployed; while a deployment runs, it skips ahead to the next thing that happens (a script's
//! wake-up, a timer of AWS's), so draining and health checks take no real time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use fakeaws::spec::{WorldFile, WorldSpec};
use fakeaws::Running;

use super::{engine_fake, Paths, Sim};
use crate::schema::{DeploymentGroup, Scenario, TrafficSpec};

/// How `rehearse serve` runs (`rehearse serve --help`).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// Where the AWS APIs (and S3) listen (loopback only).
    #[arg(long, default_value = "127.0.0.1:4566", value_name = "ADDRESS")]
    pub bind: SocketAddr,
    /// The fleet: a fakeaws world file.
    #[arg(long, value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// Where S3 keeps objects (default: a temporary folder).
    #[arg(long, value_name = "DIR")]
    pub s3_dir: Option<PathBuf>,
    /// Simulated seconds per real second while nothing is deployed.
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    pub time_scale: f64,
    /// Where the agent's logs of each instance are kept (default: a folder in the system's
    /// temporary folder, kept after the server stops); printed at the start.
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
}

/// Serves until `shutdown` completes.
pub async fn serve(
    opts: ServeOptions,
    paths: &Paths,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        opts.bind.ip().is_loopback(),
        "rehearse serve listens on loopback addresses only (127.0.0.0/8), not {}",
        opts.bind
    );
    anyhow::ensure!(
        opts.time_scale.is_finite() && opts.time_scale > 0.0,
        "--time-scale must be a positive number"
    );
    let fleet = match &opts.world {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            match fakeaws::spec::parse(&text, &path.display().to_string())? {
                WorldFile::Spec(spec) => spec,
                WorldFile::Saved(_) => anyhow::bail!("{}: a saved state; give a world spec", path.display()),
            }
        }
        None => WorldSpec::default(),
    };
    let fake = engine_fake();
    if let Some(dir) = &opts.s3_dir {
        fake.set_s3_dir(dir.clone());
    }
    let r = Running::start_at(fake, opts.bind).await?;
    let url = r.url.clone();
    // The load balancers' listeners as real HTTP on loopback ports, to look at the fleet.
    r.fake.enable_data_plane(0).context("starting the data plane")?;
    let sc = Scenario {
        description: "rehearsal".into(),
        fleet,
        deployment_group: DeploymentGroup {
            name: String::new(),
            autoscaling_groups: Vec::new(),
            standalone_instances: false,
            config: Default::default(),
            rollback: false,
            traffic_control: false,
            target_groups: Vec::new(),
            load_balancers: Vec::new(),
            termination_hook: false,
            outdated_instances_strategy: Default::default(),
        },
        revisions: Vec::new(),
        initial_revision: None,
        deployments: Vec::new(),
        events: Vec::new(),
        script_faults: Vec::new(),
        traffic: TrafficSpec::default(),
        expect_violations: Vec::new(),
        expected_because: None,
    };
    let mut sim = Sim::with_running(sc, paths, "serve", r)?;
    let logs = opts
        .logs
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("codedeploy-rehearsal-logs-{}", std::process::id())));
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    sim.set_logs_dir(logs);
    let result = sim.serve_loop(&url, opts.time_scale, shutdown).await;
    let _ = std::fs::remove_dir_all(&sim.work);
    result
}

impl Sim {
    async fn serve_loop(
        &mut self,
        url: &str,
        scale: f64,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        self.fake()
            .rehearsal()
            .apply(&self.sc.fleet.clone())
            .map_err(|e| anyhow!("world: {}", e.message))?;
        // Boot and first health checks.
        let booted = self.now() + 120_000;
        self.fake().clock.advance_to(booted);
        self.start_ms = self.now();
        self.recorder.start(self.start_ms);
        eprintln!("rehearse serve: AWS APIs, CodeDeploy and S3 on {url}; deployments run as they are created");
        eprintln!("  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION=us-east-1",
            fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
            fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY);
        if let Some(logs) = self.logs_dir() {
            eprintln!(
                "rehearse serve: script logs in {}/<instance id>/deployment-root/<deployment group id>/<deployment id>/logs/scripts.log",
                logs.display()
            );
        }
        self.fake().sync_data_plane();
        for ep in self.fake().data_plane().map(|d| d.endpoints()).unwrap_or_default() {
            eprintln!("rehearse serve: data plane {} -> {}", ep.entrance, ep.url);
        }
        tokio::pin!(shutdown);
        let mut last = Instant::now();
        let mut reported = 0;
        loop {
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            // Time passes while nothing is deployed.
            let real = last.elapsed();
            last = Instant::now();
            let to = self.now() + (real.as_secs_f64() * 1000.0 * scale) as i64;
            self.advance(to);
            // Instances launched meanwhile get their launch deployment.
            self.drain_background().await?;
            while self.run_next_api_deployment().await?.is_some() {}
            for report in &self.engine.reports[reported..] {
                let id = self
                    .engine
                    .deployment_ids
                    .get(&report.number)
                    .cloned()
                    .unwrap_or_default();
                let failed = report
                    .instances
                    .values()
                    .filter(|i| i.status.to_string().starts_with("Failed"))
                    .count();
                eprintln!(
                    "rehearse serve: deployment {id} ({}, {}, {}): {} on {} instance(s), {} failed, {} s simulated",
                    report.creator.as_str(),
                    fakeaws::rehearsal::describe_revision(&self.revision_location(&report.revision)),
                    report.config,
                    report.status,
                    report.instances.len(),
                    failed,
                    report.simulated_seconds.unwrap_or(0),
                );
            }
            reported = self.engine.reports.len();
        }
    }
}
