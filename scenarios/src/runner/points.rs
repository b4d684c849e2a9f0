//! Trigger points: where in a run a fleet event could hit (each lifecycle event an instance starts
//! in each deployment, each lifecycle state an instance reaches, each AWS call its scripts make),
//! recorded when the explorer asks.
//! The explorer turns each into a scenario event's `when`.

use std::collections::BTreeSet;

use fakeaws::model::codedeploy::LifecycleEvent;
use fakeaws::model::Lifecycle;
use serde::Serialize;

use super::Sim;

/// What explore learns from a run: the trigger points it passed (recorded only when asked), and
/// the lifecycle events each instance started in each deployment (also what `starts` triggers
/// look at).
#[derive(Default)]
pub(super) struct Points {
    pub(super) record: bool,
    seen: BTreeSet<TriggerPoint>,
    pub(super) started_events: BTreeSet<(String, LifecycleEvent, usize)>,
}
use crate::schema::When;

/// A point of a run a fleet event can be tied to. Instances by their scenario number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TriggerPoint {
    /// Instance `instance` starts lifecycle event (or engine step) `event` in deployment `deployment`.
    Starts {
        deployment: usize,
        instance: usize,
        event: LifecycleEvent,
    },
    /// Instance `instance` is in lifecycle state `state` during deployment `deployment`.
    Reaches {
        deployment: usize,
        instance: usize,
        state: Lifecycle,
    },
    /// Instance `instance` makes its `nth` AWS call (`action`) in deployment `deployment`.
    Call {
        deployment: usize,
        instance: usize,
        nth: usize,
        action: String,
    },
}

impl TriggerPoint {
    /// The scenario trigger that fires at this point.
    pub fn when(&self) -> When {
        match self {
            TriggerPoint::Starts {
                deployment,
                instance,
                event,
            } => When {
                deployment: Some(*deployment),
                instance: Some(*instance),
                starts: Some(*event),
                ..When::default()
            },
            TriggerPoint::Reaches {
                deployment,
                instance,
                state,
            } => When {
                deployment: Some(*deployment),
                instance: Some(*instance),
                reaches: Some(*state),
                ..When::default()
            },
            TriggerPoint::Call {
                deployment,
                instance,
                nth,
                ..
            } => When {
                deployment: Some(*deployment),
                instance: Some(*instance),
                call: Some(*nth),
                ..When::default()
            },
        }
    }

    /// The deployment the point is in.
    pub fn deployment(&self) -> usize {
        match self {
            TriggerPoint::Starts { deployment, .. }
            | TriggerPoint::Reaches { deployment, .. }
            | TriggerPoint::Call { deployment, .. } => *deployment,
        }
    }

    /// The instance the point is about.
    pub fn instance(&self) -> usize {
        match self {
            TriggerPoint::Starts { instance, .. }
            | TriggerPoint::Reaches { instance, .. }
            | TriggerPoint::Call { instance, .. } => *instance,
        }
    }

    /// A short name, for reports: `d1 i-2 starts BeforeInstall`.
    pub fn describe(&self) -> String {
        match self {
            TriggerPoint::Starts {
                deployment,
                instance,
                event,
            } => format!("d{deployment} i-{instance} starts {event}"),
            TriggerPoint::Reaches {
                deployment,
                instance,
                state,
            } => format!("d{deployment} i-{instance} reaches {}", state.as_str()),
            TriggerPoint::Call {
                deployment,
                instance,
                nth,
                action,
            } => format!("d{deployment} i-{instance} AWS call {nth} ({action})"),
        }
    }
}

impl Sim {
    /// Records the lifecycle state of every known instance (explore runs only: a look per instance).
    pub(super) fn record_states(&mut self) {
        if !self.points.record || self.engine.cur_deployment == 0 {
            return;
        }
        let ids: Vec<(String, String)> = self.labels.iter().map(|(id, l)| (id.clone(), l.clone())).collect();
        for (id, label) in ids {
            let Some(state) = self.fake().rehearsal().lifecycle(&id) else {
                continue;
            };
            if state == Lifecycle::Terminated {
                continue;
            }
            if let Some(n) = number(&label) {
                self.points.seen.insert(TriggerPoint::Reaches {
                    deployment: self.engine.cur_deployment,
                    instance: n,
                    state,
                });
            }
        }
    }

    /// Every point recorded, the lifecycle events started included.
    pub(super) fn trigger_points(&self) -> Vec<TriggerPoint> {
        let mut out = self.points.seen.clone();
        for (id, event, deployment) in &self.points.started_events {
            if let Some(n) = self.labels.get(id).and_then(|l| number(l)) {
                out.insert(TriggerPoint::Starts {
                    deployment: *deployment,
                    instance: n,
                    event: *event,
                });
            }
        }
        out.extend(self.call_points());
        out.into_iter().collect()
    }
}

fn number(label: &str) -> Option<usize> {
    label.strip_prefix("i-")?.parse().ok()
}
