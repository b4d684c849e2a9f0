//! Instance refreshes: StartInstanceRefresh, CancelInstanceRefresh and RollbackInstanceRefresh on
//! the world, and the rule that runs them ([`Refreshes`]). A refresh (the Rolling strategy with a
//! maximum healthy percentage of 100) terminates a batch of the instances it replaces, as many as
//! keep the minimum healthy percentage of the desired capacity (at least one), lets the group
//! launch their replacements, waits for each replacement's warm-up after it reaches InService,
//! and goes on; checkpoints pause it, Standby and protected instances are replaced, left alone or
//! waited for (an hour, then it fails) as its preferences say, and it makes no replacement while
//! Launch, Terminate or InstanceRefresh is suspended.

use super::timed::Timed;
use super::World;
use crate::model::*;
use crate::protocol::error::AwsError;

/// How long a refresh waits for Standby or protected instances before it fails.
const WAIT_LIMIT_MS: i64 = 3_600_000;

/// What StartInstanceRefresh asks for (values checked by the Query layer).
#[derive(Debug, Clone, Default)]
pub struct RefreshRequest {
    pub group: String,
    pub preferences: RefreshPreferences,
    pub desired_template: Option<String>,
}

impl World {
    /// StartInstanceRefresh. Returns the refresh's id.
    pub fn start_instance_refresh(&mut self, r: RefreshRequest) -> Result<String, AwsError> {
        let g = self.group(&r.group)?.clone();
        crate::protocol::query::in_range(
            "Preferences.MinHealthyPercentage",
            Some(r.preferences.min_healthy_percentage),
            0,
            100,
        )?;
        if self
            .refreshes
            .iter()
            .any(|x| x.group == r.group && x.status.is_active())
        {
            return Err(AwsError::new(
                400,
                "InstanceRefreshInProgress",
                "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.",
            ));
        }
        let target = r.desired_template.clone().or(g.launch_template.clone());
        let to_replace: Vec<String> = g
            .instances
            .iter()
            .filter(|id| {
                self.instances.get(*id).is_some_and(|i| {
                    let matches = r.preferences.skip_matching && i.launch_template == target;
                    !(i.lifecycle.is_leaving() || matches)
                })
            })
            .cloned()
            .collect();
        let id = self.uuid();
        let now = self.now_ms;
        let refresh = InstanceRefresh {
            id: id.clone(),
            group: r.group.clone(),
            status: RefreshStatus::Pending,
            status_reason: None,
            start_ms: now,
            end_ms: None,
            preferences: r.preferences,
            desired_template: r.desired_template.clone(),
            previous_template: g.launch_template.clone(),
            original: g.instances.iter().cloned().collect(),
            total: to_replace.len(),
            to_replace,
            replacing: Vec::new(),
            replaced: Vec::new(),
            warm_until: Default::default(),
            checkpoints_passed: 0,
            checkpoint_until: None,
            waiting_since: None,
            bake_until: None,
        };
        if let Some(t) = &r.desired_template {
            self.group_mut(&r.group)?.refresh_template = Some(t.clone());
        }
        self.refreshes.push(refresh);
        self.settle();
        Ok(id)
    }

    /// The group's active refresh, or ActiveInstanceRefreshNotFound.
    fn active_refresh(&mut self, group: &str) -> Result<&mut InstanceRefresh, AwsError> {
        self.group(group)?;
        self.refreshes
            .iter_mut()
            .find(|r| r.group == group && r.status.is_active())
            .ok_or_else(|| {
                AwsError::new(
                    400,
                    "ActiveInstanceRefreshNotFound",
                    format!("No in progress or pending Instance Refresh found for Auto Scaling group {group}"),
                )
            })
    }

    /// CancelInstanceRefresh: no more replacements; Cancelled once those under way are done.
    pub fn cancel_instance_refresh(&mut self, group: &str) -> Result<String, AwsError> {
        let r = self.active_refresh(group)?;
        r.status = RefreshStatus::Cancelling;
        r.status_reason = Some("Cancelling the instance refresh: replacements under way finish first.".into());
        let id = r.id.clone();
        self.settle();
        Ok(id)
    }

    /// RollbackInstanceRefresh: the instances the refresh launched are replaced with the launch
    /// template the group had before it (which needs a desired configuration to go back from).
    pub fn rollback_instance_refresh(&mut self, group: &str) -> Result<String, AwsError> {
        let r = self.active_refresh(group)?;
        if r.desired_template.is_none() || r.status == RefreshStatus::RollbackInProgress {
            return Err(AwsError::new(
                400,
                "IrreversibleInstanceRefresh",
                "The request failed because a desired configuration was not found or an incompatible launch template (uses a Systems Manager parameter instead of an AMI ID) or launch template version ($Latest or $Default) is present on the Auto Scaling group.",
            ));
        }
        let id = r.id.clone();
        self.begin_rollback(group, "Rollback started by the user (RollbackInstanceRefresh).");
        self.settle();
        Ok(id)
    }

