//! The simulated account and everything that happens in it on the simulated clock.
//!
//! All behaviour is computed lazily: every request first calls [`World::tick`] with the current
//! simulated time, which replays every due event (boot finished, draining over, health check
//! threshold reached, lifecycle hook timed out) in time order, then lets every group reconcile its
//! capacity. The world sits behind one mutex, so each request sees and leaves a consistent state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::iso;
use crate::error::AwsError;
use crate::model::*;

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
    pub region: String,
    pub account_id: String,
    pub timing: Timing,
    /// Counter behind every generated id, so ids are deterministic.
    pub seq: u64,
    pub now_ms: i64,
    pub instances: BTreeMap<String, Instance>,
    pub groups: BTreeMap<String, Group>,
    pub load_balancers: BTreeMap<String, LoadBalancer>,
    pub target_groups: BTreeMap<String, TargetGroup>,
    pub listeners: BTreeMap<String, Listener>,
    pub activities: Vec<Activity>,
    /// Classic Load Balancers by name.
    #[serde(default)]
    pub classic: BTreeMap<String, ClassicLb>,
    /// Scaling policies by ARN.
    #[serde(default)]
    pub policies: BTreeMap<String, crate::scaling::ScalingPolicy>,
    /// Scheduled actions by ARN.
    #[serde(default)]
    pub scheduled: BTreeMap<String, crate::scaling::ScheduledAction>,
    /// Group -> end of its scaling cooldown.
    #[serde(default)]
    pub cooldown_until: BTreeMap<String, i64>,
    /// The account's instance quota: requests that would launch past it are refused.
    #[serde(default = "default_max_instances")]
    pub max_instances: usize,
    /// Group -> what set the capacity change being carried out now (a policy, a scheduled
    /// action): AWS opens the cause of each resulting activity with it.
    #[serde(default)]
    pub cause_prefix: BTreeMap<String, String>,
}

/// A target's health as DescribeTargetHealth reports it: state, reason code, description.
pub type Health = (String, Option<&'static str>, Option<&'static str>);

/// The default per-account instance quota (`--max-instances`).
pub const DEFAULT_MAX_INSTANCES: usize = 5000;

fn default_max_instances() -> usize {
    DEFAULT_MAX_INSTANCES
}

/// Terminated instances leave the world this long after termination (AWS stops listing them).
const TERMINATED_KEPT_MS: i64 = 3_600_000;

/// The activity log keeps this many of the newest activities.
const MAX_ACTIVITIES: usize = 10_000;

/// The prefix of a user suspension reason.
const USER_SUSPEND: &str = "User suspended at";

