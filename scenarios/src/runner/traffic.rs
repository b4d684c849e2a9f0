//! Traffic: the requests users would have sent through every entrance of the fleet (each ELBv2
//! listener and Classic Load Balancer) while the story played, and what each got. Between two
//! changes of the world nothing about routing changes, so the runner integrates fakeaws' routing
//! function over simulated time instead of sending requests: deterministic, and cheap for hours of
//! traffic. Requests arrive at `rate` per simulated second per entrance, round robin over the
//! targets that take them.

use std::collections::BTreeMap;

use fakeaws::rehearsal::Routed;

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
            let (view, next_change) = self.fake().rehearsal().traffic_view(&self.traffic.requests);
            let warm = self.agent.app_warmups.values().flatten().copied().min();
            let until = [next_change, warm]
                .into_iter()
                .flatten()
                .filter(|t| *t > now)
                .fold(to, i64::min);
            if self.start_ms > 0 {
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
    #[allow(clippy::type_complexity)]
    fn count(&mut self, view: &[(String, Vec<Vec<Routed>>)], from: i64, to: i64) {
        let window_from = (from - self.start_ms) / 1000;
        let window_to = (to - self.start_ms + 999) / 1000;
        let rates = self.traffic.rates.clone();
        for (entrance, per_request) in view {
            for (candidates, rate) in per_request.iter().zip(&rates) {
                let sent_by = |t: i64| ((t - self.start_ms).max(0) as f64 * rate / 1000.0).floor() as u64;
                let (a, b) = (sent_by(from), sent_by(to));
                if b <= a {
                    continue;
                }
                self.count_stream(entrance, candidates, a, b, window_from, window_to, (from, to));
            }
        }
    }

    /// Requests `a..b` of one stream through one entrance, round robin over `candidates`, sent in
    /// `window_ms` (whole seconds `window_from..window_to` for the failure windows).
    #[allow(clippy::too_many_arguments)]
    fn count_stream(
        &mut self,
        entrance: &str,
        candidates: &[Routed],
        a: u64,
        b: u64,
        window_from: i64,
        window_to: i64,
        window_ms: (i64, i64),
    ) {
        let c = candidates.len() as u64;
        let n = b - a;
        let mut seen = crate::timeline::Requests::default();
        let labels = &self.labels;
        let installed = &self.agent.installed;
        let tally = self.traffic.tally.entry(entrance.to_string()).or_default();
        tally.sent += n;
        for (i, r) in candidates.iter().enumerate() {
            let slot = (i as u64 + c - a % c) % c;
            let k = n / c + u64::from(slot < n % c);
            if k == 0 {
                continue;
            }
            let failure = match r {
                Routed::Served { instance, .. } => {
                    let rev = installed.get(instance).cloned().unwrap_or_else(|| "(none)".into());
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
                let cause = failure.as_str();
                seen.failed[failure as usize] += k;
                *tally.failed.entry(cause.to_string()).or_default() += k;
                let who = match r {
                    Routed::BadGateway { instance } | Routed::ConnectionFailed { instance } => {
                        format!(" ({})", labels.get(instance).cloned().unwrap_or_default())
                    }
                    _ => String::new(),
                };
                let what = format!("{cause}{who}");
                match tally.windows.last_mut() {
                    Some(w) if w.what == what && w.to >= window_from => w.to = window_to,
                    _ => tally.windows.push(Window {
                        from: window_from,
                        to: window_to,
                        what,
                    }),
                }
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
}

/// A stretch of simulated seconds in which requests failed for one reason.
#[derive(Debug, Clone)]
struct Window {
    from: i64,
    to: i64,
    what: String,
}
