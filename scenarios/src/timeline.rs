//! The timeline of one scenario, recorded by the runner as it plays (not parsed from the snapshot):
//! each instance's lifecycle states and target health per load balancer over simulated time, the
//! lifecycle events run on it (scripts, hooks, BlockTraffic/AllowTraffic), why it was launched or
//! terminated, serving capacity against the deployment's minimum, request outcomes, and markers for
//! events. The report pages (`html/`) draw it; `--baseline` reads it back from `report.json`.
//! Times are simulated seconds since the story started.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a script run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunResult {
    Succeeded,
    Failed,
    TimedOut,
    /// Still running when the story ended, or ended with its instance.
    Ended,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Succeeded => "Succeeded",
            RunResult::Failed => "Failed",
            RunResult::TimedOut => "TimedOut",
            RunResult::Ended => "Ended",
        }
    }
}

/// One lifecycle event run on an instance: a script, or the engine's BlockTraffic/AllowTraffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub from: f64,
    pub to: f64,
    /// The deployment it belongs to (its number).
    #[serde(default)]
    pub deployment: usize,
    /// `BeforeInstall bin/deregister-from-elb`, or `BlockTraffic`.
    pub what: String,
    pub result: RunResult,
    /// The result as the agent reported it.
    pub detail: String,
}

impl Bar {
    /// The lifecycle event's name (`BeforeInstall`).
    pub fn event(&self) -> &str {
        self.what.split(' ').next().unwrap_or(&self.what)
    }

    /// The script's file name (`deregister-from-elb`), if a script ran.
    pub fn script(&self) -> Option<&str> {
        let (_, path) = self.what.split_once(' ')?;
        Some(path.rsplit('/').next().unwrap_or(path))
    }
}

/// A target's health in one load balancer, as DescribeTargetHealth (or Classic's
/// DescribeInstanceHealth) would say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Health {
    Initial,
    Healthy,
    Unhealthy,
    Draining,
    Unused,
    Unavailable,
    /// Classic: InService.
    InService,
    /// Classic: OutOfService.
    OutOfService,
    /// Not registered (drawn as a gap).
    Unregistered,
}

impl Health {
    /// Parses the name the fake gives (`healthy`, `InService`, ...).
    pub fn parse(s: &str) -> Option<Health> {
        Some(match s {
            "initial" => Health::Initial,
            "healthy" => Health::Healthy,
            "unhealthy" | "unhealthy.draining" => Health::Unhealthy,
            "draining" => Health::Draining,
            "unused" => Health::Unused,
            "unavailable" => Health::Unavailable,
            "InService" => Health::InService,
            "OutOfService" => Health::OutOfService,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Initial => "initial",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
            Health::Draining => "draining",
            Health::Unused => "unused",
            Health::Unavailable => "unavailable",
            Health::InService => "InService",
            Health::OutOfService => "OutOfService",
            Health::Unregistered => "unregistered",
        }
    }
}

/// Why the group launched or terminated an instance, read from its scaling activity's cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cause {
    ScaleOut,
    ScaleIn,
    AzRebalance,
    HealthCheckReplacement,
    Operator,
    LaunchHookAbandoned,
    Replacement,
}

impl Cause {
    /// Classifies an activity's cause text as Auto Scaling writes it.
    pub fn of(launch: bool, cause: &str) -> Cause {
        if cause.contains("Availability Zone rebalancing") || cause.contains("AZRebalance") {
            Cause::AzRebalance
        } else if cause.contains("health check") {
            Cause::HealthCheckReplacement
        } else if cause.contains("in response to a user request") {
            Cause::Operator
        } else if cause.contains("launch lifecycle hook") {
            Cause::LaunchHookAbandoned
        } else if cause.contains("changing the desired capacity") {
            if launch {
                Cause::ScaleOut
            } else {
                Cause::ScaleIn
            }
        } else if !launch && cause.contains("shrinking the capacity") {
            Cause::ScaleIn
        } else {
            Cause::Replacement
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::ScaleOut => "scale-out",
            Cause::ScaleIn => "scale-in",
            Cause::AzRebalance => "AZ rebalance",
            Cause::HealthCheckReplacement => "health check replacement",
            Cause::Operator => "operator",
            Cause::LaunchHookAbandoned => "launch hook abandoned",
            Cause::Replacement => "to meet desired capacity",
        }
    }
}

