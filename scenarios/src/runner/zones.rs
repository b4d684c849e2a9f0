//! Zonal deployments (a configuration's `zonalConfig`): the zones one at a time, in name order;
//! in each zone only as many instances at once as keep its own minimum of healthy hosts (besides
//! the deployment's); and after each zone a wait (the monitor duration, the first zone's own if
//! set) before the next zone starts.
//!
//! AWS documents the settings, not the order of the zones nor what happens when a zone's minimum
//! cannot be kept: the fake takes zones in name order, refuses a deployment whose zone could not
//! deploy one instance without going below its minimum (as CodeDeploy refuses one whose overall
//! minimum cannot be kept), and stops one whose failures leave a zone unable to go on.

use std::collections::BTreeMap;

use fakeaws::model::codedeploy::ZonalConfig;

use crate::report::{ZoneReport, BELOW_MINIMUM_HEALTHY};

/// The zones of one deployment and how far it got through them.
pub(super) struct Zonal {
    /// Each instance's zone.
    zone_of: BTreeMap<String, String>,
    /// The zones, in the order they are deployed.
    order: Vec<String>,
    /// Instances, minimum healthy and failures, per zone.
    size: BTreeMap<String, usize>,
    min: BTreeMap<String, usize>,
    failed: BTreeMap<String, usize>,
    /// The zone being deployed (an index into `order`).
    current: usize,
    /// Once the current zone is done: when the next may start.
    next_at: Option<i64>,
    first_bake_ms: i64,
    bake_ms: i64,
}

/// What the verdict samples of a zonal deployment's zones while it runs.
#[derive(Default)]
pub(super) struct ZoneWatch {
    /// The fewest serving in each zone so far.
    pub(super) lowest: BTreeMap<String, usize>,
    /// How many served in each zone as the deployment started.
    pub(super) at_start: BTreeMap<String, usize>,
}

impl ZoneWatch {
    /// One look at the zones: members and how many serve, per zone.
    pub(super) fn sample(&mut self, census: &BTreeMap<String, (usize, usize)>) {
        let first = self.at_start.is_empty();
        for (z, (_, serving)) in census {
            if first {
                self.at_start.insert(z.clone(), *serving);
            }
            let low = self.lowest.entry(z.clone()).or_insert(*serving);
            *low = (*low).min(*serving);
        }
    }
}

/// Whether the next instance in CodeDeploy's order may start.
pub(super) enum Admit {
    Go,
    /// Not yet: the zone's instances in flight, or the wait after a zone.
    Wait,
    /// The zone cannot go on: why.
    Stop(String),
}

impl Zonal {
    /// The zones of `targets` (each instance's zone as the world says) under `config`.
    pub(super) fn new(config: ZonalConfig, zone_of: BTreeMap<String, String>) -> Zonal {
        let mut size: BTreeMap<String, usize> = BTreeMap::new();
        for z in zone_of.values() {
            *size.entry(z.clone()).or_default() += 1;
        }
        let per_zone = config.per_zone_minimum();
        let min = size.iter().map(|(z, n)| (z.clone(), per_zone.of(*n))).collect();
        Zonal {
            order: size.keys().cloned().collect(),
            zone_of,
            size,
            min,
            failed: BTreeMap::new(),
            current: 0,
            next_at: None,
            first_bake_ms: config.first_bake_seconds() * 1000,
            bake_ms: config.bake_seconds() * 1000,
        }
    }

    /// `planned` zone by zone, in zone order, each zone's instances in the order given.
    pub(super) fn sort(&self, mut planned: Vec<String>) -> Vec<String> {
        planned.sort_by_key(|id| self.index(id));
        planned
    }

    fn index(&self, id: &str) -> usize {
        self.zone_of
            .get(id)
            .and_then(|z| self.order.iter().position(|o| o == z))
            .unwrap_or(usize::MAX)
    }

    pub(super) fn zone(&self, id: &str) -> &str {
        self.zone_of.get(id).map(String::as_str).unwrap_or("")
    }

