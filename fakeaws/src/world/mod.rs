//! The simulated account and everything that happens in it on the simulated clock.
//!
//! All behaviour is computed lazily: every request first calls [`World::tick`] with the current
//! simulated time, which replays every due event (boot finished, draining over, health check
//! threshold reached, lifecycle hook timed out) in time order, then lets every group reconcile its
//! capacity. The world sits behind one mutex, so each request sees and leaves a consistent state.
//!
//! Rooms by behaviour: this file (identities, ids and ARNs, instances, activities), `balancers`
//! (load balancers, target groups and listeners coming and going), `targets`
//! (registration and health), `groups` (sizes, capacity, quota, processes), `lifecycle` (standby
//! and lifecycle hooks), `schedule` (the timed rules' registry, `tick`, pruning), `health` (health
//! checks and draining, one state machine), `deadlines` (instances' boot and hook timeouts),
//! `reconcile`, `invariants`, `scaling` (policies, alarms, scheduled actions), `rules` (listener
//! rules and ELBv2 tags), `routing` (what a load balancer does with one request), `in_flight` (what
//! becomes of a request still being answered, least outstanding requests), `codedeploy`
//! (CodeDeploy's control plane), `views` (the read-only door for code outside the fake).

mod balancers;
pub mod codedeploy;
mod deadlines;
mod groups;
mod health;
mod in_flight;
pub(crate) use groups::GroupUpdate;
mod invariants;
mod lifecycle;
mod reconcile;
mod refresh;
pub use refresh::RefreshRequest;
mod round_robin;
pub mod routing;
pub mod rules;
pub mod scaling;
mod schedule;
mod slow_start;
mod spot;
mod targets;
mod timed;
mod views;
mod warm_pool;
pub use warm_pool::WarmPoolRequest;

use std::collections::BTreeMap;

use imbl::OrdMap;

use serde::{Deserialize, Serialize};

use crate::clock::iso;
use crate::model::codedeploy as codedeploy_model;
use crate::model::*;
use crate::protocol::error::AwsError;

/// Tunables of the simulation (not AWS settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds from launch until an instance has booted (leaves `Pending`).
    pub boot_s: i64,
    /// Seconds an instance stays `Pending` after ExitStandby while it registers again.
    pub exit_standby_s: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            boot_s: 30,
            exit_standby_s: 2,
        }
    }
}

/// The whole simulated account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) timing: Timing,
    /// Counter behind every generated id, so ids are deterministic.
    pub(crate) seq: u64,
    pub(crate) now_ms: i64,
    pub(crate) instances: OrdMap<String, Instance>,
    pub(crate) groups: OrdMap<String, Group>,
    pub(crate) load_balancers: BTreeMap<String, LoadBalancer>,
    pub(crate) target_groups: OrdMap<String, TargetGroup>,
    pub(crate) listeners: BTreeMap<String, Listener>,
    pub(crate) activities: imbl::Vector<Activity>,
    /// Classic Load Balancers by name.
    #[serde(default)]
    pub(crate) classic: BTreeMap<String, ClassicLb>,
    /// Scaling policies by ARN.
    #[serde(default)]
    pub(crate) policies: BTreeMap<String, scaling::ScalingPolicy>,
    /// Scheduled actions by ARN.
    #[serde(default)]
    pub(crate) scheduled: BTreeMap<String, scaling::ScheduledAction>,
    /// Group -> end of its scaling cooldown.
    #[serde(default)]
    pub(crate) cooldown_until: BTreeMap<String, i64>,
    /// The account's instance quota: requests that would launch past it are refused.
    #[serde(default = "default_max_instances")]
    pub(crate) max_instances: usize,
    /// Group -> what set the capacity change being carried out now (a policy, a scheduled
    /// action): AWS opens the cause of each resulting activity with it.
    #[serde(default)]
    pub(crate) cause_prefix: BTreeMap<String, String>,
    /// Tags of ELBv2 resources (load balancers, target groups, listeners, rules) by ARN.
    #[serde(default)]
    pub(crate) elb_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Instance roles' policies and static identities.
    #[serde(default)]
    pub(crate) identities: Identities,
    /// CodeDeploy's applications, groups, configurations and deployments.
    #[serde(default)]
    pub(crate) codedeploy: codedeploy_model::CodeDeploy,
    /// Instance refreshes, oldest first.
    #[serde(default)]
    pub(crate) refreshes: Vec<InstanceRefresh>,
    /// Spot Instances with an interruption notice -> when EC2 takes them back.
    #[serde(default)]
    pub(crate) interruptions: BTreeMap<String, i64>,
    /// Settles that reached their bound of passes without the world coming to rest: always 0
    /// unless a step reports a change it did not make (which costs a thousand passes a request).
    #[serde(skip)]
    pub(crate) unsettled: u64,
}