/// A launch or a termination of an instance, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub at: f64,
    pub launch: bool,
    pub cause: Cause,
}

/// One instance's lane.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// (from, state), in time order; each lasts until the next (or the end).
    pub states: Vec<(f64, String)>,
    pub bars: Vec<Bar>,
    /// Target group (or `classic:NAME`) -> (from, health), in time order.
    #[serde(default)]
    pub health: BTreeMap<String, Vec<(f64, Health)>>,
    /// Launches and terminations, with their causes.
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// Why requests failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Failure {
    BadGateway,
    ConnectionFailed,
    NoTarget,
    NoListener,
    /// A request still being answered when its target left (ALB, Classic): 502.
    CutInFlight,
    /// A connection still open when its target left (NLB): reset.
    ResetInFlight,
}

impl Failure {
    pub const ALL: [Failure; 6] = [
        Failure::BadGateway,
        Failure::ConnectionFailed,
        Failure::NoTarget,
        Failure::NoListener,
        Failure::CutInFlight,
        Failure::ResetInFlight,
    ];

    /// The cause as the report names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::BadGateway => "502 app down",
            Failure::ConnectionFailed => "connection failed (app down)",
            Failure::NoTarget => "503 no target",
            Failure::NoListener => "no listener",
            Failure::CutInFlight => "502 cut in flight",
            Failure::ResetInFlight => "connection reset in flight",
        }
    }
}

/// Requests answered in a stretch of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Requests {
    pub served: u64,
    pub maintenance: u64,
    /// Failed, per [`Failure`] (in `Failure::ALL` order).
    pub failed: [u64; Failure::ALL.len()],
}

impl Requests {
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }

    pub fn total(&self) -> u64 {
        self.served + self.maintenance + self.failed_total()
    }

    fn add(&mut self, r: &Requests) {
        self.served += r.served;
        self.maintenance += r.maintenance;
        for (a, b) in self.failed.iter_mut().zip(r.failed) {
            *a += b;
        }
    }
}

/// Everything a report page draws.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// By instance label (`i-1`, ...), in label order.
    pub lanes: BTreeMap<usize, (String, Lane)>,
    /// (time, serving, members): a step line.
    pub capacity: Vec<(f64, usize, usize)>,
    /// (from, to, minimum healthy, deployment number).
    pub minimum: Vec<(f64, f64, usize, usize)>,
    /// (from, to, requests sent in between, spread evenly).
    pub requests: Vec<(f64, f64, Requests)>,
    /// (time, text).
    pub markers: Vec<(f64, String)>,
    pub end: f64,
}

impl Timeline {
    /// The stretch the deployments ran in, with a margin either side (the whole story if none
    /// ran): the span a report opens on.
    pub fn deployments_span(&self) -> (f64, f64) {
        let end = self.end.max(1.0);
        let from = self.minimum.iter().map(|m| m.0).fold(f64::INFINITY, f64::min);
        let to = self.minimum.iter().map(|m| m.1).fold(f64::NEG_INFINITY, f64::max);
        if !from.is_finite() || !to.is_finite() || to <= from {
            return (0.0, end);
        }
        let margin = ((to - from) * 0.08).max(10.0);
        ((from - margin).max(0.0), (to + margin).min(end))
    }
}

/// What the runner records while it plays; turned into a [`Timeline`] at the end, when every
/// instance has its label.
#[derive(Debug, Default)]
pub struct Recorder {
    start_ms: i64,
    states: BTreeMap<String, Vec<(f64, String)>>,
    health: BTreeMap<String, BTreeMap<String, Vec<(f64, Health)>>>,
    changes: BTreeMap<String, Vec<Change>>,
    bars: BTreeMap<String, Vec<Bar>>,
    open: BTreeMap<String, (f64, usize, String)>,
    capacity: Vec<(f64, usize, usize)>,
    minimum: Vec<(f64, f64, usize, usize)>,
    requests: Vec<(f64, f64, Requests)>,
    markers: Vec<(f64, String)>,
}

