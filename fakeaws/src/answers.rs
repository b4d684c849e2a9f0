//! Answers to reads, kept while the world stays as it was.
//!
//! At fleet scale the same read arrives many times between two changes (hundreds of hooks of one
//! deployment each reading their group, a DescribeAutoScalingGroups answer listing every member):
//! the answer is built once per state of the world and copied for the rest. A state is the
//! world's change count and the simulated time (see [`crate::state::Fake::version`]); everything
//! that changes what a read shows moves one of them. Two answers are kept per action (the same
//! read with and without a group's members, say), the older replaced first, so the memory is
//! bounded. Counting, faults and the caller's permissions still apply to every call: only the
//! work of building the answer is saved.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Debug)]
struct Kept {
    version: (u64, i64),
    request: Vec<u8>,
    answer: Option<String>,
}

/// Answers kept per action.
const PER_ACTION: usize = 2;

/// The last answers of each read action, newest last.
#[derive(Debug, Default)]
pub struct Answers {
    kept: Mutex<HashMap<String, Vec<Kept>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Answers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Kept>>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer given to the same `request` (the call's whole parameter body) of `action`, if
    /// the world is still at `version`.
    pub fn get(&self, action: &str, version: (u64, i64), request: &[u8]) -> Option<Option<String>> {
        let kept = self.lock();
        let found = kept
            .get(action)
            .and_then(|all| all.iter().find(|k| k.version == version && k.request == request))
            .map(|k| k.answer.clone());
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Reads answered from what was kept, and reads whose answer was built, so far (a benchmark
    /// shows it measured the work, not copies).
    pub fn counts(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    /// Keeps `answer` as the answer to `request` of `action` at `version`.
    pub fn put(&self, action: &str, version: (u64, i64), request: &[u8], answer: &Option<String>) {
        let mut kept = self.lock();
        let all = kept.entry(action.to_string()).or_default();
        // Answers of an older state of the world can never be given again.
        all.retain(|k| k.version == version && k.request != request);
        if all.len() >= PER_ACTION {
            all.remove(0);
        }
        all.push(Kept {
            version,
            request: request.to_vec(),
            answer: answer.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_holds_only_for_the_same_request_at_the_same_version() {
        let a = Answers::default();
        let answer = Some("<x/>".to_string());
        a.put("DescribeAutoScalingGroups", (3, 10), b"names=web", &answer);
        assert_eq!(a.get("DescribeAutoScalingGroups", (3, 10), b"names=web"), Some(answer));
        assert_eq!(a.get("DescribeAutoScalingGroups", (4, 10), b"names=web"), None);
        assert_eq!(a.get("DescribeAutoScalingGroups", (3, 11), b"names=web"), None);
        assert_eq!(a.get("DescribeAutoScalingGroups", (3, 10), b"names=db"), None);
        assert_eq!(a.get("DescribeTargetHealth", (3, 10), b"names=web"), None);
    }

    #[test]
    fn two_answers_per_action_are_kept_at_one_version_the_older_replaced() {
        let a = Answers::default();
        let (x, y, z) = (
            Some("<x/>".to_string()),
            Some("<y/>".to_string()),
            Some("<z/>".to_string()),
        );
        a.put("DescribeAutoScalingGroups", (3, 10), b"with", &x);
        a.put("DescribeAutoScalingGroups", (3, 10), b"without", &y);
        assert_eq!(a.get("DescribeAutoScalingGroups", (3, 10), b"with"), Some(x));
        assert_eq!(a.get("DescribeAutoScalingGroups", (3, 10), b"without"), Some(y.clone()));
        a.put("DescribeAutoScalingGroups", (3, 10), b"third", &z);
        assert_eq!(a.get("DescribeAutoScalingGroups", (3, 10), b"with"), None);
        assert_eq!(a.get("DescribeAutoScalingGroups", (3, 10), b"without"), Some(y));
        // A newer state of the world drops what was kept for the older one.
        a.put("DescribeAutoScalingGroups", (4, 10), b"with", &None);
        assert_eq!(a.get("DescribeAutoScalingGroups", (3, 10), b"third"), None);
        assert_eq!(a.counts(), (3, 2));
    }
}
