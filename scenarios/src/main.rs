//! `rehearse [--fleet] [--report[=DIR]] [--baseline DIR] [FILTER]` (run by `cargo xtask test-scenarios`): plays every
//! scenario file (with `--fleet`, the fleet-scale ones of `scenarios/fleet/` instead) in parallel, shows progress, prints a summary table, and checks each outcome
//! against its insta snapshot; with `--report`, also writes the timeline report (default
//! `target/scenario-report/`). Exits non-zero on any failed scenario or snapshot mismatch.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// `rehearse test PATH...`: your own scenario files, from any folder.
#[derive(clap::Parser)]
#[command(
    name = "rehearse test",
    about = "Plays your scenario files (or every *.toml of a folder) and holds each outcome in a snapshot beside it.",
    after_help = "Snapshots: snapshots/<name>.snap beside each file (or in --snapshots DIR). A first run writes it and says \"new\"; a later run that differs prints the difference and fails, unless --accept.\n\nExit codes: 0 every scenario as expected (ok, new or accepted), 1 a verdict failed or a snapshot differs, 2 bad input."
)]
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

/// `rehearse init [DIR]`.
#[derive(clap::Parser)]
#[command(
    name = "rehearse init",
    about = "Writes a commented starter scenario (deployment.toml), the same fleet as a world file (world.toml) and a revision folder (app/) to make your own. Writes nothing over existing files."
)]
struct InitArgs {
    /// The folder to write into.
    #[arg(default_value = ".")]
    dir: PathBuf,
}

