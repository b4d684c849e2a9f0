//! What the fake counts: calls per action, instance-metadata requests per path, requests (their
//! ids), and the changes that took a rollback copy of the world.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The fake's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    /// How many requests took a copy of the world to roll back to (changes do, reads do not).
    pub rollback_copies: AtomicU64,
    calls: Mutex<BTreeMap<String, u64>>,
    metadata: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// Counts one call of `service:action`.
    pub(crate) fn count(&self, service: &str, action: &str) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        *calls.entry(format!("{service}:{action}")).or_default() += 1;
    }

    /// How many times each action was called (`service:Action`).
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many times one action (`service:Action`) was called.
    pub fn call_count(&self, action: &str) -> u64 {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(action)
            .copied()
            .unwrap_or(0)
    }

    /// Counts one instance-metadata request for `path` (`latest/api/token`, `latest/meta-data/...`).
    pub(crate) fn count_metadata(&self, path: &str) {
        let mut m = self.metadata.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry(path.to_string()).or_default() += 1;
    }

    /// How many instance-metadata requests each path got, every instance together. AWS calls are
    /// in [`Metrics::call_counts`], apart: a call budget counts AWS calls only.
    pub fn metadata_counts(&self) -> BTreeMap<String, u64> {
        self.metadata.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A fresh request id.
    pub fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{:08x}-fa6e-4a5e-8000-{:012x}", n >> 16, n)
    }
}
