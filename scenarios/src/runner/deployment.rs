//! One CodeDeploy deployment: which instances it targets and in what order, batches under the
//! minimum healthy hosts, CodeDeploy's failure rules, launch deployments for instances held by the
//! deployment group's lifecycle hook, and each deployment's report.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;
use fakeaws::model::codedeploy::MinimumHealthyHostsType;
use fakeaws::rehearsal::LifecycleResult;

use super::batch::Batch;
use super::supervisor::Run;
use super::zones::{Zonal, ZoneWatch};
use super::{launch_hook_name, Sim};
use crate::report::{Creator, DeploymentReport, InstanceReport, Status};
use crate::schema::ConfigSpec;

/// CodeDeploy's side of a run: the deployments numbered as they start, the ids CodeDeploy gave
/// them, the one running and how far it got, the reports, the last revision that succeeded and
/// what each instance last got, the capacity watch, and the lifecycle holds handled.
#[derive(Default)]
pub(super) struct Engine {
    /// Deployments started so far (the last one's number).
    pub(super) deployment_no: usize,
    /// The deployment running.
    pub(super) cur_deployment: usize,
    /// The part of its instances done (0.0 to 1.0), for `done` triggers.
    pub(super) progress: f64,
    /// Deployment number -> the id CodeDeploy gave it.
    pub(super) deployment_ids: BTreeMap<usize, String>,
    /// A deployment created through the API, about to be run by `deploy`.
    pub(super) api_deployment: Option<String>,
    /// StopDeployment calls seen (the deployment's status is looked at again only after another).
    pub(super) stops_seen: u64,
    pub(super) reports: Vec<DeploymentReport>,
    /// The revision of the last deployment that succeeded.
    pub(super) last_good: Option<String>,
    /// The zones of the zonal deployment running, as sampled.
    pub(super) zones: Option<ZoneWatch>,
    /// Instance -> revision of its last successful deployment.
    pub(super) running_rev: BTreeMap<String, String>,
    /// Instances whose last deployment failed (CodeDeploy counts them unhealthy).
    pub(super) failed_last: BTreeSet<String>,
    /// The lowest serving capacity of the deployment running, and its minimum.
    pub(super) min_capacity: Option<(usize, usize)>,
    /// The lifecycle holds (launch or termination hook) already handled, by their tokens.
    pub(super) handled_pending: BTreeSet<String>,
    /// The fake's version at the last capacity census and the last look for held instances
    /// (looked at again only when it changes).
    pub(super) census_seen: Option<(u64, i64)>,
    pub(super) pending_seen: Option<(u64, i64)>,
    /// The number the scenario's last deployment began at (see `Outcome::last_deployment_from`).
    pub(super) last_deployment_from: Option<usize>,
}

impl Engine {
    /// An instance's deployment of `revision` ended: what it runs and whether CodeDeploy counts
    /// it healthy (its last deployment succeeded).
    pub(super) fn instance_done(&mut self, id: &str, revision: &str, ok: bool) {
        if ok {
            self.running_rev.insert(id.to_string(), revision.to_string());
            self.failed_last.remove(id);
        } else {
            self.failed_last.insert(id.to_string());
        }
    }

    /// Whether CodeDeploy counts an instance healthy: its last deployment succeeded.
    pub(super) fn healthy(&self, id: &str) -> bool {
        self.running_rev.contains_key(id) && !self.failed_last.contains(id)
    }
}

impl Sim {
    pub(super) async fn drive_until_idle(&mut self, until: i64) -> anyhow::Result<()> {
        let mut runs: Vec<Run> = Vec::new();
        loop {
            self.drain(&mut runs).await?;
            let now = self.now();
            if now >= until {
                return Ok(());
            }
            self.advance((now + 30_000).min(until));
        }
    }

    /// Runs the launch deployments of instances held by CodeDeploy's hook to completion.
    pub(super) async fn drain_background(&mut self) -> anyhow::Result<()> {
        let mut runs = Vec::new();
        self.drain(&mut runs).await
    }

    /// Runs `runs` (and the launch deployments that start meanwhile) to completion.
    async fn drain(&mut self, runs: &mut Vec<Run>) -> anyhow::Result<()> {
        loop {
            self.check_pending(runs)?;
            self.step_runs(runs).await?;
            if runs.is_empty() {
                return Ok(());
            }
            self.wait_or_advance(runs).await?;
        }
    }

