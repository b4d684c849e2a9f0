//! Staging revisions: each revision's folder (or archive), the hook binaries and their config,
//! collected and validated as `cargo xtask bundle` does, under the run's work folder.

use anyhow::Context;

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Revision, Sim};
use crate::appspec;

/// The revisions staged under the work folder, and where those read from S3 came from.
pub(super) struct Staged {
    /// Where a scenario's revision folders are (`dir` in a `[[revisions]]` is relative to it).
    dir: PathBuf,
    /// Revision name -> its staged folder and appspec.
    pub(super) revisions: BTreeMap<String, Revision>,
    /// Revision name -> its location in S3, for revisions a deployment read from there.
    pub(super) locations: BTreeMap<String, fakeaws::model::codedeploy::Revision>,
}

impl Staged {
    pub(super) fn new(dir: PathBuf) -> Staged {
        Staged {
            dir,
            revisions: BTreeMap::new(),
            locations: BTreeMap::new(),
        }
    }
}

impl Sim {
    /// Stages each revision: its folder, the hook binaries (links) and their config.
    pub(super) fn stage_revisions(&mut self) -> anyhow::Result<()> {
        for rev in self.sc.revisions.clone() {
            self.stage_revision(&rev)?;
        }
        Ok(())
    }

    /// Stages one revision (its folder, or an archive as it is).
    pub(super) fn stage_revision(&mut self, rev: &crate::schema::RevisionSpec) -> anyhow::Result<()> {
        {
            let src = self.staged.dir.join(&rev.dir);
            let dst = self.work.join("revisions").join(&rev.name);
            let (entries, link_binaries) = match &rev.bundle {
                // A real revision archive, extracted with its modes like the agent's `unzip -qo`.
                Some(archive) => {
                    let bytes = std::fs::read(archive)
                        .with_context(|| format!("revision {}: reading {}", rev.name, archive.display()))?;
                    (crate::bundle::read(&bytes)?, false)
                }
                // The same collection and validation as `cargo xtask bundle`; the binaries become
                // links rather than copies (a hundred instances share them).
                None => {
                    let config = match &rev.hooks_config {
                        Some(text) => {
                            let p = self.work.join(format!("{}-elb-hooks.toml", rev.name));
                            std::fs::write(&p, text)?;
                            Some(p)
                        }
                        None => None,
                    };
                    let input = crate::bundle::Input {
                        app: src.clone(),
                        appspec: None,
                        config,
                        hooks_dir: self.hooks_bin.clone(),
                    };
                    let entries = crate::bundle::collect_unread_binaries(&input)
                        .with_context(|| format!("revision {}", rev.name))?;
                    crate::bundle::validate(&entries).with_context(|| format!("revision {}", rev.name))?;
                    (entries, true)
                }
            };
            for e in &entries {
                let to = dst.join(&e.path);
                if let Some(p) = to.parent() {
                    std::fs::create_dir_all(p)?;
                }
                let from = self.hooks_bin.join(e.path.trim_start_matches("bin/"));
                // The hook binaries (collected unread): a hard link where the work folder shares
                // their file system, else a symbolic link (a work folder in memory), else a copy.
                if link_binaries && e.path.starts_with("bin/") && e.mode == 0o755 && from.is_file() {
                    if std::fs::hard_link(&from, &to).is_err() && std::os::unix::fs::symlink(&from, &to).is_err() {
                        std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
                    }
                    continue;
                }
                std::fs::write(&to, &e.data)?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(e.mode))?;
            }
            let text = std::fs::read_to_string(dst.join("appspec.yml"))
                .with_context(|| format!("revision {}: no appspec.yml", rev.name))?;
            let spec = appspec::parse(&text).with_context(|| format!("revision {}", rev.name))?;
            self.staged
                .revisions
                .insert(rev.name.clone(), Revision { dir: dst, spec });
        }
        Ok(())
    }
}
