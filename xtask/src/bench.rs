//! `cargo xtask bench [ARGS]`: builds fakeaws in release and runs `fakeaws-bench` (throughput and
//! latency on a fresh and a churned world, beside moto_server when installed). Arguments are the
//! bench's own (`cargo xtask bench --help`).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Bench {
    /// Arguments of fakeaws-bench: --clients, --seconds, --instances, --churn-rounds, --moto.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        cmd!(sh, "cargo build --quiet --release --package fakeaws --bins").run()?;
        let bench = crate::target_dir(sh).join("release").join("fakeaws-bench");
        let args = self.args;
        cmd!(sh, "{bench} {args...}").run()?;
        Ok(())
    }
}
