//! The hook binaries a run needs: found beside `rehearse` (or by `ELB_HOOKS_BIN_DIR`), else built
//! in this workspace's target folder, as an installed `rehearse` without them does.

use std::path::PathBuf;

/// The shipped scenarios' paths, with the hook binaries built first if one is missing.
pub fn paths() -> anyhow::Result<scenarios::runner::Paths> {
    let dir = scenarios::hooks_bin_dir();
    if scenarios::hook_binaries().iter().any(|b| !dir.join(b).exists()) {
        build()?;
    }
    Ok(scenarios::default_paths(scenarios::hooks_present()?))
}

fn build() -> anyhow::Result<()> {
    let cargo: PathBuf = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(&cargo)
        .args(["build", "--quiet", "--package", "hooks", "--bins"])
        .current_dir(scenarios::scenarios_dir())
        .status()
        .map_err(|e| anyhow::anyhow!("could not run {} to build the hook binaries: {e}", cargo.display()))?;
    anyhow::ensure!(status.success(), "building the hook binaries failed ({status})");
    Ok(())
}
