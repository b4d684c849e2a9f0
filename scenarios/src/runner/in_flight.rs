//! Requests that take time (`[traffic] duration_seconds`): the requests each target is still
//! answering, kept as batches (the requests one stream sent one target in one stretch, spread
//! evenly over it), and what becomes of them when the world changes. At each change the fake
//! says whether each batch's connection is still open (`Rehearsal::in_flight`); a batch whose
//! target left loses the requests sent less than a duration before: they were counted served
//! when sent, and are now counted failed, at the moment they were cut. Least outstanding
//! requests picks its targets from the same batches (`outstanding`, `water_fill`).

use fakeaws::rehearsal::{Entrance, Routed};

use super::Sim;
use crate::timeline::{Failure, Requests};

/// The requests one stream sent one target in `[from, to)`, each answered for `duration_ms`.
#[derive(Debug, Clone)]
pub(super) struct Batch {
    pub(super) entrance: Entrance,
    /// The entrance's label (the tally's key).
    pub(super) label: String,
    pub(super) instance: String,
    /// The revision that answered them (the tally's key for served requests).
    pub(super) revision: String,
    pub(super) from: i64,
    pub(super) to: i64,
    pub(super) count: u64,
    pub(super) duration_ms: i64,
}

impl Batch {
    /// How many of its requests are still being answered at `at`: those sent in
    /// `(at - duration, at]`.
    pub(super) fn open_at(&self, at: i64) -> u64 {
        let span = (self.to - self.from).max(1) as i128;
        let first = self.from.max(at - self.duration_ms + 1);
        let last = self.to.min(at + 1);
        if last <= first {
            return 0;
        }
        let part = (last - first) as i128;
        ((self.count as i128 * part + span / 2) / span).min(self.count as i128) as u64
    }

    /// When its last request is answered.
    fn done_at(&self) -> i64 {
        self.to + self.duration_ms
    }
}

impl Sim {
    /// Drops the batches answered by `now` and cuts the ones whose target left: run at every
    /// change of the world, before counting what comes next.
    pub(super) fn settle_in_flight(&mut self, now: i64) {
        self.traffic.in_flight.retain(|b| b.done_at() > now);
        if self.traffic.in_flight.is_empty() {
            return;
        }
        let fates = {
            let asks: Vec<(&Entrance, &str, i64)> = self
                .traffic
                .in_flight
                .iter()
                .map(|b| (&b.entrance, b.instance.as_str(), b.from))
                .collect();
            self.fake().rehearsal().in_flight(&asks)
        };
        let batches = std::mem::take(&mut self.traffic.in_flight);
        for (b, fate) in batches.into_iter().zip(fates) {
            let failure = match fate {
                Routed::Served { .. } => {
                    self.traffic.in_flight.push(b);
                    continue;
                }
                Routed::ConnectionFailed { .. } => Failure::ResetInFlight,
                _ => Failure::CutInFlight,
            };
            let cut = b.open_at(now);
            if cut > 0 {
                self.cut(&b, cut, failure, now);
            }
        }
    }

    /// Counts `n` requests of a batch as failed at `now` instead of served.
    fn cut(&mut self, b: &Batch, n: u64, failure: Failure, now: i64) {
        let second = (now - self.start_ms) / 1000;
        let label = self.labels.get(&b.instance).cloned().unwrap_or_default();
        let tally = self.traffic.tally.entry(b.label.clone()).or_default();
        tally.cut(&b.revision, n, failure, second, &label);
        let mut seen = Requests::default();
        seen.failed[failure as usize] = n;
        self.recorder.requests((now, now + 1000), seen);
    }

    /// Requests being answered by `instance` at `at`, through any entrance.
    pub(super) fn outstanding(&self, instance: &str, at: i64) -> u64 {
        self.traffic
            .in_flight
            .iter()
            .filter(|b| b.instance == instance)
            .map(|b| b.open_at(at))
            .sum()
    }
}

/// Least outstanding requests over one stretch: `n` new requests, each to the candidate with
/// the fewest outstanding (`levels`), ties to the earlier candidate; the requests answered
/// within the stretch are not subtracted, so the levels even out first and the rest is shared
/// equally. Returns how many each candidate gets.
pub(super) fn water_fill(levels: &[u64], n: u64) -> Vec<u64> {
    let c = levels.len();
    let mut got = vec![0u64; c];
    if c == 0 {
        return got;
    }
    let mut left = n;
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by_key(|&i| (levels[i], i));
    // Raise the lowest `k` candidates to the level of the next one, while requests last.
    let mut k = 1;
    let mut level = levels[order[0]];
    while left > 0 {
        while k < c && levels[order[k]] <= level {
            k += 1;
        }
        let next = if k < c { levels[order[k]] } else { u64::MAX };
        let room = (next - level).saturating_mul(k as u64);
        if k < c && room <= left {
            for &i in &order[..k] {
                got[i] += next - level;
            }
            left -= room;
            level = next;
            continue;
        }
        let (each, extra) = (left / k as u64, left % k as u64);
        let mut lowest: Vec<usize> = order[..k].to_vec();
        lowest.sort_unstable();
        for (j, &i) in lowest.iter().enumerate() {
            got[i] += each + u64::from((j as u64) < extra);
        }
        left = 0;
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(from: i64, to: i64, count: u64, duration_ms: i64) -> Batch {
        Batch {
            entrance: Entrance::Classic { name: "x".into() },
            label: "x".into(),
            instance: "i-1".into(),
            revision: "v1".into(),
            from,
            to,
            count,
            duration_ms,
        }
    }

    #[test]
    fn a_batch_is_open_for_the_requests_sent_less_than_a_duration_ago() {
        // 100 requests over 10 s, each answered in 30 s.
        let b = batch(0, 10_000, 100, 30_000);
        assert_eq!(b.open_at(5_000), 50, "half sent so far, all still open");
        assert_eq!(b.open_at(10_000), 100);
        assert_eq!(b.open_at(35_000), 50, "those sent in the last 5 s of the batch");
        assert_eq!(b.open_at(40_000), 0);
        assert_eq!(b.done_at(), 40_000);
    }

    #[test]
    fn least_outstanding_evens_out_the_levels_first() {
        assert_eq!(water_fill(&[0, 10, 10], 4), [4, 0, 0]);
        assert_eq!(water_fill(&[0, 10, 10], 16), [12, 2, 2]);
        assert_eq!(water_fill(&[0, 10, 10], 17), [13, 2, 2]);
        assert_eq!(water_fill(&[5, 5, 5], 4), [2, 1, 1], "ties go to the earlier candidate");
        assert_eq!(water_fill(&[3, 0], 0), [0, 0]);
        assert_eq!(water_fill(&[], 5), Vec::<u64>::new());
        let got = water_fill(&[7, 0, 2, 9], 1_000);
        assert_eq!(got.iter().sum::<u64>(), 1_000);
    }
}
