//! How a run's current step ends: a script's exit (its code), its appspec deadline (killed, timed
//! out), an injected kill once it sleeps, CodeDeploy's traffic step settling or timing out, or
//! the instance's termination; and the runs that are over.

use std::collections::HashSet;

use super::supervisor::{kill_group, Current, Run};
use super::Sim;
use crate::timeline::RunResult;

impl Sim {
    /// Whether the run's current step ended: the line for its trace and, if it failed, why.
    pub(super) fn step_outcome(
        &mut self,
        run: &Run,
        now: i64,
        sleeping: &HashSet<&str>,
    ) -> Option<(String, Option<String>)> {
        let outcome = match &run.current {
            Some(Current::Process {
                pid,
                seq,
                who,
                deadline_ms,
                kill_when_asleep,
                script,
                event,
                ..
            }) => {
                let asleep = sleeping.contains(who.as_str());
                if asleep && !self.agent.app_port_revisions.is_empty() {
                    // A script waiting for its app: what it started counts now.
                    self.sync_app(&run.instance);
                }
                if let Some(code) = self.procs.exited.remove(seq) {
                    let res = (code != 0).then(|| format!("ScriptFailed (exit {code}) at {event}: {script}"));
                    let word = if code == 0 {
                        "Succeeded".to_string()
                    } else {
                        format!("ScriptFailed (exit {code})")
                    };
                    Some((format!("{event} {script}: {word}"), res))
                } else if now >= *deadline_ms {
                    kill_group(*pid, rustix::process::Signal::TERM);
                    Some((
                        format!("{event} {script}: ScriptTimedOut"),
                        Some(format!("ScriptTimedOut at {event}: {script}")),
                    ))
                } else if *kill_when_asleep && asleep {
                    kill_group(*pid, rustix::process::Signal::KILL);
                    Some((
                        format!("{event} {script}: ScriptFailed (killed)"),
                        Some(format!("ScriptFailed (killed) at {event}: {script}")),
                    ))
                } else {
                    None
                }
            }
            Some(Current::Traffic { allow, deadline_ms }) => {
                let event = if *allow { "AllowTraffic" } else { "BlockTraffic" };
                let id = self.deployment_id(run.deployment);
                if self.fake().rehearsal().traffic_settled(&id, &run.instance, *allow) {
                    Some((format!("{event}: Succeeded"), None))
                } else if now >= *deadline_ms {
                    Some((
                        format!("{event}: timed out"),
                        Some(format!("{event} did not complete within an hour")),
                    ))
                } else {
                    None
                }
            }
            Some(Current::Hang {
                deadline_ms,
                script,
                event,
            }) if now >= *deadline_ms => Some((
                format!("{event} {script}: ScriptTimedOut"),
                Some(format!("ScriptTimedOut at {event}: {script}")),
            )),
            _ => None,
        };
        if let Some(Current::Process { lines, .. }) = &run.current {
            let lines = lines.clone();
            self.script_output(&run.instance, run.deployment, &lines);
        }
        outcome
    }

    /// The run's current step ended with `line` (and `failure`): recorded, and a failure ends
    /// the run.
    pub(super) fn end_step(&mut self, run: &mut Run, now: i64, line: String, failure: Option<String>) {
        self.procs.pids.remove(&run.instance);
        let result = match &failure {
            None => RunResult::Succeeded,
            Some(f) if f.starts_with("ScriptTimedOut") => RunResult::TimedOut,
            Some(_) => RunResult::Failed,
        };
        self.recorder
            .run_ended(now, &run.instance, run.deployment, "", result, &line);
        self.spent.ended(now, &run.instance);
        run.trace.push(line);
        run.current = None;
        self.sync_app(&run.instance);
        if let Some(f) = failure {
            run.failed = Some(f);
            run.steps.clear();
        }
    }

    /// The run's instance was terminated under it: the step in flight ends with it, and the run
    /// fails.
    pub(super) fn end_by_termination(&mut self, run: &mut Run, now: i64) {
        let line = match &run.current {
            Some(Current::Process { pid, script, event, .. }) => {
                kill_group(*pid, rustix::process::Signal::KILL);
                Some(format!("{event} {script}: ended by termination"))
            }
            Some(Current::Hang { script, event, .. }) => Some(format!("{event} {script}: ended by termination")),
            Some(Current::Traffic { allow, .. }) => {
                let event = if *allow { "AllowTraffic" } else { "BlockTraffic" };
                Some(format!("{event}: ended by termination"))
            }
            None => None,
        };
        if let Some(line) = line {
            self.recorder
                .run_ended(now, &run.instance, run.deployment, "", RunResult::Ended, &line);
            run.trace.push(line);
        }
        run.current = None;
        run.steps.clear();
        run.trace.push(crate::report::TERMINATED_DURING_DEPLOYMENT.into());
        run.failed = Some(crate::report::TERMINATED_DURING_DEPLOYMENT.into());
    }

    /// Takes the runs that are over (nothing in flight, and no step left or a failure) out of
    /// `runs`, in order, completing each.
    pub(super) fn collect_finished(&mut self, runs: &mut Vec<Run>) -> Vec<Run> {
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
        finished
    }
}