    /// A zone whose minimum leaves no instance to take out: CodeDeploy cannot start.
    pub(super) fn impossible(&self) -> Option<String> {
        self.order.iter().find(|z| self.min[*z] >= self.size[*z]).map(|z| {
            format!(
                "minimum healthy hosts per zone {} of {} instances in {z}",
                self.min[z], self.size[z]
            )
        })
    }

    /// Whether `id`, next in line, may start now. `in_flight` are the deployment's instances under
    /// way, `held` those that wait their turn (launching, busy). The second value is a line for
    /// the timeline when a zone ends or begins.
    pub(super) fn admit(&mut self, id: &str, in_flight: &[&str], held: &[String], now: i64) -> (Admit, Option<String>) {
        let mut note = None;
        let zone = self.zone(id).to_string();
        let current = self.order.get(self.current).cloned().unwrap_or_default();
        if zone != current {
            let busy = in_flight
                .iter()
                .copied()
                .chain(held.iter().map(String::as_str))
                .any(|i| self.zone(i) == current);
            if busy {
                return (Admit::Wait, None);
            }
            let next_at = match self.next_at {
                Some(t) => t,
                None => {
                    let wait = if self.current == 0 {
                        self.first_bake_ms
                    } else {
                        self.bake_ms
                    };
                    self.next_at = Some(now + wait);
                    note = Some(format!(
                        "zone {current} done; the next zone starts after {} s",
                        wait / 1000
                    ));
                    now + wait
                }
            };
            if now < next_at {
                return (Admit::Wait, note);
            }
            self.current = self.index(id);
            self.next_at = None;
            note = Some(format!("zone {zone} starts"));
        }
        let here = in_flight.iter().filter(|i| self.zone(i) == zone).count();
        let failed = self.failed.get(&zone).copied().unwrap_or(0);
        let (size, min) = (self.size[&zone], self.min[&zone]);
        if here + failed < size - min {
            return (Admit::Go, note);
        }
        if here == 0 {
            return (
                Admit::Stop(format!(
                    "{failed} of {size} instances in {zone} failed; {BELOW_MINIMUM_HEALTHY} per zone ({min})"
                )),
                note,
            );
        }
        (Admit::Wait, note)
    }

    /// For the floor: each zone's instances of `planned` (in order) with the most that go at once
    /// there (`batch` at most), and the waits between zones in milliseconds.
    pub(super) fn rounds(&self, planned: &[String], batch: usize) -> (Vec<(Vec<String>, usize)>, i64) {
        let zones: Vec<(Vec<String>, usize)> = self
            .order
            .iter()
            .map(|z| {
                let ids: Vec<String> = planned.iter().filter(|id| self.zone(id) == z).cloned().collect();
                (ids, batch.min(self.size[z] - self.min[z]).max(1))
            })
            .collect();
        let waits = match zones.len() {
            0 | 1 => 0,
            n => self.first_bake_ms + self.bake_ms * (n as i64 - 2),
        };
        (zones, waits)
    }

    /// An instance of the deployment failed.
    pub(super) fn failed(&mut self, id: &str) {
        let zone = self.zone(id).to_string();
        *self.failed.entry(zone).or_default() += 1;
    }

    /// The wait after a zone, while it runs.
    pub(super) fn waiting_until(&self, now: i64) -> Option<i64> {
        self.next_at.filter(|t| *t > now)
    }

