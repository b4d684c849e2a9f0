//! `cargo xtask explore [OPTIONS] [SCENARIO|FILE ...]`: builds the workspace, then runs the
//! explorer (`scenarios explore`): every fleet event at every trigger point of each scenario, run
//! and judged, with failures written as scenario files. Options go to the explorer
//! (`--max-variants N`, `--seed S`, `--partition K/N`, `--out DIR`, `--json FILE`, `--jobs N`).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct Explore {
    /// Arguments for `scenarios explore` (see `cargo xtask explore -- --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Explore {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        crate::run(cmd!(sh, "cargo build --quiet --workspace --all-targets"))?;
        let exe = crate::target_dir(sh).join("debug").join("scenarios");
        let args = self.args;
        crate::run(cmd!(sh, "{exe} explore {args...}"))?;
        Ok(())
    }
}
