//! The simulated CodeDeploy service and agent: plays a scenario's deployments against an embedded
//! fakeaws, running the real hook binaries (and the revision's other scripts) as child processes.
//!
//! It is a discrete-event simulation on fakeaws' manual clock: the runner advances the clock only
//! when every running script is asleep on it (hooks sleep through `ELB_HOOKS_CLOCK_URL`) or hung,
//! to the earliest wake-up or script deadline. Hours of draining take milliseconds, and the same
//! scenario gives the same outcome on every run.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use fakeaws::model::Lifecycle;
use fakeaws::{ClockMode, Fake, Options, Running};
use tokio::sync::mpsc;

use crate::appspec::{self, AppSpec, Script};
use crate::report::{DeploymentReport, InstanceReport, Outcome};
use crate::schema::*;

/// Where things are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `scenarios/revisions`.
    pub revisions: PathBuf,
    /// Folder holding the built `deregister-from-elb` and `register-with-elb`.
    pub hooks_bin: PathBuf,
    /// Scratch space for this run (created, then removed).
    pub work: PathBuf,
}

/// The name of CodeDeploy's launch lifecycle hook for a deployment group.
pub fn launch_hook_name(dg: &str) -> String {
    format!("CodeDeploy-managed-automatic-launch-deployment-hook-{dg}")
}

/// A script process that ended: pid and exit code.
type Exit = (u32, i32);

struct Revision {
    dir: PathBuf,
    spec: AppSpec,
}

#[derive(Debug)]
enum Current {
    Process {
        pid: u32,
        /// The name this process sleeps under on the clock (`ELB_HOOKS_CLOCK_WHO`).
        who: String,
        deadline_ms: i64,
        kill_when_asleep: bool,
        script: String,
        event: String,
    },
    Hang {
        deadline_ms: i64,
        script: String,
        event: String,
    },
}

struct Run {
    deployment: usize,
    revision: String,
    instance: String,
    steps: VecDeque<(String, Option<String>, Option<Script>)>,
    current: Option<Current>,
    trace: Vec<String>,
    failed: Option<String>,
}

/// Runs one scenario file and returns its outcome.
pub async fn run_file(path: &Path, paths: &Paths) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let scenario: Scenario = toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut sim = Sim::new(scenario, paths, &name).await?;
    let result = sim.play().await;
    // SCENARIOS_KEEP_WORK=1 keeps each instance's folder (installed files, script stderr) for a look.
    if std::env::var_os("SCENARIOS_KEEP_WORK").is_none() {
        let _ = std::fs::remove_dir_all(&sim.work);
    }
    result
}

struct Sim {
    sc: Scenario,
    r: Running,
    work: PathBuf,
    hooks_bin: PathBuf,
    revisions_dir: PathBuf,
    revisions: BTreeMap<String, Revision>,
    labels: BTreeMap<String, String>,
    /// Instance -> last successfully installed revision (the agent's record).
    installed: BTreeMap<String, String>,
    /// Instance -> revision of its last successful deployment.
    running_rev: BTreeMap<String, String>,
    last_good: Option<String>,
    reports: Vec<DeploymentReport>,
    fired: Vec<bool>,
    started_events: BTreeSet<(String, String, usize)>,
    start_ms: i64,
    min_capacity: Option<(usize, usize)>,
    handled_pending: BTreeSet<String>,
    exits: (mpsc::UnboundedSender<Exit>, mpsc::UnboundedReceiver<Exit>),
    exited: BTreeMap<u32, i32>,
    initial_groups: BTreeMap<String, (i64, Vec<String>)>,
    violations: Vec<String>,
    deployment_no: usize,
    cur_deployment: usize,
    progress: f64,
    /// Scripts started so far (their clock tokens are numbered in start order).
    started: u64,
    /// A sleep released on the gated clock whose process has not yet acted on it.
    released: Option<u64>,
}

impl Sim {
    async fn new(sc: Scenario, paths: &Paths, name: &str) -> anyhow::Result<Sim> {
        let fake = Fake::new(Options {
            clock: ClockMode::Manual,
            ..Options::default()
        });
        // Same-instant wake-ups happen one process at a time, in a fixed order (see `wait_or_advance`).
        fake.clock.set_gated(true);
        let r = Running::start(fake).await?;
        let work = paths.work.join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let n_events = sc.events.len();
        Ok(Sim {
            sc,
            r,
            work,
            hooks_bin: paths.hooks_bin.clone(),
            revisions_dir: paths.revisions.clone(),
            revisions: BTreeMap::new(),
            labels: BTreeMap::new(),
            installed: BTreeMap::new(),
            running_rev: BTreeMap::new(),
            last_good: None,
            reports: Vec::new(),
            fired: vec![false; n_events],
            started_events: BTreeSet::new(),
            start_ms: 0,
            min_capacity: None,
            handled_pending: BTreeSet::new(),
            exits: mpsc::unbounded_channel(),
            exited: BTreeMap::new(),
            initial_groups: BTreeMap::new(),
            violations: Vec::new(),
            deployment_no: 0,
            cur_deployment: 0,
            progress: 0.0,
            started: 0,
            released: None,
        })
    }

    fn fake(&self) -> &Arc<Fake> {
        &self.r.fake
    }

    fn now(&self) -> i64 {
        self.fake().clock.now_ms()
    }

