//! `cargo xtask screenshot [SCENARIO...]`: plays scenarios with the timeline report on, and has
//! headless Chromium photograph each one's page into `docs/report-<scenario>.png` (the README's
//! pictures: by default a happy deployment, a failed one rolled back, and the maintenance page).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct Screenshot {
    /// The scenarios whose pages are photographed.
    #[arg(default_values_t = ["happy_one_at_a_time".to_string(), "hook_timeout_with_rollback".to_string(), "maintenance_all_at_once".to_string()])]
    scenarios: Vec<String>,
    /// The folder the pictures go to.
    #[arg(long, default_value = "docs")]
    out: std::path::PathBuf,
}

impl Screenshot {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        crate::run(cmd!(sh, "cargo build --quiet --workspace --all-targets"))?;
        let target = crate::target_dir(sh);
        let exe = target.join("debug").join("rehearse");
        let out = sh.current_dir().join(&self.out);
        std::fs::create_dir_all(&out)?;
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let profile = format!("--user-data-dir={}", target.join("screenshot-chromium").display());
        for scenario in &self.scenarios {
            // One folder per scenario: a report clears the pages of the run before it.
            let dir = target.join("screenshot-report").join(scenario);
            let report = format!("--report={}", dir.display());
            crate::run(cmd!(sh, "{exe} {report} {scenario}"))?;
            let page = format!("file://{}", dir.join(format!("{scenario}.html")).display());
            let shot = out.join(format!("report-{scenario}.png"));
            let shot_arg = format!("--screenshot={}", shot.display());
            crate::run(cmd!(
                sh,
                "{chromium} --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1250 {profile} {shot_arg} {page}"
            )
            .ignore_stderr())?;
            println!("screenshot: {}", shot.display());
        }
        Ok(())
    }
}
