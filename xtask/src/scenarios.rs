//! `cargo xtask test-scenarios [--fleet] [--report[=DIR]] [FILTER]`: builds the workspace, then runs
//! every scenario file, or with `--fleet` the fleet-scale ones (and writes the timeline report with `--report`, by default
//! `target/scenario-report/`).
//!
//! The build is `cargo build --workspace --all-targets`: the same feature resolution as
//! `cargo nextest run --workspace` and `cargo clippy --workspace --all-targets`, so switching
//! between the README's two commands compiles nothing (a `--package hooks --bins` build resolves
//! features differently and made each switch rebuild the AWS SDK crates). `--fleet` also builds the
//! hooks in release (their own folder, so nothing else is rebuilt) and runs the fleet with those.

use std::path::PathBuf;

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct TestScenarios {
    /// Also write a static report (index.html, one SVG timeline page per scenario), to
    /// target/scenario-report or `--report=DIR`.
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true)]
    report: Option<Option<PathBuf>>,
    /// The fleet-scale scenarios of `scenarios/fleet/` (1,000 instances: minutes) instead of the suite.
    #[arg(long)]
    fleet: bool,
    /// Only scenarios whose file name contains this.
    filter: Option<String>,
}

impl TestScenarios {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        cmd!(sh, "cargo build --quiet --workspace --all-targets").run()?;
        let exe = crate::target_dir(sh).join("debug").join("scenarios");
        let filter = self.filter;
        let report: Option<String> = self.report.map(|dir| {
            let dir = dir.unwrap_or_else(|| crate::target_dir(sh).join("scenario-report"));
            let dir = if dir.is_relative() {
                sh.current_dir().join(dir)
            } else {
                dir
            };
            format!("--report={}", dir.display())
        });
        let fleet = self.fleet.then_some("--fleet");
        let mut run = cmd!(sh, "{exe} {fleet...} {report...} {filter...}");
        if self.fleet {
            // Thousands of hook processes each decode group answers listing every member: the
            // fleet runs the hooks built optimised (the suite keeps the debug build).
            cmd!(sh, "cargo build --quiet --release --package hooks --bins").run()?;
            run = run.env("ELB_HOOKS_BIN_DIR", crate::target_dir(sh).join("release"));
        }
        run.run()?;
        Ok(())
    }
}
