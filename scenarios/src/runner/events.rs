//! Scenario events: when the simulation reaches a state (an instance reaches a lifecycle state or
//! starts a lifecycle event, a deployment is so far along), do something to the fleet.

use anyhow::anyhow;

use super::Sim;

/// The scenario's events as they play: which fired, where `call = N` triggers count from (each
/// run's deployment, instance, and the instance's AWS calls before it, in order), and the
/// CodeDeploy calls events made with their answers (for the outcome).
pub(super) struct Triggers {
    pub(super) fired: Vec<bool>,
    pub(super) call_bases: Vec<(usize, String, u64)>,
    pub(super) api_calls: Vec<String>,
}

impl Triggers {
    pub(super) fn new(events: usize) -> Triggers {
        Triggers {
            fired: vec![false; events],
            call_bases: Vec::new(),
            api_calls: Vec::new(),
        }
    }
}
use crate::schema::Action;

/// What an operator (a scenario event) changed on the fleet during the scenario: the group's new
/// normal, which the hooks must leave as it is.
#[derive(Default)]
pub(super) struct Operator {
    /// Instances put in Standby and not taken out: theirs to leave there.
    pub(super) standby: std::collections::BTreeSet<String>,
    /// Processes suspended: the group's own choice afterwards.
    pub(super) suspended: std::collections::BTreeSet<fakeaws::model::Process>,
    /// A MinSize set: the one to be restored.
    pub(super) min: Option<i64>,
}

impl Sim {
    pub(super) fn fire_events(&mut self) -> anyhow::Result<()> {
        self.record_states();
        let deployment = self.engine.cur_deployment;
        for (i, ev) in self.sc.events.clone().iter().enumerate() {
            if self.triggers.fired[i] {
                continue;
            }
            let w = &ev.when;
            // A `call` trigger fires while its call is held (see `calls`), not here.
            if w.call.is_some() {
                continue;
            }
            // A `starts` trigger names its deployment itself (a launch deployment runs beside
            // the current one); the others belong to the deployment under way.
            if w.starts.is_none() && w.deployment.is_some_and(|d| d != deployment) {
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
                hit &= self.fake().rehearsal().lifecycle(&id) == Some(*state);
            }
            if let Some(event) = &w.starts {
                let id = inst
                    .clone()
                    .ok_or_else(|| anyhow!("event {}: `starts` needs `instance`", i + 1))?;
                hit &= self
                    .points
                    .started_events
                    .iter()
                    .any(|(i, e, d)| *i == id && e == event && w.deployment.is_none_or(|want| want == *d));
            }
            if let Some(f) = w.done {
                hit &= self.engine.progress >= f;
            }
            if !hit {
                continue;
            }
            self.triggers.fired[i] = true;
            let now = self.now();
            self.recorder.marker(now, ev.action.describe());
            self.act(&ev.action)?;
        }
        Ok(())
    }

