//! The Boundary for rehearsal drivers (the scenario runner): everything a driver may do to the
//! fake besides the AWS APIs, in one small API. The clock and faults are [`Fake::clock`] and
//! [`Fake::inject`]; this adds building the world from a spec, CodeDeploy's control plane as the
//! deployment engine drives it (deployment groups with their launch hook, deployments started,
//! lifecycle events and statuses reported, deployments created through the API picked up), applications up and down, lifecycle action results,
//! the scenario events (scaling, zones, terminations, alarms, scheduled actions) and read-only
//! views. Every call brings the world to the current simulated time first, as a request does.

use std::collections::BTreeMap;

use crate::model::codedeploy::{
    ComputePlatform, Deployment, DeploymentConfig, DeploymentGroup, DeploymentStatus, Diagnostics, ErrorInformation,
    InstanceStatus, LifecycleEvent, LifecycleEventStatus, MinimumHealthyHosts, ZonalConfig,
};
use crate::model::{Lifecycle, Transition};
use crate::protocol::error::AwsError;
use crate::spec::WorldSpec;
use crate::state::Fake;
use crate::world::World;

mod serving;
use serving::{serves, serving_ids};

pub use crate::model::LifecycleResult;
// The types the rehearsal API takes and returns, and CodeDeploy's names a driver needs.
pub use crate::world::codedeploy::{
    describe_revision, launch_hook_name, termination_hook_name, DeploymentInput, GroupInput,
};
pub use crate::world::routing::{Entrance, Routed};
pub use crate::world::RefreshRequest;

/// A rehearsal driver's handle on a fake.
pub struct Rehearsal<'a> {
    fake: &'a Fake,
}

impl Fake {
    /// The rehearsal API of this fake.
    pub fn rehearsal(&self) -> Rehearsal<'_> {
        Rehearsal { fake: self }
    }
}