/// Runs `f` on every value of `map` (an `imbl` map has no `values_mut`): each is taken for a
/// change, so copied if a rollback copy shares it.
pub(crate) fn each_mut<V: Clone>(map: &mut OrdMap<String, V>, mut f: impl FnMut(&mut V)) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in &keys {
        if let Some(v) = map.get_mut(k) {
            f(v);
        }
    }
}

/// The default per-account instance quota (`--max-instances`).
pub const DEFAULT_MAX_INSTANCES: usize = 5000;

/// The instance role of instances whose group (or world file entry) names none.
pub const DEFAULT_ROLE: &str = "fakeaws-instance-role";

fn default_max_instances() -> usize {
    DEFAULT_MAX_INSTANCES
}

/// Terminated instances leave the world this long after termination (AWS stops listing them).
pub(crate) const TERMINATED_KEPT_MS: i64 = 3_600_000;

/// The activity log keeps this many of the newest activities.
pub(crate) const MAX_ACTIVITIES: usize = 10_000;

/// The prefix of a user suspension reason.
pub(crate) const USER_SUSPEND: &str = "User suspended at";

impl World {
    /// An empty account in `region`, with time starting at `now_ms`.
    pub fn new(region: &str, now_ms: i64) -> Self {
        World {
            region: region.to_string(),
            account_id: "123456789012".to_string(),
            timing: Timing::default(),
            seq: 0,
            now_ms,
            instances: OrdMap::new(),
            groups: OrdMap::new(),
            load_balancers: BTreeMap::new(),
            target_groups: OrdMap::new(),
            listeners: BTreeMap::new(),
            activities: imbl::Vector::new(),
            classic: BTreeMap::new(),
            policies: BTreeMap::new(),
            scheduled: BTreeMap::new(),
            cooldown_until: BTreeMap::new(),
            cause_prefix: BTreeMap::new(),
            max_instances: DEFAULT_MAX_INSTANCES,
            elb_tags: BTreeMap::new(),
            identities: Identities::default(),
            codedeploy: Default::default(),
            refreshes: Vec::new(),
            interruptions: BTreeMap::new(),
            unsettled: 0,
        }
    }

    /// How many settles ended at their bound of passes rather than at rest (see `settle`).
    pub fn unsettled(&self) -> u64 {
        self.unsettled
    }