    /// Stages each revision: its folder, the hook binaries (hard links) and their config.
    fn stage_revisions(&mut self) -> anyhow::Result<()> {
        for rev in self.sc.revisions.clone() {
            let src = self.revisions_dir.join(&rev.dir);
            let dst = self.work.join("revisions").join(&rev.name);
            let (entries, link_binaries) = match &rev.bundle {
                // A real revision archive, extracted with its modes like the agent's `unzip -qo`.
                Some(archive) => {
                    let bytes = std::fs::read(archive)
                        .with_context(|| format!("revision {}: reading {}", rev.name, archive.display()))?;
                    (crate::bundle::read(&bytes)?, false)
                }
                // The same collection and validation as `cargo xtask bundle`; the binaries become
                // hard links rather than copies (a hundred instances share them).
                None => {
                    let config = match &rev.hooks_config {
                        Some(text) => {
                            let p = self.work.join(format!("{}-elb-hooks.toml", rev.name));
                            std::fs::write(&p, text)?;
                            Some(p)
                        }
                        None => None,
                    };
                    let input = crate::bundle::Input {
                        app: src.clone(),
                        appspec: None,
                        config,
                        hooks_dir: self.hooks_bin.clone(),
                    };
                    let entries = crate::bundle::collect(&input).with_context(|| format!("revision {}", rev.name))?;
                    crate::bundle::validate(&entries).with_context(|| format!("revision {}", rev.name))?;
                    (entries, true)
                }
            };
            for e in &entries {
                let to = dst.join(&e.path);
                if let Some(p) = to.parent() {
                    std::fs::create_dir_all(p)?;
                }
                let from = self.hooks_bin.join(e.path.trim_start_matches("bin/"));
                if link_binaries
                    && e.path.starts_with("bin/")
                    && e.mode == 0o755
                    && from.exists()
                    && std::fs::hard_link(&from, &to).is_ok()
                {
                    continue;
                }
                std::fs::write(&to, &e.data)?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(e.mode))?;
            }
            let text = std::fs::read_to_string(dst.join("appspec.yml"))
                .with_context(|| format!("revision {}: no appspec.yml", rev.name))?;
            let spec = appspec::parse(&text).with_context(|| format!("revision {}", rev.name))?;
            self.revisions.insert(rev.name.clone(), Revision { dir: dst, spec });
        }
        Ok(())
    }

    fn setup_world(&mut self) -> anyhow::Result<()> {
        let mut w = self.fake().world();
        let standalone = fakeaws::spec::apply(&mut w, &self.sc.fleet).map_err(|e| anyhow!("fleet: {}", e.message))?;
        drop(w);
        // Boot and first health checks happen before the story starts.
        let booted_at = self.now() + 30_000;
        self.fake().clock.advance_to(booted_at);
        // CodeDeploy installs its launch hook when the deployment group is created, over a group
        // whose instances are already in service.
        let mut w = self.fake().world();
        let dg = self.sc.deployment_group.name.clone();
        for g in &self.sc.deployment_group.autoscaling_groups {
            let group = w.group_mut(g).map_err(|e| anyhow!("deployment group: {}", e.message))?;
            group.hooks.insert(
                launch_hook_name(&dg),
                fakeaws::model::LifecycleHook {
                    name: launch_hook_name(&dg),
                    transition: "autoscaling:EC2_INSTANCE_LAUNCHING".into(),
                    heartbeat_timeout_s: 600,
                    default_result: "ABANDON".into(),
                    notification_metadata: None,
                    notification_target_arn: None,
                    role_arn: None,
                },
            );
        }
        drop(w);
        let w = self.fake().world();
        let mut initial: Vec<String> = Vec::new();
        for g in &self.sc.deployment_group.autoscaling_groups {
            initial.extend(w.groups[g].instances.clone());
        }
        drop(w);
        initial.extend(standalone);
        for id in &initial {
            self.label(id);
            if let Some(rev) = &self.sc.initial_revision {
                self.installed.insert(id.clone(), rev.clone());
                self.running_rev.insert(id.clone(), rev.clone());
            }
            let run_dir = self.instance_root(id).join("run");
            std::fs::create_dir_all(&run_dir)?;
            if self.sc.initial_revision.is_some() {
                std::fs::write(run_dir.join("app.running"), "")?;
            } else {
                self.fake().world().set_app(id, false).map_err(|e| anyhow!(e.message))?;
            }
        }
        self.last_good = self.sc.initial_revision.clone();
        // Settle: at least ten minutes, then until the fleet serves (slow health checks), bounded.
        let settle = self.now() + 600_000;
        self.fake().clock.advance_to(settle);
        if self.sc.initial_revision.is_some() {
            let members = self.members();
            let limit = settle + 6 * 3600 * 1000;
            while self.serving(&members) < members.len() && self.now() < limit {
                let next = self.now() + 10_000;
                self.fake().clock.advance_to(next);
            }
        }
        let fake = self.fake().clone();
        let w = fake.world();
        for g in &self.sc.deployment_group.autoscaling_groups {
            let group = &w.groups[g];
            self.initial_groups
                .insert(g.clone(), (group.min, group.suspended.keys().cloned().collect()));
        }
        drop(w);
        self.start_ms = self.now();
        Ok(())
    }

    fn label(&mut self, id: &str) -> String {
        if let Some(l) = self.labels.get(id) {
            return l.clone();
        }
        let l = format!("i-{}", self.labels.len() + 1);
        self.labels.insert(id.to_string(), l.clone());
        l
    }

    fn instance_by_number(&self, n: usize) -> Option<String> {
        self.labels
            .iter()
            .find(|(_, l)| **l == format!("i-{n}"))
            .map(|(id, _)| id.clone())
    }

    fn instance_root(&self, id: &str) -> PathBuf {
        self.work.join("instances").join(id)
    }

    /// Members of the deployment group right now (not terminating), in launch order.
    fn members(&mut self) -> Vec<String> {
        let w = self.fake().world();
        let mut out: Vec<String> = Vec::new();
        for g in &self.sc.deployment_group.autoscaling_groups {
            if let Some(group) = w.groups.get(g) {
                for id in &group.instances {
                    if w.instances.get(id).is_some_and(|i| !i.lifecycle.is_leaving()) {
                        out.push(id.clone());
                    }
                }
            }
        }
        if self.sc.deployment_group.standalone_instances {
            for i in w.instances.values() {
                if i.group.is_none() && i.lifecycle != Lifecycle::Terminated {
                    out.push(i.id.clone());
                }
            }
        }
        drop(w);
        for id in &out {
            self.label(id);
        }
        out
    }

    async fn play(&mut self) -> anyhow::Result<Outcome> {
        self.stage_revisions()?;
        self.setup_world()?;
        for (i, d) in self.sc.deployments.clone().iter().enumerate() {
            let config = d
                .config
                .clone()
                .unwrap_or_else(|| self.sc.deployment_group.config.clone());
            if !self.revisions.contains_key(&d.revision) {
                bail!("deployment {} names unknown revision {}", i + 1, d.revision);
            }
            let targets = self.members();
            let ok = self.deploy(&d.revision, "user", targets, &config).await?;
            if ok {
                // Instances launched meanwhile got the previous revision: CodeDeploy follows up.
                let stale: Vec<String> = self
                    .members()
                    .into_iter()
                    .filter(|id| self.running_rev.get(id) != Some(&d.revision))
                    .collect();
                if !stale.is_empty() {
                    self.deploy(
                        &d.revision,
                        "autoscaling",
                        stale,
                        &ConfigSpec::Named("OneAtATime".into()),
                    )
                    .await?;
                }
            } else if self.sc.deployment_group.rollback {
                if let Some(good) = self.last_good.clone() {
                    let targets = self.members();
                    self.deploy(&good, "codeDeployRollback", targets, &config).await?;
                }
            }
        }
        // Let everything settle (draining, health checks, launches) before the final picture.
        let end = self.now() + 600_000;
        self.drive_until_idle(end).await?;
        self.finish()
    }

    async fn drive_until_idle(&mut self, until: i64) -> anyhow::Result<()> {
        let mut runs: Vec<Run> = Vec::new();
        loop {
            self.check_pending(&mut runs)?;
            self.step_runs(&mut runs).await?;
            if runs.is_empty() {
                let now = self.now();
                if now >= until {
                    return Ok(());
                }
                self.fake().clock.advance_to((now + 30_000).min(until));
                continue;
            }
            self.wait_or_advance(&mut runs).await?;
        }
    }

    fn steps_for(&self, instance: &str, revision: &str) -> VecDeque<(String, Option<String>, Option<Script>)> {
        let mut steps = VecDeque::new();
        for (event, from_previous) in appspec::EVENTS {
            if event == "BeforeInstall" {
                steps.push_back(("DownloadBundle".to_string(), None, None));
            }
            if event == "AfterInstall" {
                steps.push_back(("Install".to_string(), None, None));
            }
            let rev = if from_previous {
                self.installed.get(instance).cloned()
            } else {
                Some(revision.to_string())
            };
            let Some(rev) = rev else {
                steps.push_back((event.to_string(), None, None));
                continue;
            };
            let scripts = self
                .revisions
                .get(&rev)
                .and_then(|r| r.spec.hooks.get(event))
                .cloned()
                .unwrap_or_default();
            if scripts.is_empty() {
                continue;
            }
            for s in scripts {
                steps.push_back((event.to_string(), Some(rev.clone()), Some(s)));
            }
        }
        steps
    }

    fn new_run(&self, deployment: usize, instance: &str, revision: &str) -> Run {
        Run {
            deployment,
            revision: revision.to_string(),
            instance: instance.to_string(),
            steps: self.steps_for(instance, revision),
            current: None,
            trace: Vec::new(),
            failed: None,
        }
    }

    /// One deployment to `targets`. Returns whether it succeeded.
    async fn deploy(
        &mut self,
        revision: &str,
        creator: &str,
        targets: Vec<String>,
        config: &ConfigSpec,
    ) -> anyhow::Result<bool> {
        self.deployment_no += 1;
        let number = self.deployment_no;
        let n = targets.len();
        let min_healthy = min_healthy_hosts(config, n)?;
        let batch = (n.saturating_sub(min_healthy)).max(1);
        // Order: instances with no revision, then older revisions, then the target revision.
        let mut order = targets.clone();
        order.sort_by_key(|id| match self.running_rev.get(id) {
            None => 0,
            Some(r) if r != revision => 1,
            Some(_) => 2,
        });
        let mut queue: VecDeque<String> = order.into();
        let mut report = DeploymentReport {
            number,
            creator: creator.into(),
            revision: revision.into(),
            config: config_name(config),
            status: String::new(),
            instances: BTreeMap::new(),
            lowest_healthy_capacity: usize::MAX,
            required_healthy_capacity: min_healthy.min(n.saturating_sub(1)),
        };
        let mut runs: Vec<Run> = Vec::new();
        let mut done = 0usize;
        let mut failed = 0usize;
        let mut stopped = None;
        self.min_capacity = None;
        self.cur_deployment = number;
        self.progress = 0.0;
        self.min_capacity = None;
        self.sample_capacity();
        let serving_at_start = self.min_capacity.map(|c| c.0).unwrap_or(0);
        report.required_healthy_capacity = report.required_healthy_capacity.min(serving_at_start);
        self.fire_events()?;
        loop {
            // Start instances while the minimum healthy hosts allow: up to the batch size while
            // nothing has failed; after a failure, only as long as the failed instances plus those in
            // flight leave at least the minimum healthy (CodeDeploy's rule).
            let mut deferred: VecDeque<String> = VecDeque::new();
            let mut started_any = false;
            while stopped.is_none() {
                let in_flight = runs.iter().filter(|r| r.deployment == number).count();
                let allowed = if failed == 0 {
                    in_flight < batch
                } else {
                    n.saturating_sub(failed + in_flight + 1) >= min_healthy && failed + in_flight < n
                };
                if !allowed {
                    if in_flight == 0 && failed > 0 && !queue.is_empty() {
                        stopped = Some(format!(
                            "{failed} of {n} instances failed; deploying another would leave fewer than the minimum healthy hosts ({min_healthy})"
                        ));
                    }
                    break;
                }
                let Some(id) = queue.pop_front() else { break };
                let (leaving, launching) = self.fake().world().instances.get(&id).map_or((true, false), |i| {
                    (
                        i.lifecycle.is_leaving(),
                        matches!(
                            i.lifecycle,
                            Lifecycle::Pending | Lifecycle::PendingWait | Lifecycle::PendingProceed
                        ) && i.transition != Some(fakeaws::model::Transition::ExitStandby),
                    )
                });
                if leaving {
                    let label = self.label(&id);
                    report
                        .instances
                        .insert(label, InstanceReport::skipped("terminated before its turn"));
                    continue;
                }
                // One deployment per instance at a time: an instance still launching (its launch
                // deployment first) or busy with another deployment joins this one afterwards.
                if launching || runs.iter().any(|r| r.instance == id) {
                    deferred.push_back(id);
                    continue;
                }
                runs.push(self.new_run(number, &id, revision));
                started_any = true;
            }
            let only_waiting_for_launches = !started_any && !deferred.is_empty();
            while let Some(id) = deferred.pop_back() {
                queue.push_front(id);
            }
            self.check_pending(&mut runs)?;
            let finished = self.step_runs(&mut runs).await?;
            for run in finished {
                if run.deployment != number {
                    continue;
                }
                done += 1;
                let label = self.label(&run.instance);
                let status = match &run.failed {
                    None => "Succeeded".to_string(),
                    Some(why) => {
                        failed += 1;
                        format!("Failed: {why}")
                    }
                };
                if run.failed.is_none() {
                    self.running_rev.insert(run.instance.clone(), revision.to_string());
                }
                report.instances.insert(
                    label,
                    InstanceReport {
                        status,
                        events: run.trace,
                    },
                );
                let last = queue.is_empty() && runs.iter().all(|r| r.deployment != number);
                let one_at_a_time = matches!(config, ConfigSpec::Named(c) if c == "OneAtATime");
                let too_many = if one_at_a_time {
                    failed > 0 && !last
                } else {
                    failed > n - min_healthy || (min_healthy == 0 && failed == n)
                };
                if too_many && stopped.is_none() {
                    stopped = Some(format!(
                        "{failed} of {n} instances failed (minimum healthy hosts {min_healthy})"
                    ));
                }
            }
            self.progress = if n == 0 { 1.0 } else { done as f64 / n as f64 };
            self.fire_events()?;
            let mine = runs.iter().filter(|r| r.deployment == number).count();
            if mine == 0 && (queue.is_empty() || stopped.is_some()) {
                break;
            }
            if runs.is_empty() {
                if !only_waiting_for_launches {
                    continue;
                }
                // Only instances still booting are left: let time pass until they are in service.
                let now = self.now();
                self.fake().clock.advance_to(now + 1_000);
                self.fire_events()?;
                continue;
            }
            self.wait_or_advance(&mut runs).await?;
        }
        // Runs of other deployments (scale-out instances) finish in the background loop later.
        for id in queue {
            let label = self.label(&id);
            report
                .instances
                .insert(label, InstanceReport::skipped("deployment stopped"));
        }
        let ok = stopped.is_none() && (failed < n || n == 0);
        report.status = match &stopped {
            Some(why) => format!("Failed: {why}"),
            None if !ok => format!("Failed: all {n} instances failed"),
            None => "Succeeded".into(),
        };
        if let Some((cap, _)) = self.min_capacity {
            report.lowest_healthy_capacity = cap;
        }
        if ok {
            self.last_good = Some(revision.to_string());
        }
        self.reports.push(report);
        // Background runs (autoscaling deployments) continue to completion.
        if !runs.is_empty() {
            loop {
                self.check_pending(&mut runs)?;
                self.step_runs(&mut runs).await?;
                if runs.is_empty() {
                    break;
                }
                self.wait_or_advance(&mut runs).await?;
            }
        }
        Ok(ok)
    }

    /// Deploys the last good revision to instances held in Pending:Wait by CodeDeploy's hook.
    fn check_pending(&mut self, runs: &mut Vec<Run>) -> anyhow::Result<()> {
        let dg = self.sc.deployment_group.name.clone();
        let waiting: Vec<String> = {
            let w = self.fake().world();
            w.instances
                .values()
                .filter(|i| {
                    i.lifecycle == Lifecycle::PendingWait
                        && i.hook.as_ref().is_some_and(|h| h.hook == launch_hook_name(&dg))
                        && !self.handled_pending.contains(&i.id)
                })
                .map(|i| i.id.clone())
                .collect()
        };
        for id in waiting {
            self.handled_pending.insert(id.clone());
            self.label(&id);
            std::fs::create_dir_all(self.instance_root(&id).join("run"))?;
            match self.last_good.clone() {
                Some(rev) => {
                    self.deployment_no += 1;
                    let number = self.deployment_no;
                    self.reports.push(DeploymentReport {
                        number,
                        creator: "autoscaling".into(),
                        revision: rev.clone(),
                        config: "OneAtATime".into(),
                        status: "InProgress".into(),
                        instances: BTreeMap::new(),
                        lowest_healthy_capacity: 0,
                        required_healthy_capacity: 0,
                    });
                    runs.push(self.new_run(number, &id, &rev));
                }
                None => {
                    self.fake().world().lifecycle_result(&id, "CONTINUE");
                }
            }
        }
        Ok(())
    }

    fn fire_events(&mut self) -> anyhow::Result<()> {
        let deployment = self.cur_deployment;
        for (i, ev) in self.sc.events.clone().iter().enumerate() {
            if self.fired[i] {
                continue;
            }
            let w = &ev.when;
            if w.deployment.is_some_and(|d| d != deployment) {
                continue;
            }
            let inst = match w.instance {
                Some(n) => match self.instance_by_number(n) {
                    Some(id) => Some(id),
                    None => continue,
                },
                None => None,
            };
            let mut hit = true;
            if let Some(state) = &w.reaches {
                let id = inst
                    .clone()
                    .ok_or_else(|| anyhow!("event {}: `reaches` needs `instance`", i + 1))?;
                hit &= self
                    .fake()
                    .world()
                    .instances
                    .get(&id)
                    .is_some_and(|x| x.lifecycle.as_str() == state);
            }
            if let Some(event) = &w.starts {
                let id = inst
                    .clone()
                    .ok_or_else(|| anyhow!("event {}: `starts` needs `instance`", i + 1))?;
                hit &= self.started_events.contains(&(id, event.clone(), deployment));
            }
            if let Some(f) = w.done {
                hit &= self.progress >= f;
            }
            if !hit {
                continue;
            }
            self.fired[i] = true;
            self.act(&ev.action)?;
        }
        Ok(())
    }

    fn act(&mut self, action: &Action) -> anyhow::Result<()> {
        let group = self.sc.deployment_group.autoscaling_groups.first().cloned();
        let need_group = || {
            group
                .clone()
                .ok_or_else(|| anyhow!("this event needs an Auto Scaling group"))
        };
        let instance = |me: &Self, n: usize| me.instance_by_number(n).ok_or_else(|| anyhow!("no instance {n}"));
        let fake = self.fake().clone();
        let result = match action {
            Action::ScaleOut { count } => {
                let g = need_group()?;
                let mut w = fake.world();
                let d = w.group(&g).map(|x| x.desired).unwrap_or(0);
                w.set_desired(&g, d + count)
            }
            Action::ScaleIn { count } => {
                let g = need_group()?;
                let mut w = fake.world();
                let d = w.group(&g).map(|x| x.desired).unwrap_or(0);
                w.set_desired(&g, d - count)
            }
            Action::AddZone { zone } => {
                let g = need_group()?;
                let mut w = fake.world();
                if let Ok(gm) = w.group_mut(&g) {
                    if !gm.availability_zones.contains(zone) {
                        gm.availability_zones.push(zone.clone());
                    }
                }
                w.tick(fake.clock.now_ms());
                Ok(())
            }
            Action::Terminate { instance: n } => {
                let id = instance(self, *n)?;
                fake.world().terminate_in_group(&id, false).map(|_| ())
            }
            Action::AppDown { instance: n } => fake.world().set_app(&instance(self, *n)?, false),
            Action::AppUp { instance: n } => fake.world().set_app(&instance(self, *n)?, true),
            Action::Throttle { api, count } => {
                fake.inject(api, fakeaws::Fault::Throttle, *count);
                Ok(())
            }
            Action::Unavailable { api, count } => {
                fake.inject(api, fakeaws::Fault::Unavailable, *count);
                Ok(())
            }
            Action::Alarm {
                policy,
                metric_value,
                breach_threshold,
            } => {
                let g = need_group()?;
                let mut w = fake.world();
                w.tick(fake.clock.now_ms());
                w.alarm(&g, policy, metric_value.zip(*breach_threshold)).map(|_| ())
            }
            Action::ScheduledAction {
                name,
                in_seconds,
                min,
                max,
                desired,
            } => {
                let g = need_group()?;
                let mut w = fake.world();
                let now = fake.clock.now_ms();
                w.tick(now);
                let mut p = fakeaws::query::Params::default();
                p.0.insert("AutoScalingGroupName".into(), g);
                p.0.insert("ScheduledActionName".into(), name.clone());
                p.0.insert("StartTime".into(), fakeaws::clock::iso(now + in_seconds * 1000));
                for (k, v) in [("MinSize", min), ("MaxSize", max), ("DesiredCapacity", desired)] {
                    if let Some(v) = v {
                        p.0.insert(k.into(), v.to_string());
                    }
                }
                fakeaws::autoscaling::handle(&mut w, "PutScheduledUpdateGroupAction", &p).map(|_| ())
            }
        };
        result.map_err(|e| anyhow!("event {action:?}: {}", e.message))
    }

    fn fault_for(&self, deployment: usize, instance: &str, script: &str) -> Option<String> {
        let label = self.labels.get(instance)?;
        self.sc
            .script_faults
            .iter()
            .find(|f| {
                f.deployment == deployment && &format!("i-{}", f.instance) == label && script.ends_with(&f.script)
            })
            .map(|f| f.behaviour.clone())
    }

    /// Whether some process is acting now (running and not asleep on the clock, or woken and not
    /// yet asleep again). Only one acts at a time, so the order of same-instant AWS calls is fixed.
    fn busy(&self, runs: &[Run], sleepers: &[fakeaws::clock::Sleeper]) -> bool {
        if self.released.is_some_and(|id| sleepers.iter().any(|s| s.id == id)) {
            return true;
        }
        runs.iter().any(|r| match &r.current {
            Some(Current::Process { pid, who, .. }) => {
                !self.exited.contains_key(pid) && !sleepers.iter().any(|s| &s.who == who)
            }
            _ => false,
        })
    }

    /// Starts next steps, collects exits, enforces deadlines. Returns the runs that finished.
    async fn step_runs(&mut self, runs: &mut Vec<Run>) -> anyhow::Result<Vec<Run>> {
        while let Ok((pid, code)) = self.exits.1.try_recv() {
            self.exited.insert(pid, code);
        }
        let now = self.now();
        let sleepers = self.fake().clock.sleepers();
        for run in runs.iter_mut() {
            // Finished or timed-out script?
            let mut outcome: Option<(String, Option<String>)> = None;
            match &run.current {
                Some(Current::Process {
                    pid,
                    who,
                    deadline_ms,
                    kill_when_asleep,
                    script,
                    event,
                }) => {
                    let asleep = sleepers.iter().any(|s| &s.who == who);
                    if let Some(code) = self.exited.remove(pid) {
                        let res = if code == 0 {
                            None
                        } else {
                            Some(format!("ScriptFailed (exit {code}) at {event}: {script}"))
                        };
                        let word = if code == 0 {
                            "Succeeded".to_string()
                        } else {
                            format!("ScriptFailed (exit {code})")
                        };
                        outcome = Some((format!("{event} {script}: {word}"), res));
                    } else if now >= *deadline_ms {
                        kill_group(*pid, rustix::process::Signal::TERM);
                        outcome = Some((
                            format!("{event} {script}: ScriptTimedOut"),
                            Some(format!("ScriptTimedOut at {event}: {script}")),
                        ));
                    } else if *kill_when_asleep && asleep {
                        kill_group(*pid, rustix::process::Signal::KILL);
                        outcome = Some((
                            format!("{event} {script}: ScriptFailed (killed)"),
                            Some(format!("ScriptFailed (killed) at {event}: {script}")),
                        ));
                    }
                }
                Some(Current::Hang {
                    deadline_ms,
                    script,
                    event,
                }) if now >= *deadline_ms => {
                    outcome = Some((
                        format!("{event} {script}: ScriptTimedOut"),
                        Some(format!("ScriptTimedOut at {event}: {script}")),
                    ));
                }
                _ => {}
            }
            if let Some((line, failure)) = outcome {
                run.trace.push(line);
                run.current = None;
                self.sync_app(&run.instance);
                if let Some(f) = failure {
                    run.failed = Some(f);
                    run.steps.clear();
                }
            }
            // Instance terminated under us? The script in flight ends with it.
            let gone = self
                .fake()
                .world()
                .instances
                .get(&run.instance)
                .is_none_or(|i| i.lifecycle.is_leaving());
            if gone && run.failed.is_none() {
                match &run.current {
                    Some(Current::Process { pid, script, event, .. }) => {
                        kill_group(*pid, rustix::process::Signal::KILL);
                        run.trace.push(format!("{event} {script}: ended by termination"));
                    }
                    Some(Current::Hang { script, event, .. }) => {
                        run.trace.push(format!("{event} {script}: ended by termination"));
                    }
                    None => {}
                }
                run.current = None;
                run.steps.clear();
                run.trace.push("instance terminated during the deployment".into());
                run.failed = Some("instance terminated during the deployment".into());
            }
        }
        // Start next steps, in run order; a script process only when no other process is acting.
        let sleepers = self.fake().clock.sleepers();
        let mut busy = self.busy(runs, &sleepers);
        for run in runs.iter_mut() {
            while run.current.is_none() && run.failed.is_none() {
                let is_script = matches!(run.steps.front(), Some((_, Some(_), Some(_))));
                if is_script && busy {
                    break;
                }
                let Some((event, rev, script)) = run.steps.pop_front() else {
                    break;
                };
                self.started_events
                    .insert((run.instance.clone(), event.clone(), run.deployment));
                match (event.as_str(), rev, script) {
                    ("DownloadBundle", _, _) => {}
                    ("Install", _, _) => {
                        let rev = run.revision.clone();
                        self.install(&run.instance, &rev)?;
                        run.trace.push(format!("Install: {rev}"));
                    }
                    (ev, None, _) => run
                        .trace
                        .push(format!("{ev}: skipped (no previous revision on this instance)")),
                    (ev, Some(rev), Some(script)) => {
                        let cur = self
                            .start_script(run.deployment, &run.instance, ev, &rev, &script)
                            .await?;
                        match cur {
                            Ok(c) => {
                                busy |= matches!(c, Current::Process { .. });
                                run.current = Some(c);
                            }
                            Err(line) => {
                                run.trace.push(format!("{ev} {}: {line}", script.location));
                                run.failed = Some(format!("{line} at {ev}: {}", script.location));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut finished = Vec::new();
        let mut i = 0;
        while i < runs.len() {
            let r = &runs[i];
            if r.current.is_none() && (r.steps.is_empty() || r.failed.is_some()) {
                let run = runs.remove(i);
                self.complete_run(&run);
                finished.push(run);
            } else {
                i += 1;
            }
        }
        self.sample_capacity();
        Ok(finished)
    }

    fn complete_run(&mut self, run: &Run) {
        let creator_autoscaling = self
            .reports
            .iter()
            .find(|r| r.number == run.deployment)
            .is_some_and(|r| r.creator == "autoscaling" && r.status == "InProgress");
        if !creator_autoscaling {
            return;
        }
        let label = self.label(&run.instance);
        let ok = run.failed.is_none();
        let rev = run.revision.clone();
        if ok {
            self.running_rev.insert(run.instance.clone(), rev);
        }
        self.fake()
            .world()
            .lifecycle_result(&run.instance, if ok { "CONTINUE" } else { "ABANDON" });
        if let Some(r) = self.reports.iter_mut().find(|r| r.number == run.deployment) {
            r.status = if ok { "Succeeded".into() } else { "Failed".into() };
            r.instances.insert(
                label,
                InstanceReport {
                    status: match &run.failed {
                        None => "Succeeded".into(),
                        Some(w) => format!("Failed: {w}"),
                    },
                    events: run.trace.clone(),
                },
            );
        }
    }

    fn install(&mut self, id: &str, rev: &str) -> anyhow::Result<()> {
        let revision = self
            .revisions
            .get(rev)
            .ok_or_else(|| anyhow!("unknown revision {rev}"))?;
        let root = self.instance_root(id);
        for (src, dst) in &revision.spec.files {
            let from = revision.dir.join(src);
            let to = root.join(dst.trim_start_matches('/'));
            if from.is_dir() {
                copy_tree(&from, &to)?;
            } else if from.exists() {
                if let Some(p) = to.parent() {
                    std::fs::create_dir_all(p)?;
                }
                std::fs::copy(&from, &to)?;
            }
        }
        self.installed.insert(id.to_string(), rev.to_string());
        Ok(())
    }

    /// The application is up while its marker file exists (the sample scripts create and remove it).
    fn sync_app(&self, id: &str) {
        let up = self.instance_root(id).join("run").join("app.running").exists();
        let _ = self.fake().world().set_app(id, up);
    }

    async fn start_script(
        &mut self,
        deployment: usize,
        id: &str,
        event: &str,
        rev: &str,
        script: &Script,
    ) -> anyhow::Result<Result<Current, String>> {
        let revision = self
            .revisions
            .get(rev)
            .ok_or_else(|| anyhow!("unknown revision {rev}"))?;
        let path = revision.dir.join(&script.location);
        let deadline_ms = self.now() + script.timeout_s as i64 * 1000;
        match self.fault_for(deployment, id, &script.location).as_deref() {
            Some("fail") => return Ok(Err("ScriptFailed (exit 1, injected)".into())),
            Some("hang") => {
                return Ok(Ok(Current::Hang {
                    deadline_ms,
                    script: script.location.clone(),
                    event: event.to_string(),
                }))
            }
            _ => {}
        }
        if !path.exists() {
            return Ok(Err("ScriptMissing".into()));
        }
        let root = self.instance_root(id);
        std::fs::create_dir_all(root.join("logs"))?;
        self.started += 1;
        let who = format!("{:08}:{id}", self.started);
        // The script's output (the hooks log to stdout, errors to stderr), as the agent keeps it.
        let log_path = root.join("logs").join(format!(
            "{deployment}-{event}-{}.log",
            script.location.replace('/', "_")
        ));
        let log = std::fs::File::create(&log_path)?;
        let dg = &self.sc.deployment_group.name;
        let mut cmd = tokio::process::Command::new(&path);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()))
            .env("LIFECYCLE_EVENT", event)
            .env("DEPLOYMENT_ID", format!("d-SIM{deployment:06}"))
            .env("APPLICATION_NAME", "sample-app")
            .env("DEPLOYMENT_GROUP_NAME", dg)
            .env("DEPLOYMENT_GROUP_ID", format!("dg-{dg}"))
            .env("AWS_ENDPOINT_URL", &self.r.url)
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.fake().imds_endpoint(id))
            .env("AWS_CONFIG_FILE", root.join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", root.join("no-aws-credentials"))
            .env("ELB_HOOKS_CLOCK_URL", format!("{}/_fakeaws", self.r.url))
            .env("ELB_HOOKS_CLOCK_WHO", &who)
            .env("ELB_HOOKS_STATE_DIR", root.join("var/lib/codedeploy-elb-hooks"))
            .env(
                "ELB_HOOKS_JITTER_SEED",
                format!("{}", self.labels.len() * 7919 + deployment),
            )
            .env("APP_STATE_DIR", root.join("run"))
            .current_dir(&revision.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return Ok(Err(format!("ScriptFailed (cannot start: {e})"))),
        };
        let pid = child.id().unwrap_or(0);
        let tx = self.exits.0.clone();
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(s) => s.code().unwrap_or(-1),
                Err(_) => -1,
            };
            let _ = tx.send((pid, code));
        });
        let kill_when_asleep = self.fault_for(deployment, id, &script.location).as_deref() == Some("kill");
        Ok(Ok(Current::Process {
            pid,
            who,
            deadline_ms,
            kill_when_asleep,
            script: script.location.clone(),
            event: event.to_string(),
        }))
    }

    /// Waits for something to happen, or moves the simulation on when every script is waiting.
    ///
    /// The clock is gated: when several scripts are due at the same instant they are released one
    /// at a time, in start order, each only once the previous one sleeps again or exits. The order
    /// of AWS calls, and so the outcome, never depends on how the operating system schedules them.
    async fn wait_or_advance(&mut self, runs: &mut [Run]) -> anyhow::Result<()> {
        // Subscribe before looking, so that no change between the look and the wait is missed.
        let mut rx = self.fake().clock.subscribe();
        let now = self.now();
        let sleepers = self.fake().clock.sleepers();
        if !self.busy(runs, &sleepers) {
            if self.released.is_some() {
                self.released = None;
                return Ok(());
            }
            let mut quiet = true;
            let mut due: Option<&fakeaws::clock::Sleeper> = None;
            let mut next: Option<i64> = None;
            let mut consider = |t: i64| next = Some(next.map_or(t, |n: i64| n.min(t)));
            for run in runs.iter() {
                match &run.current {
                    Some(Current::Hang { deadline_ms, .. }) => consider(*deadline_ms),
                    Some(Current::Process {
                        pid,
                        who,
                        deadline_ms,
                        kill_when_asleep,
                        ..
                    }) => {
                        // An exit to collect, or a script to kill the moment it waits: before time moves.
                        if self.exited.contains_key(pid)
                            || (*kill_when_asleep && sleepers.iter().any(|s| &s.who == who))
                        {
                            quiet = false;
                        }
                        for s in sleepers.iter().filter(|s| &s.who == who) {
                            if s.wake_ms <= now {
                                if due.is_none_or(|d| s.who < d.who) {
                                    due = Some(s);
                                }
                            } else {
                                consider(s.wake_ms);
                            }
                        }
                        consider(*deadline_ms);
                    }
                    None => quiet = false,
                }
            }
            if !quiet || next.is_some_and(|t| t <= now) {
                return Ok(());
            }
            if let Some(s) = due {
                self.released = Some(s.id);
                self.fake().clock.release(s.id);
                return Ok(());
            }
            if let Some(t) = next {
                self.fake().clock.advance_to(t);
                return self.fire_events();
            }
        }
        tokio::select! {
            _ = rx.changed() => {}
            got = self.exits.1.recv() => {
                if let Some((pid, code)) = got {
                    self.exited.insert(pid, code);
                }
            }
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
                let running: Vec<String> = runs.iter().map(|r| format!("{} {:?} {:?}", r.instance, r.current, r.trace)).collect();
                bail!(
                    "simulation stalled: no script progressed for 30 s of real time; running: {running:?}; sleepers: {:?}",
                    self.fake().clock.sleepers()
                );
            }
        }
        self.fire_events()
    }

    /// Lowest number of deployment-group instances serving traffic (InService and healthy in
    /// every target group they are registered in).
    fn sample_capacity(&mut self) {
        let members = self.members();
        let serving = self.serving(&members);
        let total = members.len();
        self.min_capacity = Some(match self.min_capacity {
            Some((m, t)) if m <= serving => (m, t),
            _ => (serving, total),
        });
    }

    /// How many of `members` serve traffic now.
    fn serving(&self, members: &[String]) -> usize {
        let w = self.fake().world();
        let mut serving = 0;
        for id in members {
            let Some(inst) = w.instances.get(id) else { continue };
            if inst.lifecycle != Lifecycle::InService {
                continue;
            }
            let mut registered = false;
            let mut healthy = true;
            for tg in w.target_groups.values() {
                for t in tg.targets.iter().filter(|t| &t.id == id) {
                    registered = true;
                    if w.target_health(tg, t).0 != "healthy" {
                        healthy = false;
                    }
                }
            }
            for lb in w.classic.values() {
                for m in lb.members.iter().filter(|m| &m.id == id) {
                    registered = true;
                    if !m.in_service || m.draining_until_ms.is_some() {
                        healthy = false;
                    }
                }
            }
            if registered && healthy {
                serving += 1;
            }
        }
        serving
    }

    fn finish(&mut self) -> anyhow::Result<Outcome> {
        let members = self.members();
        let w = self.fake().world().clone();
        let mut out = Outcome {
            description: self.sc.description.trim().to_string(),
            simulated_seconds: (w.now_ms - self.start_ms) / 1000,
            deployments: self.reports.clone(),
            ..Default::default()
        };
        out.deployments.sort_by_key(|d| d.number);
        let label = |s: &str| -> String {
            let mut s = s.to_string();
            for (id, l) in &self.labels {
                s = s.replace(id, l);
            }
            s
        };
        let mut acts: Vec<(i64, String)> = Vec::new();
        for a in &w.activities {
            if a.start_ms < self.start_ms {
                continue;
            }
            acts.push(((a.start_ms - self.start_ms) / 1000, label(&a.description)));
        }
        acts.sort();
        out.activities = acts.into_iter().map(|(t, d)| format!("t+{t}s {d}")).collect();
        for gname in &self.sc.deployment_group.autoscaling_groups {
            let Some(g) = w.groups.get(gname) else { continue };
            let mut states = BTreeMap::new();
            for id in &g.instances {
                if let Some(i) = w.instances.get(id) {
                    states.insert(label(id), i.lifecycle.as_str().to_string());
                }
            }
            out.groups.insert(
                gname.clone(),
                crate::report::GroupReport {
                    min: g.min,
                    max: g.max,
                    desired: g.desired,
                    suspended: g.suspended.keys().cloned().collect(),
                    instances: states,
                    zones: g
                        .instances
                        .iter()
                        .filter_map(|id| w.instances.get(id))
                        .fold(BTreeMap::new(), |mut m, i| {
                            *m.entry(i.availability_zone.clone()).or_insert(0usize) += 1;
                            m
                        }),
                },
            );
            let (min0, susp0) = self.initial_groups.get(gname).cloned().unwrap_or_default();
            if g.min != min0 {
                self.violations
                    .push(format!("min_size_not_restored: {gname} MinSize {} (was {min0})", g.min));
            }
            let now_susp: Vec<String> = g.suspended.keys().cloned().collect();
            if now_susp != susp0 {
                self.violations.push(format!(
                    "processes_not_restored: {gname} suspended {now_susp:?} (was {susp0:?})"
                ));
            }
            for id in &g.instances {
                if w.instances
                    .get(id)
                    .is_some_and(|i| matches!(i.lifecycle, Lifecycle::Standby | Lifecycle::EnteringStandby))
                {
                    self.violations.push(format!("left_in_standby: {}", label(id)));
                }
            }
        }
        for tg in w.target_groups.values() {
            let mut m = BTreeMap::new();
            for t in &tg.targets {
                m.insert(format!("{}:{}", label(&t.id), t.port), w.target_health(tg, t).0);
            }
            out.target_health.insert(tg.name.clone(), m);
        }
        for lb in w.classic.values() {
            let mut m = BTreeMap::new();
            for x in &lb.members {
                let state = match (x.draining_until_ms, x.in_service) {
                    (Some(_), _) => "draining",
                    (None, true) => "InService",
                    (None, false) => "OutOfService",
                };
                m.insert(label(&x.id), state.to_string());
            }
            out.target_health.insert(format!("classic:{}", lb.name), m);
        }
        for id in &members {
            out.revisions.insert(
                label(id),
                self.running_rev.get(id).cloned().unwrap_or_else(|| "(none)".into()),
            );
        }
        if let Some(good) = &self.last_good {
            for id in &members {
                if self.running_rev.get(id) != Some(good) {
                    out.mixed_fleet.push(format!(
                        "{} runs {} (last successful revision {good})",
                        label(id),
                        out.revisions[&label(id)]
                    ));
                }
            }
        }
        // Every deployment CodeDeploy runs over the fleet (user deployments, failed or not, and
        // rollbacks); launch deployments of single new instances promise no capacity.
        for d in &self.reports {
            if d.creator != "autoscaling" && d.lowest_healthy_capacity < d.required_healthy_capacity {
                self.violations.push(format!(
                    "capacity_below_minimum: deployment {} went down to {} healthy instance(s), minimum {}",
                    d.number, d.lowest_healthy_capacity, d.required_healthy_capacity
                ));
            }
        }
        let expected: BTreeSet<String> = self.sc.expect_violations.iter().cloned().collect();
        let kinds: BTreeSet<String> = self
            .violations
            .iter()
            .map(|v| v.split(':').next().unwrap_or_default().to_string())
            .collect();
        out.violations = self.violations.clone();
        out.passed = kinds == expected;
        if !out.passed {
            out.verdict = format!("invariant violations {kinds:?}, expected {expected:?}");
        } else {
            out.verdict = "ok".into();
        }
        Ok(out)
    }
}