/// `rehearse import FOLDER [--out DIR]`.
#[derive(clap::Parser)]
#[command(
    name = "rehearse import",
    about = "Builds a scenario (deployment.toml) and a world file (world.toml) from what the AWS CLI prints for your account: run scenarios/import/aws-read.sh APPLICATION DEPLOYMENT_GROUP FOLDER first (read-only calls). Writes nothing over existing files."
)]
struct ImportArgs {
    /// The folder aws-read.sh saved the answers in.
    from: PathBuf,
    /// Where the scenario, the world file and a starter revision (app/, when missing) go.
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

/// Parses a subcommand's arguments; on `--help` or an error, what to exit with (0 or 2) once
/// clap has printed it.
fn parse_sub<T: clap::Parser>(name: &str, args: Vec<String>) -> Result<T, ExitCode> {
    T::try_parse_from(std::iter::once(name.to_string()).chain(args)).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}

fn import_command(args: Vec<String>) -> ExitCode {
    let a: ImportArgs = match parse_sub("rehearse import", args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match scenarios::import::write(&a.from, &a.out) {
        Ok((written, notes)) => {
            for p in &written {
                println!("wrote {}", p.display());
            }
            for n in &notes {
                println!("not carried over: {n}");
            }
            println!("next: rehearse test {}", a.out.join("deployment.toml").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rehearse import: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn test_command(args: Vec<String>) -> ExitCode {
    let t: TestArgs = match parse_sub("rehearse test", args) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let files = match scenarios::own::files(&t.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rehearse test: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Your own runs report into the folder you run from.
    let mut report = t.report.map(|d| d.unwrap_or_else(|| PathBuf::from("scenario-report")));
    if t.baseline.is_some() && report.is_none() {
        report = Some(PathBuf::from("scenario-report"));
    }
    let opts = RunOptions {
        own_files: Some(files),
        snapshots: t.snapshots,
        accept: t.accept,
        filter: None,
        report: report.as_deref(),
        baseline: t.baseline.as_deref(),
        logs: t.logs,
        fleet: false,
    };
    match run(opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rehearse test: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_command(args: Vec<String>) -> ExitCode {
    let a: InitArgs = match parse_sub("rehearse init", args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match scenarios::init::init(&a.dir) {
        Ok(written) => {
            for p in &written {
                println!("wrote {}", p.display());
            }
            println!(
                "next: rehearse test {}   (add --report for a timeline)",
                a.dir.join("deployment.toml").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rehearse init: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("test") => return test_command(std::env::args().skip(2).collect()),
        Some("init") => return init_command(std::env::args().skip(2).collect()),
        Some("import") => return import_command(std::env::args().skip(2).collect()),
        _ => {}
    }
    if std::env::args().nth(1).as_deref() == Some("serve") {
        return serve(std::env::args().skip(2).collect());
    }
    if std::env::args().nth(1).as_deref() == Some("explore") {
        let args: Vec<String> = std::env::args().skip(2).collect();
        if args.iter().any(|a| a == "--help" || a == "-h") {
            println!("{}", scenarios::explore::drive::USAGE);
            return ExitCode::SUCCESS;
        }
        return match scenarios::explore::drive::Options::parse(&args).and_then(|o| scenarios::explore::drive::run(&o)) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("rehearse explore: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let mut filter = None;
    let mut report: Option<PathBuf> = None;
    let mut fleet = false;
    let mut baseline: Option<PathBuf> = None;
    let mut logs: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--help" || a == "-h" {
            // A closed pipe (`| head`) is no error.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        if a == "--version" || a == "-V" {
            let _ = writeln!(std::io::stdout(), "rehearse {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        if a == "--fleet" {
            fleet = true;
        } else if a == "--report" {
            report = Some(scenarios::default_report_dir());
        } else if let Some(d) = a.strip_prefix("--report=") {
            report = Some(PathBuf::from(d));
        } else if a == "--logs" || a.starts_with("--logs=") {
            match a.strip_prefix("--logs=").map(str::to_string).or_else(|| args.next()) {
                Some(d) => logs = Some(PathBuf::from(d)),
                None => {
                    eprintln!("rehearse: --logs needs a folder");
                    return ExitCode::from(2);
                }
            }
        } else if a == "--baseline" || a.starts_with("--baseline=") {
            match a
                .strip_prefix("--baseline=")
                .map(str::to_string)
                .or_else(|| args.next())
            {
                Some(d) => baseline = Some(PathBuf::from(d)),
                None => {
                    eprintln!("rehearse: --baseline needs the folder of an earlier report (--report=DIR)");
                    return ExitCode::from(2);
                }
            }
        } else if a.starts_with('-') {
            eprintln!(
                "rehearse: unknown option {a}; usage: rehearse [--fleet] [--report[=DIR]] [--baseline DIR] [FILTER] (--help for more)"
            );
            return ExitCode::from(2);
        } else {
            filter = Some(a);
        }
    }
    if baseline.is_some() && report.is_none() {
        report = Some(scenarios::default_report_dir());
    }
    if let (Some(b), Some(r)) = (&baseline, &report) {
        if b == r {
            eprintln!(
                "rehearse: --baseline {} is the folder this run writes its report to; copy the earlier report elsewhere first",
                b.display()
            );
            return ExitCode::from(2);
        }
    }
    let opts = RunOptions {
        own_files: None,
        snapshots: None,
        accept: false,
        filter: filter.as_deref(),
        report: report.as_deref(),
        baseline: baseline.as_deref(),
        logs,
        fleet,
    };
    match run(opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rehearse: {e:#}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "\
rehearse: plays deployment scenarios on a simulated clock against the embedded fake, with the real hooks.

usage:
  rehearse init [DIR]                 a commented starter scenario, world file and revision folder to make your own
  rehearse import FOLDER [--out DIR]  a scenario and world file from your account (scenarios/import/aws-read.sh first)
  rehearse test PATH... [--accept] [--snapshots DIR] [--report[=DIR]] [--baseline DIR] [--logs DIR]
                                     your own scenario files (or folders of them), snapshots beside them
  rehearse [--fleet] [--report[=DIR]] [--baseline DIR] [--logs DIR] [FILTER | FILE.toml]
                                     play the suite (or the fleet-scale ones), a filter or a file; --report writes
                                     the timeline report (default target/scenario-report/), --baseline DIR compares
                                     it with an earlier report's folder (baseline.html); --logs DIR keeps each
                                     instance's agent logs (DIR/<scenario>/<instance id>/deployment-root/...)
  rehearse explore [SCENARIO | FILE ...] [--max-variants N] [--events LIST] [--seed N] [--json] ...
                                                                every fleet event at every step, judged
  rehearse serve [--bind 127.0.0.1:4566] [--world FILE] ...   the rehearsal server (cargo xtask rehearse)

exit codes: 0 every scenario as expected, 1 a scenario failed or its snapshot differs, 2 bad input.
`rehearse test --help`, `rehearse explore --help`, `rehearse serve --help` for more.";

const SERVE_USAGE: &str =
    "usage: rehearse serve [--bind 127.0.0.1:4566] [--world FILE] [--s3-dir DIR] [--time-scale N] [--logs DIR]";

/// `rehearse serve`: fakeaws with CodeDeploy's engine, until SIGINT or SIGTERM.
fn serve(args: Vec<String>) -> ExitCode {
    let mut opts = scenarios::runner::serve::ServeOptions {
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], 4566)),
        world: None,
        s3_dir: None,
        time_scale: 1.0,
        logs: None,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next());
        let parsed: Result<(), String> = match flag.as_str() {
            "--bind" => value()
                .and_then(|v| v.parse().ok())
                .map(|v| opts.bind = v)
                .ok_or_else(|| "--bind needs an address such as 127.0.0.1:4566".to_string()),
            "--world" => value()
                .map(|v| opts.world = Some(PathBuf::from(v)))
                .ok_or_else(|| "--world needs a file".to_string()),
            "--s3-dir" => value()
                .map(|v| opts.s3_dir = Some(PathBuf::from(v)))
                .ok_or_else(|| "--s3-dir needs a folder".to_string()),
            "--time-scale" => value()
                .and_then(|v| v.parse().ok())
                .map(|v| opts.time_scale = v)
                .ok_or_else(|| "--time-scale needs a number".to_string()),
            "--logs" => value()
                .map(|v| opts.logs = Some(PathBuf::from(v)))
                .ok_or_else(|| "--logs needs a folder".to_string()),
            "--help" | "-h" => {
                println!("{SERVE_USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown option {other}")),
        };
        if let Err(e) = parsed {
            eprintln!("rehearse serve: {e}; {SERVE_USAGE}");
            return ExitCode::from(2);
        }
    }
    let result = (|| -> anyhow::Result<()> {
        let paths = scenarios::default_paths()?;
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
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rehearse serve: {e:#}");
            ExitCode::from(2)
        }
    }
}

struct Row {
    name: String,
    result: String,
    simulated: i64,
    capacity: String,
    overhead: String,
    wall: f64,
}

/// What a run of the suite (or of files) does.
struct RunOptions<'a> {
    /// `rehearse test PATH...`: these files, each with its snapshot beside it.
    own_files: Option<Vec<PathBuf>>,
    /// Where their snapshots go instead (`--snapshots DIR`).
    snapshots: Option<PathBuf>,
    /// Write changed snapshots (`--accept`).
    accept: bool,
    filter: Option<&'a str>,
    report: Option<&'a Path>,
    baseline: Option<&'a Path>,
    /// Keep the agent's logs of each instance here.
    logs: Option<PathBuf>,
    fleet: bool,
}

fn run(o: RunOptions) -> anyhow::Result<bool> {
    let RunOptions {
        own_files,
        snapshots,
        accept,
        filter,
        report,
        baseline,
        logs,
        fleet,
    } = o;
    // A path to a scenario file (an explore counterexample, a user's own) runs that file; it has
    // no snapshot to compare with, so its verdict decides.
    let own = filter
        .map(PathBuf::from)
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file());
    let testing = own_files.is_some();
    let files = if let Some(f) = own_files {
        f
    } else if let Some(p) = &own {
        vec![p.clone()]
    } else if fleet {
        scenarios::fleet_files(filter)?
    } else {
        scenarios::scenario_files(filter)?
    };
    if files.is_empty() {
        anyhow::bail!("no scenario matches {:?}", filter.unwrap_or_default());
    }
    let mut paths = scenarios::default_paths()?;
    if let Some(dir) = &logs {
        let dir = std::path::absolute(dir)?;
        std::fs::create_dir_all(&dir)?;
        paths.logs = Some(dir);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let total = files.len();
    if testing {
        println!("running {total} scenario(s)");
    } else {
        println!(
            "running {total} scenario(s) from {}",
            scenarios::scenarios_dir()
                .join(if fleet { "fleet" } else { "scenarios" })
                .display()
        );
    }
    let started = Instant::now();
    let results = rt.block_on(async {
        let limit = Arc::new(tokio::sync::Semaphore::new(4));
        let mut tasks = Vec::new();
        for file in files.clone() {
            let paths = paths.clone();
            let limit = limit.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let t = Instant::now();
                let out = scenarios::runner::run_file(&file, &paths).await;
                let wall = t.elapsed().as_secs_f64();
                let name = file
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                match &out {
                    Ok(o) => println!("  {} {name} ({wall:.1}s)", if o.passed { "done" } else { "FAIL" }),
                    Err(e) => println!("  ERROR {name}: {e:#}"),
                }
                let _ = std::io::stdout().flush();
                (file, out, wall)
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await);
        }
        results
    });
    let mut rows = Vec::new();
    let mut pages = Vec::new();
    let mut all_ok = true;
    let mut mismatches = 0;
    // Instance deployments played (each instance once per deployment that included it).
    let mut deployed = 0usize;
    for r in results {
        let (file, out, wall) = r?;
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        match out {
            Err(e) => {
                all_ok = false;
                rows.push(Row {
                    name,
                    result: format!("error: {e:#}"),
                    simulated: 0,
                    capacity: "-".into(),
                    overhead: "-".into(),
                    wall,
                });
            }
            Ok(outcome) => {
                let snap = if testing {
                    let path = scenarios::own::snapshot_path(&file, snapshots.as_deref());
                    scenarios::own::check(&path, &outcome, accept)?
                } else if own.is_some() {
                    println!("{}", outcome_text(&outcome));
                    scenarios::own::Snapshot::Same
                } else {
                    let same = std::panic::catch_unwind(|| {
                        scenarios::snapshot_settings(&file).bind(|| insta::assert_yaml_snapshot!("scenario", &outcome));
                    })
                    .is_ok();
                    if same {
                        scenarios::own::Snapshot::Same
                    } else {
                        scenarios::own::Snapshot::Changed(String::new())
                    }
                };
                if let scenarios::own::Snapshot::Changed(diff) = &snap {
                    mismatches += 1;
                    if !diff.is_empty() {
                        println!(
                            "{name}: the outcome differs from its snapshot (--accept to take this run's):\n{diff}"
                        );
                    }
                }
                let snap_ok = snap.stands();
                let capacity = outcome
                    .deployments
                    .iter()
                    .filter(|d| !d.creator.is_for_launches())
                    .map(|d| format!("{}/{}", d.lowest_healthy_capacity, d.required_healthy_capacity))
                    .collect::<Vec<_>>()
                    .join(" ");
                let result = if outcome.passed {
                    snap.word().to_string()
                } else {
                    format!("FAILED: {}", outcome.verdict)
                };
                all_ok &= outcome.passed && snap_ok;
                if report.is_some() {
                    pages.push((name.clone(), outcome.clone()));
                }
                deployed += outcome.deployments.iter().map(|d| d.instances.len()).sum::<usize>();
                let overhead = scenarios::report::overhead_text(&outcome);
                rows.push(Row {
                    name,
                    result,
                    simulated: outcome.simulated_seconds,
                    capacity,
                    overhead,
                    wall,
                });
            }
        }
    }
    let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(8).max(8);
    println!();
    println!(
        "{:<w$}  {:<20}  {:>10}  {:<22}  {:<16}  {:>6}",
        "scenario", "result", "simulated", "min capacity (seen/min)", "overhead", "wall"
    );
    for r in &rows {
        println!(
            "{:<w$}  {:<20}  {:>9}s  {:<22}  {:<16}  {:>5.1}s",
            r.name,
            r.result.chars().take(60).collect::<String>(),
            r.simulated,
            r.capacity,
            r.overhead,
            r.wall
        );
    }
    println!();
    let passed = rows
        .iter()
        .filter(|r| ["ok", "new", "accepted"].contains(&r.result.as_str()))
        .count();
    let wall = started.elapsed().as_secs_f64();
    println!("{passed} passed, {} failed ({wall:.1}s wall)", rows.len() - passed);
    if fleet {
        println!(
            "{deployed} instance deployments in {wall:.1}s: {:.0} instances per second",
            deployed as f64 / wall.max(0.001)
        );
    }
    if mismatches > 0 && testing {
        println!("{mismatches} snapshot(s) differ: run again with --accept to take this run's outcomes.");
    } else if mismatches > 0 {
        println!("{mismatches} snapshot(s) differ: review them with `cargo insta review` (cargo install cargo-insta).");
    }
    if let Some(dir) = report {
        pages.sort_by(|a, b| a.0.cmp(&b.0));
        let index = scenarios::html::write_report(dir, &pages, baseline)?;
        println!("report: {}", index.display());
    }
    if let Some(dir) = &paths.logs {
        println!(
            "script logs: {}/<scenario>/<instance id>/deployment-root/<deployment group id>/<deployment id>/logs/scripts.log",
            dir.display()
        );
    }
    Ok(all_ok)
}

/// The outcome as the snapshot would hold it (a file outside the suite has no snapshot: it is
/// printed instead).
fn outcome_text(outcome: &scenarios::report::Outcome) -> String {
    serde_json::to_string_pretty(outcome).unwrap_or_default()
}
