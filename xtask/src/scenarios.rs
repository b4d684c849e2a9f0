//! `cargo xtask test-scenarios [FILTER]`: builds the workspace, then runs every scenario file.
//!
//! The build is `cargo build --workspace --all-targets`: the same feature resolution as
//! `cargo nextest run --workspace` and `cargo clippy --workspace --all-targets`, so switching
//! between the README's two commands compiles nothing (a `--package hooks --bins` build resolves
//! features differently and made each switch rebuild the AWS SDK crates).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct TestScenarios {
    /// Only scenarios whose file name contains this.
    filter: Option<String>,
}

impl TestScenarios {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        cmd!(sh, "cargo build --quiet --workspace --all-targets").run()?;
        let exe = crate::target_dir(sh).join("debug").join("scenarios");
        let filter = self.filter;
        cmd!(sh, "{exe} {filter...}").run()?;
        Ok(())
    }
}
