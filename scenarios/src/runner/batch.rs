//! A deployment under way ([`Batch`]): starting its instances while the minimum healthy hosts
//! allow, each run's end and whether failures stop it, and its close (status, capacity, time and
//! overhead). The order it takes them in and its refusal before it starts: `admission.rs`.

use std::collections::{BTreeMap, VecDeque};

use super::supervisor::Run;
use super::zones::{Admit, Zonal};
use super::Sim;
use crate::report::{Creator, DeploymentReport, InstanceReport, Status, BELOW_MINIMUM_HEALTHY};
use crate::schema::ConfigSpec;

impl Sim {
    /// Starts instances while the minimum healthy hosts allow (CodeDeploy's rule): at most the
    /// batch at once (the instances minus the minimum, failed ones counted in); and an instance
    /// CodeDeploy counts healthy (its last deployment succeeded) goes out only while the healthy
    /// ones left, those in flight and failed not counted, stay above the minimum, while one it
    /// counts unhealthy (never deployed to, such as an instance still launching, or its last
    /// deployment failed) costs none of them and goes first. When none can go, none is in flight
    /// and none waits for its launch, the deployment fails there. Returns whether one started, and
    /// the instances that wait their turn (still launching, or busy with another deployment).
    pub(super) fn start_instances(&mut self, d: &mut Batch) -> (bool, Vec<String>) {
        let mut deferred = Vec::new();
        let mut started_any = false;
        while d.stopped.is_none() {
            // At most the batch at once (n minus the minimum), failed instances counted in.
            let in_flight = d.runs.iter().filter(|r| r.deployment == d.number).count();
            if d.failed + in_flight >= d.batch.min(d.n) {
                if in_flight == 0 && d.failed > 0 && !d.queue.is_empty() {
                    d.stopped = Some(format!(
                        "{} of {} instances failed; {BELOW_MINIMUM_HEALTHY} ({})",
                        d.failed, d.n, d.min_healthy
                    ));
                }
                break;
            }
            let Some(id) = d.queue.front().cloned() else { break };
            if self.startable(d, &id) && self.engine.healthy(&id) && self.healthy_left(d) <= d.min_healthy {
                // An instance CodeDeploy counts unhealthy, further on (in the same zone of a
                // zonal deployment), may go instead.
                let zone = |i: &str| d.zonal.as_ref().map(|z| z.zone(i).to_string());
                let free = d
                    .queue
                    .iter()
                    .position(|i| zone(i) == zone(&id) && !self.engine.healthy(i) && self.startable(d, i));
                if let Some(k) = free {
                    if let Some(i) = d.queue.remove(k) {
                        d.queue.push_front(i);
                    }
                    continue;
                }
                // Nothing in flight and nothing launching to wait for: CodeDeploy fails here.
                // Instances still launching further on are handed back as waiting their turn,
                // so that time passes until their launch deployments are done.
                let launching: Vec<String> = d.queue.iter().filter(|i| self.waits_its_turn(d, i)).cloned().collect();
                if in_flight == 0 && deferred.is_empty() && launching.is_empty() {
                    d.stopped = Some(format!(
                        "{} of {} instances healthy, {} failed; {BELOW_MINIMUM_HEALTHY} ({})",
                        self.healthy_left(d),
                        d.n,
                        d.failed,
                        d.min_healthy
                    ));
                }
                d.queue.retain(|i| !launching.contains(i));
                deferred.extend(launching);
                break;
            }
            if !self.zone_admits(d, &id, &deferred) {
                break;
            }
            if self.fake().rehearsal().is_leaving(&id) {
                d.queue.pop_front();
                self.skip_terminated(d, &id);
                continue;
            }
            // An instance waiting its turn joins this deployment afterwards.
            if self.waits_its_turn(d, &id) {
                d.queue.pop_front();
                deferred.push(id);
                continue;
            }
            d.queue.pop_front();
            self.take_out(d, &id);
            started_any = true;
        }
        (started_any, deferred)
    }

    /// An instance that left the group before its turn: skipped, in the report and in
    /// CodeDeploy's target list (the hooks read it: an instance left Pending there would count as
    /// still to go).
    fn skip_terminated(&mut self, d: &mut Batch, id: &str) {
        let label = self.label(id);
        d.report
            .instances
            .insert(label, InstanceReport::skipped("terminated before its turn"));
        self.skip_in_codedeploy(d.number, id);
        d.done += 1;
    }

    /// The deployment takes an instance out: its run starts (the first one looks at what the
    /// group lost before it).
    fn take_out(&mut self, d: &mut Batch, id: &str) {
        if !d.any_started {
            d.any_started = true;
            d.report.lost_before_first_out = self.lost_before_first_out(d);
        }
        let run = self.new_run(d.number, id, &d.revision);
        d.runs.push(run);
        // In service (registered, healthy or not): taking it out means a drain.
        let in_service = self
            .fake()
            .rehearsal()
            .lifecycle(id)
            .is_some_and(|l| l == fakeaws::model::Lifecycle::InService);
        self.spent.turn_starts(d.number, id, in_service);
    }

