//! Targets and their health: registration in target groups and Classic Load Balancers, draining,
//! and the health a target reports at the current time.

use super::World;
use crate::model::*;
use crate::protocol::error::AwsError;

impl World {
    /// Whether any listener forwards to the target group.
    pub fn tg_in_use(&self, tg_arn: &str) -> bool {
        self.listeners
            .values()
            .any(|l| l.all_actions().any(|a| a.target_groups().any(|t| t == tg_arn)))
    }

    /// Load balancers whose listeners forward to the target group.
    pub fn tg_load_balancers(&self, tg_arn: &str) -> Vec<String> {
        let mut lbs: Vec<String> = self
            .listeners
            .values()
            .filter(|l| l.all_actions().any(|a| a.target_groups().any(|t| t == tg_arn)))
            .map(|l| l.load_balancer_arn.clone())
            .collect();
        lbs.sort();
        lbs.dedup();
        lbs
    }

    /// AWS allows one load balancer per target group: forwarding from a listener or rule of `lb_arn`
    /// to a target group another load balancer already uses is refused
    /// (`TargetGroupAssociationLimit`, naming the target groups).
    pub(crate) fn check_association(&self, lb_arn: &str, actions: &[crate::model::Action]) -> Result<(), AwsError> {
        let mut taken: Vec<&str> = Vec::new();
        for tg in actions.iter().flat_map(|a| a.target_groups()) {
            if taken.contains(&tg) {
                continue;
            }
            if self.tg_load_balancers(tg).iter().any(|lb| lb != lb_arn) {
                taken.push(tg);
            }
        }
        if taken.is_empty() {
            return Ok(());
        }
        Err(AwsError::new(
            400,
            "TargetGroupAssociationLimit",
            format!(
                "The following target groups cannot be associated with more than one load balancer: {}",
                taken.join(", ")
            ),
        ))
    }

    /// Starts every non-draining target of a target group over with health checks (the group
    /// started or stopped being used by a listener).
    pub(crate) fn restart_health_checks(&mut self, tg_arn: &str) {
        let now = self.now_ms;
        if let Some(t) = self.target_groups.get_mut(tg_arn) {
            for target in t.targets.iter_mut().filter(|t| t.state != TargetState::Draining) {
                target.state = TargetState::Initial;
                target.registered_ms = now;
                target.streak_ms = now;
            }
        }
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
                t.slow_start_until_ms = None;
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
            slow_start_until_ms: None,
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
                // A target deregistered in slow start mode leaves it.
                t.slow_start_until_ms = None;
            }
        }
        found
    }

    /// Every instance registered (or draining) in a target group or a Classic Load Balancer.
    pub(crate) fn registered_ids(&self) -> std::collections::HashSet<String> {
        self.target_groups
            .values()
            .flat_map(|tg| tg.targets.iter().map(|t| t.id.clone()))
            .chain(
                self.classic
                    .values()
                    .flat_map(|lb| lb.members.iter().map(|m| m.id.clone())),
            )
            .collect()
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

    pub(crate) fn register_everywhere(&mut self, group: &str, id: &str) {
        let Some(g) = self.groups.get(group) else { return };
        if g.is_suspended(Process::AddToLoadBalancer) {
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

    pub(crate) fn deregister_everywhere(&mut self, id: &str) {
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
    pub fn target_health(&self, tg: &TargetGroup, t: &Target) -> TargetHealth {
        use TargetHealthReason as R;
        use TargetHealthState as S;
        if t.state == TargetState::Draining {
            return TargetHealth::because(
                S::Draining,
                R::DeregistrationInProgress,
                "Target deregistration is in progress",
            );
        }
        if let Some(inst) = self.instances.get(&t.id) {
            if inst.lifecycle == Lifecycle::Terminated {
                return TargetHealth::because(S::Unused, R::InvalidState, "Target is in the stopped state");
            }
        }
        if !self.tg_in_use(&tg.arn) {
            return TargetHealth::because(
                S::Unused,
                R::NotInUse,
                "Target group is not configured to receive traffic from the load balancer",
            );
        }
        match t.state {
            TargetState::Healthy => TargetHealth::ok(S::Healthy),
            TargetState::Unhealthy => {
                TargetHealth::because(S::Unhealthy, R::FailedHealthChecks, "Health checks failed")
            }
            _ if self.now_ms - t.registered_ms < tg.health_check.interval_s * 1000 => TargetHealth::because(
                S::Initial,
                R::RegistrationInProgress,
                "Target registration is in progress",
            ),
            _ => TargetHealth::because(
                S::Initial,
                R::InitialHealthChecking,
                "Initial health checks in progress",
            ),
        }
    }
}
