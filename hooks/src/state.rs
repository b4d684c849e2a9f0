//! The local record of what the hooks changed, so that a later run can repair a failed deployment.
//!
//! One JSON file per deployment *group* (not per deployment: the next deployment must find what a
//! failed one left), in a private directory (0700), written atomically (0600 temp file + rename)
//! *before* the change it describes. Symlinks are refused, for the directory and the file.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{HookError, Result};

/// A target registration the hooks removed (target-group path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub target_group_arn: String,
    pub port: i32,
}

/// What this instance's hooks have changed and not yet undone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub deployment_group: String,
    /// The deployment that last wrote the file.
    pub deployment_id: String,
    pub instance_id: String,
    /// Auto Scaling group, on the ASG path.
    pub group: Option<String>,
    /// We asked for EnterStandby: saved just before the call (a run killed before then asked nothing).
    pub standby: bool,
    /// We lowered MinSize from this value (the group's tag holds the shared original).
    pub lowered_min_from: Option<i32>,
    /// Processes we suspended.
    pub suspended: Vec<String>,
    /// EnterStandby left the desired capacity as it was (it was 0, the instances in service a
    /// surplus protected from scale in); ExitStandby adds one, which register takes back.
    #[serde(default)]
    pub standby_kept_desired: bool,
    /// Register's ExitStandby of the Standby these hooks put the instance in was served: that
    /// Standby is over (a register killed before it finished leaves `standby` set), and a Standby
    /// found from then on is someone else's. Cleared when deregister puts it in Standby again.
    #[serde(default)]
    pub exited_standby: bool,
    /// Register asked for that ExitStandby at this time (ms since the epoch, the clock's) and has
    /// not saved the answer yet: saved as the last thing before the call. A run killed then leaves
    /// it unknown whether AWS served it; the group's scaling activities since say (see
    /// `asg::own_standby_holds`).
    #[serde(default)]
    pub exit_asked_ms: Option<i64>,
    /// Target-group path: registrations we removed.
    pub deregistered: Vec<Registration>,
    /// Classic path: load balancers we deregistered from.
    #[serde(default)]
    pub classic: Vec<String>,
    /// ASG path: the group's target groups when the instance left (the register hook waits on
    /// them without reading the group first, and on any attached since once it reads it).
    #[serde(default)]
    pub target_groups: Vec<String>,
    /// ASG path: the group's Classic Load Balancers when the instance left.
    #[serde(default)]
    pub load_balancer_names: Vec<String>,
    /// The priority of the maintenance page when the hooks ran with `[maintenance]`: register
    /// takes a page the hooks put up down even if the revision it runs from has no
    /// `[maintenance]` (a rollback to one without it).
    #[serde(default)]
    pub maintenance_priority: Option<i32>,
    /// The longest slow start of the target groups the instance left (register waits it out
    /// once the instance is healthy again).
    #[serde(default)]
    pub slow_start_s: u64,
    /// The deployment whose group controls traffic itself (WITH_TRAFFIC_CONTROL), and its load
    /// balancers as CodeDeploy named them: deregister found it, register leaves them alone too.
    #[serde(default)]
    pub traffic_control: Option<(String, String)>,
}

impl State {
    /// Whether an earlier run left something to put back (Standby, MinSize, processes,
    /// registrations).
    pub fn holds_changes(&self) -> bool {
        self.standby
            || self.lowered_min_from.is_some()
            || !self.suspended.is_empty()
            || !self.deregistered.is_empty()
            || !self.classic.is_empty()
    }
}

/// Where the state file lives.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    file: PathBuf,
}

fn state_err(what: &str, path: &Path, e: impl Into<crate::error::Cause>) -> HookError {
    HookError::State {
        what: what.to_string(),
        path: path.to_path_buf(),
        source: Some(e.into()),
    }
}

impl Store {
    /// The store for one deployment group in `dir`.
    pub fn new(dir: &Path, deployment_group: &str) -> Store {
        let safe: String = deployment_group
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Store {
            dir: dir.to_path_buf(),
            file: dir.join(format!("{safe}.json")),
        }
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.file
    }

