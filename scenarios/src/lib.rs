//! Rehearse whole CodeDeploy deployments on a laptop: a simulated CodeDeploy service and agent
//! ([`runner`]) plays scenario files ([`schema`]) against an embedded fakeaws, running the real
//! hook binaries, and reports an [`report::Outcome`] that the snapshot tests hold.

pub mod appspec;
pub mod bundle;
pub mod explore;
pub mod html;
pub mod import;
pub mod init;
pub mod own;
pub mod report;
pub mod runner;
pub mod schema;
pub mod timeline;

use std::path::{Path, PathBuf};

/// The `scenarios/` folder of this workspace.
pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hook binaries a run needs.
const HOOK_BINARIES: [&str; 3] = ["deregister-from-elb", "register-with-elb", "clock-sleep"];

/// Where the hook binaries are: `ELB_HOOKS_BIN_DIR`; or beside this program (the cargo target
/// folder of this build, or `~/.cargo/bin` after `cargo install --path hooks`); or, for an
/// installed program without them, this workspace's own target folder (built there on demand).
pub fn hooks_bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ELB_HOOKS_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let in_target = dir
        .parent()
        .is_some_and(|p| p.join("debug").is_dir() || p.join("release").is_dir())
        && (dir.ends_with("debug") || dir.ends_with("release"));
    if in_target || HOOK_BINARIES.iter().all(|b| dir.join(b).exists()) {
        return dir;
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| scenarios_dir().join("../target"))
        .join("debug")
}

/// Builds the hook binaries if they are missing (e.g. under a bare `cargo test -p scenarios`).
pub fn ensure_hooks_built() -> anyhow::Result<PathBuf> {
    let dir = hooks_bin_dir();
    if HOOK_BINARIES.iter().any(|b| !dir.join(b).exists()) {
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "--package", "hooks", "--bins"])
            .current_dir(scenarios_dir())
            .status()?;
        anyhow::ensure!(status.success(), "building the hook binaries failed");
    }
    Ok(dir)
}

/// Default paths for running the shipped scenarios.
pub fn default_paths() -> anyhow::Result<runner::Paths> {
    let hooks_bin = ensure_hooks_built()?;
    // Scratch space: `SCENARIOS_WORK_DIR`, or next to the binaries.
    let work = std::env::var_os("SCENARIOS_WORK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| hooks_bin.join("scenario-work"));
    Ok(runner::Paths {
        revisions: scenarios_dir().join("revisions"),
        hooks_bin,
        work,
        logs: None,
    })
}

/// Where `--report` writes by default: `scenario-report/` in the cargo target folder.
pub fn default_report_dir() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("scenario-report");
    }
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("scenario-report")
}

/// Every scenario file, sorted, optionally filtered by name.
pub fn scenario_files(filter: Option<&str>) -> anyhow::Result<Vec<PathBuf>> {
    files_in("scenarios", filter)
}

/// The fleet-scale scenario files (`scenarios/fleet/`, run with `--fleet`: minutes, not seconds,
/// so not part of the suite), optionally only those whose name contains `filter`.
pub fn fleet_files(filter: Option<&str>) -> anyhow::Result<Vec<PathBuf>> {
    files_in("fleet", filter)
}

fn files_in(dir: &str, filter: Option<&str>) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir().join(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| filter.is_none_or(|f| p.file_name().is_some_and(|n| n.to_string_lossy().contains(f))))
        .collect();
    files.sort();
    Ok(files)
}

/// The snapshot of an outcome, as a YAML-ish text insta stores.
pub fn snapshot_settings(file: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(scenarios_dir().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_input_file(file);
    s.set_snapshot_suffix(
        file.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
    );
    s.set_omit_expression(true);
    s
}
