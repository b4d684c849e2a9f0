//! Call gates: a driver's hold on one AWS call of an instance's processes.
//!
//! The fake counts the calls signed with each instance's role credentials. A driver (the scenario
//! runner) may arm a gate at an instance's Nth call: when that call arrives it waits, on its turn
//! (see [`crate::turns`]), before anything of it is served, and the clock's watchers are told
//! ([`Clock::poke`]). The driver, seeing it [`CallGates::held`], does what it planned for that
//! instant (terminates the instance, kills the script that sent the call, ...) and
//! [`CallGates::release`]s it; the call is then served as any other (a killed client never reads
//! the answer, as with a process killed after sending its request).
//!
//! With recording on, the action of every counted call is kept, for a driver that wants to list
//! them (the explorer's trigger points); off, only the counts are kept.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::clock::Clock;

#[derive(Debug, Default)]
struct Inner {
    counts: HashMap<String, u64>,
    /// The actions of each instance's calls, in order (recording only).
    log: HashMap<String, Vec<String>>,
    recording: bool,
    armed: BTreeSet<(String, u64)>,
    held: Option<(String, u64, Arc<Notify>)>,
}

/// The gate table. Empty (every call counted and served at once) until a driver arms a gate.
#[derive(Debug, Default)]
pub struct CallGates {
    inner: Mutex<Inner>,
}

impl CallGates {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the action of every call from now on (or stops, and forgets them).
    pub fn set_recording(&self, on: bool) {
        let mut inner = self.lock();
        inner.recording = on;
        if !on {
            inner.log.clear();
        }
    }

    /// How many calls `instance`'s credentials have signed so far.
    pub fn count(&self, instance: &str) -> u64 {
        self.lock().counts.get(instance).copied().unwrap_or(0)
    }

    /// The actions of `instance`'s calls `from + 1 ..= to` (1-based; recording only).
    pub fn actions(&self, instance: &str, from: u64, to: u64) -> Vec<String> {
        let inner = self.lock();
        let log = inner.log.get(instance).map(Vec::as_slice).unwrap_or_default();
        let to = (to as usize).min(log.len());
        log.get((from as usize).min(to)..to).unwrap_or_default().to_vec()
    }

    /// Holds `instance`'s `nth` call (counted from its first, 1-based) when it comes.
    pub fn arm(&self, instance: &str, nth: u64) {
        self.lock().armed.insert((instance.to_string(), nth));
    }

    /// The call being held, if any: the instance and its number.
    pub fn held(&self) -> Option<(String, u64)> {
        self.lock().held.as_ref().map(|(i, n, _)| (i.clone(), *n))
    }

    /// Lets the held call through.
    pub fn release(&self, clock: &Clock) {
        if let Some((_, _, go)) = self.lock().held.take() {
            go.notify_one();
        }
        clock.poke();
    }

    /// Counts a served call of `instance` and, if a gate is armed at it, waits until it is released.
    pub(crate) async fn pass(&self, clock: &Clock, instance: &str, action: &str) {
        let go = {
            let mut inner = self.lock();
            let n = {
                let c = inner.counts.entry(instance.to_string()).or_default();
                *c += 1;
                *c
            };
            if inner.recording {
                inner
                    .log
                    .entry(instance.to_string())
                    .or_default()
                    .push(action.to_string());
            }
            if !inner.armed.remove(&(instance.to_string(), n)) {
                return;
            }
            let go = Arc::new(Notify::new());
            inner.held = Some((instance.to_string(), n, go.clone()));
            go
        };
        clock.poke();
        // `notify_one` keeps a permit: a release before this wait is not lost.
        go.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockMode;

    #[tokio::test]
    async fn an_armed_call_waits_for_its_release_and_the_others_pass() {
        let gates = Arc::new(CallGates::default());
        let clock = Arc::new(Clock::new(ClockMode::Manual, 0));
        gates.set_recording(true);
        gates.pass(&clock, "i-1", "DescribeAutoScalingGroups").await;
        gates.arm("i-1", 2);
        let mut rx = clock.subscribe();
        let (g, c) = (gates.clone(), clock.clone());
        let call = tokio::spawn(async move { g.pass(&c, "i-1", "EnterStandby").await });
        rx.changed().await.expect("poked");
        assert_eq!(gates.held(), Some(("i-1".to_string(), 2)));
        assert!(!call.is_finished());
        // Another instance's calls are not held meanwhile.
        gates.pass(&clock, "i-2", "DescribeAutoScalingGroups").await;
        gates.release(&clock);
        call.await.expect("released");
        assert_eq!(gates.held(), None);
        assert_eq!(gates.count("i-1"), 2);
        assert_eq!(gates.actions("i-1", 1, 2), ["EnterStandby"]);
        assert_eq!(
            gates.actions("i-1", 0, 9),
            ["DescribeAutoScalingGroups", "EnterStandby"]
        );
        // A third call passes: the gate was used up.
        gates.pass(&clock, "i-1", "ExitStandby").await;
    }
}
