//! Injected faults: answers AWS gives under load or failure (throttling, 5xx, a late answer, a
//! call that never returns), queued per action and taken by the next calls.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A fault to inject into the next calls of an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// Answer 400 `Throttling`.
    Throttle,
    /// Answer 503 `ServiceUnavailable`.
    Unavailable,
    /// Answer late, after this many real milliseconds.
    Delay { ms: u64 },
    /// Answer normally: queued before another fault on `*`, it makes that one hit the n-th call.
    Pass,
    /// Do not answer: the call hangs until its caller gives up or dies (a process killed in the
    /// middle of a call), or until [`Faults::release_held`]. Each held call is counted in
    /// [`Faults::held`].
    Hold,
}

/// The faults queued for the next calls, and the calls a [`Fault::Hold`] holds.
#[derive(Debug)]
pub struct Faults {
    queued: Mutex<BTreeMap<String, Vec<Fault>>>,
    /// How many calls a [`Fault::Hold`] has held so far.
    held: tokio::sync::watch::Sender<u64>,
    /// Bumped by [`Faults::release_held`]: calls held until then go on.
    releases: tokio::sync::watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            queued: Mutex::default(),
            held: tokio::sync::watch::Sender::new(0),
            releases: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Faults {
    /// Queues `count` faults for `action` (`*` for every action).
    pub fn inject(&self, action: &str, fault: Fault, count: usize) {
        let mut f = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        f.entry(action.to_string())
            .or_default()
            .extend(std::iter::repeat_n(fault, count));
    }

    /// The fault the next call of `action` gets, if one is queued (for it, else for `*`).
    pub(crate) fn take(&self, action: &str) -> Option<Fault> {
        let mut f = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        for key in [action, "*"] {
            if let Some(q) = f.get_mut(key) {
                if !q.is_empty() {
                    return Some(q.remove(0));
                }
            }
        }
        None
    }

    /// Drops every queued fault.
    pub fn clear(&self) {
        self.queued.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Faults still queued, per action.
    pub fn pending(&self) -> BTreeMap<String, usize> {
        self.queued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    }

    /// How many calls a [`Fault::Hold`] has held, to wait on.
    pub fn held(&self) -> tokio::sync::watch::Receiver<u64> {
        self.held.subscribe()
    }

    /// Holds a call (a [`Fault::Hold`]) until [`Faults::release_held`], which may never come.
    pub(crate) async fn hold(&self) {
        let mut released = self.releases.subscribe();
        self.held.send_modify(|n| *n += 1);
        let _ = released.changed().await;
    }

    /// Lets every call held so far go on, answered as if it had just arrived: a test pauses a
    /// client between two of its calls and changes the world meanwhile (what another client
    /// acting at that moment would do).
    pub fn release_held(&self) {
        self.releases.send_modify(|n| *n += 1);
    }
}