impl World {
    /// An empty account in `region`, with time starting at `now_ms`.
    pub fn new(region: &str, now_ms: i64) -> Self {
        World {
            region: region.to_string(),
            account_id: "123456789012".to_string(),
            timing: Timing::default(),
            seq: 0,
            now_ms,
            instances: BTreeMap::new(),
            groups: BTreeMap::new(),
            load_balancers: BTreeMap::new(),
            target_groups: BTreeMap::new(),
            listeners: BTreeMap::new(),
            activities: Vec::new(),
            classic: BTreeMap::new(),
            policies: BTreeMap::new(),
            scheduled: BTreeMap::new(),
            cooldown_until: BTreeMap::new(),
            cause_prefix: BTreeMap::new(),
            max_instances: DEFAULT_MAX_INSTANCES,
        }
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

    // ----------------------------------------------------------------------------------------
    // Instances

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
            launched_ms: self.now_ms,
            terminated_ms: None,
            until_ms: group.map(|_| self.now_ms + self.timing.boot_s * 1000),
            hook: None,
            launch_template,
            protected_from_scale_in: false,
            activity: None,
            for_rebalance: false,
            role: "fakeaws-instance-role".to_string(),
        };
        self.instances.insert(id.clone(), inst);
        id
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
        for tg in self.target_groups.values_mut() {
            for t in tg.targets.iter_mut().filter(|t| t.id == id) {
                t.streak_ms = now;
            }
        }
        for lb in self.classic.values_mut() {
            for m in lb.members.iter_mut().filter(|m| m.id == id) {
                m.streak_ms = now;
            }
        }
        Ok(())
    }

    // ----------------------------------------------------------------------------------------
    // Activities

    fn start_activity(&mut self, group: &str, description: String, cause: String) -> String {
        let id = self.uuid();
        let cause = match self.cause_prefix.get(group) {
            Some(prefix) => format!("{prefix} At {} {cause}", iso_s(self.now_ms)),
            None => format!("At {} {cause}", iso_s(self.now_ms)),
        };
        self.activities.push(Activity {
            id: id.clone(),
            group: group.to_string(),
            description,
            cause,
            start_ms: self.now_ms,
            end_ms: None,
            status: "InProgress".to_string(),
            progress: 20,
        });
        id
    }

    fn finish_activity(&mut self, id: Option<String>, status: &str) {
        let now = self.now_ms;
        if let Some(id) = id {
            if let Some(a) = self.activities.iter_mut().find(|a| a.id == id) {
                if a.end_ms.is_none() {
                    a.end_ms = Some(now);
                    a.status = status.to_string();
                    a.progress = 100;
                }
            }
        }
    }

    /// Records an activity that is already complete.
    fn instant_activity(&mut self, group: &str, description: String, cause: String) -> String {
        let id = self.start_activity(group, description, cause);
        self.finish_activity(Some(id.clone()), "Successful");
        id
    }

    /// Activities of a group, newest first.
    pub fn activities_of(&self, group: &str) -> Vec<&Activity> {
        self.activities.iter().rev().filter(|a| a.group == group).collect()
    }

    // ----------------------------------------------------------------------------------------
    // Targets

    /// Whether any listener forwards to the target group.
    pub fn tg_in_use(&self, tg_arn: &str) -> bool {
        self.listeners
            .values()
            .any(|l| l.actions.iter().any(|a| a.target_group_arn.as_deref() == Some(tg_arn)))
    }

    /// Load balancers whose listeners forward to the target group.
    pub fn tg_load_balancers(&self, tg_arn: &str) -> Vec<String> {
        let mut lbs: Vec<String> = self
            .listeners
            .values()
            .filter(|l| l.actions.iter().any(|a| a.target_group_arn.as_deref() == Some(tg_arn)))
            .map(|l| l.load_balancer_arn.clone())
            .collect();
        lbs.sort();
        lbs.dedup();
        lbs
    }

    /// Registers (or re-registers) a target.
    pub fn register_target(&mut self, tg_arn: &str, id: &str, port: i64) {
        let now = self.now_ms;
        let Some(tg) = self.target_groups.get_mut(tg_arn) else {
            return;
        };
        if let Some(t) = tg.targets.iter_mut().find(|t| t.id == id && t.port == port) {
            if t.state == TargetState::Draining {
                t.state = TargetState::Initial;
                t.drain_until_ms = None;
                t.registered_ms = now;
                t.streak_ms = now;
            }
            return;
        }
        tg.targets.push(Target {
            id: id.to_string(),
            port,
            state: TargetState::Initial,
            registered_ms: now,
            streak_ms: now,
            drain_until_ms: None,
        });
    }

    /// Starts draining a target (if registered). Returns whether it was registered.
    pub fn deregister_target(&mut self, tg_arn: &str, id: &str, port: Option<i64>) -> bool {
        let now = self.now_ms;
        let Some(tg) = self.target_groups.get_mut(tg_arn) else {
            return false;
        };
        let delay = tg.deregistration_delay_s();
        let mut found = false;
        for t in tg
            .targets
            .iter_mut()
            .filter(|t| t.id == id && port.is_none_or(|p| p == t.port))
        {
            found = true;
            if t.state != TargetState::Draining {
                t.state = TargetState::Draining;
                t.drain_until_ms = Some(now + delay * 1000);
            }
        }
        found
    }

    /// Whether the instance is still registered (or draining) in any target group.
    pub fn in_any_target_group(&self, id: &str) -> bool {
        self.target_groups
            .values()
            .any(|tg| tg.targets.iter().any(|t| t.id == id))
            || self.classic.values().any(|lb| lb.members.iter().any(|m| m.id == id))
    }

    /// Registers an instance with a Classic Load Balancer (again, if it was draining).
    pub fn classic_register(&mut self, lb: &str, id: &str) {
        let now = self.now_ms;
        let Some(lb) = self.classic.get_mut(lb) else { return };
        let fresh = ClassicMember {
            id: id.into(),
            in_service: false,
            checked: false,
            registered_ms: now,
            streak_ms: now,
            draining_until_ms: None,
        };
        if let Some(m) = lb.members.iter_mut().find(|m| m.id == id) {
            if m.draining_until_ms.is_some() {
                *m = fresh;
            }
            return;
        }
        lb.members.push(fresh);
    }

    /// Deregisters an instance from a Classic Load Balancer: connection draining if enabled.
    pub fn classic_deregister(&mut self, lb: &str, id: &str) {
        let now = self.now_ms;
        let Some(lb) = self.classic.get_mut(lb) else { return };
        if lb.draining_enabled && lb.draining_timeout_s > 0 {
            let until = now + lb.draining_timeout_s * 1000;
            for m in lb
                .members
                .iter_mut()
                .filter(|m| m.id == id && m.draining_until_ms.is_none())
            {
                m.draining_until_ms = Some(until);
            }
        } else {
            lb.members.retain(|m| m.id != id);
        }
    }

    fn register_everywhere(&mut self, group: &str, id: &str) {
        let Some(g) = self.groups.get(group) else { return };
        if g.is_suspended("AddToLoadBalancer") {
            return;
        }
        let tgs = g.target_groups.clone();
        for lb in g.load_balancer_names.clone() {
            self.classic_register(&lb, id);
        }
        for tg in tgs {
            let port = self.target_groups.get(&tg).map(|t| t.port).unwrap_or(80);
            self.register_target(&tg, id, port);
        }
    }

    fn deregister_everywhere(&mut self, id: &str) {
        let names: Vec<String> = self.classic.keys().cloned().collect();
        for n in names {
            self.classic_deregister(&n, id);
        }
        let arns: Vec<String> = self.target_groups.keys().cloned().collect();
        for arn in arns {
            self.deregister_target(&arn, id, None);
        }
    }

    /// The health state, reason code and description of a target as DescribeTargetHealth reports it.
    pub fn target_health(&self, tg: &TargetGroup, t: &Target) -> Health {
        if t.state == TargetState::Draining {
            return (
                "draining".into(),
                Some("Target.DeregistrationInProgress"),
                Some("Target deregistration is in progress"),
            );
        }
        if let Some(inst) = self.instances.get(&t.id) {
            if inst.lifecycle == Lifecycle::Terminated {
                return (
                    "unused".into(),
                    Some("Target.InvalidState"),
                    Some("Target is in the stopped state"),
                );
            }
        }
        if !self.tg_in_use(&tg.arn) {
            return (
                "unused".into(),
                Some("Target.NotInUse"),
                Some("Target group is not configured to receive traffic from the load balancer"),
            );
        }
        match t.state {
            TargetState::Healthy => ("healthy".into(), None, None),
            TargetState::Unhealthy => (
                "unhealthy".into(),
                Some("Target.FailedHealthChecks"),
                Some("Health checks failed"),
            ),
            _ if self.now_ms - t.registered_ms < tg.health_check.interval_s * 1000 => (
                "initial".into(),
                Some("Elb.RegistrationInProgress"),
                Some("Target registration is in progress"),
            ),
            _ => (
                "initial".into(),
                Some("Elb.InitialHealthChecking"),
                Some("Initial health checks in progress"),
            ),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Time

    /// The next moment something is due, if anything is.
    fn next_event(&self) -> Option<i64> {
        let mut next: Option<i64> = None;
        let mut consider = |t: i64| next = Some(next.map_or(t, |n: i64| n.min(t)));
        for tg in self.target_groups.values() {
            let in_use = self.tg_in_use(&tg.arn);
            for t in &tg.targets {
                if let Some(d) = t.drain_until_ms {
                    consider(d);
                    continue;
                }
                if !in_use || !tg.health_check.enabled {
                    continue;
                }
                let up = self
                    .instances
                    .get(&t.id)
                    .is_some_and(|i| i.app_up && i.lifecycle != Lifecycle::Terminated);
                let hc = &tg.health_check;
                match (t.state, up) {
                    (TargetState::Initial | TargetState::Unhealthy, true) => {
                        consider(t.streak_ms + hc.healthy_threshold * hc.interval_s * 1000)
                    }
                    (TargetState::Initial | TargetState::Healthy, false) => {
                        consider(t.streak_ms + hc.unhealthy_threshold * hc.interval_s * 1000)
                    }
                    _ => {}
                }
            }
        }
        for lb in self.classic.values() {
            let hc = &lb.health_check;
            for m in &lb.members {
                if let Some(d) = m.draining_until_ms {
                    consider(d);
                    continue;
                }
                let up = self
                    .instances
                    .get(&m.id)
                    .is_some_and(|i| i.app_up && i.lifecycle != Lifecycle::Terminated);
                if up && !m.in_service {
                    consider(m.streak_ms + hc.healthy_threshold * hc.interval_s * 1000);
                } else if !up && (m.in_service || !m.checked) {
                    consider(m.streak_ms + hc.unhealthy_threshold * hc.interval_s * 1000);
                }
            }
        }
        for inst in self.instances.values() {
            if let Some(u) = inst.until_ms {
                consider(u);
            }
        }
        if let Some(t) = self.next_scheduled() {
            consider(t);
        }
        next
    }

    /// Replays everything due up to `now_ms`, in time order.
    pub fn tick(&mut self, now_ms: i64) {
        let now_ms = now_ms.max(self.now_ms);
        // A bound on work per tick protects against a bug turning into a hang.
        for _ in 0..100_000 {
            match self.next_event() {
                Some(t) if t <= now_ms => {
                    self.now_ms = self.now_ms.max(t);
                    self.fire_due();
                    self.settle();
                }
                _ => break,
            }
        }
        self.now_ms = now_ms;
        self.settle();
        self.prune();
    }

    /// Forgets what AWS stops listing: instances an hour after termination, and the oldest
    /// activities beyond [`MAX_ACTIVITIES`]. Keeps the cost of a request independent of history.
    fn prune(&mut self) {
        let now = self.now_ms;
        self.instances.retain(|_, i| {
            !(i.lifecycle == Lifecycle::Terminated && i.terminated_ms.is_some_and(|t| now - t >= TERMINATED_KEPT_MS))
        });
        if self.activities.len() > MAX_ACTIVITIES {
            let excess = self.activities.len() - MAX_ACTIVITIES;
            self.activities.drain(..excess);
        }
    }

    /// Instances that are not terminated (what the quota counts).
    pub fn live_instances(&self) -> usize {
        self.instances
            .values()
            .filter(|i| i.lifecycle != Lifecycle::Terminated)
            .count()
    }

    /// Refuses a change that would need `more` new instances beyond the account's quota.
    pub fn check_quota(&self, more: i64) -> Result<(), AwsError> {
        let live = self.live_instances() as i64;
        let quota = self.max_instances as i64;
        if more > 0 && live.saturating_add(more) > quota {
            return Err(AwsError::new(
                400,
                "LimitExceeded",
                format!(
                    "You have requested more instances ({}) than your current instance limit of {quota} allows (fakeaws --max-instances; {live} running).",
                    live.saturating_add(more)
                ),
            ));
        }
        Ok(())
    }

    /// The instances a group counts as capacity now (pending and in service).
    pub fn capacity_of(&self, group: &str) -> i64 {
        self.groups.get(group).map_or(0, |g| {
            g.instances
                .iter()
                .filter(|id| {
                    self.instances
                        .get(*id)
                        .is_some_and(|i| i.lifecycle.counts_as_capacity())
                })
                .count() as i64
        })
    }

    fn fire_due(&mut self) {
        let now = self.now_ms;
        // Targets.
        let in_use: BTreeMap<String, bool> = self
            .target_groups
            .keys()
            .map(|a| (a.clone(), self.tg_in_use(a)))
            .collect();
        let app: BTreeMap<String, bool> = self
            .instances
            .values()
            .map(|i| (i.id.clone(), i.app_up && i.lifecycle != Lifecycle::Terminated))
            .collect();
        for tg in self.target_groups.values_mut() {
            tg.targets.retain(|t| t.drain_until_ms.is_none_or(|d| d > now));
            if !in_use.get(&tg.arn).copied().unwrap_or(false) || !tg.health_check.enabled {
                continue;
            }
            let hc = tg.health_check.clone();
            for t in tg.targets.iter_mut().filter(|t| t.state != TargetState::Draining) {
                let up = app.get(&t.id).copied().unwrap_or(false);
                if up
                    && t.state != TargetState::Healthy
                    && t.streak_ms + hc.healthy_threshold * hc.interval_s * 1000 <= now
                {
                    t.state = TargetState::Healthy;
                    t.streak_ms = now;
                } else if !up
                    && t.state != TargetState::Unhealthy
                    && t.streak_ms + hc.unhealthy_threshold * hc.interval_s * 1000 <= now
                {
                    t.state = TargetState::Unhealthy;
                    t.streak_ms = now;
                }
            }
        }
        // Classic Load Balancer members.
        for lb in self.classic.values_mut() {
            lb.members.retain(|m| m.draining_until_ms.is_none_or(|d| d > now));
            let hc = lb.health_check.clone();
            for m in lb.members.iter_mut().filter(|m| m.draining_until_ms.is_none()) {
                let up = app.get(&m.id).copied().unwrap_or(false);
                if up && !m.in_service && m.streak_ms + hc.healthy_threshold * hc.interval_s * 1000 <= now {
                    m.in_service = true;
                    m.checked = true;
                    m.streak_ms = now;
                } else if !up
                    && (m.in_service || !m.checked)
                    && m.streak_ms + hc.unhealthy_threshold * hc.interval_s * 1000 <= now
                {
                    m.in_service = false;
                    m.checked = true;
                    m.streak_ms = now;
                }
            }
        }
        // Instances with a deadline.
        let due: Vec<String> = self
            .instances
            .values()
            .filter(|i| i.until_ms.is_some_and(|u| u <= now))
            .map(|i| i.id.clone())
            .collect();
        for id in due {
            self.instance_deadline(&id);
        }
        self.fire_scheduled();
    }

    fn instance_deadline(&mut self, id: &str) {
        let Some(inst) = self.instances.get_mut(id) else { return };
        inst.until_ms = None;
        let group = inst.group.clone().unwrap_or_default();
        match inst.lifecycle {
            Lifecycle::Pending => {
                let launching_hook = self.groups.get(&group).and_then(|g| {
                    g.hooks
                        .values()
                        .find(|h| h.transition == "autoscaling:EC2_INSTANCE_LAUNCHING")
                        .cloned()
                });
                let transition = self.instances.get(id).and_then(|i| i.transition);
                match (transition, launching_hook) {
                    (Some(Transition::Launch), Some(hook)) => {
                        let token = self.uuid();
                        let now = self.now_ms;
                        if let Some(inst) = self.instances.get_mut(id) {
                            inst.lifecycle = Lifecycle::PendingWait;
                            inst.until_ms = Some(now + hook.heartbeat_timeout_s * 1000);
                            inst.hook = Some(HookWait {
                                hook: hook.name.clone(),
                                token,
                                timeout_s: hook.heartbeat_timeout_s,
                                default_result: hook.default_result.clone(),
                                started_ms: now,
                            });
                        }
                    }
                    _ => self.put_in_service(id),
                }
            }
            Lifecycle::PendingWait => {
                let result = inst.hook.as_ref().map(|h| h.default_result.clone()).unwrap_or_default();
                self.lifecycle_result(id, &result);
            }
            Lifecycle::TerminatingWait => {
                if let Some(inst) = self.instances.get_mut(id) {
                    inst.hook = None;
                    inst.lifecycle = Lifecycle::TerminatingProceed;
                }
            }
            _ => {}
        }
    }

    /// Applies a lifecycle action result (CONTINUE / ABANDON) to an instance held by a hook.
    pub fn lifecycle_result(&mut self, id: &str, result: &str) {
        let Some(inst) = self.instances.get_mut(id) else { return };
        inst.hook = None;
        inst.until_ms = None;
        match inst.lifecycle {
            Lifecycle::PendingWait if result == "ABANDON" => {
                inst.lifecycle = Lifecycle::Terminating;
                let act = inst.activity.take();
                self.finish_activity(act, "Cancelled");
                let group = self.instances.get(id).and_then(|i| i.group.clone()).unwrap_or_default();
                let a = self.start_activity(
                    &group,
                    format!("Terminating EC2 instance: {id}"),
                    format!("an instance was taken out of service in response to a launch lifecycle hook ({result})."),
                );
                if let Some(inst) = self.instances.get_mut(id) {
                    inst.activity = Some(a);
                }
            }
            Lifecycle::PendingWait => {
                inst.lifecycle = Lifecycle::PendingProceed;
                self.put_in_service(id);
            }
            Lifecycle::TerminatingWait => inst.lifecycle = Lifecycle::TerminatingProceed,
            _ => {}
        }
    }

    fn put_in_service(&mut self, id: &str) {
        let Some(group) = self.instances.get(id).and_then(|i| i.group.clone()) else {
            return;
        };
        self.register_everywhere(&group, id);
        if let Some(inst) = self.instances.get_mut(id) {
            inst.lifecycle = Lifecycle::InService;
            inst.transition = None;
            inst.until_ms = None;
            let act = inst.activity.take();
            self.finish_activity(act, "Successful");
        }
    }

    /// Moves states that depend on conditions rather than deadlines, then reconciles groups.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut changed = false;
            let ids: Vec<String> = self.instances.keys().cloned().collect();
            for id in &ids {
                changed |= self.settle_instance(id);
            }
            let names: Vec<String> = self.groups.keys().cloned().collect();
            for name in &names {
                changed |= self.reconcile(name);
            }
            if !changed {
                break;
            }
        }
    }

    fn settle_instance(&mut self, id: &str) -> bool {
        let registered = self.in_any_target_group(id);
        let Some(inst) = self.instances.get_mut(id) else {
            return false;
        };
        match inst.lifecycle {
            Lifecycle::EnteringStandby if !registered => {
                inst.lifecycle = Lifecycle::Standby;
                let act = inst.activity.take();
                self.finish_activity(act, "Successful");
                true
            }
            Lifecycle::Terminating if !registered => {
                let group = inst.group.clone().unwrap_or_default();
                let hook = self.groups.get(&group).and_then(|g| {
                    g.hooks
                        .values()
                        .find(|h| h.transition == "autoscaling:EC2_INSTANCE_TERMINATING")
                        .cloned()
                });
                let now = self.now_ms;
                let token = hook.as_ref().map(|_| self.uuid());
                let Some(inst) = self.instances.get_mut(id) else {
                    return false;
                };
                match (hook, token) {
                    (Some(hook), Some(token)) => {
                        inst.lifecycle = Lifecycle::TerminatingWait;
                        inst.until_ms = Some(now + hook.heartbeat_timeout_s * 1000);
                        inst.hook = Some(HookWait {
                            hook: hook.name,
                            token,
                            timeout_s: hook.heartbeat_timeout_s,
                            default_result: hook.default_result,
                            started_ms: now,
                        });
                    }
                    _ => inst.lifecycle = Lifecycle::TerminatingProceed,
                }
                true
            }
            Lifecycle::TerminatingProceed => {
                inst.lifecycle = Lifecycle::Terminated;
                inst.terminated_ms = Some(self.now_ms);
                inst.app_up = false;
                let act = inst.activity.take();
                let group = inst.group.clone();
                self.finish_activity(act, "Successful");
                if let Some(g) = group.and_then(|g| self.groups.get_mut(&g)) {
                    g.instances.retain(|i| i != id);
                }
                true
            }
            _ => false,
        }
    }

    /// Brings a group's capacity to its desired capacity, replaces unhealthy instances and evens
    /// out Availability Zones, as far as its suspended processes allow. Returns whether anything changed.
    fn reconcile(&mut self, name: &str) -> bool {
        let Some(g) = self.groups.get(name).cloned() else {
            return false;
        };
        let mut changed = false;
        let now = self.now_ms;

        // Health checks: ELB health marks instances unhealthy after the grace period.
        if g.health_check_type == "ELB" && !g.is_suspended("HealthCheck") {
            for id in &g.instances {
                let Some(inst) = self.instances.get(id) else { continue };
                if inst.lifecycle != Lifecycle::InService || !inst.healthy {
                    continue;
                }
                if now < inst.launched_ms + g.health_check_grace_period_s * 1000 {
                    continue;
                }
                let failing = g.target_groups.iter().any(|arn| {
                    self.target_groups.get(arn).is_some_and(|tg| {
                        tg.targets
                            .iter()
                            .any(|t| t.id == *id && t.state == TargetState::Unhealthy)
                    })
                });
                if failing {
                    if let Some(inst) = self.instances.get_mut(id) {
                        inst.healthy = false;
                        changed = true;
                    }
                }
            }
        }
        // ReplaceUnhealthy: terminate unhealthy in-service instances; the launch below replaces them.
        if !g.is_suspended("ReplaceUnhealthy") {
            let sick: Vec<String> = g
                .instances
                .iter()
                .filter(|id| {
                    self.instances
                        .get(*id)
                        .is_some_and(|i| !i.healthy && i.lifecycle.counts_as_capacity())
                })
                .cloned()
                .collect();
            for id in sick {
                let cause = format!(
                    "an instance was taken out of service in response to {} health check indicating it has been unhealthy.",
                    if g.health_check_type == "ELB" { "an ELB system" } else { "a user" }
                );
                self.begin_terminate(&id, cause);
                changed = true;
            }
        }

        let members: Vec<Instance> = g
            .instances
            .iter()
            .filter_map(|id| self.instances.get(id))
            .cloned()
            .collect();
        let capacity: Vec<&Instance> = members.iter().filter(|i| i.lifecycle.counts_as_capacity()).collect();
        let cap = capacity.len() as i64;
        let rebalancing = capacity
            .iter()
            .any(|i| i.for_rebalance && i.lifecycle != Lifecycle::InService);

        if cap < g.desired && !g.is_suspended("Launch") {
            let mut counts = az_counts(&g, &capacity);
            for k in 0..(g.desired - cap) {
                let az = least_loaded(&g, &counts);
                *counts.entry(az.clone()).or_default() += 1;
                let id = self.create_instance(
                    &az,
                    Some(name),
                    g.launch_template.clone().or(g.launch_configuration.clone()),
                );
                let act = self.start_activity(
                    name,
                    format!("Launching a new EC2 instance: {id}"),
                    format!(
                        "an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {} to {}.",
                        cap + k,
                        cap + k + 1
                    ),
                );
                if let Some(gm) = self.groups.get_mut(name) {
                    gm.instances.push(id.clone());
                }
                if let Some(inst) = self.instances.get_mut(&id) {
                    inst.activity = Some(act);
                    inst.protected_from_scale_in = g.new_instances_protected_from_scale_in;
                }
            }
            return true;
        }

        if cap > g.desired && !g.is_suspended("Terminate") && !rebalancing {
            let mut pool: Vec<&Instance> = capacity
                .iter()
                .copied()
                .filter(|i| !i.protected_from_scale_in)
                .collect();
            for k in 0..(cap - g.desired) {
                let counts = az_counts(&g, &pool);
                let Some(victim) = pick_victim(&g, &pool, &counts) else {
                    break;
                };
                let victim_id = victim.id.clone();
                pool.retain(|i| i.id != victim_id);
                let cause = if members.iter().any(|i| i.for_rebalance) {
                    format!("an instance was taken out of service in response to an Availability Zone rebalancing operation, shrinking the capacity from {} to {}.", cap - k, cap - k - 1)
                } else {
                    format!(
                        "an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from {} to {}.",
                        cap - k,
                        cap - k - 1
                    )
                };
                self.begin_terminate(&victim_id, cause);
            }
            for i in &members {
                if let Some(inst) = self.instances.get_mut(&i.id) {
                    inst.for_rebalance = false;
                }
            }
            return true;
        }

        // AZRebalance: only in a calm group.
        let calm = members
            .iter()
            .all(|i| matches!(i.lifecycle, Lifecycle::InService | Lifecycle::Standby));
        if calm
            && cap == g.desired
            && !g.is_suspended("AZRebalance")
            && !g.is_suspended("Launch")
            && !g.is_suspended("Terminate")
            && g.desired < g.max + (g.max / 10).max(1)
        {
            let counts = az_counts(&g, &capacity);
            let most = counts.values().copied().max().unwrap_or(0);
            let least = g
                .availability_zones
                .iter()
                .map(|az| counts.get(az).copied().unwrap_or(0))
                .min()
                .unwrap_or(0);
            let outside = capacity
                .iter()
                .any(|i| !g.availability_zones.contains(&i.availability_zone));
            if most - least > 1 || (outside && cap > 0) {
                let az = least_loaded(&g, &counts);
                let id = self.create_instance(
                    &az,
                    Some(name),
                    g.launch_template.clone().or(g.launch_configuration.clone()),
                );
                let act = self.start_activity(
                    name,
                    format!("Launching a new EC2 instance: {id}"),
                    "an instance was launched in response to an unbalanced group: Availability Zone rebalancing (AZRebalance) is starting a new instance before terminating one.".to_string(),
                );
                if let Some(gm) = self.groups.get_mut(name) {
                    gm.instances.push(id.clone());
                }
                if let Some(inst) = self.instances.get_mut(&id) {
                    inst.activity = Some(act);
                    inst.for_rebalance = true;
                }
                changed = true;
            }
        }
        changed
    }

    /// Starts terminating a group member: it drains out of its target groups, then goes away.
    pub fn begin_terminate(&mut self, id: &str, cause: String) {
        let Some(inst) = self.instances.get(id) else { return };
        if inst.lifecycle.is_leaving() {
            return;
        }
        let group = inst.group.clone().unwrap_or_default();
        let old = inst.activity.clone();
        self.finish_activity(old, "Cancelled");
        let act = self.start_activity(&group, format!("Terminating EC2 instance: {id}"), cause);
        self.deregister_everywhere(id);
        if let Some(inst) = self.instances.get_mut(id) {
            inst.lifecycle = Lifecycle::Terminating;
            inst.until_ms = None;
            inst.hook = None;
            inst.activity = Some(act);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Auto Scaling operations with AWS semantics

    /// The group, or AWS's error for a missing one.
    pub fn group(&self, name: &str) -> Result<&Group, AwsError> {
        self.groups
            .get(name)
            .ok_or_else(|| AwsError::validation(format!("AutoScalingGroup name not found - {name}")))
    }

    /// Mutable group access with AWS's error for a missing one.
    pub fn group_mut(&mut self, name: &str) -> Result<&mut Group, AwsError> {
        self.groups
            .get_mut(name)
            .ok_or_else(|| AwsError::validation(format!("AutoScalingGroup name not found - {name}")))
    }

    /// EnterStandby for the given instances.
    pub fn enter_standby(&mut self, group: &str, ids: &[String], decrement: bool) -> Result<Vec<String>, AwsError> {
        let g = self.group(group)?.clone();
        for id in ids {
            let member = self.instances.get(id).filter(|i| i.group.as_deref() == Some(group));
            match member {
                None => {
                    return Err(AwsError::validation(format!(
                        "The instance {id} is not part of Auto Scaling group {group}."
                    )))
                }
                Some(i) if i.lifecycle != Lifecycle::InService => {
                    return Err(AwsError::validation(format!("The instance {id} is not in InService.")))
                }
                _ => {}
            }
        }
        let n = ids.len() as i64;
        if decrement && g.desired - n < g.min {
            return Err(AwsError::validation(format!(
                "AutoScalingGroup {group} has min-size={}, max-size={}, and desired-size={}. To place into standby {n} instances, please update the AutoScalingGroup sizes appropriately.",
                g.min, g.max, g.desired
            )));
        }
        let cap_before = g
            .instances
            .iter()
            .filter(|id| {
                self.instances
                    .get(*id)
                    .is_some_and(|i| i.lifecycle.counts_as_capacity())
            })
            .count() as i64;
        if decrement {
            self.group_mut(group)?.desired -= n;
        }
        let mut acts = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            let k = k as i64;
            let cause = if decrement {
                format!(
                    "an instance was moved to standby in response to a user request, shrinking the capacity from {} to {}.",
                    cap_before - k,
                    cap_before - k - 1
                )
            } else {
                "an instance was moved to standby in response to a user request.".to_string()
            };
            let act = self.start_activity(group, format!("Moving EC2 instance to Standby: {id}"), cause);
            self.deregister_everywhere(id);
            if let Some(inst) = self.instances.get_mut(id) {
                inst.lifecycle = Lifecycle::EnteringStandby;
                inst.activity = Some(act.clone());
            }
            acts.push(act);
        }
        self.settle();
        Ok(acts)
    }

    /// ExitStandby for the given instances.
    pub fn exit_standby(&mut self, group: &str, ids: &[String]) -> Result<Vec<String>, AwsError> {
        let g = self.group(group)?.clone();
        for id in ids {
            let member = self.instances.get(id).filter(|i| i.group.as_deref() == Some(group));
            match member {
                None => {
                    return Err(AwsError::validation(format!(
                        "The instance {id} is not part of Auto Scaling group {group}."
                    )))
                }
                Some(i) if i.lifecycle != Lifecycle::Standby => {
                    return Err(AwsError::validation(format!("The instance {id} is not in Standby.")))
                }
                _ => {}
            }
        }
        let n = ids.len() as i64;
        if g.desired + n > g.max {
            return Err(AwsError::validation(format!(
                "Cannot move instances out of Standby: the desired capacity {} would exceed the group's max size {} for AutoScalingGroup {group}.",
                g.desired + n,
                g.max
            )));
        }
        self.group_mut(group)?.desired += n;
        let mut acts = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            let k = k as i64;
            let act = self.start_activity(
                group,
                format!("Moving EC2 instance out of Standby: {id}"),
                format!(
                    "an instance was removed from standby in response to a user request, increasing the capacity from {} to {}.",
                    g.desired + k,
                    g.desired + k + 1
                ),
            );
            let until = self.now_ms + self.timing.exit_standby_s * 1000;
            if let Some(inst) = self.instances.get_mut(id) {
                inst.lifecycle = Lifecycle::Pending;
                inst.transition = Some(Transition::ExitStandby);
                inst.until_ms = Some(until);
                inst.activity = Some(act.clone());
            }
            acts.push(act);
        }
        self.settle();
        Ok(acts)
    }

    /// Checks min <= desired <= max with AWS's messages.
    pub fn check_sizes(min: i64, max: i64, desired: i64) -> Result<(), AwsError> {
        if min < 0 || max < 0 || desired < 0 {
            return Err(AwsError::validation("Group sizes must not be negative."));
        }
        if max < min {
            return Err(AwsError::validation(format!(
                "Max bound, {max}, must be greater than or equal to min bound, {min}"
            )));
        }
        if desired < min || desired > max {
            return Err(AwsError::validation(format!(
                "Desired capacity:{desired} must be between the specified min size:{min} and max size:{max}"
            )));
        }
        Ok(())
    }

    /// SetDesiredCapacity.
    pub fn set_desired(&mut self, group: &str, desired: i64) -> Result<(), AwsError> {
        let more = desired - self.capacity_of(group);
        let g = self.group(group)?;
        if desired <= g.max && desired >= g.min {
            self.check_quota(more)?;
        }
        let g = self.group_mut(group)?;
        if desired > g.max {
            return Err(AwsError::validation(format!(
                "New SetDesiredCapacity value {desired} is above max value {} for the AutoScalingGroup.",
                g.max
            )));
        }
        if desired < g.min {
            return Err(AwsError::validation(format!(
                "New SetDesiredCapacity value {desired} is below min value {} for the AutoScalingGroup.",
                g.min
            )));
        }
        g.desired = desired;
        self.settle();
        Ok(())
    }

    /// TerminateInstanceInAutoScalingGroup.
    pub fn terminate_in_group(&mut self, id: &str, decrement: bool) -> Result<String, AwsError> {
        let inst = self.instances.get(id).filter(|i| i.group.is_some()).ok_or_else(|| {
            AwsError::validation(format!(
                "Instance Id not found - No managed instance found for instance ID: {id}"
            ))
        })?;
        let group = inst.group.clone().unwrap_or_default();
        let counts = inst.lifecycle.counts_as_capacity();
        if inst.lifecycle.is_leaving() {
            return Err(AwsError::validation(format!(
                "The instance {id} is already terminating."
            )));
        }
        let g = self.group(&group)?.clone();
        if decrement && counts && g.desired - 1 < g.min {
            return Err(AwsError::validation(format!(
                "Currently, desiredSize equals minSize ({}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.",
                g.min
            )));
        }
        if decrement && counts {
            self.group_mut(&group)?.desired -= 1;
        }
        let cause = if decrement {
            format!(
                "instance {id} was taken out of service in response to a user request, shrinking the capacity from {} to {}.",
                g.desired,
                g.desired - 1
            )
        } else {
            format!("instance {id} was taken out of service in response to a user request.")
        };
        self.begin_terminate(id, cause);
        let act = self
            .instances
            .get(id)
            .and_then(|i| i.activity.clone())
            .unwrap_or_default();
        self.settle();
        Ok(act)
    }

    /// Suspends processes (all when `names` is empty).
    pub fn suspend(&mut self, group: &str, names: &[String]) -> Result<(), AwsError> {
        let names = check_processes(names)?;
        let now = iso_s(self.now_ms);
        let g = self.group_mut(group)?;
        for n in names {
            g.suspended.entry(n).or_insert_with(|| format!("{USER_SUSPEND} {now}"));
        }
        Ok(())
    }

    /// Resumes processes (all when `names` is empty).
    pub fn resume(&mut self, group: &str, names: &[String]) -> Result<(), AwsError> {
        let names = check_processes(names)?;
        let g = self.group_mut(group)?;
        for n in names {
            g.suspended.remove(&n);
        }
        self.settle();
        Ok(())
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

    /// Deletes a group; with `force`, its instances are terminated first.
    pub fn delete_group(&mut self, name: &str, force: bool) -> Result<(), AwsError> {
        let g = self.group(name)?.clone();
        let live: Vec<String> = g
            .instances
            .iter()
            .filter(|id| {
                self.instances
                    .get(*id)
                    .is_some_and(|i| i.lifecycle != Lifecycle::Terminated)
            })
            .cloned()
            .collect();
        if !live.is_empty() && !force {
            return Err(AwsError::new(
                400,
                "ResourceInUse",
                "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.",
            ));
        }
        for id in &live {
            self.deregister_everywhere(id);
            if let Some(inst) = self.instances.get_mut(id) {
                inst.lifecycle = Lifecycle::Terminated;
                inst.terminated_ms = Some(self.now_ms);
                inst.app_up = false;
                inst.until_ms = None;
            }
        }
        self.groups.remove(name);
        // Its policies and scheduled actions go with it, as in AWS.
        self.policies.retain(|_, p| p.group != name);
        self.scheduled.retain(|_, a| a.group != name);
        self.cooldown_until.remove(name);
        Ok(())
    }

    /// The instance held by a lifecycle hook of `group`, found by token or instance id.
    pub fn find_hook_wait(
        &self,
        group: &str,
        hook: &str,
        token: Option<&str>,
        id: Option<&str>,
    ) -> Result<String, AwsError> {
        self.group(group)?;
        let found = self.instances.values().find(|i| {
            i.group.as_deref() == Some(group)
                && i.hook.as_ref().is_some_and(|h| {
                    h.hook == hook && (token.is_some_and(|t| t == h.token) || id.is_some_and(|x| x == i.id))
                })
        });
        match found {
            Some(i) => Ok(i.id.clone()),
            None => Err(AwsError::validation(match (token, id) {
                (_, Some(id)) => format!("No active Lifecycle Action found with instance ID {id}"),
                (Some(t), _) => format!("No active Lifecycle Action found with token {t}"),
                _ => "Either LifecycleActionToken or InstanceId must be specified.".to_string(),
            })),
        }
    }

    /// RecordLifecycleActionHeartbeat: restarts the hook's timeout.
    pub fn heartbeat(&mut self, id: &str) {
        let now = self.now_ms;
        if let Some(inst) = self.instances.get_mut(id) {
            if let Some(h) = &inst.hook {
                inst.until_ms = Some(now + h.timeout_s * 1000);
            }
        }
    }

    /// Invariants that must hold after every request.
    pub fn check_invariants(&self) -> Result<(), String> {
        for g in self.groups.values() {
            if !(g.min <= g.desired && g.desired <= g.max) {
                return Err(format!(
                    "group {}: min {} desired {} max {}",
                    g.name, g.min, g.desired, g.max
                ));
            }
            for id in &g.instances {
                match self.instances.get(id) {
                    Some(i) if i.group.as_deref() == Some(g.name.as_str()) => {}
                    _ => return Err(format!("group {} lists {id}, which does not belong to it", g.name)),
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for g in self.groups.values() {
            for id in &g.instances {
                if !seen.insert(id) {
                    return Err(format!("instance {id} is in two groups"));
                }
            }
        }
        Ok(())
    }

    /// Attaches target groups to a group and registers its in-service instances.
    pub fn attach_target_groups(&mut self, group: &str, arns: &[String]) -> Result<(), AwsError> {
        for arn in arns {
            if !self.target_groups.contains_key(arn) {
                return Err(AwsError::validation(format!("Target group not found: {arn}")));
            }
        }
        let g = self.group_mut(group)?;
        for arn in arns {
            if !g.target_groups.contains(arn) {
                g.target_groups.push(arn.clone());
            }
        }
        let members = g.instances.clone();
        let suspended = g.is_suspended("AddToLoadBalancer");
        for id in members {
            if self
                .instances
                .get(&id)
                .is_some_and(|i| i.lifecycle == Lifecycle::InService)
                && !suspended
            {
                for arn in arns {
                    let port = self.target_groups.get(arn).map(|t| t.port).unwrap_or(80);
                    self.register_target(arn, &id, port);
                }
            }
        }
        Ok(())
    }

    /// Detaches target groups from a group; its instances drain out of them.
    pub fn detach_target_groups(&mut self, group: &str, arns: &[String]) -> Result<(), AwsError> {
        let g = self.group_mut(group)?;
        g.target_groups.retain(|a| !arns.contains(a));
        let members = g.instances.clone();
        for id in members {
            for arn in arns {
                self.deregister_target(arn, &id, None);
            }
        }
        Ok(())
    }
}

fn check_processes(names: &[String]) -> Result<Vec<String>, AwsError> {
    if names.is_empty() {
        return Ok(PROCESSES.iter().map(|s| s.to_string()).collect());
    }
    for n in names {
        if !PROCESSES.contains(&n.as_str()) {
            return Err(AwsError::validation(format!(
                "Invalid scaling process name: {n}. Valid names are {}.",
                PROCESSES.join(", ")
            )));
        }
    }
    Ok(names.to_vec())
}

fn az_counts(g: &Group, instances: &[&Instance]) -> BTreeMap<String, i64> {
    let mut counts: BTreeMap<String, i64> = g.availability_zones.iter().map(|az| (az.clone(), 0)).collect();
    for i in instances {
        *counts.entry(i.availability_zone.clone()).or_default() += 1;
    }
    counts
}

fn least_loaded(g: &Group, counts: &BTreeMap<String, i64>) -> String {
    g.availability_zones
        .iter()
        .min_by_key(|az| counts.get(*az).copied().unwrap_or(0))
        .cloned()
        .unwrap_or_default()
}

/// The default termination policy: an instance outside the group's zones first, then the most
/// loaded zone; within it, the oldest instance (a deterministic stand-in for "oldest launch
/// template, then closest to the next billing hour").
fn pick_victim<'a>(g: &Group, pool: &[&'a Instance], counts: &BTreeMap<String, i64>) -> Option<&'a Instance> {
    if let Some(i) = pool
        .iter()
        .find(|i| !g.availability_zones.contains(&i.availability_zone))
    {
        return Some(i);
    }
    let most = counts.values().copied().max()?;
    let az = g
        .availability_zones
        .iter()
        .find(|az| counts.get(*az).copied().unwrap_or(0) == most)?;
    pool.iter()
        .filter(|i| &i.availability_zone == az)
        .min_by_key(|i| (i.launched_ms, i.id.clone()))
        .copied()
}

/// Seconds-precision timestamp for activity causes, as AWS writes them.
pub fn iso_s(ms: i64) -> String {
    let full = iso(ms);
    format!("{}Z", &full[..19])
}
