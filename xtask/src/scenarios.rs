//! `cargo xtask test-scenarios [--fleet] [--report[=DIR]] [--baseline DIR] [FILTER]`: builds the workspace, then runs
//! every scenario file, or with `--fleet` the fleet-scale ones (and writes the timeline report with `--report`, by default
//! `target/scenario-report/`).
//!
//! The build is `cargo build --workspace --all-targets`: the same feature resolution as
//! `cargo nextest run --workspace` and `cargo clippy --workspace --all-targets`, so switching
//! between the README's two commands compiles nothing (a `--package hooks --bins` build resolves
//! features differently and made each switch rebuild the AWS SDK crates). `--fleet` builds the
//! scenario runner and the hooks in release instead (their own folder, so nothing of the suite's
//! build is touched) and plays the fleet with those.

use std::path::PathBuf;

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct TestScenarios {
    /// Also write a static report (index.html, one SVG timeline page per scenario), to
    /// target/scenario-report or `--report=DIR`.
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true)]
    report: Option<Option<PathBuf>>,
    /// Compare the report with an earlier one (the folder of an earlier `--report=DIR` run):
    /// baseline.html lists what changed, each page draws both timelines. Implies --report.
    #[arg(long, value_name = "DIR")]
    baseline: Option<PathBuf>,
    /// The fleet-scale scenarios of `scenarios/fleet/` (1,000 instances: minutes) instead of the suite.
    #[arg(long)]
    fleet: bool,
    /// Only scenarios whose file name contains this.
    filter: Option<String>,
}

impl TestScenarios {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        crate::test::ensure("xtask test-scenarios", &[crate::test::CURL])?;
        let exe = if self.fleet {
            // Thousands of hook processes, each decoding group answers that list every member,
            // against a fake serving them: the fleet runs on an optimised build of both (its own
            // target folder, so the suite's debug build is left alone).
            crate::run(cmd!(
                sh,
                "cargo build --quiet --release --package scenarios --package hooks --bins"
            ))?;
            crate::target_dir(sh).join("release").join("rehearse")
        } else {
            crate::run(cmd!(sh, "cargo build --quiet --workspace --all-targets"))?;
            crate::target_dir(sh).join("debug").join("rehearse")
        };
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
        let baseline: Option<String> = self.baseline.map(|dir| {
            let dir = if dir.is_relative() {
                sh.current_dir().join(dir)
            } else {
                dir
            };
            format!("--baseline={}", dir.display())
        });
        let fleet = self.fleet.then_some("--fleet");
        crate::run(cmd!(sh, "{exe} {fleet...} {report...} {baseline...} {filter...}"))?;
        Ok(())
    }
}
