//! The simulated CodeDeploy service and agent: plays a scenario's deployments against an embedded
//! fakeaws, running the real hook binaries (and the revision's other scripts) as child processes.
//! Rooms: `stage` (revisions), `deployment` (batches, failure rules, the report of each
//! deployment), `supervisor` (script processes, deadlines, exits, kills, the clock), `agent` (the
//! install, the app model, a script's start), `agent_log` (the agent's logs and log tail),
//! `control` (CodeDeploy's records as the engine reports them), `pickup` (deployments created
//! through the API), `calls` (counting and holding the hooks' AWS calls), `events` (scenario
//! events), `points` (explore's trigger points), `traffic` and `probe` (users' requests), `floor`
//! (what AWS's timers allow), `verdict` (the outcome and its invariant violations), `serve`
//! (`rehearse serve`). The runner steers
//! fakeaws only through [`fakeaws::rehearsal`], the clock and fault injection.
//!
//! It is a discrete-event simulation on fakeaws' manual clock: the runner advances the clock only
//! when every running script is asleep on it (hooks sleep through `ELB_HOOKS_CLOCK_URL`) or hung,
//! to the earliest wake-up or script deadline. Hours of draining take milliseconds, and the same
//! scenario gives the same outcome on every run.

mod admission;
mod advance;
mod agent;
mod agent_log;
mod batch;
mod calls;
mod control;
mod deployment;
mod events;
mod exits;
mod floor;
mod in_flight;
mod invariants;
mod pickup;
mod points;
mod probe;
pub mod serve;
mod setup;
mod stage;
mod steps;
mod supervisor;
mod traffic;
mod verdict;
mod zones;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use fakeaws::{ClockMode, Fake, Options, Running};

use crate::appspec::AppSpec;
use crate::report::Outcome;
use crate::schema::*;

pub use deployment::min_healthy_hosts;
pub use points::TriggerPoint;

/// Where things are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `scenarios/revisions`.
    pub revisions: PathBuf,
    /// Folder holding the built `deregister-from-elb` and `register-with-elb`.
    pub hooks_bin: PathBuf,
    /// Scratch space for this run (created, then removed).
    pub work: PathBuf,
    /// Where the agent's logs of each instance are kept (`--logs DIR`: `DIR/<scenario>/<instance
    /// id>/deployment-root/...`); in the scratch space if `None`.
    pub logs: Option<PathBuf>,
}

pub use fakeaws::rehearsal::launch_hook_name;

/// The application the scenarios' deployment groups belong to.
pub const APPLICATION: &str = "sample-app";

/// The bucket the scenarios' revisions are said to come from.
pub const BUCKET: &str = "fakeaws-scenarios";

pub(super) struct Revision {
    pub(super) dir: PathBuf,
    pub(super) spec: AppSpec,
}

/// Reads a scenario file.
pub fn read_file(path: &Path) -> anyhow::Result<Scenario> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut sc: Scenario = toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e))?;
    // Names checked here, where the text is: the message says which line.
    sc.validate_names()
        .and_then(|()| sc.validate_events())
        .map_err(|e| anyhow!("{}{}: {e}", path.display(), line_of(&text, &e.to_string())))?;
    // A revision folder or bundle beside the file is the file's own; otherwise a shipped one.
    let here = path.parent().unwrap_or(Path::new("."));
    for rev in &mut sc.revisions {
        if !rev.dir.is_empty() && Path::new(&rev.dir).is_relative() && here.join(&rev.dir).is_dir() {
            rev.dir = std::path::absolute(here.join(&rev.dir))?.to_string_lossy().into_owned();
        }
        if let Some(b) = &rev.bundle {
            if b.is_relative() && here.join(b).is_file() {
                rev.bundle = Some(std::path::absolute(here.join(b))?);
            }
        }
    }
    Ok(sc)
}