    /// Each zone's instances and minimum, with the lowest number serving in it (`lowest`, as
    /// sampled while the deployment ran; at most the number serving as it started).
    pub(super) fn report(
        &self,
        lowest: &BTreeMap<String, usize>,
        at_start: &BTreeMap<String, usize>,
    ) -> BTreeMap<String, ZoneReport> {
        self.order
            .iter()
            .map(|z| {
                let serving_at_start = at_start.get(z).copied().unwrap_or(0);
                (
                    z.clone(),
                    ZoneReport {
                        instances: self.size[z],
                        lowest_healthy_capacity: lowest.get(z).copied().unwrap_or(0),
                        required_healthy_capacity: self.min[z].min(serving_at_start),
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use fakeaws::model::codedeploy::{MinimumHealthyHosts, MinimumHealthyHostsType};

    use super::*;

    /// Six instances, two per zone, zones given out of order.
    fn six(per_zone: Option<i64>) -> Zonal {
        let zone_of = [
            ("i-1", "b"),
            ("i-2", "a"),
            ("i-3", "c"),
            ("i-4", "b"),
            ("i-5", "a"),
            ("i-6", "c"),
        ]
        .iter()
        .map(|(i, z)| (i.to_string(), z.to_string()))
        .collect();
        let config = ZonalConfig {
            first_zone_monitor_seconds: Some(600),
            monitor_seconds: Some(300),
            per_zone: per_zone.map(|value| MinimumHealthyHosts {
                kind: MinimumHealthyHostsType::HostCount,
                value,
            }),
        };
        Zonal::new(config, zone_of)
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn zones_go_in_name_order_one_after_the_other_with_their_waits() {
        let mut z = six(Some(1));
        let order = z.sort(ids(&["i-1", "i-2", "i-3", "i-4", "i-5", "i-6"]));
        assert_eq!(order, ids(&["i-2", "i-5", "i-1", "i-4", "i-3", "i-6"]));
        // Zone a: one at a time (2 instances, minimum 1).
        assert!(matches!(z.admit("i-2", &[], &[], 0).0, Admit::Go));
        assert!(matches!(z.admit("i-5", &["i-2"], &[], 0).0, Admit::Wait));
        assert!(matches!(z.admit("i-5", &[], &[], 10_000).0, Admit::Go));
        // Zone b waits for zone a's last instance, then the first zone's 600 s.
        assert!(matches!(z.admit("i-1", &["i-5"], &[], 20_000).0, Admit::Wait));
        let (admit, note) = z.admit("i-1", &[], &[], 30_000);
        assert!(matches!(admit, Admit::Wait));
        assert_eq!(note.as_deref(), Some("zone a done; the next zone starts after 600 s"));
        assert_eq!(z.waiting_until(100_000), Some(630_000), "times in milliseconds");
        let (admit, note) = z.admit("i-1", &[], &[], 630_000);
        assert!(matches!(admit, Admit::Go));
        assert_eq!(note.as_deref(), Some("zone b starts"));
        // A held instance of the zone keeps the next zone waiting.
        assert!(matches!(z.admit("i-3", &[], &ids(&["i-4"]), 700_000).0, Admit::Wait));
        assert!(matches!(z.admit("i-3", &[], &[], 700_000).0, Admit::Wait));
        assert_eq!(
            z.waiting_until(700_000),
            Some(1_000_000),
            "the later zones wait monitorDurationInSeconds"
        );
        // The floor: each zone one at a time, and 600 + 300 s between them.
        let (zones, waits) = z.rounds(&order, 3);
        assert_eq!(waits, 900_000);
        assert_eq!(zones.iter().map(|(_, b)| *b).collect::<Vec<_>>(), vec![1, 1, 1]);
    }

    #[test]
    fn a_zone_that_cannot_keep_its_minimum_stops_or_refuses_the_deployment() {
        let mut z = six(Some(1));
        assert!(matches!(z.admit("i-2", &[], &[], 0).0, Admit::Go));
        z.failed("i-2");
        match z.admit("i-5", &[], &[], 10).0 {
            Admit::Stop(why) => assert_eq!(
                why,
                "1 of 2 instances in a failed; deploying another would leave fewer than the minimum healthy hosts per zone (1)"
            ),
            _ => panic!("stops"),
        }
        assert_eq!(six(Some(1)).impossible(), None);
        assert_eq!(
            six(Some(2)).impossible().as_deref(),
            Some("minimum healthy hosts per zone 2 of 2 instances in a")
        );
        // No minimum per zone: 0 percent, the whole zone at once.
        let (zones, _) = six(None).rounds(&ids(&["i-2", "i-5"]), 6);
        assert_eq!(zones[0].1, 2);
    }
}
