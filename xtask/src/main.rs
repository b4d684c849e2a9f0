//! `cargo xtask`: the project's tasks, in Rust rather than shell (matklad's cargo-xtask pattern).
//!
//! One module per task; each gets a `Shell` rooted at the workspace root.

mod bundle;
mod fakeaws;
mod scenarios;

use clap::{Parser, Subcommand};
use xshell::Shell;

#[derive(Parser)]
#[command(
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
    /// Build the hooks and run the deployment scenarios against the embedded fake.
    TestScenarios(scenarios::TestScenarios),
    /// Build a CodeDeploy revision with the hook binaries (or check one with --check).
    Bundle(bundle::Bundle),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = (|| -> anyhow::Result<()> {
        let sh = Shell::new()?;
        sh.change_dir(project_root());
        match cli.task {
            Task::Fakeaws(t) => t.run(&sh),
            Task::TestScenarios(t) => t.run(&sh),
            Task::Bundle(t) => t.run(&sh),
        }
    })();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn project_root() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}