    /// Turns the group's active refresh around: what it launched is replaced with the previous
    /// launch template.
    fn begin_rollback(&mut self, group: &str, why: &str) {
        let Some(i) = self
            .refreshes
            .iter()
            .position(|r| r.group == group && r.status.is_active())
        else {
            return;
        };
        let previous = self.refreshes[i].previous_template.clone();
        let original = self.refreshes[i].original.clone();
        let members = self.groups.get(group).map(|g| g.instances.to_vec()).unwrap_or_default();
        let launched: Vec<String> = members
            .into_iter()
            .filter(|id| !original.contains(id))
            .filter(|id| self.instances.get(id).is_some_and(|i| !i.lifecycle.is_leaving()))
            .collect();
        let r = &mut self.refreshes[i];
        r.status = RefreshStatus::RollbackInProgress;
        r.status_reason = Some(why.to_string());
        r.original = self
            .groups
            .get(group)
            .map(|g| g.instances.iter().cloned().collect())
            .unwrap_or_default();
        r.total = launched.len();
        r.to_replace = launched;
        r.replaced.clear();
        r.warm_until.clear();
        r.checkpoint_until = None;
        r.waiting_since = None;
        if let Some(g) = self.groups.get_mut(group) {
            g.refresh_template = previous;
        }
    }

    /// Moves every active refresh on as far as the world allows now. Returns whether anything
    /// changed (called from `settle`).
    pub(crate) fn step_refreshes(&mut self) -> bool {
        let active: Vec<usize> = (0..self.refreshes.len())
            .filter(|i| self.refreshes[*i].status.is_active())
            .collect();
        let mut changed = false;
        for i in active {
            changed |= self.step_refresh(i);
        }
        changed
    }

    fn step_refresh(&mut self, i: usize) -> bool {
        let now = self.now_ms;
        let group = self.refreshes[i].group.clone();
        let Some(g) = self.groups.get(&group).cloned() else {
            return self.end_refresh(
                i,
                RefreshStatus::Failed,
                Some("The Auto Scaling group was deleted.".into()),
            );
        };
        let mut changed = false;
        if self.refreshes[i].status == RefreshStatus::Pending {
            self.refreshes[i].status = RefreshStatus::InProgress;
            changed = true;
        }
        if self.refreshes[i].status == RefreshStatus::Baking {
            if self.refreshes[i].bake_until.is_some_and(|t| now >= t) {
                return self.finish(i, &g);
            }
            return changed;
        }
        let (tracked, in_flight) = self.track(i, &g);
        changed |= tracked;
        let r = &mut self.refreshes[i];
        if r.status == RefreshStatus::Cancelling {
            if !in_flight {
                return self.end_refresh(
                    i,
                    RefreshStatus::Cancelled,
                    Some("The instance refresh was cancelled.".into()),
                );
            }
            return changed;
        }
        if in_flight {
            return changed;
        }
        let paused = [Process::Launch, Process::Terminate, Process::InstanceRefresh]
            .into_iter()
            .find(|p| g.is_suspended(*p));
        if let Some(p) = paused {
            let reason = format!("The {p} process is suspended: no instance is replaced until it is resumed.");
            // The reason is what DescribeInstanceRefreshes shows; no step reacts to it, so it is
            // no change for settling (which repeats while anything changes).
            r.status_reason = Some(reason);
            return changed;
        }
        if r.to_replace.is_empty() {
            if r.preferences.bake_time_s > 0 && r.status == RefreshStatus::InProgress {
                r.status = RefreshStatus::Baking;
                r.bake_until = Some(now + r.preferences.bake_time_s * 1000);
                r.status_reason = None;
                return true;
            }
            return self.finish(i, &g);
        }
        let (pause, passed) = self.checkpoint(i);
        if pause {
            return changed | passed;
        }
        changed | passed | self.next_batch(i, &g)
    }

