//! The hook binaries for tests: built on demand, so a bare `cargo test -p scenarios` works too.

use std::path::PathBuf;

/// The hook binaries' folder, built first if one is missing.
pub fn hooks_dir() -> PathBuf {
    let dir = scenarios::hooks_bin_dir();
    if scenarios::hook_binaries().iter().any(|b| !dir.join(b).exists()) {
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "--package", "hooks", "--bins"])
            .current_dir(scenarios::scenarios_dir())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the hook binaries failed");
    }
    scenarios::hooks_present().expect("hook binaries")
}

/// The shipped scenarios' paths.
#[allow(dead_code)]
pub fn paths() -> scenarios::runner::Paths {
    scenarios::default_paths(hooks_dir())
}
