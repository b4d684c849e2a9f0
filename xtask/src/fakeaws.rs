//! `cargo xtask fakeaws [ARGS]`: builds and runs the fakeaws server in the foreground.

use xshell::{cmd, Shell};

#[derive(clap::Args)]
pub struct Fakeaws {
    /// Arguments for fakeaws, e.g. `--world world.toml --save state.json --time-scale 10`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Fakeaws {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let args = self.args;
        crate::run(cmd!(
            sh,
            "cargo run --quiet --package fakeaws --bin fakeaws -- {args...}"
        ))?;
        Ok(())
    }
}