/// `:LINE` of the first line of `text` holding the first quoted name in `message` (the name a
/// check refused), or nothing.
fn line_of(text: &str, message: &str) -> String {
    let Some(name) = message.split('"').nth(1).filter(|n| !n.is_empty()) else {
        return String::new();
    };
    let quoted = format!("\"{name}\"");
    text.lines()
        .position(|l| l.contains(&quoted))
        .map(|n| format!(":{}", n + 1))
        .unwrap_or_default()
}

/// Runs one scenario file and returns its outcome.
pub async fn run_file(path: &Path, paths: &Paths) -> anyhow::Result<Outcome> {
    let scenario = read_file(path)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok(run_scenario(scenario, &name, paths, false).await?.0)
}

/// Runs a scenario (`name` names its scratch folder) and returns its outcome and, with `points`,
/// every trigger point it passed (the explorer's view of the run; empty otherwise).
pub async fn run_scenario(
    scenario: Scenario,
    name: &str,
    paths: &Paths,
    points: bool,
) -> anyhow::Result<(Outcome, Vec<TriggerPoint>)> {
    let mut sim = Sim::new(scenario, paths, name).await?;
    sim.points.record = points;
    sim.fake().gates.set_recording(points);
    let result = sim.play().await;
    // SCENARIOS_KEEP_WORK=1 keeps each instance's folder (installed files, script stderr) for a look.
    if std::env::var_os("SCENARIOS_KEEP_WORK").is_none() {
        let _ = std::fs::remove_dir_all(&sim.work);
    }
    let points = if points { sim.trigger_points() } else { Vec::new() };
    // The fake's own promise: every settle came to rest (a step reporting a change it did not
    // make still ends in the same world, but a thousand passes a request later).
    let unsettled = sim.fake().world().unsettled();
    anyhow::ensure!(
        unsettled == 0,
        "fakeaws: {unsettled} settle(s) ended at their bound of passes instead of at rest (a bug in the fake)"
    );
    Ok((result?, points))
}

pub(super) struct Sim {
    /// The agent on each instance: installed revisions, apps, logs.
    agent: agent::AgentState,
    /// The script processes: started, exited, released sleeps.
    procs: supervisor::Processes,
    /// What users send and what they got (the model, and real requests when probed).
    traffic: traffic::TrafficState,
    /// What an operator (a scenario event) changed on the fleet: the group's new normal.
    operator: events::Operator,
    /// CodeDeploy's side: the deployments, their ids and reports, the one running, what each
    /// instance last got, the capacity watch.
    engine: deployment::Engine,
    /// The revisions staged for the agent, and where those read from S3 came from.
    staged: stage::Staged,
    /// The fleet as the story began (what the invariants compare the end with).
    baseline: setup::Baseline,
    /// Which scenario events fired, where `call = N` triggers count from, CodeDeploy calls made.
    triggers: events::Triggers,
    /// The trigger points passed (recorded for explore), and the lifecycle events started.
    points: points::Points,
    pub(super) sc: Scenario,
    /// The CodeDeploy application of the deployment running (the scenario's own, or the one a
    /// deployment created through the API names).
    pub(super) application: String,
    pub(super) r: Running,
    pub(super) work: PathBuf,
    pub(super) hooks_bin: PathBuf,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) start_ms: i64,
    pub(super) violations: Vec<crate::report::Violation>,
    /// The timeline of the story, for the report pages.
    pub(super) recorder: crate::timeline::Recorder,
    /// Time spent in the revisions' own scripts and warm-ups, for each deployment's floor.
    pub(super) spent: floor::Spent,
}

/// A fake for the engine: the manual clock, gated (same-instant wake-ups happen one process at a
/// time, in a fixed order: see `wait_or_advance`).
pub fn engine_fake() -> Arc<Fake> {
    let fake = Fake::new(Options {
        clock: ClockMode::Manual,
        ..Options::default()
    });
    fake.clock.set_gated(true);
    fake
}

impl Sim {
    async fn new(sc: Scenario, paths: &Paths, name: &str) -> anyhow::Result<Sim> {
        let r = Running::start(engine_fake()).await?;
        Sim::with_running(sc, paths, name, r)
    }