impl Rehearsal<'_> {
    /// Builds the world a spec describes (through the API handlers); returns the stand-alone
    /// instances it created.
    pub fn apply(&self, spec: &WorldSpec) -> Result<Vec<String>, AwsError> {
        crate::spec::apply(&mut self.fake.world(), spec)
    }

    /// What CodeDeploy does when a deployment group names an Auto Scaling group: a launch
    /// lifecycle hook (PutLifecycleHook, default result ABANDON).
    pub fn put_launch_hook(&self, group: &str, name: &str, heartbeat_s: i64) -> Result<(), AwsError> {
        let hook = crate::services::autoscaling::inputs::Hook {
            group: group.to_string(),
            name: name.to_string(),
            transition: Some(crate::model::LifecycleTransition::Launching),
            heartbeat_timeout: Some(heartbeat_s),
            default_result: Some(LifecycleResult::Abandon),
            ..Default::default()
        };
        crate::services::autoscaling::put_hook(&mut self.fake.world(), &hook)
    }

    /// Every member of a group, oldest first (terminating ones included).
    pub fn group_members(&self, group: &str) -> Vec<String> {
        self.fake
            .world()
            .groups
            .get(group)
            .map(|g| g.instances.to_vec())
            .unwrap_or_default()
    }

    /// The instances of a group's warm pool, oldest first.
    pub fn warm_pool(&self, group: &str) -> Vec<String> {
        self.fake
            .world_read()
            .groups
            .get(group)
            .map(|g| g.warm.clone())
            .unwrap_or_default()
    }

    /// The instances a deployment targets now: members of `groups` that are not on their way out,
    /// oldest first, then (with `standalone`) the instances outside any group.
    pub fn members(&self, groups: &[String], standalone: bool) -> Vec<String> {
        members_of(&self.fake.world_read(), groups, standalone)
    }

    /// [`Rehearsal::members`] and how many of them serve, under one lock.
    pub fn census(&self, groups: &[String], standalone: bool) -> (Vec<String>, usize) {
        let w = self.fake.world_read();
        let members = members_of(&w, groups, standalone);
        let serves = serving_ids(&w);
        let serving = members.iter().filter(|id| serves.contains(id.as_str())).count();
        (members, serving)
    }

    /// [`Rehearsal::census`] zone by zone: each zone's members and how many of them serve.
    pub fn zone_census(&self, groups: &[String], standalone: bool) -> BTreeMap<String, (usize, usize)> {
        let w = self.fake.world_read();
        let serves = serving_ids(&w);
        let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for id in members_of(&w, groups, standalone) {
            let Some(i) = w.instances.get(&id) else { continue };
            let e = out.entry(i.availability_zone.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(serves.contains(id.as_str()));
        }
        out
    }

    /// StartInstanceRefresh, as a scenario event or a test starts one.
    pub fn start_instance_refresh(&self, r: RefreshRequest) -> Result<String, AwsError> {
        self.fake.world().start_instance_refresh(r)
    }

    /// The status of a group's newest instance refresh, if it has had one.
    pub fn refresh_status(&self, group: &str) -> Option<crate::model::RefreshStatus> {
        self.fake
            .world_read()
            .instance_refreshes(group)
            .first()
            .map(|r| r.status)
    }

    /// An instance's Availability Zone (`None`: no such instance).
    pub fn zone_of(&self, id: &str) -> Option<String> {
        self.fake
            .world_read()
            .instances
            .get(id)
            .map(|i| i.availability_zone.clone())
    }

    /// An instance's lifecycle state (`None`: no such instance).
    pub fn lifecycle(&self, id: &str) -> Option<Lifecycle> {
        self.fake.world_read().instances.get(id).map(|i| i.lifecycle)
    }

    /// Which of `ids` are protected from scale in (and still in the world).
    pub fn protected(&self, ids: &[String]) -> Vec<String> {
        let w = self.fake.world_read();
        ids.iter()
            .filter(|id| w.instances.get(id.as_str()).is_some_and(|i| i.protected_from_scale_in))
            .cloned()
            .collect()
    }

    /// What each instance is doing now, for a timeline: its lifecycle state, or `Draining` while
    /// it is in service but a target of it drains; `None` once it has left the world.
    pub fn lane_states(&self, ids: &[&str]) -> Vec<Option<String>> {
        let w = self.fake.world_read();
        // Who drains, found in one pass over the registrations.
        let draining: std::collections::HashSet<&str> = w
            .target_groups
            .values()
            .flat_map(|t| t.targets.iter())
            .filter(|t| t.state == crate::model::TargetState::Draining || t.drain_until_ms.is_some())
            .map(|t| t.id.as_str())
            .chain(
                w.classic
                    .values()
                    .flat_map(|c| c.members.iter())
                    .filter(|m| m.draining_until_ms.is_some())
                    .map(|m| m.id.as_str()),
            )
            .collect();
        ids.iter()
            .map(|id| {
                let inst = w.instances.get(*id)?;
                Some(if draining.contains(id) && inst.lifecycle == Lifecycle::InService {
                    "Draining".to_string()
                } else {
                    inst.lifecycle.as_str().to_string()
                })
            })
            .collect()
    }

    /// Each instance's health in every load balancer it is registered with, for a timeline:
    /// (target group name, or `classic:NAME`; the state DescribeTargetHealth or Classic's
    /// DescribeInstanceHealth would give: `healthy`, `draining`, `InService`, ...). Several
    /// registrations of one instance in a target group (ports) give its first.
    pub fn health_lanes(&self, ids: &[&str]) -> Vec<Vec<(String, String)>> {
        let w = self.fake.world_read();
        let mut by_id: std::collections::HashMap<&str, Vec<(String, String)>> = Default::default();
        for tg in w.target_groups.values() {
            for t in &tg.targets {
                let lanes = by_id.entry(t.id.as_str()).or_default();
                if !lanes.iter().any(|(n, _)| *n == tg.name) {
                    lanes.push((tg.name.clone(), w.target_health(tg, t).state.to_string()));
                }
            }
        }
        for lb in w.classic.values() {
            for m in &lb.members {
                let state = m.state();
                by_id
                    .entry(m.id.as_str())
                    .or_default()
                    .push((format!("classic:{}", lb.name), state.to_string()));
            }
        }
        ids.iter().map(|id| by_id.remove(id).unwrap_or_default()).collect()
    }

    /// The AWS timers an instance's way out of its load balancers and back depends on, in
    /// milliseconds: the longest drain (deregistration delay, or Classic connection draining), the
    /// longest wait to be healthy again (threshold x interval), and ExitStandby's pending time
    /// when it is in an Auto Scaling group (0 otherwise).
    pub fn timers(&self, id: &str) -> (i64, i64, i64) {
        let w = self.fake.world_read();
        let group = w
            .instances
            .get(id)
            .and_then(|i| i.group.as_ref())
            .and_then(|g| w.groups.get(g));
        let (group_tgs, group_lbs) = group
            .map(|g| (&g.target_groups[..], &g.load_balancer_names[..]))
            .unwrap_or_default();
        let (mut drain, mut healthy) = (0i64, 0i64);
        for tg in w.target_groups.values() {
            if group_tgs.contains(&tg.arn) || tg.targets.iter().any(|t| t.id == id) {
                drain = drain.max(tg.deregistration_delay_s() * 1000);
                healthy = healthy.max(tg.health_check.healthy_threshold * tg.health_check.interval_s * 1000);
            }
        }
        for lb in w.classic.values() {
            if group_lbs.contains(&lb.name) || lb.members.iter().any(|m| m.id == id) {
                if lb.draining_enabled {
                    drain = drain.max(lb.draining_timeout_s * 1000);
                }
                healthy = healthy.max(lb.health_check.healthy_threshold * lb.health_check.interval_s * 1000);
            }
        }
        let exit = if group.is_some() {
            w.timing.exit_standby_s * 1000
        } else {
            0
        };
        (drain, healthy, exit)
    }

    /// Whether the instance is gone or on its way out.
    pub fn is_leaving(&self, id: &str) -> bool {
        self.lifecycle(id).is_none_or(Lifecycle::is_leaving)
    }

    /// [`Rehearsal::is_leaving`] for several instances under one lock.
    pub fn leaving(&self, ids: &[&str]) -> Vec<bool> {
        let w = self.fake.world_read();
        ids.iter()
            .map(|id| w.instances.get(*id).is_none_or(|i| i.lifecycle.is_leaving()))
            .collect()
    }

    /// Whether the instance is still launching (pending after a launch, not after ExitStandby).
    pub fn is_launching(&self, id: &str) -> bool {
        self.fake.world_read().instances.get(id).is_some_and(|i| {
            matches!(
                i.lifecycle,
                Lifecycle::Pending | Lifecycle::PendingWait | Lifecycle::PendingProceed
            ) && i.transition != Some(Transition::ExitStandby)
        })
    }

    /// Instances held in `Terminating:Wait` by the lifecycle hook `hook`, with the hold's token.
    pub fn held_terminating_by(&self, hook: &str) -> Vec<(String, String)> {
        self.held_in(&[Lifecycle::TerminatingWait], hook)
    }

    /// Instances held by the launch lifecycle hook `hook`, with the hold's token: in
    /// `Pending:Wait`, or in `Warmed:Pending:Wait` on their way into a warm pool (the same
    /// instance is held again when it leaves the pool, under a new token).
    pub fn held_by(&self, hook: &str) -> Vec<(String, String)> {
        self.held_in(&[Lifecycle::PendingWait, Lifecycle::WarmedPendingWait], hook)
    }

    fn held_in(&self, states: &[Lifecycle], hook: &str) -> Vec<(String, String)> {
        self.fake
            .world_read()
            .instances
            .values()
            .filter(|i| states.contains(&i.lifecycle))
            .filter_map(|i| {
                i.hook
                    .as_ref()
                    .filter(|h| h.hook == hook)
                    .map(|h| (i.id.clone(), h.token.clone()))
            })
            .collect()
    }

    /// Completes the lifecycle action holding an instance.
    pub fn complete_lifecycle_action(&self, id: &str, result: LifecycleResult) {
        self.fake.world().lifecycle_result(id, result);
    }

    /// The instance's application answers health checks (or stops answering).
    pub fn set_app(&self, id: &str, up: bool) -> Result<(), AwsError> {
        // Already so (the common case: a script ended that left the app as it was): no change,
        // so the fake's version stays and what was read of the world stays valid.
        if self.fake.world_read().instances.get(id).is_some_and(|i| i.app_up == up) {
            return Ok(());
        }
        self.fake.world().set_app(id, up)
    }

    /// Tells the data plane (when on) which folder an instance's application serves.
    pub fn set_doc_root(&self, id: &str, root: std::path::PathBuf) {
        if let Some(dp) = self.fake.data_plane() {
            dp.set_doc_root(id, root);
        }
    }

    /// How many of `ids` serve traffic: InService and healthy in every target group and Classic
    /// Load Balancer they are registered with (and registered somewhere).
    pub fn serving(&self, ids: &[String]) -> usize {
        let w = self.fake.world_read();
        let serves = serving_ids(&w);
        ids.iter().filter(|id| serves.contains(id.as_str())).count()
    }

    /// Whether each of `ids` serves (as [`Rehearsal::serving`] counts), from one pass over the
    /// registrations: for a fleet's worth of instances at once.
    pub fn serving_each(&self, ids: &[String]) -> Vec<bool> {
        let w = self.fake.world_read();
        let serves = serving_ids(&w);
        ids.iter().map(|id| serves.contains(id.as_str())).collect()
    }

    /// Whether one instance serves (as [`Rehearsal::serving`] counts), looking only at its own
    /// registrations: no health worked out for the rest of the fleet.
    pub fn serves(&self, id: &str) -> bool {
        serves(&self.fake.world_read(), id)
    }

    /// The group's MinSize and suspended processes.
    pub fn min_and_suspended(&self, group: &str) -> Option<(i64, Vec<String>)> {
        self.fake
            .world()
            .groups
            .get(group)
            .map(|g| (g.min, g.suspended.keys().map(|p| p.to_string()).collect()))
    }

    /// Changes the group's desired capacity by `delta` (SetDesiredCapacity's rules).
    pub fn scale_by(&self, group: &str, delta: i64) -> Result<(), AwsError> {
        let mut w = self.fake.world();
        let d = w.group(group).map(|x| x.desired).unwrap_or(0);
        w.set_desired(group, d + delta)
    }

    /// Adds an Availability Zone to the group (unbalancing it).
    pub fn add_zone(&self, group: &str, zone: &str) -> Result<(), AwsError> {
        let mut w = self.fake.world();
        let g = w.group_mut(group)?;
        if !g.availability_zones.iter().any(|z| z == zone) {
            g.availability_zones.push(zone.to_string());
        }
        let now = self.fake.clock.now_ms();
        w.tick(now);
        Ok(())
    }

    /// Terminates an instance of a group without decrementing the desired capacity.
    pub fn terminate(&self, id: &str) -> Result<(), AwsError> {
        self.fake.world().terminate_in_group(id, false).map(|_| ())
    }

    /// EC2 sends a Spot Instance a rebalance recommendation (Capacity Rebalancing replaces it).
    pub fn rebalance_recommendation(&self, id: &str) -> Result<(), AwsError> {
        self.fake.world().rebalance_recommendation(id)
    }

    /// EC2 sends a Spot Instance its two-minute interruption notice.
    pub fn spot_interruption(&self, id: &str) -> Result<(), AwsError> {
        self.fake.world().spot_interruption(id)
    }

    /// An operator puts an instance of a group in Standby (EnterStandby, decrementing the desired
    /// capacity) or takes it out again (ExitStandby).
    pub fn operator_standby(&self, group: &str, id: &str, enter: bool) -> Result<(), AwsError> {
        let mut w = self.fake.world();
        let ids = [id.to_string()];
        if enter {
            w.enter_standby(group, &ids, true).map(|_| ())
        } else {
            w.exit_standby(group, &ids).map(|_| ())
        }
    }

    /// An operator suspends a scaling process of a group (SuspendProcesses).
    pub fn operator_suspend(&self, group: &str, process: crate::model::Process) -> Result<(), AwsError> {
        self.fake.world().suspend(group, &[process])
    }

    /// An operator sets a group's MinSize (UpdateAutoScalingGroup with only MinSize).
    pub fn operator_min_size(&self, group: &str, min: i64) -> Result<(), AwsError> {
        self.fake.world().set_min_size(group, min)
    }

    /// A CloudWatch alarm invokes a scaling policy (see [`World::alarm`]).
    pub fn alarm(&self, group: &str, policy: &str, metric: Option<(f64, f64)>) -> Result<bool, AwsError> {
        self.fake.world().alarm(group, policy, metric)
    }

    /// A one-time scheduled action at `at_ms` (PutScheduledUpdateGroupAction).
    pub fn schedule_once(
        &self,
        group: &str,
        name: &str,
        at_ms: i64,
        sizes: (Option<i64>, Option<i64>, Option<i64>),
    ) -> Result<(), AwsError> {
        let put = crate::services::autoscaling::inputs::PutScheduled {
            group: group.to_string(),
            name: name.to_string(),
            start_ms: Some(at_ms),
            min: sizes.0,
            max: sizes.1,
            desired: sizes.2,
            ..Default::default()
        };
        crate::services::autoscaling::put_scheduled(&mut self.fake.world(), &put)
    }

    /// Every entrance into the fleet and what each of `requests` through it gets now (one entry
    /// per round-robin slot), under one lock; and when the world next changes by itself.
    pub fn traffic_view(&self, requests: &[crate::model::Request]) -> TrafficView {
        let w = self.fake.world_read();
        let entrances = w
            .entrances()
            .into_iter()
            .map(|e| EntranceView {
                label: e.label(),
                streams: requests
                    .iter()
                    .map(|r| StreamView {
                        candidates: w.entrance_candidates(&e, r),
                        least_outstanding: w.least_outstanding(&e, r),
                    })
                    .collect(),
                entrance: e,
            })
            .collect();
        TrafficView {
            entrances,
            next_change: w.next_change(),
        }
    }

    /// What becomes now of each request still being answered: `(entrance, instance, since_ms)`,
    /// the instance answering it through that entrance since then (see `World::in_flight`).
    pub fn in_flight(&self, open: &[(&Entrance, &str, i64)]) -> Vec<Routed> {
        let w = self.fake.world_read();
        open.iter().map(|(e, id, since)| w.in_flight(e, id, *since)).collect()
    }

    /// CodeDeploy's side of a deployment group: the application (created if missing) and the
    /// group, which puts CodeDeploy's lifecycle hooks on its Auto Scaling groups. The service role
    /// is filled in when `input` names none.
    pub fn create_deployment_group(
        &self,
        application: &str,
        group: &str,
        mut input: GroupInput,
    ) -> Result<(), AwsError> {
        let mut w = self.fake.world();
        if w.codedeploy_application(application).is_err() {
            w.create_application(application, ComputePlatform::Server)?;
        }
        if input.service_role_arn.is_none() {
            input.service_role_arn = Some(format!("arn:aws:iam::{}:role/CodeDeployServiceRole", w.account_id()));
        }
        w.create_deployment_group(application, group, input)?;
        Ok(())
    }

    /// A deployment group's id.
    pub fn deployment_group_id(&self, application: &str, group: &str) -> Option<String> {
        self.fake
            .world_read()
            .deployment_group(application, group)
            .ok()
            .map(|g| g.id.clone())
    }

    /// A deployment configuration by minimum healthy hosts (created unless it exists).
    pub fn ensure_deployment_config(
        &self,
        name: &str,
        hosts: MinimumHealthyHosts,
        zonal: Option<ZonalConfig>,
    ) -> Result<(), AwsError> {
        let mut w = self.fake.world();
        if w.deployment_config(name).is_err() {
            w.create_deployment_config(name, hosts, zonal)?;
        }
        Ok(())
    }

    /// CreateDeployment as CodeDeploy records it (any creator), then started on `targets` in
    /// that order. Returns the deployment id.
    pub fn start_deployment(&self, input: DeploymentInput, targets: &[String]) -> Result<String, AwsError> {
        let mut w = self.fake.world_records();
        let id = w.create_deployment(input)?;
        w.deployment_started(&id, targets)?;
        Ok(id)
    }

    /// CreateDeployment as the API does it (the engine picks it up with
    /// [`Rehearsal::next_created_deployment`]).
    pub fn create_deployment(&self, input: DeploymentInput) -> Result<String, AwsError> {
        self.fake.world().create_deployment(input)
    }

    /// A deployment group, as CodeDeploy holds it.
    pub fn deployment_group(&self, application: &str, group: &str) -> Option<DeploymentGroup> {
        self.fake
            .world_read()
            .deployment_group(application, group)
            .ok()
            .cloned()
    }

    /// A deployment configuration (built-in or the account's own).
    pub fn deployment_config(&self, name: &str) -> Option<DeploymentConfig> {
        self.fake.world_read().deployment_config(name).ok()
    }

    /// The file holding an S3 object of the fake's S3, if there is one.
    pub fn s3_object(&self, bucket: &str, key: &str) -> Option<std::path::PathBuf> {
        // S3 lives beside the world, in the fake's folder; `Fake::s3` needs the shared handle.
        self.fake.s3_if_started()?.object_path(bucket, key)
    }

    /// A deployment created through the API and not yet picked up by the engine, oldest first.
    pub fn next_created_deployment(&self) -> Option<Deployment> {
        let w = self.fake.world_read();
        let found = w
            .codedeploy_deployments()
            .find(|d| d.status == DeploymentStatus::Created)
            .cloned();
        found
    }

    /// The engine begins a deployment created through the API on `targets`.
    pub fn begin_deployment(&self, id: &str, targets: &[String]) -> Result<(), AwsError> {
        self.fake.world_records().deployment_started(id, targets)
    }

    /// One lifecycle event of one instance of a deployment, as the agent reports it.
    pub fn instance_event(
        &self,
        id: &str,
        instance: &str,
        event: LifecycleEvent,
        status: LifecycleEventStatus,
        diagnostics: Option<Diagnostics>,
    ) -> Result<(), AwsError> {
        self.fake
            .world_records()
            .instance_event(id, instance, event, status, diagnostics)
    }

    /// An instance of a deployment finished.
    pub fn instance_done(&self, id: &str, instance: &str, status: InstanceStatus) -> Result<(), AwsError> {
        self.fake.world_records().instance_done(id, instance, status)
    }

    /// A deployment ended (instances not started are skipped).
    pub fn deployment_done(&self, id: &str, status: DeploymentStatus, error: Option<ErrorInformation>) {
        self.fake.world_records().deployment_done(id, status, error)
    }

    /// Whether a deployment was stopped (StopDeployment) or has otherwise ended.
    pub fn deployment_status(&self, id: &str) -> Option<DeploymentStatus> {
        self.fake.world_read().deployment(id).ok().map(|d| d.status)
    }

    /// CodeDeploy's BlockTraffic (`allow == false`) or AllowTraffic for one instance of a
    /// deployment whose group has traffic control.
    pub fn steer_traffic(&self, id: &str, instance: &str, allow: bool) -> Result<(), AwsError> {
        let mut w = self.fake.world();
        if allow {
            w.allow_traffic(id, instance)
        } else {
            w.block_traffic(id, instance)
        }
    }

    /// Whether that BlockTraffic or AllowTraffic is over.
    pub fn traffic_settled(&self, id: &str, instance: &str, allow: bool) -> bool {
        self.fake
            .world_read()
            .traffic_settled(id, instance, allow)
            .unwrap_or(true)
    }

    /// When the world next changes by itself (a timer: boot, draining, a health check threshold).
    pub fn next_change(&self) -> Option<i64> {
        self.fake.world_read().next_change()
    }

    /// Records that deployment `rollback` rolls back `of`.
    pub fn link_rollback(&self, rollback: &str, of: &str) {
        self.fake.world_records().link_rollback(rollback, of)
    }

    /// A copy of the whole world, for a report.
    pub fn snapshot(&self) -> World {
        self.fake.world_read().clone()
    }
}

