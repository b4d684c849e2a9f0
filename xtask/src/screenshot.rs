//! `cargo xtask screenshot [SCENARIO]`: plays one scenario with the timeline report on, and has
//! headless Chromium photograph its page into `docs/report.png` (the README's picture).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct Screenshot {
    /// The scenario whose page is photographed.
    #[arg(default_value = "maintenance_all_at_once")]
    scenario: String,
    /// Where the picture goes.
    #[arg(long, default_value = "docs/report.png")]
    out: std::path::PathBuf,
}

impl Screenshot {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        crate::run(cmd!(sh, "cargo build --quiet --workspace --all-targets"))?;
        let target = crate::target_dir(sh);
        let exe = target.join("debug").join("scenarios");
        let dir = target.join("screenshot-report");
        let report = format!("--report={}", dir.display());
        let scenario = &self.scenario;
        crate::run(cmd!(sh, "{exe} {report} {scenario}"))?;
        let page = format!("file://{}", dir.join(format!("{scenario}.html")).display());
        let out = sh.current_dir().join(&self.out);
        if let Some(p) = out.parent() {
            std::fs::create_dir_all(p)?;
        }
        let shot = format!("--screenshot={}", out.display());
        let profile = format!("--user-data-dir={}", target.join("screenshot-chromium").display());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
        crate::run(cmd!(
            sh,
            "{chromium} --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1150,860 {profile} {shot} {page}"
        )
        .ignore_stderr())?;
        println!("screenshot: {}", out.display());
        Ok(())
    }
}