    /// A simulation around a fake already serving (see [`engine_fake`]).
    pub(super) fn with_running(sc: Scenario, paths: &Paths, name: &str, r: Running) -> anyhow::Result<Sim> {
        let work = paths.work.join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let logs_dir = paths.logs.as_ref().map(|d| d.join(name));
        if let Some(d) = &logs_dir {
            // This run's logs only: deployment ids repeat from run to run.
            let _ = std::fs::remove_dir_all(d);
        }
        let n_events = sc.events.len();
        sc.traffic.validate()?;
        sc.validate_events()?;
        sc.validate_names()?;
        let streams = sc.traffic.streams();
        Ok(Sim {
            agent: agent::AgentState {
                logs_dir,
                ..Default::default()
            },
            procs: supervisor::Processes::default(),
            traffic: traffic::TrafficState {
                requests: streams.iter().map(|s| s.request.clone()).collect(),
                rates: streams.iter().map(|s| s.rate).collect(),
                durations: streams.iter().map(|s| s.duration_ms).collect(),
                ..Default::default()
            },
            operator: events::Operator::default(),
            engine: deployment::Engine::default(),
            staged: stage::Staged::new(paths.revisions.clone()),
            baseline: setup::Baseline::default(),
            triggers: events::Triggers::new(n_events),
            points: points::Points::default(),
            sc,
            r,
            work,
            hooks_bin: paths.hooks_bin.clone(),
            labels: BTreeMap::new(),
            start_ms: 0,
            violations: Vec::new(),
            recorder: Default::default(),
            application: APPLICATION.to_string(),
            spent: Default::default(),
        })
    }

    pub(super) fn fake(&self) -> &Arc<Fake> {
        &self.r.fake
    }

    pub(super) fn now(&self) -> i64 {
        self.fake().clock.now_ms()
    }

    pub(super) fn label(&mut self, id: &str) -> String {
        if let Some(l) = self.labels.get(id) {
            return l.clone();
        }
        let l = format!("i-{}", self.labels.len() + 1);
        self.labels.insert(id.to_string(), l.clone());
        l
    }

    pub(super) fn instance_by_number(&self, n: usize) -> Option<String> {
        self.labels
            .iter()
            .find(|(_, l)| **l == format!("i-{n}"))
            .map(|(id, _)| id.clone())
    }

    pub(super) fn instance_root(&self, id: &str) -> PathBuf {
        self.work.join("instances").join(id)
    }

    /// Members of the deployment group right now (not terminating), in launch order.
    pub(super) fn members(&mut self) -> Vec<String> {
        let out = self.fake().rehearsal().members(
            &self.sc.deployment_group.autoscaling_groups,
            self.sc.deployment_group.standalone_instances,
        );
        for id in &out {
            self.label(id);
        }
        out
    }

    async fn play(&mut self) -> anyhow::Result<Outcome> {
        self.stage_revisions()?;
        self.setup_world().await?;
        for (i, d) in self.sc.deployments.clone().iter().enumerate() {
            if !self.staged.revisions.contains_key(&d.revision) {
                bail!("deployment {} names unknown revision {}", i + 1, d.revision);
            }
            if i + 1 == self.sc.deployments.len() {
                self.engine.last_deployment_from = Some(self.engine.deployment_no + 1);
            }
            // Created through CodeDeploy's API, then picked up and run by the engine, as a
            // pipeline's deployment would be.
            self.create_api_deployment(&d.revision, d.config.as_ref())?;
            let mut ok = true;
            while let Some(done) = self.run_next_api_deployment().await? {
                ok &= done;
            }
            if let (false, Some(after)) = (ok, d.retry_after_seconds) {
                let until = self.now() + after.max(0) * 1000;
                self.drive_until_idle(until).await?;
                self.create_api_deployment(&d.revision, d.config.as_ref())?;
                while self.run_next_api_deployment().await?.is_some() {}
            }
        }
        // Let everything settle (draining, health checks, launches) before the final picture.
        let end = self.now() + 600_000;
        self.drive_until_idle(end).await?;
        self.finish()
    }
}
