//! The timeline of one scenario, recorded by the runner as it plays (not parsed from the snapshot):
//! each instance's lifecycle states over simulated time, the scripts and hooks run on it, serving
//! capacity against the deployment's minimum, request outcomes, and markers for events. The
//! report pages (`html.rs`) draw it. Times are simulated seconds since the story started.

use std::collections::BTreeMap;

/// How a script run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// One script or hook run on an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub from: f64,
    pub to: f64,
    /// `BeforeInstall bin/deregister-from-elb`.
    pub what: String,
    pub result: RunResult,
    /// The result as the agent reported it.
    pub detail: String,
}

/// One instance's lane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lane {
    /// (from, state), in time order; each lasts until the next (or the end).
    pub states: Vec<(f64, String)>,
    pub bars: Vec<Bar>,
}

/// Requests answered in a stretch of time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Requests {
    pub served: u64,
    pub maintenance: u64,
    pub failed: u64,
}

/// Everything a report page draws.
#[derive(Debug, Clone, Default, PartialEq)]
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

/// What the runner records while it plays; turned into a [`Timeline`] at the end, when every
/// instance has its label.
#[derive(Debug, Default)]
pub struct Recorder {
    start_ms: i64,
    states: BTreeMap<String, Vec<(f64, String)>>,
    bars: BTreeMap<String, Vec<Bar>>,
    open: BTreeMap<String, (f64, String)>,
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

    /// A script starts on an instance.
    pub fn run_started(&mut self, ms: i64, id: &str, what: String) {
        let t = self.t(ms);
        self.open.insert(id.to_string(), (t, what));
    }

    /// The script running on an instance ended (or one that never started, at `ms`).
    pub fn run_ended(&mut self, ms: i64, id: &str, what: &str, result: RunResult, detail: &str) {
        let to = self.t(ms);
        let (from, what) = self.open.remove(id).unwrap_or_else(|| (to, what.to_string()));
        self.bars.entry(id.to_string()).or_default().push(Bar {
            from,
            to,
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
            Some((f, t, last)) if *f == a && *t == b => {
                last.served += r.served;
                last.maintenance += r.maintenance;
                last.failed += r.failed;
            }
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
        for (id, (from, what)) in std::mem::take(&mut self.open) {
            self.bars.entry(id).or_default().push(Bar {
                from,
                to: end,
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