    pub(super) fn act(&mut self, action: &Action) -> anyhow::Result<()> {
        let group = self.sc.deployment_group.autoscaling_groups.first().cloned();
        let need_group = || {
            group
                .clone()
                .ok_or_else(|| anyhow!("this event needs an Auto Scaling group"))
        };
        let instance = |me: &Self, n: usize| {
            me.instance_by_number(n)
                .ok_or_else(|| anyhow!("event names instance {n}, which does not exist (yet)"))
        };
        let fake = self.fake().clone();
        let sim = fake.rehearsal();
        let result = match action {
            Action::ScaleOut { count } => sim.scale_by(&need_group()?, *count),
            Action::ScaleIn { count } => sim.scale_by(&need_group()?, -count),
            Action::AddZone { zone } => sim.add_zone(&need_group()?, zone),
            Action::Terminate { instance: n } => sim.terminate(&instance(self, *n)?),
            Action::RebalanceRecommendation { instance: n } => sim.rebalance_recommendation(&instance(self, *n)?),
            Action::SpotInterruption { instance: n } => sim.spot_interruption(&instance(self, *n)?),
            Action::AppDown { instance: n } => sim.set_app(&instance(self, *n)?, false),
            Action::AppUp { instance: n } => sim.set_app(&instance(self, *n)?, true),
            Action::Throttle { api, count } => {
                fake.faults.inject(api, fakeaws::Fault::Throttle, *count);
                Ok(())
            }
            Action::Unavailable { api, count } => {
                fake.faults.inject(api, fakeaws::Fault::Unavailable, *count);
                Ok(())
            }
            Action::Alarm {
                policy,
                metric_value,
                breach_threshold,
            } => sim
                .alarm(&need_group()?, policy, metric_value.zip(*breach_threshold))
                .map(|_| ()),
            Action::EnterStandby { instance: n } => {
                let id = instance(self, *n)?;
                self.operator.standby.insert(id.clone());
                sim.operator_standby(&need_group()?, &id, true)
            }
            Action::KillScript { instance: n } => self.kill_script(*n),
            Action::ExitStandby { instance: n } => {
                let id = instance(self, *n)?;
                self.operator.standby.remove(&id);
                sim.operator_standby(&need_group()?, &id, false)
            }
            Action::SuspendProcess { process } => {
                self.operator.suspended.insert(*process);
                sim.operator_suspend(&need_group()?, *process)
            }
            Action::SetMinSize { min } => {
                self.operator.min = Some(*min);
                sim.operator_min_size(&need_group()?, *min)
            }
            Action::CreateDeployment { revision } => self.create_deployment_event(revision),
            Action::ScheduledAction {
                name,
                in_seconds,
                min,
                max,
                desired,
            } => sim.schedule_once(
                &need_group()?,
                name,
                fake.clock.now_ms() + in_seconds * 1000,
                (*min, *max, *desired),
            ),
            Action::StartInstanceRefresh {
                min_healthy_percentage,
                instance_warmup,
                launch_template,
            } => start_refresh(
                &sim,
                need_group()?,
                *min_healthy_percentage,
                *instance_warmup,
                launch_template.clone(),
            ),
        };
        result.map_err(|e| anyhow!("event {action:?}: {}", e.message))
    }

    /// Kills the script running on instance `n` (and its process group).
    fn kill_script(&self, n: usize) -> Result<(), fakeaws::AwsError> {
        let id = self
            .instance_by_number(n)
            .ok_or_else(|| fakeaws::AwsError::validation(format!("instance {n} does not exist (yet)")))?;
        match self.procs.pids.get(&id) {
            Some(pid) => {
                super::supervisor::kill_group(*pid, rustix::process::Signal::KILL);
                Ok(())
            }
            None => Err(fakeaws::AwsError::validation(format!("no script is running on i-{n}"))),
        }
    }

    /// CreateDeployment through the API, as a pipeline would; the answer goes to the API log.
    fn create_deployment_event(&mut self, revision: &str) -> Result<(), fakeaws::AwsError> {
        if !self.staged.revisions.contains_key(revision) {
            return Err(fakeaws::AwsError::validation(format!("unknown revision {revision}")));
        }
        let t = (self.now() - self.start_ms) / 1000;
        let answer = match self.create_api_deployment(revision, None) {
            Ok(id) => format!("created {id}, runs after the deployments under way"),
            Err(e) => format!("refused: {e}"),
        };
        self.triggers
            .api_calls
            .push(format!("t+{t}s CreateDeployment {revision}: {answer}"));
        Ok(())
    }
}

/// An instance refresh an event starts (minimum healthy 90% unless it says otherwise).
fn start_refresh(
    sim: &fakeaws::rehearsal::Rehearsal,
    group: String,
    min_healthy_percentage: Option<i64>,
    instance_warmup: Option<i64>,
    launch_template: Option<String>,
) -> Result<(), fakeaws::AwsError> {
    let preferences = fakeaws::model::RefreshPreferences {
        min_healthy_percentage: min_healthy_percentage.unwrap_or(90),
        instance_warmup_s: instance_warmup,
        ..Default::default()
    };
    sim.start_instance_refresh(fakeaws::rehearsal::RefreshRequest {
        group,
        preferences,
        desired_template: launch_template,
    })
    .map(|_| ())
}
