//! Events at an AWS call: a scenario event whose trigger is `call = N` happens once the
//! instance's Nth AWS call in that deployment has been served and while its answer waits in the
//! fake (see `fakeaws::gates`): the runner arms the gate when the instance's run starts, and when
//! the call is held it fires the event (terminating the instance, killing the script that sent
//! it, ...) and lets the answer go.
//! In explore runs the calls each run made are listed as trigger points.

use super::points::TriggerPoint;
use super::Sim;

impl Sim {
    /// A run of `deployment` on `id` starts: its calls count from here; gates armed for the
    /// events that name one of them.
    pub(super) fn calls_from_here(&mut self, deployment: usize, id: &str) {
        let base = self.fake().gates.count(id);
        self.triggers.call_bases.push((deployment, id.to_string(), base));
        let label = self.labels.get(id).cloned().unwrap_or_default();
        for (i, ev) in self.sc.events.iter().enumerate() {
            let w = &ev.when;
            let (Some(n), Some(d), Some(inst)) = (w.call, w.deployment, w.instance) else {
                continue;
            };
            if !self.triggers.fired[i] && d == deployment && label == format!("i-{inst}") {
                self.fake().gates.arm(id, base + n as u64);
            }
        }
    }

    /// If a call is held at a gate: fires the events waiting for it, then lets it through.
    /// Returns whether one was.
    pub(super) fn on_held_call(&mut self) -> anyhow::Result<bool> {
        let Some((id, n)) = self.fake().gates.held() else {
            return Ok(false);
        };
        let label = self.labels.get(&id).cloned().unwrap_or_default();
        // Which run's call it is: the last run started on the instance below that count.
        let run = self
            .triggers
            .call_bases
            .iter()
            .rev()
            .find(|(_, i, base)| *i == id && *base < n)
            .map(|(d, _, base)| (*d, n - base));
        let mut result = Ok(());
        if let Some((deployment, nth)) = run {
            for (i, ev) in self.sc.events.clone().iter().enumerate() {
                let w = &ev.when;
                let hit = !self.triggers.fired[i]
                    && w.call == Some(nth as usize)
                    && w.deployment == Some(deployment)
                    && w.instance.is_some_and(|k| label == format!("i-{k}"));
                if hit && result.is_ok() {
                    self.triggers.fired[i] = true;
                    let now = self.now();
                    self.recorder.marker(now, ev.action.describe());
                    result = self.act(&ev.action);
                }
            }
        }
        let fake = self.fake().clone();
        fake.gates.release(&fake.clock);
        result.map(|_| true)
    }

    /// The calls each run made (explore runs record them), as trigger points.
    pub(super) fn call_points(&self) -> Vec<TriggerPoint> {
        let mut out = Vec::new();
        for (k, (deployment, id, base)) in self.triggers.call_bases.iter().enumerate() {
            let Some(instance) = self.labels.get(id).and_then(|l| l.strip_prefix("i-")?.parse().ok()) else {
                continue;
            };
            // Up to the next run on the same instance, or everything since.
            let end = self.triggers.call_bases[k + 1..]
                .iter()
                .find(|(_, i, _)| i == id)
                .map_or(u64::MAX, |(_, _, b)| *b);
            for (j, action) in self.fake().gates.actions(id, *base, end).into_iter().enumerate() {
                out.push(TriggerPoint::Call {
                    deployment: *deployment,
                    instance,
                    nth: j + 1,
                    action,
                });
            }
        }
        out
    }
}
