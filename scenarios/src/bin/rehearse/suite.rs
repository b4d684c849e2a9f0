//! Plays the suite (or a filter, a file, or the user's own files) in parallel, shows progress,
//! prints the summary table, checks each outcome against its snapshot, and writes the report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

struct Row {
    name: String,
    result: String,
    simulated: i64,
    capacity: String,
    overhead: String,
    wall: f64,
}

/// What a run of the suite (or of files) does.
pub struct RunOptions<'a> {
    /// `rehearse test PATH...`: these files, each with its snapshot beside it.
    pub own_files: Option<Vec<PathBuf>>,
    /// Where their snapshots go instead (`--snapshots DIR`).
    pub snapshots: Option<PathBuf>,
    /// Write changed snapshots (`--accept`).
    pub accept: bool,
    pub filter: Option<&'a str>,
    pub report: Option<&'a Path>,
    pub baseline: Option<&'a Path>,
    /// Keep the agent's logs of each instance here.
    pub logs: Option<PathBuf>,
    pub fleet: bool,
}

pub fn run(o: RunOptions) -> anyhow::Result<bool> {
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
    let mut paths = super::hooks::paths()?;
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
                    scenarios::own::check_shipped(&file, &outcome)?
                };
                if let scenarios::own::Snapshot::Changed(diff) = &snap {
                    mismatches += 1;
                    if !diff.is_empty() {
                        let take = if testing {
                            "--accept to take this run's"
                        } else {
                            "this run's is beside it as .snap.new"
                        };
                        println!("{name}: the outcome differs from its snapshot ({take}):\n{diff}");
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
