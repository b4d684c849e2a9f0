//! `scenarios explore` (run by `cargo xtask explore`): runs the variants of each scenario in
//! parallel, judges them, prints progress and a summary, writes counterexamples and JSON.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;

use super::{group, in_partition, judge, plans, sample, variants, with_repair, write_counterexample, Finding};
use crate::report::ViolationKind;

/// What to explore and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Scenario files, or filters over the shipped ones; none: every shipped scenario.
    pub scenarios: Vec<String>,
    /// At most this many variants per scenario, a seeded sample.
    pub max_variants: Option<usize>,
    pub seed: u64,
    /// `K/N`: this machine's share of the variants.
    pub partition: Option<(usize, usize)>,
    /// Where counterexamples go (default `target/explore`).
    pub out: Option<PathBuf>,
    /// A JSON summary for CI.
    pub json: Option<PathBuf>,
    /// Variants run at once.
    pub jobs: usize,
    /// Only these kinds of event (`scale_in`, `script_fail` ...); none: all.
    pub events: Vec<String>,
    /// Run every variant twice and require the same outcome bytes (the determinism property).
    pub twice: bool,
}

pub const USAGE: &str = "usage: scenarios explore [--max-variants N] [--seed S] [--partition K/N] [--events KIND,...] [--twice] [--out DIR] [--json FILE] [--jobs N] [SCENARIO|FILE ...]";

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut o = Options {
            seed: 1,
            jobs: 4,
            ..Options::default()
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (a.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .with_context(|| format!("{name} needs a value; {USAGE}"))
            };
            match flag.as_str() {
                "--max-variants" => {
                    o.max_variants = Some(value("--max-variants")?.parse().context("--max-variants: a number")?)
                }
                "--seed" => o.seed = value("--seed")?.parse().context("--seed: a number")?,
                "--jobs" => o.jobs = value("--jobs")?.parse::<usize>().context("--jobs: a number")?.max(1),
                "--out" => o.out = Some(PathBuf::from(value("--out")?)),
                "--json" => o.json = Some(PathBuf::from(value("--json")?)),
                "--events" => {
                    o.events = value("--events")?.split(',').map(str::to_string).collect();
                    for e in &o.events {
                        if !super::KINDS.contains(&e.as_str()) {
                            bail!("--events: unknown kind {e} (one of {})", super::KINDS.join(", "));
                        }
                    }
                }
                "--partition" => {
                    let v = value("--partition")?;
                    let (k, n) = v
                        .split_once('/')
                        .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
                        .filter(|(k, n)| *n > 0 && (1..=*n).contains(k))
                        .with_context(|| format!("--partition {v}: expected K/N with 1 <= K <= N"))?;
                    o.partition = Some((k, n));
                }
                "--twice" => o.twice = true,
                f if f.starts_with('-') => bail!("unknown option {f}; {USAGE}"),
                _ => o.scenarios.push(a.clone()),
            }
        }
        Ok(o)
    }
}

/// One scenario's exploration, for the summary and the JSON.
#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub trigger_points: usize,
    pub variants: usize,
    /// Variants whose event AWS refused (it could not happen at that point).
    pub not_applicable: usize,
    pub failing: usize,
    pub wall_seconds: f64,
    pub findings: Vec<Group>,
}

/// Variants failing one way.
#[derive(Debug, Serialize)]
pub struct Group {
    pub property: String,
    pub event: String,
    pub variants: usize,
    /// The first variant's plan and what it broke.
    pub example: String,
    pub findings: Vec<Finding>,
    /// The counterexample, a scenario file.
    pub file: PathBuf,
}

