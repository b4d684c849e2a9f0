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
mod scratch;
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
/// installed program without them, this workspace's own target folder (where `rehearse` builds
/// them when they are missing; the library itself never runs cargo).
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

/// The hook binaries' folder ([`hooks_bin_dir`]), refused with the way to build them when one is
/// missing. (Building is the caller's business: the `rehearse` binary builds them in its
/// workspace, a test builds them for a bare `cargo test -p scenarios`.)
pub fn hooks_present() -> anyhow::Result<PathBuf> {
    let dir = hooks_bin_dir();
    if let Some(missing) = HOOK_BINARIES.iter().find(|b| !dir.join(b).exists()) {
        anyhow::bail!(
            "the hook binary {missing} is not in {}: build them with `cargo build -p hooks --bins` (or install them with `cargo install --path hooks`), or set ELB_HOOKS_BIN_DIR",
            dir.display()
        );
    }
    Ok(dir)
}

/// The hook binaries' names, for a caller that builds them.
pub fn hook_binaries() -> &'static [&'static str] {
    &HOOK_BINARIES
}

/// Default paths for running the shipped scenarios, with the hook binaries in `hooks_bin`.
pub fn default_paths(hooks_bin: PathBuf) -> runner::Paths {
    let work = std::env::var_os("SCENARIOS_WORK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let dir = default_work_dir(&hooks_bin);
            scratch::sweep(&dir);
            dir
        });
    runner::Paths {
        revisions: scenarios_dir().join("revisions"),
        hooks_bin,
        work,
        logs: None,
    }
}

/// Scratch space when `SCENARIOS_WORK_DIR` is not set. A run creates and removes thousands of
/// small files (instance folders, script logs, the hooks' state files, fsynced): in memory
/// (`/dev/shm/codedeploy-elb-hooks-scenarios-UID`) when the system has a tmpfs there with at least
/// 1 GiB free, about 1.5 times as fast as a disk; else `scenario-work` beside the binaries.
fn default_work_dir(hooks_bin: &Path) -> PathBuf {
    const ROOM: u64 = 1 << 30;
    let shm = Path::new("/dev/shm");
    let roomy = rustix::fs::statvfs(shm).is_ok_and(|s| s.f_bavail.saturating_mul(s.f_frsize) >= ROOM);
    if shm.is_dir() && roomy {
        // One folder per user: another user's is not writable.
        shm.join(format!(
            "codedeploy-elb-hooks-scenarios-{}",
            rustix::process::getuid().as_raw()
        ))
    } else {
        hooks_bin.join("scenario-work")
    }
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