/// Signals a script's whole process group (scripts run in their own group).
fn kill_group(pid: u32, signal: rustix::process::Signal) {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return;
    };
    // Already gone is fine: the group ended on its own.
    let _ = rustix::process::kill_process_group(pid, signal);
}

fn config_name(c: &ConfigSpec) -> String {
    match c {
        ConfigSpec::Named(n) => n.clone(),
        ConfigSpec::Custom { kind, value } => format!("{kind}={value}"),
    }
}

/// Minimum healthy hosts for a configuration and fleet size.
pub fn min_healthy_hosts(c: &ConfigSpec, n: usize) -> anyhow::Result<usize> {
    let percent = |p: u32| (n * p as usize).div_ceil(100);
    Ok(match c {
        ConfigSpec::Named(name) => match name.as_str() {
            "OneAtATime" => n.saturating_sub(1),
            "HalfAtATime" => percent(50),
            "AllAtOnce" => 0,
            other => bail!("unknown deployment configuration {other} (OneAtATime, HalfAtATime, AllAtOnce, or a custom table)"),
        },
        ConfigSpec::Custom { kind, value } => match kind.as_str() {
            "HOST_COUNT" => (*value as usize).min(n),
            "FLEET_PERCENT" if *value <= 99 => percent(*value),
            other => bail!("custom deployment configuration: type must be HOST_COUNT or FLEET_PERCENT (<= 99), not {other}={value}"),
        },
    })
}

fn copy_tree(src: &Path, dst: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}
