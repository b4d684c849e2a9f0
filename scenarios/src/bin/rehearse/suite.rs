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

/// How each outcome is checked: against the file's own snapshot (`rehearse test`), printed (a
/// file outside the suite), or against the shipped snapshot.
enum Check<'a> {
    Own { snapshots: Option<&'a Path>, accept: bool },
    Print,
    Shipped,
}

/// The rows of the summary table and what they add up to.
#[derive(Default)]
struct Summary {
    rows: Vec<Row>,
    /// Outcomes kept for the report.
    pages: Vec<(String, scenarios::report::Outcome)>,
    all_ok: bool,
    mismatches: usize,
    /// Instance deployments played (each instance once per deployment that included it).
    deployed: usize,
}

pub fn run(o: RunOptions) -> anyhow::Result<bool> {
    // A path to a scenario file (an explore counterexample, a user's own) runs that file; it has
    // no snapshot to compare with, so its verdict decides.
    let own = o
        .filter
        .map(PathBuf::from)
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file());
    let testing = o.own_files.is_some();
    let files = if let Some(f) = &o.own_files {
        f.clone()
    } else if let Some(p) = &own {
        vec![p.clone()]
    } else if o.fleet {
        scenarios::fleet_files(o.filter)?
    } else {
        scenarios::scenario_files(o.filter)?
    };
    if files.is_empty() {
        anyhow::bail!("no scenario matches {:?}", o.filter.unwrap_or_default());
    }
    let mut paths = super::hooks::paths()?;
    if let Some(dir) = &o.logs {
        let dir = std::path::absolute(dir)?;
        std::fs::create_dir_all(&dir)?;
        paths.logs = Some(dir);
    }
    let total = files.len();
    if testing {
        println!("running {total} scenario(s)");
    } else {
        println!(
            "running {total} scenario(s) from {}",
            scenarios::scenarios_dir()
                .join(if o.fleet { "fleet" } else { "scenarios" })
                .display()
        );
    }
    let started = Instant::now();
    let results = play(files, &paths)?;
    let check = match (testing, &own) {
        (true, _) => Check::Own {
            snapshots: o.snapshots.as_deref(),
            accept: o.accept,
        },
        (false, Some(_)) => Check::Print,
        (false, None) => Check::Shipped,
    };
    let mut sum = Summary {
        all_ok: true,
        ..Summary::default()
    };
    for r in results {
        let (file, out, wall) = r?;
        sum.record(&check, o.report.is_some(), &file, out, wall)?;
    }
    let passed = print_table(&sum.rows);
    let wall = started.elapsed().as_secs_f64();
    println!("{passed} passed, {} failed ({wall:.1}s wall)", sum.rows.len() - passed);
    if o.fleet {
        println!(
            "{} instance deployments in {wall:.1}s: {:.0} instances per second",
            sum.deployed,
            sum.deployed as f64 / wall.max(0.001)
        );
    }
    if sum.mismatches > 0 && testing {
        println!(
            "{} snapshot(s) differ: run again with --accept to take this run's outcomes.",
            sum.mismatches
        );
    } else if sum.mismatches > 0 {
        println!(
            "{} snapshot(s) differ: review them with `cargo insta review` (cargo install cargo-insta).",
            sum.mismatches
        );
    }
    if let Some(dir) = o.report {
        sum.pages.sort_by(|a, b| a.0.cmp(&b.0));
        let index = scenarios::html::write_report(dir, &sum.pages, o.baseline)?;
        println!("report: {}", index.display());
    }
    if let Some(dir) = &paths.logs {
        println!(
            "script logs: {}/<scenario>/<instance id>/deployment-root/<deployment group id>/<deployment id>/logs/scripts.log",
            dir.display()
        );
    }
    Ok(sum.all_ok)
}

type Played = (PathBuf, anyhow::Result<scenarios::report::Outcome>, f64);

/// Plays the files, four at a time, a line each as they finish.
fn play(
    files: Vec<PathBuf>,
    paths: &scenarios::runner::Paths,
) -> anyhow::Result<Vec<Result<Played, tokio::task::JoinError>>> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    Ok(rt.block_on(async {
        let limit = Arc::new(tokio::sync::Semaphore::new(4));
        let mut tasks = Vec::new();
        for file in files {
            let paths = paths.clone();
            let limit = limit.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let t = Instant::now();
                let out = scenarios::runner::run_file(&file, &paths).await;
                let wall = t.elapsed().as_secs_f64();
                let name = stem(&file);
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
    }))
}

fn stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

impl Summary {
    /// One scenario's row: its outcome checked (snapshot or verdict), its capacity and overhead.
    fn record(
        &mut self,
        check: &Check,
        keep_pages: bool,
        file: &Path,
        out: anyhow::Result<scenarios::report::Outcome>,
        wall: f64,
    ) -> anyhow::Result<()> {
        let name = stem(file);
        let outcome = match out {
            Ok(outcome) => outcome,
            Err(e) => {
                self.all_ok = false;
                self.rows.push(Row {
                    name,
                    result: format!("error: {e:#}"),
                    simulated: 0,
                    capacity: "-".into(),
                    overhead: "-".into(),
                    wall,
                });
                return Ok(());
            }
        };
        let snap = match check {
            Check::Own { snapshots, accept } => {
                let path = scenarios::own::snapshot_path(file, *snapshots);
                scenarios::own::check(&path, &outcome, *accept)?
            }
            Check::Print => {
                println!("{}", outcome_text(&outcome));
                scenarios::own::Snapshot::Same
            }
            Check::Shipped => scenarios::own::check_shipped(file, &outcome)?,
        };
        if let scenarios::own::Snapshot::Changed(diff) = &snap {
            self.mismatches += 1;
            if !diff.is_empty() {
                let take = if matches!(check, Check::Own { .. }) {
                    "--accept to take this run's"
                } else {
                    "this run's is beside it as .snap.new"
                };
                println!("{name}: the outcome differs from its snapshot ({take}):\n{diff}");
            }
        }
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
        self.all_ok &= outcome.passed && snap.stands();
        self.deployed += outcome.deployments.iter().map(|d| d.instances.len()).sum::<usize>();
        let overhead = scenarios::report::overhead_text(&outcome);
        self.rows.push(Row {
            name: name.clone(),
            result,
            simulated: outcome.simulated_seconds,
            capacity,
            overhead,
            wall,
        });
        if keep_pages {
            self.pages.push((name, outcome));
        }
        Ok(())
    }
}

/// The summary table; returns how many passed.
fn print_table(rows: &[Row]) -> usize {
    let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(8).max(8);
    println!();
    println!(
        "{:<w$}  {:<20}  {:>10}  {:<22}  {:<16}  {:>6}",
        "scenario", "result", "simulated", "min capacity (seen/min)", "overhead", "wall"
    );
    for r in rows {
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
    rows.iter()
        .filter(|r| ["ok", "new", "accepted"].contains(&r.result.as_str()))
        .count()
}

/// The outcome as the snapshot would hold it (a file outside the suite has no snapshot: it is
/// printed instead).
fn outcome_text(outcome: &scenarios::report::Outcome) -> String {
    serde_json::to_string_pretty(outcome).unwrap_or_default()
}
