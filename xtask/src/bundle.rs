//! `cargo xtask bundle`: builds the hook binaries (release by default) and writes a CodeDeploy
//! revision with them, or checks one (`--check`). The archive work is the `bundle` binary of the
//! scenarios crate; this task only builds and forwards.

use std::path::PathBuf;

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct Bundle {
    /// Application folder (becomes the revision root).
    #[arg(long)]
    app: Option<PathBuf>,
    /// appspec.yml to use (default: the app's own, else a generated one).
    #[arg(long)]
    appspec: Option<PathBuf>,
    /// elb-hooks.toml to ship beside the binaries.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder (cleared first).
    #[arg(long, default_value = "dist")]
    out: PathBuf,
    /// zip or tgz.
    #[arg(long, default_value = "zip")]
    format: String,
    /// Build the hooks for another installed target (e.g. x86_64-unknown-linux-musl).
    #[arg(long)]
    target: Option<String>,
    /// Use debug binaries (faster to build; for rehearsals only).
    #[arg(long)]
    debug: bool,
    /// Check an existing revision archive.
    #[arg(long)]
    check: Option<PathBuf>,
    /// Build the sample web app revision.
    #[arg(long)]
    example: bool,
}

impl Bundle {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let profile = if self.debug { "debug" } else { "release" };
        let mut dir = crate::target_dir(sh);
        if let Some(t) = &self.target {
            dir.push(t);
        }
        dir.push(profile);
        let hooks_dir = dir;
        if self.check.is_none() {
            let release = (!self.debug).then_some("--release");
            let target = self.target.as_ref().map(|t| format!("--target={t}"));
            cmd!(
                sh,
                "cargo build --quiet {release...} {target...} --package hooks --bins"
            )
            .run()?;
        }
        let mut args: Vec<String> = vec!["--hooks-dir".into(), hooks_dir.display().to_string()];
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                args.push(k.into());
                args.push(v);
            }
        };
        let abs = |p: PathBuf| sh.current_dir().join(p).display().to_string();
        push("--app", self.app.map(abs));
        push("--appspec", self.appspec.map(abs));
        push("--config", self.config.map(abs));
        push("--out", Some(abs(self.out)));
        push("--format", Some(self.format));
        push("--check", self.check.map(abs));
        if self.example {
            args.push("--example".into());
        }
        cmd!(sh, "cargo run --quiet --package scenarios --bin bundle -- {args...}").run()?;
        Ok(())
    }
}