    /// Whether an instance can go out now: still in the group and not waiting its turn.
    fn startable(&self, d: &Batch, id: &str) -> bool {
        !self.fake().rehearsal().is_leaving(id) && !self.waits_its_turn(d, id)
    }

    /// Whether an instance waits its turn: still launching (its launch deployment first), or
    /// busy with another deployment (one deployment per instance at a time).
    fn waits_its_turn(&self, d: &Batch, id: &str) -> bool {
        self.fake().rehearsal().is_launching(id) || d.runs.iter().any(|r| r.instance == id)
    }

    /// The deployment's instances CodeDeploy counts healthy that have left the group already,
    /// looked at as it takes its first instance out: Auto Scaling's doing (nothing of the
    /// deployment's has run yet), still counted by CodeDeploy (see [`Sim::healthy_left`]).
    fn lost_before_first_out(&self, d: &Batch) -> usize {
        d.planned
            .iter()
            .filter(|id| self.engine.healthy(id) && self.fake().rehearsal().is_leaving(id))
            .count()
    }

    /// The deployment's instances CodeDeploy counts healthy now, those in flight in it not
    /// counted. A healthy one that left the group before its turn is skipped, not unhealthy: it
    /// still counts, as in the minimum CodeDeploy computed when the deployment began; an
    /// unhealthy one that left never counted.
    fn healthy_left(&self, d: &Batch) -> usize {
        // The runs looked up, not searched per instance: at fleet scale this is asked for every
        // instance that goes out, and a search made it quadratic.
        let in_flight: std::collections::HashSet<&str> = d
            .runs
            .iter()
            .filter(|r| r.deployment == d.number)
            .map(|r| r.instance.as_str())
            .collect();
        d.planned
            .iter()
            .filter(|id| !in_flight.contains(id.as_str()))
            .filter(|id| self.engine.healthy(id))
            .count()
    }

    /// A zonal deployment's gate on the next instance: its zone's turn (after the wait that
    /// follows the zone before), and the zone's minimum. Records when a zone ends or starts, and
    /// why the deployment stops when a zone cannot go on.
    fn zone_admits(&mut self, d: &mut Batch, id: &str, held: &[String]) -> bool {
        let now = self.now();
        let Some(z) = &mut d.zonal else { return true };
        let in_flight: Vec<&str> = d
            .runs
            .iter()
            .filter(|r| r.deployment == d.number)
            .map(|r| r.instance.as_str())
            .collect();
        let (admit, note) = z.admit(id, &in_flight, held, now);
        if let Some(note) = note {
            self.recorder.marker(now, format!("deployment {}: {note}", d.number));
        }
        match admit {
            Admit::Go => true,
            Admit::Wait => false,
            Admit::Stop(why) => {
                d.stopped = Some(why);
                false
            }
        }
    }

    /// A run ended: its instance's report, and whether the failures so far stop the deployment.
    pub(super) fn run_finished(&mut self, d: &mut Batch, run: Run) {
        if run.deployment != d.number {
            return;
        }
        d.done += 1;
        let label = self.label(&run.instance);
        let status = match &run.failed {
            None => Status::Succeeded,
            Some(why) => {
                d.failed += 1;
                if let Some(z) = &mut d.zonal {
                    z.failed(&run.instance);
                }
                Status::failed(why.clone())
            }
        };
        if run.failed.is_none() {
            d.succeeded += 1;
        }
        self.engine
            .instance_done(&run.instance, &d.revision, run.failed.is_none());
        d.report.instances.insert(
            label,
            InstanceReport {
                status,
                events: run.trace,
            },
        );
        let last = d.queue.is_empty() && d.runs.iter().all(|r| r.deployment != d.number);
        let one_at_a_time = matches!(&d.config, ConfigSpec::Named(c) if c == "OneAtATime");
        let too_many = if one_at_a_time {
            d.failed > 0 && !last
        } else {
            d.failed > d.n - d.min_healthy || (d.min_healthy == 0 && d.failed == d.n)
        };
        if too_many && d.stopped.is_none() {
            d.stopped = Some(format!(
                "{} of {} instances failed (minimum healthy hosts {})",
                d.failed, d.n, d.min_healthy
            ));
        }
    }

