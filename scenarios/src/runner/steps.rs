//! The plan of one instance's run: the lifecycle events of its deployment in CodeDeploy's order
//! (each script of the appspec, the traffic events when CodeDeploy controls traffic), or of its
//! termination deployment.

use std::collections::VecDeque;

use fakeaws::model::codedeploy::LifecycleEvent;

use super::supervisor::{Run, Step};
use super::Sim;

impl Sim {
    /// The steps of one instance's deployment of `revision`, in the order CodeDeploy runs them.
    fn steps_for(&self, instance: &str, revision: &str) -> VecDeque<Step> {
        let mut steps = VecDeque::new();
        let traffic = self.sc.deployment_group.traffic_control;
        for event in LifecycleEvent::in_place(traffic) {
            match event {
                LifecycleEvent::BlockTraffic | LifecycleEvent::AllowTraffic => {
                    steps.push_back(Step::Traffic {
                        allow: event == LifecycleEvent::AllowTraffic,
                    });
                    continue;
                }
                LifecycleEvent::DownloadBundle => {
                    steps.push_back(Step::DownloadBundle);
                    continue;
                }
                LifecycleEvent::Install => {
                    steps.push_back(Step::Install);
                    continue;
                }
                _ => {}
            }
            // ApplicationStop and the Block events run the previous revision's scripts.
            let rev = if event.runs_previous_revision() {
                self.agent.installed.get(instance).cloned()
            } else {
                Some(revision.to_string())
            };
            let Some(rev) = rev else {
                // Only ApplicationStop reports it: the Block events have nothing to run either.
                if event == LifecycleEvent::ApplicationStop {
                    steps.push_back(Step::NoPreviousRevision { event });
                }
                continue;
            };
            let scripts = self
                .staged
                .revisions
                .get(&rev)
                .and_then(|r| r.spec.hooks.get(&event))
                .cloned()
                .unwrap_or_default();
            if scripts.is_empty() {
                continue;
            }
            for script in scripts {
                steps.push_back(Step::Script {
                    event,
                    revision: rev.clone(),
                    script,
                });
            }
        }
        steps
    }

    /// A termination deployment's steps: the Block events only, with the installed revision's
    /// scripts.
    pub(super) fn termination_steps(&self, instance: &str) -> VecDeque<Step> {
        let mut steps = VecDeque::new();
        let installed = self
            .agent
            .installed
            .get(instance)
            .and_then(|r| self.staged.revisions.get(r).map(|x| (r, x)));
        for event in LifecycleEvent::TERMINATION {
            if event == LifecycleEvent::BlockTraffic {
                if self.sc.deployment_group.traffic_control {
                    steps.push_back(Step::Traffic { allow: false });
                }
                continue;
            }
            let Some((rev, r)) = installed else { continue };
            for script in r.spec.hooks.get(&event).cloned().unwrap_or_default() {
                steps.push_back(Step::Script {
                    event,
                    revision: rev.clone(),
                    script,
                });
            }
        }
        steps
    }

    pub(super) fn new_run(&mut self, deployment: usize, instance: &str, revision: &str) -> Run {
        self.calls_from_here(deployment, instance);
        Run {
            deployment,
            revision: revision.to_string(),
            instance: instance.to_string(),
            steps: self.steps_for(instance, revision),
            current: None,
            trace: Vec::new(),
            event: None,
            failed: None,
        }
    }
}