    /// One deployment to `targets`. Returns whether it succeeded.
    pub(super) async fn deploy(
        &mut self,
        revision: &str,
        creator: Creator,
        targets: Vec<String>,
        config: &ConfigSpec,
    ) -> anyhow::Result<bool> {
        self.engine.deployment_no += 1;
        let number = self.engine.deployment_no;
        let started_ms = self.now();
        self.recorder.marker(
            started_ms,
            format!("deployment {number} ({revision}, {}) starts", config.name()),
        );
        let n = targets.len();
        let min_healthy = min_healthy_hosts(config, n)?;
        let mut planned = self.deployment_order(targets, revision);
        // Zone by zone, except a rollback: CodeDeploy rolls back on hosts across the Region.
        let zonal = match config.zonal() {
            Some(zc) if creator != Creator::CodeDeployRollback => {
                let zone_of = planned
                    .iter()
                    .map(|id| (id.clone(), self.fake().rehearsal().zone_of(id).unwrap_or_default()))
                    .collect();
                let z = Zonal::new(zc, zone_of);
                planned = z.sort(planned);
                Some(z)
            }
            _ => None,
        };
        self.open_deployment(number, revision, creator, config, &planned)?;
        let mut d = Batch::new(number, revision, creator, config, min_healthy, started_ms, planned);
        d.zonal = zonal;
        // CodeDeploy refuses at once a minimum it can never keep while taking an instance out
        // (HOST_COUNT 3 of three, FLEET_PERCENT 67 of three): nothing is deployed.
        if n > 0 && min_healthy >= n {
            self.refuse_deployment(d, None);
            return Ok(false);
        }
        if let Some(why) = d.zonal.as_ref().and_then(Zonal::impossible) {
            self.refuse_deployment(d, Some(why));
            return Ok(false);
        }
        self.engine.cur_deployment = number;
        self.engine.progress = 0.0;
        self.engine.min_capacity = None;
        self.engine.census_seen = None;
        self.engine.zones = d.zonal.as_ref().map(|_| ZoneWatch::default());
        self.sample_capacity();
        let serving_at_start = self.engine.min_capacity.map(|c| c.0).unwrap_or(0);
        d.report.required_healthy_capacity = d.report.required_healthy_capacity.min(serving_at_start);
        self.fire_events()?;
        self.play_batch(&mut d).await?;
        let (ok, mut runs) = self.close_batch(d);
        // Background runs (autoscaling deployments) continue to completion.
        if !runs.is_empty() {
            self.drain(&mut runs).await?;
        }
        Ok(ok)
    }

    /// Runs a deployment's instances to the end: starts them while the minimum allows, steps the
    /// runs, and lets time pass when every run waits on it.
    async fn play_batch(&mut self, d: &mut Batch) -> anyhow::Result<()> {
        loop {
            let (started_any, deferred) = self.start_instances(d);
            let only_waiting_for_launches = !started_any && !deferred.is_empty();
            for id in deferred.into_iter().rev() {
                d.queue.push_front(id);
            }
            self.check_pending(&mut d.runs)?;
            let finished = self.step_runs(&mut d.runs).await?;
            // A run that just finished frees a slot: start the next instance before time moves
            // (CodeDeploy does not wait for the other instances' next wake-up).
            let freed = !finished.is_empty();
            for run in finished {
                self.run_finished(d, run);
            }
            self.engine.progress = if d.n == 0 { 1.0 } else { d.done as f64 / d.n as f64 };
            self.fire_events()?;
            if d.stopped.is_none() && self.stopped_through_api(d.number) {
                d.stopped = Some("the deployment was stopped (StopDeployment)".into());
            }
            let mine = d.runs.iter().filter(|r| r.deployment == d.number).count();
            if mine == 0 && (d.queue.is_empty() || d.stopped.is_some()) {
                break;
            }
            // The wait after a zone: time passes (launches, health checks, fleet events) until
            // the next zone may start.
            let now = self.now();
            if let Some(until) = d.zonal.as_ref().and_then(|z| z.waiting_until(now)) {
                if d.runs.is_empty() {
                    let next = self.fake().rehearsal().next_change().filter(|t| *t > now);
                    self.advance(next.map_or(until, |t| t.min(until)));
                    self.fire_events()?;
                } else {
                    self.wait_or_advance_until(&mut d.runs, until).await?;
                }
                continue;
            }
            if d.runs.is_empty() {
                if !only_waiting_for_launches {
                    continue;
                }
                // Only instances still booting are left: let time pass until they are in service.
                let now = self.now();
                self.advance(now + 1_000);
                self.fire_events()?;
                continue;
            }
            if freed && !d.queue.is_empty() && d.stopped.is_none() {
                continue;
            }
            self.wait_or_advance(&mut d.runs).await?;
        }
        Ok(())
    }

