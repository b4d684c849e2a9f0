//! `cargo xtask`: the project's tasks, in Rust rather than shell (matklad's cargo-xtask pattern).
//!
//! One module per task; each gets a `Shell` rooted at the workspace root.

mod bench;
mod bundle;
mod explore;
mod fakeaws;
mod rehearse;
mod scenarios;
mod screenshot;
mod test;

use clap::{Parser, Subcommand};
use xshell::Shell;

#[derive(Parser)]
#[command(
    version,
    name = "cargo xtask",
    about = "Project tasks for the CodeDeploy load-balancer toolkit"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run fakeaws (all arguments are passed to the fakeaws binary; see `cargo xtask fakeaws --help`).
    Fakeaws(fakeaws::Fakeaws),
    /// Run fakeaws with CodeDeploy's engine and S3, to rehearse a pipeline (`aws deploy push`,
    /// `create-deployment`, `wait`); arguments go to `rehearse serve` (`--world FILE`, `--bind`,
    /// `--s3-dir`, `--time-scale`, `--logs`).
    Rehearse(rehearse::Rehearse),
    /// Make sure of every tool the tests use (installing what is missing), then run the whole test
    /// suite with nextest; arguments go to `cargo nextest run`.
    Test(test::Test),
    /// Build the hooks and run the deployment scenarios against the embedded fake.
    TestScenarios(scenarios::TestScenarios),
    /// Explore: every fleet event at every trigger point of the scenarios (all shipped ones, or
    /// those named), each variant run and judged; failures written as scenario files.
    Explore(explore::Explore),
    /// Build a CodeDeploy revision with the hook binaries (or check one with --check).
    Bundle(bundle::Bundle),
    /// Benchmark fakeaws (release) on a fresh and a churned world, beside moto_server if installed.
    Bench(bench::Bench),
    /// Photograph scenarios' report pages with headless Chromium (docs/report-<scenario>.png).
    Screenshot(screenshot::Screenshot),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = (|| -> anyhow::Result<()> {
        let sh = Shell::new()?;
        sh.change_dir(project_root());
        match cli.task {
            Task::Fakeaws(t) => t.run(&sh),
            Task::Rehearse(t) => t.run(&sh),
            Task::Test(t) => t.run(&sh),
            Task::TestScenarios(t) => t.run(&sh),
            Task::Bundle(t) => t.run(&sh),
            Task::Explore(t) => t.run(&sh),
            Task::Bench(t) => t.run(&sh),
            Task::Screenshot(t) => t.run(&sh),
        }
    })();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            // A command's own exit code is the task's (a scenario that failed is 1, bad input 2).
            match e.downcast_ref::<ChildExit>() {
                Some(c) => std::process::ExitCode::from(c.code),
                None => std::process::ExitCode::FAILURE,
            }
        }
    }
}

/// A command a task ran ended with this exit code.
#[derive(Debug)]
struct ChildExit {
    command: String,
    code: u8,
}

impl std::fmt::Display for ChildExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` exited with code {}", self.command, self.code)
    }
}

impl std::error::Error for ChildExit {}

/// Runs `cmd` as xshell would (echoed, output streamed), keeping its exit code for the task's
/// own (see [`ChildExit`]); a command killed by a signal is code 1.
pub fn run(cmd: xshell::Cmd<'_>) -> anyhow::Result<()> {
    let command = cmd.to_string();
    eprintln!("$ {command}");
    let mut c: std::process::Command = cmd.into();
    forget_cargo_run_env(&mut c);
    let status = c
        .status()
        .map_err(|e| anyhow::anyhow!("could not run `{command}`: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let code = status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .filter(|c| *c != 0)
        .unwrap_or(1);
    Err(ChildExit { command, code }.into())
}

/// `cargo run` (the `cargo xtask` alias) sets `CARGO_MANIFEST_DIR` and friends for xtask. Passed on
/// to the cargo commands the tasks run, they would dirty build scripts that watch them (ring's
/// watches `CARGO_MANIFEST_DIR`), and every switch between a task and a plain `cargo nextest run`
/// would rebuild the AWS SDK's TLS stack. So every command a task runs goes without them; xtask's
/// own environment is left alone.
pub fn forget_cargo_run_env(c: &mut std::process::Command) {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let set_by_cargo_run = matches!(
            key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
        ) || key.starts_with("CARGO_PKG_");
        if set_by_cargo_run {
            c.env_remove(key);
        }
    }
}

/// This machine's target triple (`rustc -vV`).
pub fn host_triple(sh: &Shell) -> anyhow::Result<String> {
    let v = xshell::cmd!(sh, "rustc -vV").read()?;
    v.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("rustc -vV printed no host triple"))
}

/// The cargo target folder: `CARGO_TARGET_DIR` when set (relative to the workspace root), else `target/`.
pub fn target_dir(sh: &Shell) -> std::path::PathBuf {
    target_dir_of(&sh.current_dir(), std::env::var_os("CARGO_TARGET_DIR"))
}

fn target_dir_of(root: &std::path::Path, set: Option<std::ffi::OsString>) -> std::path::PathBuf {
    match set {
        Some(d) => root.join(d),
        None => root.join("target"),
    }
}

fn project_root() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

#[cfg(test)]
mod tests {
    /// Issue 28: a command's exit code becomes the task's, not always 1.
    #[test]
    fn a_commands_exit_code_is_kept() {
        let sh = xshell::Shell::new().expect("shell");
        let e = super::run(xshell::cmd!(sh, "sh -c 'exit 3'")).expect_err("failed");
        let exit = e.downcast_ref::<super::ChildExit>().expect("a child's exit");
        assert_eq!(exit.code, 3);
        assert!(e.to_string().contains("exited with code 3"), "{e}");
        assert!(super::run(xshell::cmd!(sh, "true")).is_ok());
    }

    /// Issue 11: the tasks find the build where cargo puts it, `CARGO_TARGET_DIR` included
    /// (relative to the workspace root, as cargo reads it there).
    #[test]
    fn target_dir_honours_cargo_target_dir() {
        let root = std::path::Path::new("/work/x");
        let at = |v: Option<&str>| super::target_dir_of(root, v.map(Into::into));
        assert_eq!(at(None), std::path::PathBuf::from("/work/x/target"));
        assert_eq!(at(Some("/tmp/elsewhere")), std::path::PathBuf::from("/tmp/elsewhere"));
        assert_eq!(at(Some("build")), std::path::PathBuf::from("/work/x/build"));
    }
}
