//! The fleet as a scenario starts it: the world applied, probes and application ports started,
//! instances booted and labelled with the initial revision, the deployment group created, the
//! fleet settled until it serves, and the starting state the invariants compare against.

use anyhow::{anyhow, Context};

use std::collections::BTreeMap;

use super::Sim;

/// The fleet as the story began: each group's MinSize and suspended processes, and the members
/// with those of them protected from scale in (what the invariants compare the end with).
#[derive(Default)]
pub(super) struct Baseline {
    pub(super) groups: BTreeMap<String, (i64, Vec<String>)>,
    pub(super) protected: Option<(Vec<String>, Vec<String>)>,
}

impl Sim {
    /// The fleet as the scenario starts it: built, booted, the deployment group created, the
    /// initial revision installed and serving, and what the invariants compare against recorded.
    pub(super) async fn setup_world(&mut self) -> anyhow::Result<()> {
        let standalone = self
            .fake()
            .rehearsal()
            .apply(&self.sc.fleet)
            .map_err(|e| anyhow!("fleet: {}", e.message))?;
        self.start_probes()?;
        self.agent.app_port_revisions = self
            .sc
            .revisions
            .iter()
            .filter(|r| r.app_port)
            .map(|r| r.name.clone())
            .collect();
        if !self.agent.app_port_revisions.is_empty() {
            self.fake()
                .ensure_data_plane()
                .context("starting the instances' application ports")?;
        }
        // Boot and first health checks happen before the story starts.
        let booted_at = self.now() + 30_000;
        self.fake().clock.advance_to(booted_at);
        // CodeDeploy installs its launch hook when the deployment group is created, over a group
        // whose instances are already in service.
        self.create_deployment_group()?;
        let mut initial: Vec<String> = Vec::new();
        for g in &self.sc.deployment_group.autoscaling_groups {
            initial.extend(self.fake().rehearsal().group_members(g));
        }
        initial.extend(standalone);
        for id in &initial {
            self.prepare_instance(id).await?;
        }
        // A warm pool warmed before the story: its instances hold the initial revision, stopped
        // (as if CodeDeploy had deployed it when they entered the pool).
        for g in self.sc.deployment_group.autoscaling_groups.clone() {
            for id in self.fake().rehearsal().warm_pool(&g) {
                self.label(&id);
                if let Some(rev) = self.sc.initial_revision.clone() {
                    self.agent.installed.insert(id.clone(), rev.clone());
                    self.engine.running_rev.insert(id.clone(), rev);
                }
                std::fs::create_dir_all(self.instance_root(&id).join("run"))?;
            }
        }
        self.engine.last_good = self.sc.initial_revision.clone();
        // Settle: at least ten minutes, then until the fleet serves (slow health checks), bounded.
        let settle = self.now() + 600_000;
        self.fake().clock.advance_to(settle);
        if self.sc.initial_revision.is_some() {
            let members = self.members();
            let limit = settle + 6 * 3600 * 1000;
            while self.fake().rehearsal().serving(&members) < members.len() && self.now() < limit {
                let next = self.now() + 10_000;
                self.fake().clock.advance_to(next);
            }
        }
        for g in &self.sc.deployment_group.autoscaling_groups {
            let initial = self.fake().rehearsal().min_and_suspended(g).unwrap_or_default();
            self.baseline.groups.insert(g.clone(), initial);
        }
        self.start_ms = self.now();
        // Scale-in protection as the story begins: the hooks must leave it as it was.
        let members = self.members();
        self.baseline.protected = Some((members.clone(), self.fake().rehearsal().protected(&members)));
        self.recorder.start(self.start_ms);
        Ok(())
    }

    /// One instance of the starting fleet: labelled, with the initial revision (installed when
    /// probes read its files) and its application up, or down without a revision.
    async fn prepare_instance(&mut self, id: &str) -> anyhow::Result<()> {
        self.label(id);
        if let Some(rev) = self.sc.initial_revision.clone() {
            if self.sc.traffic.probe {
                // Probed instances serve real files: install them.
                self.install(id, &rev).await?;
            }
            self.agent.installed.insert(id.to_string(), rev.clone());
            self.engine.running_rev.insert(id.to_string(), rev);
        }
        let run_dir = self.instance_root(id).join("run");
        std::fs::create_dir_all(&run_dir)?;
        if self.sc.initial_revision.is_some() {
            std::fs::write(run_dir.join("app.running"), "")?;
        } else {
            self.fake()
                .rehearsal()
                .set_app(id, false)
                .map_err(|e| anyhow!(e.message))?;
        }
        Ok(())
    }
}
