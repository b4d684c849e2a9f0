//! `rehearse`: the command line (clap). With no subcommand (as `cargo xtask test-scenarios` runs
//! it) it plays the shipped suite ([`suite`]); `test`, `init`, `import`, `explore` and `serve` are
//! the user's own files, a starter, an import from an account, the explorer and the rehearsal
//! server. Exit codes: 0 as expected, 1 a scenario failed or a snapshot differs, 2 bad input.

mod hooks;
mod suite;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use suite::RunOptions;

/// Plays deployment scenarios on a simulated clock against the embedded fake, with the real hooks.
#[derive(Parser)]
#[command(
    name = "rehearse",
    version,
    override_usage = "\
rehearse [--fleet] [--report[=DIR]] [--baseline DIR] [--logs DIR] [FILTER | FILE.toml]
       rehearse init [DIR]
       rehearse import FOLDER [--out DIR]
       rehearse test PATH... [--accept] [--snapshots DIR] [--report[=DIR]] [--baseline DIR] [--logs DIR]
       rehearse explore [SCENARIO | FILE ...] [--max-variants N] [--events LIST] [--seed N] [--json FILE] ...
       rehearse serve [--bind 127.0.0.1:4566] [--world FILE] ...",
    after_help = "Exit codes: 0 every scenario as expected, 1 a scenario failed or its snapshot differs, 2 bad input.\n`rehearse test --help`, `rehearse explore --help`, `rehearse serve --help` for more.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    suite: SuiteArgs,
}

/// The suite: every shipped scenario (or the fleet-scale ones), a filter, or one file.
#[derive(clap::Args)]
struct SuiteArgs {
    /// Play the fleet-scale scenarios of scenarios/fleet/ instead (minutes, not seconds).
    #[arg(long)]
    fleet: bool,
    /// Also write the timeline report (default target/scenario-report/, or DIR).
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true)]
    report: Option<Option<PathBuf>>,
    /// Compare the report with an earlier report's folder: baseline.html (implies --report).
    #[arg(long, value_name = "DIR")]
    baseline: Option<PathBuf>,
    /// Keep each instance's agent logs here (DIR/<scenario>/<instance id>/deployment-root/...).
    #[arg(long, value_name = "DIR")]
    logs: Option<PathBuf>,
    /// Only the scenarios whose name contains FILTER, or one scenario file (FILE.toml).
    #[arg(value_name = "FILTER | FILE.toml")]
    filter: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// A commented starter scenario (deployment.toml), the same fleet as a world file (world.toml)
    /// and a revision folder (app/) to make your own. Writes nothing over existing files.
    Init(InitArgs),
    /// A scenario (deployment.toml) and a world file (world.toml) from what the AWS CLI prints for
    /// your account: run scenarios/import/aws-read.sh APPLICATION DEPLOYMENT_GROUP FOLDER first
    /// (read-only calls). Writes nothing over existing files.
    Import(ImportArgs),
    /// Plays your scenario files (or every scenario *.toml of a folder) and holds each outcome in
    /// a snapshot beside it.
    #[command(
        after_help = "Snapshots: snapshots/<name>.snap beside each file (or in --snapshots DIR). A first run writes it and says \"new\"; a later run that differs prints the difference and fails, unless --accept.\n\nExit codes: 0 every scenario as expected (ok, new or accepted), 1 a verdict failed or a snapshot differs, 2 bad input."
    )]
    Test(TestArgs),
    /// Every fleet event at every step of each scenario's deployments, run and judged; failures
    /// written as scenario files.
    #[command(after_help = "Exit codes: 0 no variant failed, 1 a variant failed, 2 bad input.")]
    Explore(scenarios::explore::drive::Options),
    /// fakeaws with CodeDeploy's engine and S3, to rehearse a real pipeline (`aws deploy push`,
    /// `create-deployment`), until SIGINT or SIGTERM (`cargo xtask rehearse`).
    Serve(scenarios::runner::serve::ServeOptions),
}

