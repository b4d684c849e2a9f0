//! The clock driver: the runner acts only when no script process does (each asleep on the
//! simulated clock or exited), then releases the sleepers due at the earliest instant together
//! (their AWS calls served in a fixed order, `fakeaws::turns`), or moves the clock to the next
//! wake-up, deadline or change of the world.

use std::collections::HashSet;

use anyhow::bail;
use fakeaws::clock::Sleeper;

use super::supervisor::{Current, Run};
use super::Sim;

/// What the runs wait on, seen at one instant.
struct Survey {
    /// No run has anything to do before time moves (no exit to collect, no script to start).
    idle: bool,
    /// Sleepers whose wake-up is due now.
    due: Vec<Sleeper>,
    /// The earliest later moment something is due (a wake-up, a deadline, a change of the world).
    next: Option<i64>,
}

impl Sim {
    /// Whether some process is acting now (running and not asleep on the clock, or woken and not
    /// yet asleep again). The runner acts only when none does; their AWS calls are ordered by the
    /// fake's turns.
    pub(super) fn busy(&self, runs: &[Run], sleepers: &[fakeaws::clock::Sleeper]) -> bool {
        if sleepers.iter().any(|s| self.procs.released.contains(&s.id)) {
            return true;
        }
        let asleep: HashSet<&str> = sleepers.iter().map(|s| s.who.as_str()).collect();
        runs.iter().any(|r| match &r.current {
            Some(Current::Process { seq, who, .. }) => {
                !self.procs.exited.contains_key(seq) && !asleep.contains(who.as_str())
            }
            _ => false,
        })
    }

    /// Waits until no process acts (each asleep on the clock or exited), collecting exits. The
    /// runner itself acts (reads the world to decide, fires events, records an exit, steers
    /// traffic, starts scripts) only then, so nothing it does lands between two calls of the
    /// processes acting at an instant, where the operating system would decide the order.
    pub(super) async fn quiet(&mut self, runs: &[Run]) -> anyhow::Result<()> {
        loop {
            // A call held at a gate: the event planned for it happens, then the call goes on.
            if self.on_held_call()? {
                continue;
            }
            // Subscribe before looking, so that no change between the look and the wait is missed.
            let rx = self.fake().clock.subscribe();
            let sleepers = self.fake().clock.sleepers();
            if !self.busy(runs, &sleepers) {
                self.procs.released.clear();
                return Ok(());
            }
            self.wait_for_change(rx, runs).await?;
        }
    }

    /// Waits for something to happen, or moves the simulation on when every script is waiting.
    ///
    /// The clock is gated: the scripts due at the same instant are released together, and their
    /// AWS calls and sleeps are served one action at a time in start order, round by round
    /// (`fakeaws::turns`), until every one sleeps again or exits. The order of AWS calls, and so
    /// the outcome, never depends on how the operating system schedules them, while the processes
    /// compute (start, decode answers) in parallel.
    pub(super) async fn wait_or_advance(&mut self, runs: &mut [Run]) -> anyhow::Result<()> {
        self.wait_or_advance_until(runs, i64::MAX).await
    }

    /// [`Sim::wait_or_advance`], moving the clock no later than `limit` (when the runner itself
    /// has something to do then: the next zone of a zonal deployment).
    pub(super) async fn wait_or_advance_until(&mut self, runs: &mut [Run], limit: i64) -> anyhow::Result<()> {
        // While a process acts, the runner only waits (see `quiet`).
        let rx = self.fake().clock.subscribe();
        let sleepers = self.fake().clock.sleepers();
        if self.busy(runs, &sleepers) {
            self.quiet(runs).await?;
            return self.fire_events();
        }
        let now = self.now();
        let Survey { idle, mut due, next } = self.survey(runs, &sleepers, now);
        if !idle || next.is_some_and(|t| t <= now) {
            return Ok(());
        }
        if !due.is_empty() {
            // All at once, their calls served in the order of their names (start order).
            due.sort_by(|a, b| a.who.cmp(&b.who));
            self.release(&due)?;
            self.quiet(runs).await?;
            return self.fire_events();
        }
        if let Some(t) = next {
            self.advance(t.min(limit));
            return self.fire_events();
        }
        self.wait_for_change(rx, runs).await?;
        self.fire_events()
    }

    /// What each run waits on at `now`.
    fn survey(&self, runs: &[Run], sleepers: &[Sleeper], now: i64) -> Survey {
        let mut idle = true;
        let mut due: Vec<Sleeper> = Vec::new();
        let mut next: Option<i64> = None;
        let mut consider = |t: i64| next = Some(next.map_or(t, |n: i64| n.min(t)));
        for run in runs.iter() {
            match &run.current {
                Some(Current::Hang { deadline_ms, .. }) => consider(*deadline_ms),
                Some(Current::Traffic { allow, deadline_ms }) => {
                    // Settled already (BlockTraffic on an instance no load balancer lists):
                    // done now, not at the next change of the world or the hour's end.
                    let id = self.deployment_id(run.deployment);
                    if self.fake().rehearsal().traffic_settled(&id, &run.instance, *allow) {
                        consider(now);
                    }
                    // Settles when the world next changes by itself (draining over, a health
                    // check threshold reached): look then.
                    consider(*deadline_ms);
                    if let Some(t) = self.fake().rehearsal().next_change() {
                        consider(t.max(now + 1));
                    }
                }
                Some(Current::Process {
                    seq,
                    who,
                    deadline_ms,
                    kill_when_asleep,
                    ..
                }) => {
                    // An exit to collect, or a script to kill the moment it waits: before time moves.
                    if self.procs.exited.contains_key(seq)
                        || (*kill_when_asleep && sleepers.iter().any(|s| &s.who == who))
                    {
                        idle = false;
                    }
                    for s in sleepers.iter().filter(|s| &s.who == who) {
                        if s.wake_ms <= now {
                            due.push(s.clone());
                        } else {
                            consider(s.wake_ms);
                        }
                    }
                    consider(*deadline_ms);
                }
                None => idle = false,
            }
        }
        Survey { idle, due, next }
    }

    /// Releases the sleepers due, in this order, into the fake's turns.
    fn release(&mut self, due: &[Sleeper]) -> anyhow::Result<()> {
        let turns = &self.fake().turns;
        turns.hold();
        for s in due {
            let instance = s.who.split_once(':').map_or(s.who.as_str(), |(_, i)| i);
            // Still named, it would act unordered once its old name is taken out.
            anyhow::ensure!(
                turns.join(&s.who, instance),
                "{} is asleep on the clock but still named in the turn order",
                s.who
            );
        }
        self.procs.released = due.iter().map(|s| s.id).collect();
        for s in due {
            self.fake().clock.release(s.id);
        }
        self.fake().turns.open();
        Ok(())
    }

    /// Waits until the clock or its sleepers change or a script exits (recording the exit).
    async fn wait_for_change(&mut self, mut rx: tokio::sync::watch::Receiver<u64>, runs: &[Run]) -> anyhow::Result<()> {
        tokio::select! {
            _ = rx.changed() => {}
            got = self.procs.exits.1.recv() => {
                if let Some((seq, code)) = got {
                    self.procs.exited.insert(seq, code);
                }
            }
            _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {
                let running: Vec<String> = runs.iter().map(|r| format!("{} {:?} {:?}", r.instance, r.current, r.trace)).collect();
                bail!(
                    "simulation stalled: no script progressed for 60 s of real time; running: {running:?}; sleepers: {:?}",
                    self.fake().clock.sleepers()
                );
            }
        }
        Ok(())
    }
}
