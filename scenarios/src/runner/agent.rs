//! The agent on an instance: installing a revision's files, reading the app model (the marker a
//! revision's scripts leave) into the world, and starting one script as a child process in its own
//! process group with the agent's environment (its output read into the agent's logs, `sleep` on
//! the simulated clock, `$PORT` for revisions that ask for it). The supervisor decides when.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{anyhow, Context};
use fakeaws::model::codedeploy::LifecycleEvent;

use super::supervisor::Current;
use super::Sim;
use crate::appspec::Script;
use crate::schema::Behaviour;

/// What the agent keeps on every instance.
#[derive(Default)]
pub(super) struct AgentState {
    /// Instance -> last successfully installed revision (the agent's record).
    pub(super) installed: BTreeMap<String, String>,
    /// Instance -> when its warming-up application starts answering (`None`: it has warmed up and
    /// answers until it is stopped).
    pub(super) app_warmups: BTreeMap<String, Option<i64>>,
    /// Each instance's app marker (content, modification time) as last synced: a script that
    /// leaves it as it was does not restart a crashed app.
    pub(super) app_markers: BTreeMap<String, (Option<String>, Option<std::time::SystemTime>)>,
    /// Each instance's current lifecycle event log (its tail is a failed event's `logTail`).
    pub(super) event_logs: HashMap<String, super::agent_log::EventLog>,
    /// Where the agent's per-instance logs are kept (`--logs DIR`); in the instance folders if not.
    pub(super) logs_dir: Option<PathBuf>,
    /// Revisions whose scripts reach their app on `$PORT` (the app model is then read while
    /// scripts sleep too, not only when they end).
    pub(super) app_port_revisions: HashSet<String>,
}

