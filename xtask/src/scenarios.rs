//! `cargo xtask test-scenarios [FILTER]`: builds the hook binaries, then runs every scenario file.

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct TestScenarios {
    /// Only scenarios whose file name contains this.
    filter: Option<String>,
}

impl TestScenarios {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        cmd!(sh, "cargo build --quiet --package hooks --bins").run()?;
        let filter = self.filter;
        cmd!(
            sh,
            "cargo run --quiet --package scenarios --bin scenarios -- {filter...}"
        )
        .run()?;
        Ok(())
    }
}
