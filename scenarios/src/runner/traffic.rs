//! Traffic: the requests users would have sent through every entrance of the fleet (each ELBv2
//! listener and Classic Load Balancer) while the story played, and what each got. Between two
//! changes of the world nothing about routing changes, so the runner integrates fakeaws' routing
//! function over simulated time instead of sending requests: deterministic, and cheap for hours of
//! traffic. Requests arrive at `rate` per simulated second per entrance, round robin over the
//! targets that take them.

use std::collections::BTreeMap;

use fakeaws::rehearsal::{EntranceView, Routed, TrafficView};

use super::in_flight::{water_fill, Batch};
use super::Sim;
use crate::report::TrafficReport;
use crate::timeline::{Failure, Health};

/// The users' side of a run: the request shapes and their rates, and what each entrance's
/// requests got (the model's tallies, and real requests through the data plane when probed).
#[derive(Default)]
pub(super) struct TrafficState {
    /// The request shapes of the traffic (one per path).
    pub(super) requests: Vec<fakeaws::model::Request>,
    /// Requests per simulated second of each request shape (`requests`, same order).
    pub(super) rates: Vec<f64>,
    /// How long each request shape takes to answer, in milliseconds (same order).
    pub(super) durations: Vec<i64>,
    /// Requests still being answered (requests that take time).
    pub(super) in_flight: Vec<Batch>,
    /// What each entrance's requests got.
    pub(super) tally: BTreeMap<String, Tally>,
    /// What real requests through the data plane got (`[traffic] probe = true`).
    pub(super) probes: BTreeMap<String, super::probe::ProbeTally>,
}

impl Sim {
    /// Moves the clock to `to`, counting the requests sent meanwhile (once the story has started).
    pub(super) fn advance(&mut self, to: i64) {
        loop {
            let now = self.now();
            if now >= to {
                return;
            }
            let view = self.fake().rehearsal().traffic_view(&self.traffic.requests);
            let warm = self.agent.app_warmups.values().flatten().copied().min();
            let until = [view.next_change, warm]
                .into_iter()
                .flatten()
                .filter(|t| *t > now)
                .fold(to, i64::min);
            if self.start_ms > 0 {
                self.settle_in_flight(now);
                self.count(&view, now, until);
                self.probe(&view);
                self.record_lanes(now);
            }
            self.fake().clock.advance_to(until);
            // Applications that finished warming up answer from now on.
            let ready: Vec<String> = self
                .agent
                .app_warmups
                .iter()
                .filter(|(_, t)| t.is_some_and(|t| t <= until))
                .map(|(id, _)| id.clone())
                .collect();
            for id in ready {
                self.agent.app_warmups.insert(id.clone(), None);
                let _ = self.fake().rehearsal().set_app(&id, true);
            }
        }
    }

    /// Attributes the requests of `[from, to)` to what each entrance does now. Each request
    /// shape (a client's path) is its own stream at its own rate.
    fn count(&mut self, view: &TrafficView, from: i64, to: i64) {
        let window_from = (from - self.start_ms) / 1000;
        let window_to = (to - self.start_ms + 999) / 1000;
        for entrance in &view.entrances {
            for stream in 0..entrance.streams.len() {
                let rate = self.traffic.rates[stream];
                let sent_by = |t: i64| ((t - self.start_ms).max(0) as f64 * rate / 1000.0).floor() as u64;
                let (a, b) = (sent_by(from), sent_by(to));
                if b <= a {
                    continue;
                }
                self.count_stream(entrance, stream, a, b, (window_from, window_to), (from, to));
            }
        }
    }

    /// How many of requests `a..b` of one stream each candidate gets: round robin, or, for
    /// requests that take time behind least outstanding requests, the fewest outstanding first.
    fn shares(
        &self,
        candidates: &[Routed],
        least_outstanding: bool,
        duration_ms: i64,
        a: u64,
        b: u64,
        at: i64,
    ) -> Vec<u64> {
        let (c, n) = (candidates.len() as u64, b - a);
        if least_outstanding && duration_ms > 0 {
            let levels: Vec<u64> = candidates
                .iter()
                .map(|r| match r {
                    Routed::Served { instance, .. } => self.outstanding(instance, at),
                    _ => 0,
                })
                .collect();
            return water_fill(&levels, n);
        }
        (0..c)
            .map(|i| {
                let slot = (i + c - a % c) % c;
                n / c + u64::from(slot < n % c)
            })
            .collect()
    }

