//! `cargo xtask rehearse [ARGS]`: builds the workspace and runs `rehearse serve` in the
//! foreground: fakeaws with CodeDeploy's engine and S3, for rehearsing a real pipeline
//! (`aws deploy push`, `aws deploy create-deployment`, `aws deploy wait deployment-successful`).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct Rehearse {
    /// Arguments for `rehearse serve`: `--world FILE`, `--bind 127.0.0.1:4566`, `--s3-dir DIR`,
    /// `--time-scale N`, `--logs DIR`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Rehearse {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // The same build as test-scenarios: the hook binaries the engine stages come with it.
        crate::run(cmd!(sh, "cargo build --quiet --workspace --all-targets"))?;
        let exe = crate::target_dir(sh).join("debug").join("rehearse");
        let args = self.args;
        crate::run(cmd!(sh, "{exe} serve {args...}"))?;
        Ok(())
    }
}