    /// The deployment ends: instances never started are skipped, its status, capacity, time and
    /// overhead recorded, CodeDeploy told. Returns whether it succeeded, and the runs of other
    /// deployments (scale-out instances) still going.
    pub(super) fn close_batch(&mut self, mut d: Batch) -> (bool, Vec<Run>) {
        for id in std::mem::take(&mut d.queue) {
            let label = self.label(&id);
            d.report
                .instances
                .insert(label, InstanceReport::skipped("deployment stopped"));
        }
        // CodeDeploy's rule: the deployment to at least one instance must succeed, whatever
        // the minimum healthy hosts (instances terminated before their turn count for nothing).
        let ok = d.stopped.is_none() && (d.succeeded > 0 || d.n == 0);
        d.report.status = match &d.stopped {
            Some(why) => Status::failed(why.clone()),
            None if !ok && d.failed == d.n => Status::failed(format!("all {} instances failed", d.n)),
            None if !ok => Status::failed(format!(
                "no instance succeeded ({} failed, {} skipped of {})",
                d.failed,
                d.n - d.failed,
                d.n
            )),
            None => Status::Succeeded,
        };
        if let Some((cap, _)) = self.engine.min_capacity {
            d.report.lowest_healthy_capacity = cap;
        }
        if let Some(z) = &d.zonal {
            let watch = self.engine.zones.take().unwrap_or_default();
            d.report.zones = z.report(&watch.lowest, &watch.at_start);
        }
        if ok {
            self.engine.last_good = Some(d.revision.clone());
        }
        self.close_deployment(
            d.number,
            match &d.report.status {
                Status::Succeeded => None,
                other => Some(other.to_string()),
            },
        );
        let now = self.now();
        let floor_ms = match &d.zonal {
            // Zone after zone, each in rounds of what its minimum lets go at once, and the waits.
            Some(z) => {
                let (zones, waits) = z.rounds(&d.planned, d.batch);
                waits
                    + zones
                        .iter()
                        .map(|(ids, batch)| self.deployment_floor(d.number, ids, *batch))
                        .sum::<i64>()
            }
            None => self.deployment_floor(d.number, &d.planned, d.batch),
        };
        let took = (now - d.started_ms) / 1000;
        d.report.simulated_seconds = Some(took);
        // A floor only means something for a deployment that went through every instance.
        // (With CodeDeploy's own traffic control there are no hooks to measure against.)
        if d.report.status == Status::Succeeded && !self.sc.deployment_group.traffic_control {
            d.report.floor_seconds = Some(floor_ms / 1000);
            d.report.overhead_seconds = Some(took - floor_ms / 1000);
        }
        self.recorder
            .deployment(d.number, d.started_ms, now, d.report.required_healthy_capacity);
        self.recorder
            .marker(now, format!("deployment {}: {}", d.number, d.report.status));
        self.engine.reports.push(d.report);
        (ok, d.runs)
    }
}

/// One deployment under way: its plan, its runs and how they went.
pub(super) struct Batch {
    pub(super) number: usize,
    pub(super) revision: String,
    pub(super) config: ConfigSpec,
    /// Instances in the deployment.
    pub(super) n: usize,
    pub(super) min_healthy: usize,
    /// At most this many at once while nothing has failed.
    pub(super) batch: usize,
    pub(super) started_ms: i64,
    /// Every instance, in CodeDeploy's order.
    pub(super) planned: Vec<String>,
    /// Those not started yet.
    pub(super) queue: VecDeque<String>,
    /// Runs under way (this deployment's, and launch deployments' that started meanwhile).
    pub(super) runs: Vec<Run>,
    pub(super) done: usize,
    pub(super) failed: usize,
    pub(super) succeeded: usize,
    /// Whether it has taken an instance out yet.
    pub(super) any_started: bool,
    /// Why the deployment stopped starting instances, once it did.
    pub(super) stopped: Option<String>,
    /// A zonal deployment's zones.
    pub(super) zonal: Option<Zonal>,
    pub(super) report: DeploymentReport,
}

impl Batch {
    /// A deployment of `revision` to `planned` (in CodeDeploy's order), nothing started yet.
    pub(super) fn new(
        number: usize,
        revision: &str,
        creator: Creator,
        config: &ConfigSpec,
        min_healthy: usize,
        started_ms: i64,
        planned: Vec<String>,
    ) -> Batch {
        let n = planned.len();
        Batch {
            number,
            revision: revision.to_string(),
            config: config.clone(),
            n,
            min_healthy,
            batch: (n.saturating_sub(min_healthy)).max(1),
            started_ms,
            queue: planned.clone().into(),
            planned,
            runs: Vec::new(),
            done: 0,
            failed: 0,
            succeeded: 0,
            any_started: false,
            stopped: None,
            zonal: None,
            report: DeploymentReport {
                number,
                creator,
                revision: revision.into(),
                config: config.name(),
                status: Status::InProgress,
                instances: BTreeMap::new(),
                lowest_healthy_capacity: usize::MAX,
                required_healthy_capacity: min_healthy,
                lost_before_first_out: 0,
                zones: BTreeMap::new(),
                simulated_seconds: None,
                floor_seconds: None,
                overhead_seconds: None,
            },
        }
    }
}
