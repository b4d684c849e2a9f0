//! The script supervisor: starts each step of a run (a script through the agent, `agent.rs`),
//! collects exits, enforces deadlines and kills. The clock driver that lets time pass while
//! every script waits is `advance.rs`.

use std::collections::{BTreeMap, HashSet, VecDeque};

use anyhow::anyhow;
use fakeaws::model::codedeploy::LifecycleEvent;

use super::Sim;
use crate::appspec::Script;
use crate::schema::Behaviour;
use crate::timeline::RunResult;

/// A script process that ended: its start number (never reused, unlike a pid) and exit code.
pub(super) type Exit = (u64, i32);

/// The script processes of a run: how many started, their exits as they come, the sleeps
/// released to them, and the process group running on each instance.
pub(super) struct Processes {
    pub(super) exits: (
        tokio::sync::mpsc::UnboundedSender<Exit>,
        tokio::sync::mpsc::UnboundedReceiver<Exit>,
    ),
    /// Exit codes collected and not yet taken by their run (by start number).
    pub(super) exited: BTreeMap<u64, i32>,
    /// Scripts started so far (their clock tokens are numbered in start order).
    pub(super) started: u64,
    /// Sleeps released on the gated clock whose processes have not yet acted on them.
    pub(super) released: Vec<u64>,
    /// Instance -> the process group of the script running on it.
    pub(super) pids: BTreeMap<String, u32>,
}

impl Default for Processes {
    fn default() -> Processes {
        Processes {
            exits: tokio::sync::mpsc::unbounded_channel(),
            exited: BTreeMap::new(),
            started: 0,
            released: Vec::new(),
            pids: BTreeMap::new(),
        }
    }
}

/// One step of a run, in the agent's order.
#[derive(Debug, Clone)]
pub(super) enum Step {
    DownloadBundle,
    /// Copy the revision's files and record it as installed.
    Install,
    /// A lifecycle event whose scripts come from the previous revision, and there is none.
    NoPreviousRevision {
        event: LifecycleEvent,
    },
    /// CodeDeploy's BlockTraffic (`allow == false`) or AllowTraffic: the instance taken out of
    /// (or put back in) the group's load balancers, until drained (or healthy).
    Traffic {
        allow: bool,
    },
    /// One script of a lifecycle event.
    Script {
        event: LifecycleEvent,
        revision: String,
        script: Script,
    },
}

impl Step {
    /// The lifecycle event the step belongs to.
    pub(super) fn event(&self) -> LifecycleEvent {
        match self {
            Step::DownloadBundle => LifecycleEvent::DownloadBundle,
            Step::Install => LifecycleEvent::Install,
            Step::Traffic { allow: false } => LifecycleEvent::BlockTraffic,
            Step::Traffic { allow: true } => LifecycleEvent::AllowTraffic,
            Step::NoPreviousRevision { event } | Step::Script { event, .. } => *event,
        }
    }
}

#[derive(Debug)]
pub(super) enum Current {
    Process {
        pid: u32,
        /// Its start number: exits are matched by it, so a reused pid cannot be mistaken for it.
        seq: u64,
        /// The name this process sleeps under on the clock (`ELB_HOOKS_CLOCK_WHO`).
        who: String,
        deadline_ms: i64,
        kill_when_asleep: bool,
        script: String,
        event: LifecycleEvent,
        /// What it has printed, not yet in the logs.
        lines: super::agent_log::Lines,
    },
    Hang {
        deadline_ms: i64,
        script: String,
        event: LifecycleEvent,
    },
    /// CodeDeploy waiting for BlockTraffic or AllowTraffic to settle.
    Traffic { allow: bool, deadline_ms: i64 },
}

/// How long CodeDeploy waits for BlockTraffic or AllowTraffic (its limit is an hour).
const TRAFFIC_TIMEOUT_MS: i64 = 3_600_000;

pub(super) struct Run {
    pub(super) deployment: usize,
    pub(super) revision: String,
    pub(super) instance: String,
    pub(super) steps: VecDeque<Step>,
    pub(super) current: Option<Current>,
    pub(super) trace: Vec<String>,
    /// The lifecycle event of the step that started last.
    pub(super) event: Option<LifecycleEvent>,
    pub(super) failed: Option<String>,
}

impl Sim {
    pub(super) fn fault_for(&self, deployment: usize, instance: &str, script: &str) -> Option<Behaviour> {
        let label = self.labels.get(instance)?;
        self.sc
            .script_faults
            .iter()
            .find(|f| {
                f.deployment == deployment && &format!("i-{}", f.instance) == label && script.ends_with(&f.script)
            })
            .map(|f| f.behaviour)
    }