impl Recorder {
    /// Sets when the story starts.
    pub fn start(&mut self, start_ms: i64) {
        self.start_ms = start_ms;
    }

    fn t(&self, ms: i64) -> f64 {
        (ms - self.start_ms) as f64 / 1000.0
    }

    /// Records instances' states at `ms`, keeping only changes.
    pub fn states(&mut self, ms: i64, states: impl IntoIterator<Item = (String, String)>) {
        let t = self.t(ms).max(0.0);
        for (id, s) in states {
            let lane = self.states.entry(id).or_default();
            if lane.last().is_none_or(|(_, last)| *last != s) {
                lane.push((t, s));
            }
        }
    }

    /// Records an instance's health in every load balancer it is registered with at `ms`
    /// (load balancers it has left become [`Health::Unregistered`]), keeping only changes.
    pub fn health(&mut self, ms: i64, id: &str, now: Vec<(String, Health)>) {
        let t = self.t(ms).max(0.0);
        let lanes = self.health.entry(id.to_string()).or_default();
        let mut now: BTreeMap<String, Health> = now.into_iter().collect();
        for (lb, lane) in lanes.iter_mut() {
            let h = now.remove(lb).unwrap_or(Health::Unregistered);
            if lane.last().is_none_or(|(_, last)| *last != h) {
                lane.push((t, h));
            }
        }
        for (lb, h) in now {
            lanes.insert(lb, vec![(t, h)]);
        }
    }

    /// The group launched or terminated an instance at `ms`.
    pub fn change(&mut self, ms: i64, id: &str, launch: bool, cause: Cause) {
        let at = self.t(ms).max(0.0);
        self.changes
            .entry(id.to_string())
            .or_default()
            .push(Change { at, launch, cause });
    }

    /// Records serving capacity at `ms`, keeping only changes.
    pub fn capacity(&mut self, ms: i64, serving: usize, members: usize) {
        let t = self.t(ms).max(0.0);
        if self
            .capacity
            .last()
            .is_none_or(|(_, s, m)| (*s, *m) != (serving, members))
        {
            self.capacity.push((t, serving, members));
        }
    }

    /// A lifecycle event of deployment `deployment` starts on an instance.
    pub fn run_started(&mut self, ms: i64, id: &str, deployment: usize, what: String) {
        let t = self.t(ms);
        self.open.insert(id.to_string(), (t, deployment, what));
    }

    /// The lifecycle event running on an instance ended (or one that never started, at `ms`).
    pub fn run_ended(&mut self, ms: i64, id: &str, deployment: usize, what: &str, result: RunResult, detail: &str) {
        let to = self.t(ms);
        let (from, deployment, what) = self
            .open
            .remove(id)
            .unwrap_or_else(|| (to, deployment, what.to_string()));
        self.bars.entry(id.to_string()).or_default().push(Bar {
            from,
            to,
            deployment,
            what,
            result,
            detail: detail.to_string(),
        });
    }

    /// A deployment ran from `from_ms` to `to_ms` with this minimum of healthy instances.
    pub fn deployment(&mut self, number: usize, from_ms: i64, to_ms: i64, minimum: usize) {
        let (a, b) = (self.t(from_ms), self.t(to_ms));
        self.minimum.push((a, b, minimum, number));
    }

    /// Requests sent in `[from_ms, to_ms)`.
    pub fn requests(&mut self, (from_ms, to_ms): (i64, i64), r: Requests) {
        if r == Requests::default() {
            return;
        }
        let (a, b) = (self.t(from_ms), self.t(to_ms));
        match self.requests.last_mut() {
            Some((f, t, last)) if *f == a && *t == b => last.add(&r),
            _ => self.requests.push((a, b, r)),
        }
    }

    /// A marker (an event, a deployment's start or end).
    pub fn marker(&mut self, ms: i64, text: String) {
        let t = self.t(ms).max(0.0);
        self.markers.push((t, text));
    }

