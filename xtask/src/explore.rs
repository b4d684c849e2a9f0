//! `cargo xtask explore [OPTIONS] [SCENARIO|FILE ...]`: builds the explorer and the hooks
//! (release), then runs the
//! explorer (`rehearse explore`): every fleet event at every trigger point of each scenario, run
//! and judged, with failures written as scenario files. Options go to the explorer
//! (`--max-variants N`, `--seed S`, `--partition K/N`, `--out DIR`, `--json FILE`, `--jobs N`).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct Explore {
    /// Arguments for `rehearse explore` (see `cargo xtask explore -- --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Explore {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // Optimised: a variant is mostly hook processes starting and the fake answering them, and
        // the release build runs the explorer about half again as fast (happy_one_at_a_time's 424
        // variants: 46 s against 72 s on 2 cores). The hooks are found beside the binary.
        crate::run(cmd!(sh, "cargo build --quiet --release -p scenarios -p hooks --bins"))?;
        let exe = crate::target_dir(sh).join("release").join("rehearse");
        let args = self.args;
        crate::run(cmd!(sh, "{exe} explore {args...}"))?;
        Ok(())
    }
}