/// Members of `groups` not on their way out, oldest first, then the stand-alone instances.
fn members_of(w: &World, groups: &[String], standalone: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        if let Some(group) = w.groups.get(g) {
            for id in group.instances.iter() {
                if w.instances.get(id).is_some_and(|i| !i.lifecycle.is_leaving()) {
                    out.push(id.clone());
                }
            }
        }
    }
    if standalone {
        for i in w.instances.values() {
            if i.group.is_none() && i.lifecycle != Lifecycle::Terminated {
                out.push(i.id.clone());
            }
        }
    }
    out
}

/// The traffic's view of the fleet at one instant (see [`Rehearsal::traffic_view`]).
#[derive(Debug, Clone)]
pub struct TrafficView {
    pub entrances: Vec<EntranceView>,
    /// When the world next changes by itself.
    pub next_change: Option<i64>,
}

/// One entrance and what each request shape through it gets now.
#[derive(Debug, Clone)]
pub struct EntranceView {
    /// `alb-name:port` or `classic:name`.
    pub label: String,
    pub entrance: Entrance,
    /// Per request shape, in the order asked.
    pub streams: Vec<StreamView>,
}

/// What requests of one shape through one entrance get now.
#[derive(Debug, Clone)]
pub struct StreamView {
    /// One entry per round-robin slot (never empty): request `n` gets entry `n % len`.
    pub candidates: Vec<Routed>,
    /// The target group picks the target with the fewest requests outstanding.
    pub least_outstanding: bool,
}
