//! `cargo xtask bench [ARGS]`: installs moto's server if it is missing (unless `--moto` is given),
//! builds fakeaws in release and runs `fakeaws-bench` (throughput and latency on a fresh and a
//! churned world, side by side with moto_server, caches defeated). Arguments are the bench's own
//! (`cargo xtask bench --help`).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Bench {
    /// Arguments of fakeaws-bench: --clients, --seconds, --rounds, --instances, --churn-rounds,
    /// --variants, --moto.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if self.args.iter().any(|a| a == "--help" || a == "-h") {
            // The bench's own help, kept beside xtask (a test holds it equal): no build for it.
            print!("{}", include_str!("../help/fakeaws-bench.txt"));
            return Ok(());
        }
        let chosen_or_help = self
            .args
            .iter()
            .any(|a| a == "--moto" || a.starts_with("--moto=") || a == "--help" || a == "-h");
        if !chosen_or_help {
            crate::test::ensure("xtask bench", &[crate::test::MOTO])?;
        }
        crate::run(cmd!(sh, "cargo build --quiet --release --package fakeaws --bins"))?;
        let bench = crate::target_dir(sh).join("release").join("fakeaws-bench");
        let args = self.args;
        crate::run(cmd!(sh, "{bench} {args...}"))?;
        Ok(())
    }
}