#[derive(clap::Args)]
struct TestArgs {
    /// Scenario files, or folders of them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Keep the snapshots in this folder instead of `snapshots/` beside each file.
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// Take this run's outcomes as the new snapshots.
    #[arg(long)]
    accept: bool,
    /// Also write the timeline report (default ./scenario-report, or DIR).
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true)]
    report: Option<Option<PathBuf>>,
    /// Compare the report with an earlier one's folder (implies --report).
    #[arg(long, value_name = "DIR")]
    baseline: Option<PathBuf>,
    /// Keep each instance's agent logs here (DIR/<scenario>/<instance id>/deployment-root/...).
    #[arg(long, value_name = "DIR")]
    logs: Option<PathBuf>,
}

#[derive(clap::Args)]
struct InitArgs {
    /// The folder to write into.
    #[arg(default_value = ".")]
    dir: PathBuf,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The folder aws-read.sh saved the answers in.
    from: PathBuf,
    /// Where the scenario, the world file and a starter revision (app/, when missing) go.
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are no error; a closed pipe (`| head`) neither.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let (name, result) = match cli.command {
        None => ("rehearse", suite_command(cli.suite)),
        Some(Command::Test(t)) => ("rehearse test", test_command(t)),
        Some(Command::Init(a)) => ("rehearse init", init_command(a).map(|()| true)),
        Some(Command::Import(a)) => ("rehearse import", import_command(a).map(|()| true)),
        Some(Command::Explore(o)) => (
            "rehearse explore",
            hooks::paths().and_then(|paths| scenarios::explore::drive::run(&o, &paths)),
        ),
        Some(Command::Serve(o)) => ("rehearse serve", serve(o).map(|()| true)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn suite_command(a: SuiteArgs) -> anyhow::Result<bool> {
    let mut report = a.report.map(|d| d.unwrap_or_else(scenarios::default_report_dir));
    if a.baseline.is_some() && report.is_none() {
        report = Some(scenarios::default_report_dir());
    }
    if let (Some(b), Some(r)) = (&a.baseline, &report) {
        anyhow::ensure!(
            b != r,
            "--baseline {} is the folder this run writes its report to; copy the earlier report elsewhere first",
            b.display()
        );
    }
    suite::run(RunOptions {
        own_files: None,
        snapshots: None,
        accept: false,
        filter: a.filter.as_deref(),
        report: report.as_deref(),
        baseline: a.baseline.as_deref(),
        logs: a.logs,
        fleet: a.fleet,
    })
}

fn test_command(t: TestArgs) -> anyhow::Result<bool> {
    let files = scenarios::own::files(&t.paths)?;
    // Your own runs report into the folder you run from.
    let mut report = t.report.map(|d| d.unwrap_or_else(|| PathBuf::from("scenario-report")));
    if t.baseline.is_some() && report.is_none() {
        report = Some(PathBuf::from("scenario-report"));
    }
    suite::run(RunOptions {
        own_files: Some(files),
        snapshots: t.snapshots,
        accept: t.accept,
        filter: None,
        report: report.as_deref(),
        baseline: t.baseline.as_deref(),
        logs: t.logs,
        fleet: false,
    })
}

fn init_command(a: InitArgs) -> anyhow::Result<()> {
    for p in scenarios::init::init(&a.dir)? {
        println!("wrote {}", p.display());
    }
    println!(
        "next: rehearse test {}   (add --report for a timeline)",
        a.dir.join("deployment.toml").display()
    );
    Ok(())
}

fn import_command(a: ImportArgs) -> anyhow::Result<()> {
    let (written, notes) = scenarios::import::write(&a.from, &a.out)?;
    for p in &written {
        println!("wrote {}", p.display());
    }
    for n in &notes {
        println!("not carried over: {n}");
    }
    println!("next: rehearse test {}", a.out.join("deployment.toml").display());
    Ok(())
}

/// `rehearse serve`: fakeaws with CodeDeploy's engine, until SIGINT or SIGTERM.
fn serve(opts: scenarios::runner::serve::ServeOptions) -> anyhow::Result<()> {
    let paths = hooks::paths()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
        };
        scenarios::runner::serve::serve(opts, &paths, shutdown).await
    })
}