    fn ensure_dir(&self) -> Result<()> {
        match std::fs::symlink_metadata(&self.dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(state_err(
                    "refusing a symlinked state directory",
                    &self.dir,
                    "it is a symlink",
                ))
            }
            Ok(m) if !m.is_dir() => return Err(state_err("not a directory:", &self.dir, "exists as a file")),
            Ok(m) => {
                if m.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
                        .map_err(|e| state_err("cannot make private", &self.dir, e))?;
                }
            }
            Err(_) => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|e| state_err("cannot create", &self.dir, e))?,
        }
        Ok(())
    }

    /// The recorded state, if any. Partial writes a killed run left behind (temporary files never
    /// renamed into place) are removed first: the file itself is always a complete earlier state.
    pub fn load(&self) -> Result<Option<State>> {
        self.sweep_partial_writes();
        match std::fs::symlink_metadata(&self.file) {
            Err(_) => return Ok(None),
            Ok(m) if m.file_type().is_symlink() => {
                return Err(state_err(
                    "refusing a symlinked state file",
                    &self.file,
                    "it is a symlink",
                ))
            }
            Ok(_) => {}
        }
        let text = std::fs::read_to_string(&self.file).map_err(|e| state_err("cannot read", &self.file, e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| state_err("cannot parse", &self.file, e))
    }

    /// Writes the state atomically.
    pub fn save(&self, state: &State) -> Result<()> {
        let text = serde_json::to_string_pretty(state).map_err(|e| state_err("cannot encode", &self.file, e))?;
        self.write_atomic(&self.file, &text)
    }

    /// Beside the state file: why CodeDeploy could not be asked about `deployment`, kept across
    /// runs (the state file itself goes when a run succeeds).
    fn note_path(&self) -> PathBuf {
        self.file.with_extension("codedeploy")
    }

    /// Records that asking CodeDeploy about `deployment` failed for a reason that will not change
    /// while it runs (the application or group does not exist, the role may not ask).
    pub fn note_codedeploy_unavailable(&self, deployment: &str, why: &str) -> Result<()> {
        let text = serde_json::json!({ "deployment_id": deployment, "why": why }).to_string();
        self.write_atomic(&self.note_path(), &text)
    }

    /// Why CodeDeploy could not be asked about `deployment`, if an earlier run of it found out.
    pub fn codedeploy_unavailable(&self, deployment: &str) -> Option<String> {
        if std::fs::symlink_metadata(self.note_path()).is_ok_and(|m| m.file_type().is_symlink()) {
            return None;
        }
        let text = std::fs::read_to_string(self.note_path()).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        (v["deployment_id"] == deployment).then(|| v["why"].as_str().unwrap_or_default().to_string())
    }

    /// Writes `text` to `path` atomically (a temporary file renamed into place), 0600, refusing
    /// symlinks.
    fn write_atomic(&self, path: &Path, text: &str) -> Result<()> {
        self.ensure_dir()?;
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(state_err("refusing a symlinked state file", path, "it is a symlink"));
        }
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", std::process::id(), fastrand::u32(..)));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW) // the platform's own value (0o100000 on aarch64, 0o400000 on x86_64)
            .open(&tmp)
            .map_err(|e| state_err("cannot create", &tmp, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| state_err("cannot write", &tmp, e))?;
        f.sync_all().map_err(|e| state_err("cannot sync", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| state_err("cannot rename onto", path, e))?;
        Ok(())
    }

    /// Removes the temporary files of writes that never finished (their process died between
    /// creating and renaming them). Only hooks write here, one at a time per instance.
    fn sweep_partial_writes(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let ours = format!(".{}.", std::process::id());
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') && name.ends_with(".tmp") && !name.starts_with(&ours) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Removes the state file (everything was undone).
    pub fn clear(&self) -> Result<()> {
        match std::fs::remove_file(&self.file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(state_err("cannot remove", &self.file, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir() -> PathBuf {
        std::env::temp_dir().join(format!("elb-hooks-state-{}-{}", std::process::id(), fastrand::u64(..)))
    }

    #[test]
    fn private_atomic_round_trip() {
        let dir = tmpdir();
        let store = Store::new(&dir.join("state"), "dg/../x");
        assert!(store.path().file_name().is_some_and(|n| n == "dg____x.json"));
        assert_eq!(store.load().expect("load"), None);
        let s = State {
            deployment_group: "dg".into(),
            standby: true,
            ..Default::default()
        };
        store.save(&s).expect("save");
        assert_eq!(store.load().expect("load"), Some(s));
        let dmode = std::fs::metadata(dir.join("state")).expect("dir").permissions().mode() & 0o777;
        let fmode = std::fs::metadata(store.path()).expect("file").permissions().mode() & 0o777;
        assert_eq!((dmode, fmode), (0o700, 0o600));
        store.clear().expect("clear");
        assert_eq!(store.load().expect("load"), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A run killed in the middle of a write (the temporary file created, not yet renamed) leaves
    /// the previous state in place; the next run reads that and sweeps the partial file.
    #[test]
    fn a_write_killed_midway_leaves_the_previous_state() {
        let dir = tmpdir();
        let store = Store::new(&dir, "dg");
        let before = State {
            deployment_group: "dg".into(),
            standby: true,
            suspended: vec!["AZRebalance".into()],
            ..Default::default()
        };
        store.save(&before).expect("save");
        let partial = dir.join(".999999.12345.tmp");
        std::fs::write(&partial, "{\"deployment_group\": \"dg\", \"stand").expect("partial");
        assert_eq!(store.load().expect("load"), Some(before));
        assert!(!partial.exists(), "the partial write is swept");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn symlinks_are_refused() {
        let dir = tmpdir();
        std::fs::create_dir_all(&dir).expect("dir");
        std::os::unix::fs::symlink("/tmp", dir.join("link")).expect("symlink");
        let store = Store::new(&dir.join("link"), "dg");
        assert!(matches!(store.save(&State::default()), Err(HookError::State { .. })));
        let store = Store::new(&dir, "dg");
        std::os::unix::fs::symlink("/etc/passwd", dir.join("dg.json")).expect("symlink");
        assert!(matches!(store.load(), Err(HookError::State { .. })));
        assert!(matches!(store.save(&State::default()), Err(HookError::State { .. })));
        let _ = std::fs::remove_dir_all(dir);
    }
}