    /// The timeline, with instance ids replaced by their labels.
    pub fn finish(mut self, end_ms: i64, labels: &BTreeMap<String, String>) -> Timeline {
        let end = self.t(end_ms);
        for (id, (from, deployment, what)) in std::mem::take(&mut self.open) {
            self.bars.entry(id).or_default().push(Bar {
                from,
                to: end,
                deployment,
                what,
                result: RunResult::Ended,
                detail: "still running at the end".into(),
            });
        }
        let relabel = |s: &str| {
            let mut s = s.to_string();
            for (id, l) in labels {
                s = s.replace(id, l);
            }
            s
        };
        let mut lanes = BTreeMap::new();
        for (id, label) in labels {
            let n: usize = label.trim_start_matches("i-").parse().unwrap_or(0);
            let lane = Lane {
                states: self.states.remove(id).unwrap_or_default(),
                bars: self.bars.remove(id).unwrap_or_default(),
                health: self.health.remove(id).unwrap_or_default(),
                changes: self.changes.remove(id).unwrap_or_default(),
            };
            lanes.insert(n, (label.clone(), lane));
        }
        Timeline {
            lanes,
            capacity: self.capacity,
            minimum: self.minimum,
            requests: self.requests,
            markers: self.markers.into_iter().map(|(t, m)| (t, relabel(&m))).collect(),
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_keeps_changes_and_marks_leaving() {
        let mut r = Recorder::default();
        r.health(0, "a", vec![("tg".into(), Health::Initial)]);
        r.health(1000, "a", vec![("tg".into(), Health::Initial)]);
        r.health(2000, "a", vec![("tg".into(), Health::Healthy)]);
        r.health(3000, "a", vec![]);
        r.health(4000, "a", vec![]);
        r.health(5000, "a", vec![("tg".into(), Health::Initial)]);
        let lane = &r.health["a"]["tg"];
        let states: Vec<(f64, Health)> = lane.clone();
        assert_eq!(
            states,
            [
                (0.0, Health::Initial),
                (2.0, Health::Healthy),
                (3.0, Health::Unregistered),
                (5.0, Health::Initial)
            ]
        );
    }

    #[test]
    fn causes_are_read_from_auto_scalings_words() {
        let rebalance = "At 2026-01-01T00:00:00Z an instance was taken out of service in response to an Availability Zone rebalancing operation, shrinking the capacity from 4 to 3.";
        assert_eq!(Cause::of(false, rebalance), Cause::AzRebalance);
        let health = "At 2026-01-01T00:00:00Z an instance was taken out of service in response to an EC2 health check indicating it has been unhealthy.";
        assert_eq!(Cause::of(false, health), Cause::HealthCheckReplacement);
        let user = "At 2026-01-01T00:00:00Z instance i-1 was taken out of service in response to a user request.";
        assert_eq!(Cause::of(false, user), Cause::Operator);
        let scale_in = "At 2026-01-01T00:00:00Z a user request update of AutoScalingGroup constraints to min: 1, max: 4, desired: 2 changing the desired capacity from 3 to 2. At 2026-01-01T00:00:00Z an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from 3 to 2.";
        assert_eq!(Cause::of(false, scale_in), Cause::ScaleIn);
        let out = "At 2026-01-01T00:00:00Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 2 to 3.";
        assert_eq!(Cause::of(true, out), Cause::Replacement);
        let policy = format!("At 2026-01-01T00:00:00Z a monitor alarm high-cpu in state ALARM triggered policy scale-out changing the desired capacity from 2 to 3. {out}");
        assert_eq!(Cause::of(true, &policy), Cause::ScaleOut);
    }

    #[test]
    fn the_span_opens_on_the_deployments() {
        let t = Timeline {
            minimum: vec![(100.0, 300.0, 1, 1)],
            end: 1000.0,
            ..Default::default()
        };
        assert_eq!(t.deployments_span(), (84.0, 316.0));
        assert_eq!(
            Timeline {
                end: 50.0,
                ..Default::default()
            }
            .deployments_span(),
            (0.0, 50.0)
        );
    }
}