    /// Replacements under way: an old instance is replaced once it has left the group; a new one
    /// starts its warm-up when it reaches InService. Returns whether anything changed, and
    /// whether a replacement is still in flight (terminating, launching or warming up).
    fn track(&mut self, i: usize, g: &Group) -> (bool, bool) {
        let now = self.now_ms;
        let mut changed = false;
        let warmup_ms = self.refreshes[i]
            .preferences
            .instance_warmup_s
            .unwrap_or(g.health_check_grace_period_s)
            * 1000;
        let r = &mut self.refreshes[i];
        // Asked of every instance it tracks, at every step: a set, not the member list.
        let members: std::collections::HashSet<&String> = g.instances.iter().collect();
        let (still, gone): (Vec<String>, Vec<String>) = r.replacing.drain(..).partition(|id| members.contains(id));
        r.replacing = still;
        changed |= !gone.is_empty();
        r.replaced.extend(gone);
        // Instances it was to replace that left by themselves (a scale-in, a termination) are
        // not its to replace any more.
        let before = r.to_replace.len();
        r.to_replace.retain(|id| members.contains(id));
        r.total -= before - r.to_replace.len();
        for id in g.instances.iter().filter(|id| !r.original.contains(*id)) {
            let in_service = self
                .instances
                .get(id)
                .is_some_and(|x| x.lifecycle == Lifecycle::InService);
            if in_service && !r.warm_until.contains_key(id) {
                r.warm_until.insert(id.clone(), now + warmup_ms);
                changed = true;
            }
        }
        let warming: Vec<String> = r
            .warm_until
            .iter()
            .filter(|(_, t)| **t > now)
            .map(|(id, _)| id.clone())
            .collect();
        let launching = g.instances.iter().any(|id| {
            !r.original.contains(id)
                && self.instances.get(id).is_some_and(|x| {
                    matches!(
                        x.lifecycle,
                        Lifecycle::Pending | Lifecycle::PendingWait | Lifecycle::PendingProceed
                    )
                })
        });
        let in_flight = !r.replacing.is_empty() || launching || !warming.is_empty();
        r.status_reason = match warming.first() {
            Some(w) => Some(format!(
                "Waiting for instances to warm up before continuing. For example: {w} is warming up."
            )),
            None => r
                .status_reason
                .clone()
                .filter(|_| r.waiting_since.is_some() || r.checkpoint_until.is_some()),
        };
        (changed, in_flight)
    }

    /// Checkpoints: a pause once the share replaced (and warmed up) reaches each one. Returns
    /// whether it pauses now, and whether a pause began or ended.
    fn checkpoint(&mut self, i: usize) -> (bool, bool) {
        let now = self.now_ms;
        let r = &mut self.refreshes[i];
        let warmed = r.warm_until.values().filter(|t| **t <= now).count();
        let pct = r.percentage_complete(warmed);
        if let Some(until) = r.checkpoint_until {
            if now < until {
                return (true, false);
            }
            r.checkpoint_until = None;
            r.checkpoints_passed += 1;
            return (false, true);
        }
        let Some(p) = r
            .preferences
            .checkpoint_percentages
            .get(r.checkpoints_passed)
            .filter(|p| pct >= **p)
            .copied()
        else {
            return (false, false);
        };
        let delay = r.preferences.checkpoint_delay_s.unwrap_or(3600);
        r.checkpoint_until = Some(now + delay * 1000);
        r.status_reason = Some(format!(
            "Reached checkpoint {p}% ({pct}% complete): waiting {delay} s before continuing."
        ));
        (true, true)
    }