    /// The next value of a deterministic pseudo-random sequence (splitmix64 over a counter).
    pub fn next_rand(&mut self) -> u64 {
        self.seq += 1;
        let mut z = self.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh id such as a UUID.
    pub fn uuid(&mut self) -> String {
        let a = self.next_rand();
        let b = self.next_rand();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    /// Availability Zones that exist in this region.
    pub fn valid_az(&self, az: &str) -> bool {
        az.strip_prefix(&self.region)
            .is_some_and(|s| s.len() == 1 && ('a'..='f').contains(&s.chars().next().unwrap_or('z')))
    }

    /// An ARN in this account.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{resource}", self.region, self.account_id)
    }

    /// Creates a running instance (outside any group unless `group` is given).
    pub fn create_instance(&mut self, az: &str, group: Option<&str>, launch_template: Option<String>) -> String {
        let id = format!("i-0{:016x}", self.next_rand());
        let n = self.instances.len() as u64 + 1;
        let inst = Instance {
            id: id.clone(),
            availability_zone: az.to_string(),
            private_ip: format!("10.0.{}.{}", (n / 250) % 250, n % 250 + 4),
            group: group.map(str::to_string),
            lifecycle: if group.is_some() {
                Lifecycle::Pending
            } else {
                Lifecycle::InService
            },
            transition: group.map(|_| Transition::Launch),
            healthy: true,
            app_up: true,
            app_up_since_ms: self.now_ms,
            launched_ms: self.now_ms,
            terminated_ms: None,
            until_ms: group.map(|_| self.now_ms + self.timing.boot_s * 1000),
            hook: None,
            launch_template,
            // NewInstancesProtectedFromScaleIn: the group's setting when the instance launched.
            protected_from_scale_in: group
                .and_then(|g| self.groups.get(g))
                .is_some_and(|g| g.new_instances_protected_from_scale_in),
            activity: None,
            for_rebalance: false,
            retain: false,
            role: group
                .and_then(|g| self.groups.get(g))
                .and_then(|g| g.role.clone())
                .unwrap_or_else(|| DEFAULT_ROLE.to_string()),
            spot: SpotNotices::default(),
        };
        self.instances.insert(id.clone(), inst);
        id
    }

    /// Gives a group an instance role: its members and the instances it launches from now on act
    /// as that role.
    pub fn set_group_role(&mut self, group: &str, role: &str) {
        let Some(g) = self.groups.get_mut(group) else { return };
        g.role = Some(role.to_string());
        let members = std::sync::Arc::clone(&g.instances);
        for id in members.iter() {
            self.set_instance_role(id, role);
        }
    }

    /// Gives one instance an instance role.
    pub fn set_instance_role(&mut self, id: &str, role: &str) {
        if let Some(inst) = self.instances.get_mut(id) {
            inst.role = role.to_string();
        }
    }

    /// Sets whether an instance's application answers health checks.
    pub fn set_app(&mut self, id: &str, up: bool) -> Result<(), AwsError> {
        let inst = self.instances.get_mut(id).ok_or_else(|| {
            AwsError::new(
                400,
                "InvalidInstanceID.NotFound",
                format!("The instance ID '{id}' does not exist"),
            )
        })?;
        if inst.app_up == up {
            return Ok(());
        }
        inst.app_up = up;
        let now = self.now_ms;
        if up {
            inst.app_up_since_ms = now;
        }
        each_mut(&mut self.target_groups, |tg| {
            for t in tg.targets.iter_mut().filter(|t| t.id == id) {
                t.streak_ms = now;
            }
        });
        for lb in self.classic.values_mut() {
            for m in lb.members.iter_mut().filter(|m| m.id == id) {
                m.streak_ms = now;
            }
        }
        Ok(())
    }

    pub(crate) fn start_activity(&mut self, group: &str, description: String, cause: String) -> String {
        let id = self.uuid();
        let cause = match self.cause_prefix.get(group) {
            Some(prefix) => format!("{prefix} At {} {cause}", iso_s(self.now_ms)),
            None => format!("At {} {cause}", iso_s(self.now_ms)),
        };
        self.activities.push_back(Activity {
            id: id.clone(),
            group: group.to_string(),
            description,
            cause,
            start_ms: self.now_ms,
            end_ms: None,
            status: ActivityStatus::InProgress,
            progress: 20,
        });
        id
    }

    pub(crate) fn finish_activity(&mut self, id: Option<String>, status: ActivityStatus) {
        let now = self.now_ms;
        if let Some(id) = id {
            if let Some(a) = self.activities.iter_mut().find(|a| a.id == id) {
                if a.end_ms.is_none() {
                    a.end_ms = Some(now);
                    a.status = status;
                    a.progress = 100;
                }
            }
        }
    }

    /// Records an activity that is already complete.
    pub(crate) fn instant_activity(&mut self, group: &str, description: String, cause: String) -> String {
        let id = self.start_activity(group, description, cause);
        self.finish_activity(Some(id.clone()), ActivityStatus::Successful);
        id
    }

    /// Activities of a group, newest first.
    pub fn activities_of(&self, group: &str) -> Vec<&Activity> {
        self.activities.iter().rev().filter(|a| a.group == group).collect()
    }

    /// Records an instant activity (used for group-level changes).
    pub fn note(&mut self, group: &str, description: String, cause: String) -> String {
        self.instant_activity(group, description, cause)
    }

    /// Carries out a capacity change that `cause` explains (a policy, a scheduled action): the
    /// launches and terminations it leads to carry the cause first, as AWS writes them.
    pub(crate) fn settle_because(&mut self, group: &str, cause: String) {
        self.cause_prefix.insert(group.to_string(), cause);
        self.settle();
        self.cause_prefix.remove(group);
    }
}

/// Seconds-precision timestamp for activity causes, as AWS writes them.
pub fn iso_s(ms: i64) -> String {
    let full = iso(ms);
    format!("{}Z", &full[..19])
}