    /// Starts next steps, collects exits, enforces deadlines. Returns the runs that finished.
    /// Returns once the scripts it started are quiet again (asleep or exited).
    pub(super) async fn step_runs(&mut self, runs: &mut Vec<Run>) -> anyhow::Result<Vec<Run>> {
        self.quiet(runs).await?;
        while let Ok((seq, code)) = self.procs.exits.1.try_recv() {
            self.procs.exited.insert(seq, code);
        }
        let now = self.now();
        let sleepers = self.fake().clock.sleepers();
        // Which instances are gone, read once (nothing in this pass moves the clock).
        let ids: Vec<&str> = runs.iter().map(|r| r.instance.as_str()).collect();
        let leaving = self.fake().rehearsal().leaving(&ids);
        let sleeping: HashSet<&str> = sleepers.iter().map(|s| s.who.as_str()).collect();
        // A termination deployment's instance is leaving by design: held in Terminating:Wait.
        let terminating: HashSet<usize> = self
            .engine
            .reports
            .iter()
            .filter(|r| r.creator == crate::report::Creator::AutoscalingTermination)
            .map(|r| r.number)
            .collect();
        for (run, gone) in runs.iter_mut().zip(leaving) {
            let gone = gone
                && !(terminating.contains(&run.deployment)
                    && self.fake().rehearsal().lifecycle(&run.instance)
                        == Some(fakeaws::model::Lifecycle::TerminatingWait));
            if let Some((line, failure)) = self.step_outcome(run, now, &sleeping) {
                self.end_step(run, now, line, failure);
            }
            // Instance terminated under us? The script in flight ends with it.
            if gone && run.failed.is_none() {
                self.end_by_termination(run, now);
            }
        }
        // Start next steps, in run order; script processes all at once, their AWS calls served in
        // start order (see `fakeaws::turns`), and wait until they are quiet.
        self.fake().turns.hold();
        let started = self.start_steps(runs).await;
        self.fake().turns.open();
        started?;
        self.quiet(runs).await?;
        // Exits of processes no run waits for any more (killed ones) are forgotten.
        let current: Vec<u64> = runs
            .iter()
            .filter_map(|r| match &r.current {
                Some(Current::Process { seq, .. }) => Some(*seq),
                _ => None,
            })
            .collect();
        self.procs.exited.retain(|seq, _| current.contains(seq));
        let finished = self.collect_finished(runs);
        self.sample_capacity();
        Ok(finished)
    }

    /// Starts the next steps of every run, in run order.
    async fn start_steps(&mut self, runs: &mut [Run]) -> anyhow::Result<()> {
        for run in runs.iter_mut() {
            while run.current.is_none() && run.failed.is_none() {
                let Some(step) = run.steps.pop_front() else {
                    break;
                };
                run.event = Some(step.event());
                let new_event = self
                    .points
                    .started_events
                    .insert((run.instance.clone(), step.event(), run.deployment));
                if new_event {
                    self.report_event(run, step.event());
                }
                match step {
                    Step::DownloadBundle => {}
                    Step::Install => {
                        let rev = run.revision.clone();
                        self.install(&run.instance, &rev).await?;
                        run.trace.push(format!("Install: {rev}"));
                    }
                    Step::Traffic { allow } => {
                        let id = self.deployment_id(run.deployment);
                        self.fake()
                            .rehearsal()
                            .steer_traffic(&id, &run.instance, allow)
                            .map_err(|e| anyhow!("traffic control: {}", e.message))?;
                        let what = if allow { "AllowTraffic" } else { "BlockTraffic" };
                        self.recorder
                            .run_started(self.now(), &run.instance, run.deployment, what.to_string());
                        run.current = Some(Current::Traffic {
                            allow,
                            deadline_ms: self.now() + TRAFFIC_TIMEOUT_MS,
                        });
                    }
                    Step::NoPreviousRevision { event } => run
                        .trace
                        .push(format!("{event}: skipped (no previous revision on this instance)")),
                    Step::Script {
                        event,
                        revision,
                        script,
                    } => {
                        let cur = self
                            .start_script(run.deployment, &run.instance, event, &revision, &script)
                            .await?;
                        let what = format!("{event} {}", script.location);
                        let now = self.now();
                        match cur {
                            Ok(c) => {
                                run.current = Some(c);
                                self.recorder.run_started(now, &run.instance, run.deployment, what);
                                self.spent.started(now, run.deployment, &run.instance, &script.location);
                            }
                            Err(line) => {
                                self.recorder.run_ended(
                                    now,
                                    &run.instance,
                                    run.deployment,
                                    &what,
                                    RunResult::Failed,
                                    &line,
                                );
                                run.trace.push(format!("{event} {}: {line}", script.location));
                                run.failed = Some(format!("{line} at {event}: {}", script.location));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Signals a script's whole process group (scripts run in their own group).
pub(super) fn kill_group(pid: u32, signal: rustix::process::Signal) {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return;
    };
    // Already gone is fine: the group ended on its own.
    let _ = rustix::process::kill_process_group(pid, signal);
}
