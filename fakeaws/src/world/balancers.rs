//! Load balancers and target groups coming and going: ELBv2 load balancers, target groups and
//! listeners created, changed and deleted (with their tags, and the health checks of target groups
//! whose use changes), Classic Load Balancers created, changed and deleted.

use super::World;
use crate::model::ClassicLb;
use crate::model::HealthCheck;
use crate::model::Listener;
use crate::model::LoadBalancer;
use crate::model::TargetGroup;
use crate::protocol::error::AwsError;
impl World {
    /// Adds an ELBv2 load balancer.
    pub(crate) fn add_load_balancer(&mut self, lb: LoadBalancer) {
        self.load_balancers.insert(lb.arn.clone(), lb);
    }

    /// DeleteLoadBalancer: the load balancer, its listeners and rules, and their tags (a missing
    /// one is no error, as AWS answers).
    pub fn delete_load_balancer(&mut self, arn: &str) -> Result<(), AwsError> {
        if self.load_balancers.remove(arn).is_none() {
            return Ok(());
        }
        let gone: Vec<String> = self
            .listeners
            .values()
            .filter(|l| l.load_balancer_arn == arn)
            .flat_map(|l| std::iter::once(l.arn.clone()).chain(l.rules.iter().map(|r| r.arn.clone())))
            .collect();
        self.change_routing(|w| {
            w.listeners.retain(|_, l| l.load_balancer_arn != arn);
            Ok(())
        })?;
        for a in gone.iter().map(String::as_str).chain([arn]) {
            self.elb_tags.remove(a);
        }
        Ok(())
    }

    /// Adds a listener (the target groups it starts using start their health checks).
    pub(crate) fn add_listener(&mut self, l: Listener) -> Result<(), AwsError> {
        self.check_association(&l.load_balancer_arn, &l.actions)?;
        self.change_routing(|w| {
            w.listeners.insert(l.arn.clone(), l);
            Ok(())
        })
    }

    /// DeleteListener: the listener, its rules, and their tags.
    pub fn delete_listener(&mut self, arn: &str) -> Result<(), AwsError> {
        let l = self.change_routing(|w| w.listeners.remove(arn).ok_or_else(|| AwsError::listener_not_found(arn)))?;
        self.elb_tags.remove(arn);
        for r in &l.rules {
            self.elb_tags.remove(&r.arn);
        }
        Ok(())
    }

    /// Adds a target group.
    pub(crate) fn add_target_group(&mut self, tg: TargetGroup) {
        self.target_groups.insert(tg.arn.clone(), tg);
    }

    /// DeleteTargetGroup: refused while a listener or rule uses it; groups let go of it.
    pub fn delete_target_group(&mut self, arn: &str) -> Result<(), AwsError> {
        if self.tg_in_use(arn) {
            return Err(AwsError::new(
                400,
                "ResourceInUse",
                format!("Target group '{arn}' is currently in use by a listener or a rule"),
            ));
        }
        self.target_groups.remove(arn);
        self.elb_tags.remove(arn);
        let attached: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.target_groups.iter().any(|a| a == arn))
            .map(|g| g.name.clone())
            .collect();
        for name in attached {
            if let Some(g) = self.groups.get_mut(&name) {
                g.target_groups.retain(|a| a != arn);
            }
        }
        Ok(())
    }

    /// ModifyTargetGroup's health check settings.
    pub(crate) fn set_target_group_health_check(&mut self, arn: &str, hc: HealthCheck) {
        if let Some(t) = self.target_groups.get_mut(arn) {
            t.health_check = hc;
        }
    }

    /// Adds a Classic Load Balancer.
    pub(crate) fn add_classic(&mut self, lb: ClassicLb) {
        self.classic.insert(lb.name.clone(), lb);
    }

    /// DeleteLoadBalancer (Classic; a missing one is no error).
    pub fn delete_classic(&mut self, name: &str) {
        self.classic.remove(name);
    }

    /// Changes a Classic Load Balancer's settings (health check, attributes).
    pub(crate) fn modify_classic(&mut self, name: &str, f: impl FnOnce(&mut ClassicLb)) -> Result<(), AwsError> {
        let l = self
            .classic
            .get_mut(name)
            .ok_or_else(|| AwsError::classic_not_found(name))?;
        f(l);
        Ok(())
    }
}