impl Sim {
    /// Installs a revision's files on an instance (the copying off the runtime's threads).
    pub(super) async fn install(&mut self, id: &str, rev: &str) -> anyhow::Result<()> {
        let revision = self
            .staged
            .revisions
            .get(rev)
            .ok_or_else(|| anyhow!("unknown revision {rev}"))?;
        let root = self.instance_root(id);
        let copies: Vec<_> = revision
            .spec
            .files
            .iter()
            .map(|(src, dst)| (revision.dir.join(src), root.join(dst.trim_start_matches('/'))))
            .collect();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            for (from, to) in copies {
                if from.is_dir() {
                    copy_tree(&from, &to)?;
                } else if from.exists() {
                    if let Some(p) = to.parent() {
                        std::fs::create_dir_all(p)?;
                    }
                    std::fs::copy(&from, &to)?;
                }
            }
            Ok(())
        })
        .await??;
        let revision = &self.staged.revisions[rev];
        // The application serves the first folder the revision installs (the data plane reads it).
        if let Some((_, dst)) = revision.spec.files.first() {
            let root = root.join(dst.trim_start_matches('/'));
            self.fake().rehearsal().set_doc_root(id, root);
        }
        self.agent.installed.insert(id.to_string(), rev.to_string());
        Ok(())
    }

    /// The application is up while its marker file exists (the sample scripts create and remove it);
    /// a marker saying `warmup=SECONDS` means it answers only that many simulated seconds later (a
    /// slow-starting application). Only a script that wrote or removed the marker changes the app:
    /// an app that crashed (`app_down`) stays down through scripts that leave the marker alone.
    pub(super) fn sync_app(&mut self, id: &str) {
        let path = self.instance_root(id).join("run").join("app.running");
        let marker = std::fs::read_to_string(&path).ok();
        let stamp = (marker.clone(), std::fs::metadata(&path).and_then(|m| m.modified()).ok());
        if self.agent.app_markers.get(id) == Some(&stamp) {
            return;
        }
        self.agent.app_markers.insert(id.to_string(), stamp);
        let warmup = marker
            .as_deref()
            .and_then(|m| m.trim().strip_prefix("warmup="))
            .and_then(|s| s.trim().parse::<i64>().ok());
        match warmup {
            // Started (warming or warm already): nothing changes until the app is stopped.
            Some(_) if self.agent.app_warmups.contains_key(id) => {}
            Some(secs) => {
                let deployment = self.engine.cur_deployment;
                self.spent.warming(deployment, id, secs.max(0) * 1000);
                let _ = self.fake().rehearsal().set_app(id, false);
                let at = self.now() + secs.max(0) * 1000;
                self.agent.app_warmups.insert(id.to_string(), Some(at));
            }
            None => {
                self.agent.app_warmups.remove(id);
                let _ = self.fake().rehearsal().set_app(id, marker.is_some());
            }
        }
    }

    pub(super) async fn start_script(
        &mut self,
        deployment: usize,
        id: &str,
        event: LifecycleEvent,
        rev: &str,
        script: &Script,
    ) -> anyhow::Result<Result<Current, String>> {
        let revision_dir = self
            .staged
            .revisions
            .get(rev)
            .ok_or_else(|| anyhow!("unknown revision {rev}"))?
            .dir
            .clone();
        let app_port = self.agent.app_port_revisions.contains(rev);
        let path = revision_dir.join(&script.location);
        let deadline_ms = self.now() + script.timeout_s as i64 * 1000;
        let fault = self.fault_for(deployment, id, &script.location);
        match fault {
            Some(Behaviour::Fail) => return Ok(Err("ScriptFailed (exit 1, injected)".into())),
            Some(Behaviour::Hang) => {
                return Ok(Ok(Current::Hang {
                    deadline_ms,
                    script: script.location.clone(),
                    event,
                }))
            }
            _ => {}
        }
        if !path.exists() {
            return Ok(Err("ScriptMissing".into()));
        }
        self.procs.started += 1;
        let who = format!("{:08}:{id}", self.procs.started);
        self.script_log_begins(id, deployment, event, &script.location);
        let mut cmd = self.script_command(deployment, id, event, rev, &who, &path, &revision_dir);
        if app_port {
            cmd.env("PORT", self.fake().instance_app_port(id)?.to_string());
        }
        // Named before it starts: its first call waits for its turn (see `fakeaws::turns`).
        anyhow::ensure!(
            self.fake().turns.join(&who, id),
            "{who} was named twice in the turn order"
        );
        let mut child = match spawn(&mut cmd).await {
            Ok(c) => c,
            Err(e) => {
                self.fake().turns.leave(&who);
                return Ok(Err(format!("ScriptFailed (cannot start: {e})")));
            }
        };
        let pid = child.id().unwrap_or(0);
        self.procs.pids.insert(id.to_string(), pid);
        let seq = self.procs.started;
        let tx = self.procs.exits.0.clone();
        let (lines, reading) = super::agent_log::capture(&mut child, self.fake());
        let (fake, name) = (self.fake().clone(), who.clone());
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(s) => s.code().unwrap_or(-1),
                Err(_) => -1,
            };
            // Its output read to the end first, so the logs hold all of it (a process it left
            // running in the background may keep the pipes open: real seconds, then on).
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), reading).await;
            fake.turns.leave(&name);
            let _ = tx.send((seq, code));
        });
        let kill_when_asleep = fault == Some(Behaviour::Kill);
        Ok(Ok(Current::Process {
            pid,
            seq,
            who,
            deadline_ms,
            kill_when_asleep,
            script: script.location.clone(),
            event,
            lines,
        }))
    }

    /// A script's process as the agent starts it: CodeDeploy's environment (event, deployment,
    /// application and group, where the revision came from), the instance's metadata endpoint
    /// and the fake's address, the simulated clock's `sleep`, its own process group, its output
    /// piped to the agent's logs, run from the revision's folder.
    #[allow(clippy::too_many_arguments)]
    fn script_command(
        &self,
        deployment: usize,
        id: &str,
        event: LifecycleEvent,
        rev: &str,
        who: &str,
        path: &Path,
        revision_dir: &Path,
    ) -> tokio::process::Command {
        let root = self.instance_root(id);
        let dg = &self.sc.deployment_group.name;
        // The agent's revision variables: where CodeDeploy says the revision came from.
        let location = self.revision_location(rev);
        let mut cmd = tokio::process::Command::new(path);
        cmd.env_clear()
            .env("PATH", self.script_path())
            .env("LIFECYCLE_EVENT", event.as_str())
            .env("DEPLOYMENT_ID", self.deployment_id(deployment))
            .env("APPLICATION_NAME", &self.application)
            .env("DEPLOYMENT_GROUP_NAME", dg)
            .env("DEPLOYMENT_GROUP_ID", self.deployment_group_id())
            .env("BUNDLE_BUCKET", location.bucket.unwrap_or_default())
            .env("BUNDLE_KEY", location.key.unwrap_or_default())
            .env("BUNDLE_VERSION", location.version.unwrap_or_default())
            .env("BUNDLE_ETAG", location.etag.unwrap_or_default())
            .env("AWS_ENDPOINT_URL", &self.r.url)
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.fake().imds_endpoint(id))
            .env("AWS_CONFIG_FILE", root.join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", root.join("no-aws-credentials"))
            .env("ELB_HOOKS_CLOCK_URL", format!("{}/_fakeaws", self.r.url))
            .env("ELB_HOOKS_CLOCK_WHO", who)
            // Real seconds, not simulated ones: a loaded machine may answer slowly, and nothing
            // of the outcome may depend on how slowly.
            .env("ELB_HOOKS_IMDS_TIMEOUT", "60")
            .env("ELB_HOOKS_STATE_DIR", root.join("var/lib/codedeploy-elb-hooks"))
            .env(
                "ELB_HOOKS_JITTER_SEED",
                format!("{}", self.labels.len() * 7919 + deployment),
            )
            .env("APP_STATE_DIR", root.join("run"))
            .current_dir(revision_dir)
            .stdin(Stdio::null())
            // The script's output, line by line, as the agent keeps it (see `agent_log`).
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        cmd
    }

    /// The scripts' `PATH`: a folder whose `sleep` sleeps on the simulated clock (the hooks'
    /// `clock-sleep`), then the runner's own. A `sleep 40` in a start script takes 40 simulated
    /// seconds and no real ones. Without `clock-sleep` beside the hooks, the system's `sleep`.
    fn script_path(&self) -> String {
        let system = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let shim = self.work.join("shim");
        let target = self.hooks_bin.join("clock-sleep");
        if !shim.join("sleep").exists() {
            if !target.exists() || std::fs::create_dir_all(&shim).is_err() {
                return system;
            }
            if std::os::unix::fs::symlink(&target, shim.join("sleep")).is_err() {
                return system;
            }
        }
        format!("{}:{system}", shim.display())
    }
}