/// Explores; `Ok(true)` when no variant failed.
pub fn run(o: &Options) -> anyhow::Result<bool> {
    let files = resolve(&o.scenarios)?;
    let paths = crate::default_paths()?;
    let out_dir = o
        .out
        .clone()
        .unwrap_or_else(|| crate::default_report_dir().with_file_name("explore"));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let mut results = Vec::new();
    println!(
        "explore: seed {}{}",
        o.seed,
        o.partition
            .map(|(k, n)| format!(", partition {k}/{n}"))
            .unwrap_or_default()
    );
    for file in files {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let t = Instant::now();
        let base = crate::runner::read_file(&file)?;
        let (outcome, points) = rt
            .block_on(crate::runner::run_scenario(
                with_repair(&base),
                &format!("explore-{name}-base"),
                &paths,
                true,
            ))
            .with_context(|| format!("{name}: the base run (with its repair deployment)"))?;
        // The base with its repair must keep the scenario's own promises: what it expects, and
        // nothing else (a violation there is a finding of its own, under the event `none`).
        let allowed: BTreeSet<ViolationKind> = base.expect_violations.iter().copied().collect();
        let mut none = super::Plan::none();
        let mut all_plans = plans(&base, &points, &outcome);
        if !o.events.is_empty() {
            all_plans.retain(|p| o.events.contains(&p.kind));
        }
        // The scenario's own events cost what they cost in every variant, and in the base.
        let own = super::own_cost(&base);
        for p in all_plans.iter_mut().chain(std::iter::once(&mut none)) {
            p.cost.capacity += own.capacity;
            p.cost.requests |= own.requests;
        }
        let all = variants(&base, all_plans);
        let base_findings = judge(&allowed, &none, &Ok(outcome.clone()));
        let chosen: Vec<usize> = sample(all.len(), o.max_variants, o.seed)
            .into_iter()
            .filter(|i| in_partition(*i, o.partition))
            .collect();
        let total = chosen.len();
        let done = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(AtomicUsize::new(0));
        let skipped = Arc::new(AtomicUsize::new(0));
        let judged: Vec<(super::Variant, Vec<Finding>)> = rt.block_on(async {
            let limit = Arc::new(tokio::sync::Semaphore::new(o.jobs));
            let mut tasks = Vec::new();
            for i in chosen {
                let v = all[i].clone();
                let (paths, limit, allowed, twice) = (paths.clone(), limit.clone(), allowed.clone(), o.twice);
                let (done, failing, skipped, name) = (done.clone(), failing.clone(), skipped.clone(), name.clone());
                tasks.push(tokio::spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let run = crate::runner::run_scenario(
                        v.scenario.clone(),
                        &format!("explore-{name}-{}", v.index),
                        &paths,
                        false,
                    )
                    .await
                    .map(|(o, _)| o);
                    let mut findings = judge(&allowed, &v.plan, &run);
                    if twice {
                        if let Ok(first) = &run {
                            let again = crate::runner::run_scenario(
                                v.scenario.clone(),
                                &format!("explore-{name}-{}-again", v.index),
                                &paths,
                                false,
                            )
                            .await;
                            let bytes = |o: &crate::report::Outcome| serde_json::to_string(o).unwrap_or_default();
                            let same = again.as_ref().is_ok_and(|(a, _)| bytes(a) == bytes(first));
                            if !same {
                                findings.push(Finding {
                                    property: "nondeterministic".into(),
                                    detail: "the same variant gave different outcome bytes when run again".into(),
                                });
                            }
                        }
                    }
                    if !findings.is_empty() {
                        failing.fetch_add(1, Ordering::Relaxed);
                    }
                    if run.as_ref().is_err_and(super::not_applicable) {
                        skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % 10 == 0 || n == total {
                        eprint!(
                            "\r  {name}: {n}/{total} variants, {} failing",
                            failing.load(Ordering::Relaxed)
                        );
                        let _ = std::io::stderr().flush();
                    }
                    (v, findings)
                }));
            }
            let mut out = Vec::new();
            for t in tasks {
                if let Ok(r) = t.await {
                    out.push(r);
                }
            }
            out
        });
        eprintln!();
        let mut judged = judged;
        if !base_findings.is_empty() {
            let mut v = variants(&base, vec![none]).remove(0);
            v.index = usize::MAX;
            judged.push((v, base_findings));
        }
        let groups = group(&judged);
        let mut findings = Vec::new();
        for ((property, event), members) in groups {
            let (v, f) = &judged[members[0]];
            let file = write_counterexample(
                v,
                f,
                &paths.revisions,
                &out_dir.join(&name),
                &if v.index == usize::MAX {
                    format!("{property}-base")
                } else {
                    format!("{property}-{event}-{}", v.index)
                },
            )?;
            findings.push(Group {
                property,
                event,
                variants: members.len(),
                example: v.plan.what.clone(),
                findings: f.clone(),
                file,
            });
        }
        results.push(ScenarioResult {
            scenario: name,
            trigger_points: points.len(),
            variants: total,
            not_applicable: skipped.load(Ordering::Relaxed),
            failing: judged.iter().filter(|(_, f)| !f.is_empty()).count(),
            wall_seconds: t.elapsed().as_secs_f64(),
            findings,
        });
    }
    print_summary(&results, started.elapsed().as_secs_f64());
    if let Some(path) = &o.json {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(results.iter().all(|r| r.failing == 0))
}

fn print_summary(results: &[ScenarioResult], wall: f64) {
    let w = results.iter().map(|r| r.scenario.len()).max().unwrap_or(8).max(8);
    println!();
    println!(
        "{:<w$}  {:>6}  {:>8}  {:>6}  {:>7}  {:>8}  {:>10}",
        "scenario", "points", "variants", "n/a", "failing", "wall", "variants/s"
    );
    for r in results {
        println!(
            "{:<w$}  {:>6}  {:>8}  {:>6}  {:>7}  {:>7.1}s  {:>10.1}",
            r.scenario,
            r.trigger_points,
            r.variants,
            r.not_applicable,
            r.failing,
            r.wall_seconds,
            r.variants as f64 / r.wall_seconds.max(0.001)
        );
    }
    let variants: usize = results.iter().map(|r| r.variants).sum();
    let failing: usize = results.iter().map(|r| r.failing).sum();
    println!();
    println!(
        "{variants} variants, {failing} failing ({wall:.1}s wall, {:.1} variants/s)",
        variants as f64 / wall.max(0.001)
    );
    for r in results {
        for g in &r.findings {
            println!(
                "  {}: {} after {} ({} variant(s)), e.g. {}\n    {}\n    run it: cargo xtask test-scenarios {}",
                r.scenario,
                g.property,
                g.event,
                g.variants,
                g.example,
                g.findings.first().map(|f| f.detail.as_str()).unwrap_or(""),
                g.file.display()
            );
        }
    }
}

/// Scenario files from arguments: paths to files, or filters over the shipped scenarios.
fn resolve(args: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    if args.is_empty() {
        return crate::scenario_files(None);
    }
    let mut out = Vec::new();
    for a in args {
        let p = PathBuf::from(a);
        if p.is_file() {
            out.push(p);
            continue;
        }
        let found = crate::scenario_files(Some(a))?;
        if found.is_empty() {
            bail!("no scenario file {a} and no shipped scenario whose name contains it");
        }
        out.extend(found);
    }
    // Two filters may match one scenario: explore it once.
    let mut seen = BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}