    /// Requests `a..b` of one stream through one entrance, shared among its candidates, sent in
    /// `window_ms` (the whole seconds around it for the failure windows).
    fn count_stream(
        &mut self,
        entrance: &EntranceView,
        stream: usize,
        a: u64,
        b: u64,
        (window_from, window_to): (i64, i64),
        window_ms: (i64, i64),
    ) {
        let view = &entrance.streams[stream];
        let candidates = &view.candidates;
        let duration_ms = self.traffic.durations[stream];
        let shares = self.shares(candidates, view.least_outstanding, duration_ms, a, b, window_ms.0);
        let n = b - a;
        let mut seen = crate::timeline::Requests::default();
        let labels = &self.labels;
        let installed = &self.agent.installed;
        let tally = self.traffic.tally.entry(entrance.label.clone()).or_default();
        tally.sent += n;
        for (r, k) in candidates.iter().zip(shares) {
            if k == 0 {
                continue;
            }
            let failure = match r {
                Routed::Served { instance, .. } => {
                    let rev = installed.get(instance).cloned().unwrap_or_else(|| "(none)".into());
                    if duration_ms > 0 {
                        self.traffic.in_flight.push(Batch {
                            entrance: entrance.entrance.clone(),
                            label: entrance.label.clone(),
                            instance: instance.clone(),
                            revision: rev.clone(),
                            from: window_ms.0,
                            to: window_ms.1,
                            count: k,
                            duration_ms,
                        });
                    }
                    *tally.served.entry(rev).or_default() += k;
                    seen.served += k;
                    None
                }
                Routed::Fixed { status, .. } => {
                    *tally.maintenance.entry(status.to_string()).or_default() += k;
                    seen.maintenance += k;
                    None
                }
                Routed::Redirect { .. } => {
                    tally.redirected += k;
                    seen.served += k;
                    None
                }
                Routed::BadGateway { .. } => Some(Failure::BadGateway),
                Routed::ConnectionFailed { .. } => Some(Failure::ConnectionFailed),
                Routed::NoTarget => Some(Failure::NoTarget),
                Routed::NoListener => Some(Failure::NoListener),
            };
            if let Some(failure) = failure {
                seen.failed[failure as usize] += k;
                let who = match r {
                    Routed::BadGateway { instance } | Routed::ConnectionFailed { instance } => {
                        labels.get(instance).cloned().unwrap_or_default()
                    }
                    _ => String::new(),
                };
                tally.fail(failure, k, (window_from, window_to), &who);
            }
        }
        self.recorder.requests(window_ms, seen);
    }

    /// Records every known instance's state and the serving capacity, for the timeline.
    fn record_lanes(&mut self, now: i64) {
        let (members, serving) = self.fake().rehearsal().census(
            &self.sc.deployment_group.autoscaling_groups,
            self.sc.deployment_group.standalone_instances,
        );
        for id in &members {
            self.label(id);
        }
        let ids: Vec<String> = self.labels.keys().cloned().collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let states = self.fake().rehearsal().lane_states(&refs);
        let health = self.fake().rehearsal().health_lanes(&refs);
        let changes: Vec<(String, String)> = ids
            .into_iter()
            .zip(states)
            .map(|(id, s)| (id, s.unwrap_or_else(|| "Gone".into())))
            .collect();
        for (id, s) in &changes {
            self.spent.seen(id, s);
        }
        for ((id, _), lanes) in changes.iter().zip(health) {
            let lanes = lanes
                .into_iter()
                .filter_map(|(lb, h)| Some((lb, Health::parse(&h)?)))
                .collect();
            self.recorder.health(now, id, lanes);
        }
        self.recorder.states(now, changes);
        self.recorder.capacity(now, serving, members.len());
    }

    /// The traffic block of the report.
    pub(super) fn traffic_report(&self) -> BTreeMap<String, TrafficReport> {
        self.traffic
            .tally
            .iter()
            .map(|(entrance, t)| {
                (
                    entrance.clone(),
                    TrafficReport {
                        sent: t.sent,
                        served: t.served.clone(),
                        maintenance: t.maintenance.clone(),
                        redirected: t.redirected,
                        probe: self.traffic.probes.get(entrance).map(|p| p.report()),
                        failed: t.failed.clone(),
                        failure_windows: t
                            .windows
                            .iter()
                            .map(|w| format!("t+{}s..t+{}s {}", w.from, w.to, w.what))
                            .collect(),
                    },
                )
            })
            .collect()
    }
}

/// What one entrance saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    sent: u64,
    served: BTreeMap<String, u64>,
    maintenance: BTreeMap<String, u64>,
    redirected: u64,
    failed: BTreeMap<String, u64>,
    windows: Vec<Window>,
}

impl Tally {
    /// Requests that failed.
    pub(crate) fn failed(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Requests sent.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// `k` requests failed for one reason in the seconds `from..to` (`who`: the instance's
    /// label, when one instance is the cause).
    fn fail(&mut self, failure: Failure, k: u64, (from, to): (i64, i64), who: &str) {
        let cause = failure.as_str();
        *self.failed.entry(cause.to_string()).or_default() += k;
        let what = if who.is_empty() {
            cause.to_string()
        } else {
            format!("{cause} ({who})")
        };
        match self.windows.last_mut() {
            Some(w) if w.what == what && w.to >= from => w.to = w.to.max(to),
            _ => self.windows.push(Window { from, to, what }),
        }
    }

    /// `k` requests counted served by `revision` were cut in flight at second `second`.
    pub(super) fn cut(&mut self, revision: &str, k: u64, failure: Failure, second: i64, who: &str) {
        if let Some(served) = self.served.get_mut(revision) {
            *served = served.saturating_sub(k);
            if *served == 0 {
                self.served.remove(revision);
            }
        }
        self.fail(failure, k, (second, second + 1), who);
    }
}

/// A stretch of simulated seconds in which requests failed for one reason.
#[derive(Debug, Clone)]
struct Window {
    from: i64,
    to: i64,
    what: String,
}