    /// Starts the next batch: Standby and protected instances as the preferences say, then as
    /// many in service as keep the minimum healthy percentage (at least one).
    fn next_batch(&mut self, i: usize, g: &Group) -> bool {
        let now = self.now_ms;
        let r = &self.refreshes[i];
        let prefs = r.preferences.clone();
        let mut ignored = Vec::new();
        let mut waiting = Vec::new();
        let mut ready = Vec::new();
        for id in &r.to_replace {
            let Some(inst) = self.instances.get(id) else { continue };
            let standby = matches!(inst.lifecycle, Lifecycle::Standby | Lifecycle::EnteringStandby);
            if standby {
                match prefs.standby_instances {
                    StandbyPreference::Ignore => ignored.push(id.clone()),
                    StandbyPreference::Wait => waiting.push(id.clone()),
                    StandbyPreference::Terminate => ready.push(id.clone()),
                }
            } else if inst.protected_from_scale_in {
                match prefs.scale_in_protected_instances {
                    ProtectedPreference::Ignore => ignored.push(id.clone()),
                    ProtectedPreference::Wait => waiting.push(id.clone()),
                    ProtectedPreference::Refresh => ready.push(id.clone()),
                }
            } else if inst.lifecycle == Lifecycle::InService {
                ready.push(id.clone());
            } else {
                waiting.push(id.clone());
            }
        }
        let healthy = g
            .instances
            .iter()
            .filter(|id| {
                self.instances
                    .get(*id)
                    .is_some_and(|x| x.lifecycle == Lifecycle::InService && x.healthy)
            })
            .count() as i64;
        let needed = (g.desired * prefs.min_healthy_percentage + 99) / 100;
        let batch = (healthy - needed).max(1) as usize;
        let r = &mut self.refreshes[i];
        r.to_replace.retain(|id| !ignored.contains(id));
        r.total -= ignored.len();
        if ready.is_empty() {
            if waiting.is_empty() {
                return !ignored.is_empty();
            }
            let since = *r.waiting_since.get_or_insert(now);
            if now - since >= WAIT_LIMIT_MS {
                let why = format!(
                    "Instances in Standby or protected from scale in were not ready to be replaced within an hour: {}.",
                    waiting.join(", ")
                );
                return self.fail(i, why);
            }
            let reason = format!(
                "Waiting for instances in Standby or protected from scale in to be ready for replacement: {}.",
                waiting.join(", ")
            );
            // Waiting (its start and its reason) is no change for settling: reported as one, it
            // kept settling going to its bound of a thousand passes on every request.
            r.status_reason = Some(reason);
            return !ignored.is_empty();
        }
        r.waiting_since = None;
        r.status_reason = None;
        let take: Vec<String> = ready.into_iter().take(batch).collect();
        r.to_replace.retain(|id| !take.contains(id));
        r.replacing.extend(take.iter().cloned());
        for id in take {
            self.begin_terminate(&id, format!("an instance was taken out of service in response to an instance refresh. Instance {id} is being replaced."));
        }
        true
    }

    /// Failed, or rolled back when AutoRollback is on and there is a configuration to go back to.
    fn fail(&mut self, i: usize, why: String) -> bool {
        let r = &self.refreshes[i];
        if r.preferences.auto_rollback && r.desired_template.is_some() && r.status == RefreshStatus::InProgress {
            let group = r.group.clone();
            self.begin_rollback(&group, &format!("Automatic rollback: {why}"));
            return true;
        }
        let status = if r.status == RefreshStatus::RollbackInProgress {
            RefreshStatus::RollbackFailed
        } else {
            RefreshStatus::Failed
        };
        self.end_refresh(i, status, Some(why))
    }

    /// Every instance replaced: the group takes the desired configuration (or keeps its own
    /// after a rollback).
    fn finish(&mut self, i: usize, g: &Group) -> bool {
        let r = &self.refreshes[i];
        let (status, template) = if r.status == RefreshStatus::RollbackInProgress {
            (RefreshStatus::RollbackSuccessful, r.previous_template.clone())
        } else {
            (
                RefreshStatus::Successful,
                r.desired_template.clone().or(g.launch_template.clone()),
            )
        };
        if let Some(gm) = self.groups.get_mut(&g.name) {
            gm.launch_template = template;
        }
        self.end_refresh(i, status, None)
    }

    fn end_refresh(&mut self, i: usize, status: RefreshStatus, why: Option<String>) -> bool {
        let now = self.now_ms;
        let r = &mut self.refreshes[i];
        r.status = status;
        r.status_reason = why;
        r.end_ms = Some(now);
        r.checkpoint_until = None;
        r.bake_until = None;
        let group = r.group.clone();
        if let Some(g) = self.groups.get_mut(&group) {
            g.refresh_template = None;
        }
        true
    }

    /// A group's refreshes, newest first.
    pub fn instance_refreshes(&self, group: &str) -> Vec<&InstanceRefresh> {
        self.refreshes.iter().rev().filter(|r| r.group == group).collect()
    }

    /// How many of a refresh's new instances have warmed up.
    pub fn warmed(&self, r: &InstanceRefresh) -> usize {
        r.warm_until.values().filter(|t| **t <= self.now_ms).count()
    }
}

/// The timed side of refreshes: warm-ups ending, checkpoints' delays, the hour's wait for
/// Standby or protected instances, the bake.
pub(super) struct Refreshes;

impl Timed for Refreshes {
    fn next_due(&self, w: &World) -> Option<i64> {
        let now = w.now_ms;
        w.refreshes
            .iter()
            .filter(|r| r.status.is_active())
            .flat_map(|r| {
                r.warm_until
                    .values()
                    .copied()
                    .chain(r.checkpoint_until)
                    .chain(r.bake_until)
                    .chain(r.waiting_since.map(|t| t + WAIT_LIMIT_MS))
            })
            .filter(|t| *t > now)
            .min()
    }

    fn fire(&self, w: &mut World) {
        w.step_refreshes();
    }
}
