//! The floor of a deployment: what perfect hooks would take given AWS's timers and the revision's
//! own scripts, so that each report can show the hooks' overhead (simulated duration minus floor).
//!
//! Per instance: the longest drain of its load balancers (deregistration delay, Classic connection
//! draining) if the hooks took it out of service, the time its own scripts ran (everything but the two hook
//! binaries), and, if it came back healthy before its turn ended, ExitStandby's pending time (when
//! it went out of an Auto Scaling group) or the application's warm-up, whichever is longer, plus
//! HealthyThresholdCount x interval. It is a lower bound: no deployment can beat it. Per deployment: instances go in rounds of the configuration's
//! batch size, in the deployment's order, each round as long as its slowest instance; a zonal
//! deployment zone after zone, with the waits between zones.

use std::collections::BTreeMap;

use super::Sim;

/// Simulated time one instance spent in each deployment's own scripts and warming up.
#[derive(Debug, Default)]
pub(crate) struct Spent {
    /// (deployment, instance) -> milliseconds in the revision's own scripts.
    scripts: BTreeMap<(usize, String), i64>,
    /// (deployment, instance) -> the application's warm-up, milliseconds.
    warmup: BTreeMap<(usize, String), i64>,
    /// Instance -> (start, deployment, whether the script is the revision's own).
    running: BTreeMap<String, (i64, usize, bool)>,
    /// Instance -> the deployment it is taking part in now.
    active: BTreeMap<String, usize>,
    /// (deployment, instance): it was in service when its turn started and went out.
    went_out: std::collections::BTreeSet<(usize, String)>,
    /// (deployment, instance): it served again when its turn ended.
    came_back: std::collections::BTreeSet<(usize, String)>,
}

/// Whether a script is one of the hooks (whose time is the overhead being measured).
fn is_hook(location: &str) -> bool {
    location.ends_with("deregister-from-elb") || location.ends_with("register-with-elb")
}

impl Spent {
    pub(crate) fn started(&mut self, now: i64, deployment: usize, id: &str, location: &str) {
        self.running
            .insert(id.to_string(), (now, deployment, !is_hook(location)));
    }

    pub(crate) fn ended(&mut self, now: i64, id: &str) {
        if let Some((from, deployment, own)) = self.running.remove(id) {
            if own {
                *self.scripts.entry((deployment, id.to_string())).or_default() += now - from;
            }
        }
    }

    pub(crate) fn warming(&mut self, deployment: usize, id: &str, ms: i64) {
        self.warmup.insert((deployment, id.to_string()), ms);
    }

    /// An instance's turn in a deployment starts; only one in service then has to drain.
    pub(crate) fn turn_starts(&mut self, deployment: usize, id: &str, in_service: bool) {
        if in_service {
            self.active.insert(id.to_string(), deployment);
        }
    }

    /// An instance is seen in a state: anything but InService during its turn means it went out.
    pub(crate) fn seen(&mut self, id: &str, state: &str) {
        if let Some(d) = self.active.get(id) {
            if state != "InService" {
                self.went_out.insert((*d, id.to_string()));
            }
        }
    }

    /// An instance's turn in deployment `d` ends; `serving` says whether it serves again.
    pub(crate) fn turn_ends(&mut self, d: usize, id: &str, serving: bool) {
        self.active.remove(id);
        if serving {
            self.came_back.insert((d, id.to_string()));
        }
    }
}

impl Sim {
    /// What perfect hooks would take for one instance in one deployment, in milliseconds.
    fn instance_floor(&self, deployment: usize, id: &str) -> i64 {
        let (drain, healthy, exit) = self.fake().rehearsal().timers(id);
        let key = (deployment, id.to_string());
        let scripts = self.spent.scripts.get(&key).copied().unwrap_or(0);
        let warmup = self.spent.warmup.get(&key).copied().unwrap_or(0);
        let went_out = self.spent.went_out.contains(&key);
        let out = if went_out { drain } else { 0 };
        // ExitStandby's pending time only for an instance the hooks took out (a lower bound).
        let exit = if went_out { exit } else { 0 };
        let back = if self.spent.came_back.contains(&key) {
            exit.max(warmup) + healthy
        } else {
            0
        };
        out + scripts + back
    }

    /// The floor of a deployment over `order` in rounds of `batch`, in milliseconds.
    pub(super) fn deployment_floor(&self, deployment: usize, order: &[String], batch: usize) -> i64 {
        order
            .chunks(batch.max(1))
            .map(|round| {
                round
                    .iter()
                    .map(|id| self.instance_floor(deployment, id))
                    .max()
                    .unwrap_or(0)
            })
            .sum()
    }
}
