//! `cargo xtask bundle ARGS...`: builds the hook binaries the arguments ask for (release by default,
//! `--debug`, `--target TRIPLE`), then runs the scenarios crate's `bundle` tool with the same
//! arguments. The flags are declared once, by that tool (`cargo xtask bundle --help`).

use xshell::{cmd, Shell};

#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Bundle {
    /// Arguments of the bundle tool: --app, --appspec, --config, --out, --format, --debug, --target,
    /// --check, --example (see `cargo xtask bundle --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

impl Bundle {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let args = self.args;
        let has = |flag: &str| args.iter().any(|a| a == flag);
        let target = args
            .iter()
            .enumerate()
            .find_map(|(i, a)| match a.strip_prefix("--target=") {
                Some(t) => Some(t.to_string()),
                None if a == "--target" => args.get(i + 1).cloned(),
                None => None,
            });
        // The tool itself, with the workspace's one feature resolution (no rebuild when switching).
        cmd!(sh, "cargo build --quiet --workspace --all-targets").run()?;
        let building = !has("--check") && !has("--help") && !has("-h");
        // Debug hooks for this host were just built with the workspace; a `--package hooks` debug
        // build would resolve features differently and replace them.
        let built_already = has("--debug") && target.is_none();
        if building && !built_already {
            let release = (!has("--debug")).then_some("--release");
            let target = target.map(|t| format!("--target={t}"));
            cmd!(
                sh,
                "cargo build --quiet {release...} {target...} --package hooks --bins"
            )
            .run()?;
        }
        let tool = crate::target_dir(sh).join("debug").join("bundle");
        cmd!(sh, "{tool} {args...}").run()?;
        Ok(())
    }
}