fn copy_tree(src: &Path, dst: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

/// Starts `cmd`, again for a while when its file is busy (`ETXTBSY`). Staging writes revision files
/// while other scenarios start processes: a child forked meanwhile holds the file's write
/// descriptor until its own exec, and an exec of that file in that instant fails, though nothing
/// is wrong with it (a race every multi-threaded process that writes and runs files has).
async fn spawn(cmd: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    let mut attempt = 0u32;
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 50 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt.min(10)))).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    /// A script still open for writing (as in a child forked while staging wrote it) cannot be
    /// run; once the descriptor closes it starts, instead of failing the lifecycle event.
    #[tokio::test(start_paused = true)]
    async fn a_script_busy_being_written_starts_once_it_is_closed() {
        let dir = std::env::temp_dir().join(format!("rehearse-busy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("busy.sh");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&path)
            .unwrap();
        file.write_all(b"#!/bin/sh\nexit 7\n").unwrap();
        file.flush().unwrap();
        let mut cmd = tokio::process::Command::new(&path);
        let first = cmd.spawn().map(|_| ());
        assert_eq!(first.map_err(|e| e.kind()), Err(std::io::ErrorKind::ExecutableFileBusy));
        let closer = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            drop(file);
        });
        let mut child = super::spawn(&mut cmd).await.unwrap();
        closer.await.unwrap();
        assert_eq!(child.wait().await.unwrap().code(), Some(7));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