    /// Deploys the last good revision to instances held by CodeDeploy's launch hook: in
    /// Pending:Wait, and in Warmed:Pending:Wait on their way into a warm pool (again when they
    /// leave it: each hold is handled once, by its token).
    pub(super) fn check_pending(&mut self, runs: &mut Vec<Run>) -> anyhow::Result<()> {
        // Nobody can have been held since the last look if the world has not changed.
        let version = self.fake().version();
        if self.engine.pending_seen == Some(version) {
            return Ok(());
        }
        self.engine.pending_seen = Some(version);
        let dg = self.sc.deployment_group.name.clone();
        let waiting: Vec<String> = self
            .fake()
            .rehearsal()
            .held_by(&launch_hook_name(&dg))
            .into_iter()
            .filter(|(_, token)| self.engine.handled_pending.insert(token.clone()))
            .map(|(id, _)| id)
            .collect();
        if self.sc.deployment_group.termination_hook {
            let hook = fakeaws::rehearsal::termination_hook_name(&dg);
            let leaving: Vec<String> = self
                .fake()
                .rehearsal()
                .held_terminating_by(&hook)
                .into_iter()
                .filter(|(_, token)| self.engine.handled_pending.insert(token.clone()))
                .map(|(id, _)| id)
                .collect();
            for id in leaving {
                self.label(&id);
                self.engine.deployment_no += 1;
                let number = self.engine.deployment_no;
                let rev = self
                    .agent
                    .installed
                    .get(&id)
                    .cloned()
                    .or_else(|| self.engine.last_good.clone())
                    .unwrap_or_default();
                self.background_deployment(number, &rev, Creator::AutoscalingTermination, &id)?;
                let mut run = self.new_run(number, &id, &rev);
                run.steps = self.termination_steps(&id);
                runs.push(run);
            }
        }
        for id in waiting {
            self.label(&id);
            std::fs::create_dir_all(self.instance_root(&id).join("run"))?;
            match self.engine.last_good.clone() {
                Some(rev) => {
                    self.engine.deployment_no += 1;
                    let number = self.engine.deployment_no;
                    self.background_deployment(number, &rev, Creator::Autoscaling, &id)?;
                    runs.push(self.new_run(number, &id, &rev));
                }
                None => {
                    self.fake()
                        .rehearsal()
                        .complete_lifecycle_action(&id, LifecycleResult::Continue);
                }
            }
        }
        Ok(())
    }

    /// A one-instance deployment CodeDeploy starts by itself (a launch or a termination): its
    /// report, and its record in CodeDeploy.
    fn background_deployment(&mut self, number: usize, rev: &str, creator: Creator, id: &str) -> anyhow::Result<()> {
        self.engine.reports.push(DeploymentReport {
            number,
            creator,
            revision: rev.to_string(),
            config: "OneAtATime".into(),
            status: Status::InProgress,
            instances: BTreeMap::new(),
            lowest_healthy_capacity: 0,
            required_healthy_capacity: 0,
            lost_before_first_out: 0,
            zones: BTreeMap::new(),
            simulated_seconds: None,
            floor_seconds: None,
            overhead_seconds: None,
        });
        let one = ConfigSpec::Named("OneAtATime".into());
        self.open_deployment(number, rev, creator, &one, &[id.to_string()])?;
        Ok(())
    }

    pub(super) fn complete_run(&mut self, run: &Run) {
        self.report_run(run);
        let serving = self.fake().rehearsal().serves(&run.instance);
        self.spent.turn_ends(run.deployment, &run.instance, serving);
        let creator_autoscaling = self
            .engine
            .reports
            .iter()
            .find(|r| r.number == run.deployment)
            .is_some_and(|r| {
                matches!(r.creator, Creator::Autoscaling | Creator::AutoscalingTermination)
                    && r.status == Status::InProgress
            });
        if !creator_autoscaling {
            return;
        }
        let label = self.label(&run.instance);
        let ok = run.failed.is_none();
        self.engine.instance_done(&run.instance, &run.revision, ok);
        let terminating = self
            .engine
            .reports
            .iter()
            .any(|r| r.number == run.deployment && r.creator == Creator::AutoscalingTermination);
        // A termination goes on whatever its deployment did (CONTINUE and ABANDON both end in
        // termination); a launch that failed is abandoned.
        let result = if ok || terminating {
            LifecycleResult::Continue
        } else {
            LifecycleResult::Abandon
        };
        self.fake().rehearsal().complete_lifecycle_action(&run.instance, result);
        self.close_deployment(run.deployment, run.failed.clone());
        if let Some(r) = self.engine.reports.iter_mut().find(|r| r.number == run.deployment) {
            r.status = if ok { Status::Succeeded } else { Status::Failed(None) };
            r.instances.insert(
                label,
                InstanceReport {
                    status: match &run.failed {
                        None => Status::Succeeded,
                        Some(w) => Status::failed(w.clone()),
                    },
                    events: run.trace.clone(),
                },
            );
        }
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
            other => bail!(
                "unknown deployment configuration {other} (OneAtATime, HalfAtATime, AllAtOnce, or a custom table)"
            ),
        },
        ConfigSpec::Custom { .. } => match c.hosts() {
            Some(h) if h.kind == MinimumHealthyHostsType::HostCount => (h.value.max(0) as usize).min(n),
            Some(h) if h.kind == MinimumHealthyHostsType::FleetPercent && h.value <= 99 => percent(h.value as u32),
            _ => bail!(
                "custom deployment configuration: type must be HOST_COUNT or FLEET_PERCENT (<= 99), not {}",
                c.name()
            ),
        },
    })
}
