//! `rehearse explore` (run by `cargo xtask explore`): runs the variants of each scenario in
//! parallel, judges them, prints progress and a summary, writes counterexamples and JSON.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};

pub use super::options::Options;
use super::results::{Group, ScenarioResult};
use super::{
    budget_order, group, in_partition, judge, own_cost, plans, sample, variant, with_repair, write_counterexample,
    Finding, Space,
};
use crate::report::{Outcome, ViolationKind};

/// A judged variant: its findings and, when it failed, its outcome (for the timeline page).
type Judged = (super::Variant, Vec<Finding>, Option<Outcome>);

/// Explores; `Ok(true)` when no variant failed.
pub fn run(o: &Options, paths: &crate::runner::Paths) -> anyhow::Result<bool> {
    let files = resolve(&o.scenarios)?;
    let out_dir = o
        .out
        .clone()
        .unwrap_or_else(|| crate::default_report_dir().with_file_name("explore"));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let mut results = Vec::new();
    println!(
        "explore: seed {}, depth {}{}{}",
        o.seed,
        o.depth,
        o.partition
            .map(|(k, n)| format!(", partition {k}/{n}"))
            .unwrap_or_default(),
        o.budget.map(|b| format!(", budget {b} s")).unwrap_or_default()
    );
    let deadline = o.budget.map(|b| started + std::time::Duration::from_secs_f64(b));
    for file in files {
        let r = rt.block_on(explore_one(o, &file, paths, &out_dir, deadline))?;
        results.push(r);
    }
    print_summary(&results, started.elapsed().as_secs_f64());
    let page = super::page::write(&out_dir, &results, o)?;
    println!("findings page: {}", page.display());
    if let Some(path) = &o.json {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(results.iter().all(|r| r.failing == 0))
}

/// What the variants of one scenario came to, counted as they finish (shared by their tasks).
#[derive(Default)]
struct Tally {
    done: AtomicUsize,
    failing: AtomicUsize,
    not_applicable: AtomicUsize,
    out_of_time: AtomicUsize,
}

/// One scenario's exploration: the base run and its trigger points, the space of variants, the
/// chosen variants run and judged, the findings grouped, shrunk and written.
async fn explore_one(
    o: &Options,
    file: &std::path::Path,
    paths: &crate::runner::Paths,
    out_dir: &std::path::Path,
    deadline: Option<Instant>,
) -> anyhow::Result<ScenarioResult> {
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let t = Instant::now();
    let base = crate::runner::read_file(file)?;
    let (outcome, points) =
        crate::runner::run_scenario(with_repair(&base), &format!("explore-{name}-base"), paths, true)
            .await
            .with_context(|| format!("{name}: the base run (with its repair deployment)"))?;
    // The base with its repair must keep the scenario's own promises: what it expects, and
    // nothing else (a violation there is a finding of its own, under the event `none`).
    let allowed: BTreeSet<ViolationKind> = base.expect_violations.iter().copied().collect();
    let none = super::Plan::none();
    let mut all_plans = plans(&base, &points, &outcome);
    if !o.events.is_empty() {
        all_plans.retain(|p| o.events.contains(&p.kind));
    }
    // The scenario's own events cost what they cost in every variant, and in the base.
    let own = own_cost(&base);
    if o.list {
        print_space(&name, &points, &all_plans);
    }
    let space = Space {
        plans: all_plans,
        depth: o.depth,
    };
    let mut result = ScenarioResult {
        scenario: name.clone(),
        trigger_points: points.len(),
        space: space.len(),
        variants: 0,
        not_applicable: 0,
        failing: 0,
        wall_seconds: 0.0,
        budget_reached: false,
        findings: Vec::new(),
    };
    if o.list {
        result.wall_seconds = t.elapsed().as_secs_f64();
        return Ok(result);
    }
    let base_findings = judge(&allowed, &none, own, &Ok(outcome.clone()));
    let mut chosen: Vec<usize> = sample(space.len(), o.max_variants, o.seed)
        .into_iter()
        .filter(|i| in_partition(*i, o.partition))
        .collect();
    if deadline.is_some() {
        chosen = budget_order(chosen, o.seed);
    }
    let tally = Arc::new(Tally::default());
    let run = Run {
        o,
        base: &base,
        allowed: &allowed,
        own,
        paths,
        name: &name,
        deadline,
    };
    let mut judged = run.variants(&space, chosen, &tally).await;
    let ran = judged.len();
    if !base_findings.is_empty() {
        let mut v = variant(&base, none, 0);
        v.index = usize::MAX;
        judged.push((v, base_findings, Some(outcome)));
    }
    for ((property, event), members) in group(judged.iter().map(|(v, f, _)| (&v.plan, f.as_slice()))) {
        let g = run.finding(out_dir, property, event, &judged, &members).await?;
        result.findings.push(g);
    }
    result.variants = ran;
    result.not_applicable = tally.not_applicable.load(Ordering::Relaxed);
    result.failing = judged.iter().filter(|(_, f, _)| !f.is_empty()).count();
    result.wall_seconds = t.elapsed().as_secs_f64();
    result.budget_reached = tally.out_of_time.load(Ordering::Relaxed) > 0;
    Ok(result)
}

/// `--list`: the trigger points and the planned events.
fn print_space(name: &str, points: &[crate::runner::TriggerPoint], plans: &[super::Plan]) {
    println!("{name}: {} trigger points", points.len());
    for p in points {
        println!("  {}", p.describe());
    }
    println!("{name}: {} planned events", plans.len());
    for p in plans {
        println!("  {:<18} {}", p.kind, p.what);
    }
}

/// What every variant of one scenario shares.
struct Run<'a> {
    o: &'a Options,
    base: &'a crate::schema::Scenario,
    allowed: &'a BTreeSet<ViolationKind>,
    own: super::Cost,
    paths: &'a crate::runner::Paths,
    name: &'a str,
    deadline: Option<Instant>,
}

impl Run<'_> {
    /// Runs the chosen variants on `--jobs` at a time, with progress on standard error.
    async fn variants(&self, space: &Space, chosen: Vec<usize>, tally: &Arc<Tally>) -> Vec<Judged> {
        let total = chosen.len();
        let limit = Arc::new(tokio::sync::Semaphore::new(self.o.jobs));
        let mut tasks = Vec::new();
        for i in chosen {
            let Some(plan) = space.plan(i) else {
                continue;
            };
            let v = variant(self.base, plan, i);
            let (paths, limit, allowed, twice) =
                (self.paths.clone(), limit.clone(), self.allowed.clone(), self.o.twice);
            let (tally, name, own, deadline) = (tally.clone(), self.name.to_string(), self.own, self.deadline);
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    tally.out_of_time.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                let (findings, outcome) = run_variant(&v, &allowed, own, &paths, &name, twice).await;
                if !findings.is_empty() {
                    tally.failing.fetch_add(1, Ordering::Relaxed);
                }
                if outcome.as_ref().is_err_and(super::not_applicable) {
                    tally.not_applicable.fetch_add(1, Ordering::Relaxed);
                }
                progress(&name, &tally, total);
                let kept = (!findings.is_empty()).then(|| outcome.ok()).flatten();
                Some((v, findings, kept))
            }));
        }
        let mut judged: Vec<Judged> = Vec::new();
        for t in tasks {
            if let Ok(Some(r)) = t.await {
                judged.push(r);
            }
        }
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
        judged
    }

    /// One finding: the first variant of its group, shrunk (`--shrink-runs`), written as a
    /// scenario file with its timeline page.
    async fn finding(
        &self,
        out_dir: &std::path::Path,
        property: String,
        event: String,
        judged: &[Judged],
        members: &[usize],
    ) -> anyhow::Result<Group> {
        let name = self.name;
        let (v, f, o1) = &judged[members[0]];
        let label = if v.index == usize::MAX {
            format!("{property}-base")
        } else {
            format!("{property}-{event}-{}", v.index)
        };
        // The base's own findings are not shrunk: there is no event to take away.
        let shrunk = if v.index == usize::MAX || self.o.shrink_runs == 0 {
            None
        } else {
            eprint!("  {name}: shrinking {label} ...");
            let s = super::shrink(
                self.base,
                &v.plan,
                &property,
                self.allowed,
                self.paths,
                &format!("explore-{name}"),
                self.o.shrink_runs,
            )
            .await;
            eprintln!(
                " {}",
                if s.steps.is_empty() {
                    "as small as it gets".to_string()
                } else {
                    s.steps.join("; ")
                }
            );
            Some(s)
        };
        let (scenario, findings_of, outcome_of, steps, runs) = match &shrunk {
            Some(s) if !s.steps.is_empty() => (
                variant(&s.base, s.plan.clone(), v.index).scenario,
                s.findings.clone(),
                s.outcome.clone(),
                s.steps.clone(),
                s.runs,
            ),
            s => (
                v.scenario.clone(),
                f.clone(),
                o1.clone(),
                Vec::new(),
                s.as_ref().map_or(0, |s| s.runs),
            ),
        };
        let mut header: Vec<String> = findings_of
            .iter()
            .map(|f| format!("{}: {}", f.property, f.detail.replace('\n', " ")))
            .collect();
        if !steps.is_empty() {
            header.push(format!(
                "shrunk from the first failing variant ({}): {}",
                v.plan.what,
                steps.join("; ")
            ));
        }
        let file = write_counterexample(&scenario, &header, &self.paths.revisions, &out_dir.join(name), &label)?;
        let page = match &outcome_of {
            Some(outcome) => super::page::timeline(out_dir, name, &label, outcome)?,
            None => PathBuf::new(),
        };
        let picture = outcome_of
            .as_ref()
            .map(|o| crate::html::sparkline(&o.timeline))
            .unwrap_or_default();
        Ok(Group {
            property,
            event,
            variants: members.len(),
            example: v.plan.what.clone(),
            findings: findings_of,
            shrunk: steps,
            shrink_runs: runs,
            file,
            page,
            picture,
        })
    }
}

/// One more variant done: on a terminal, one line rewritten in place; in a log, a line per tenth.
fn progress(name: &str, tally: &Tally, total: usize) {
    let n = tally.done.fetch_add(1, Ordering::Relaxed) + 1;
    let tty = std::io::stderr().is_terminal();
    let step = if tty { 10 } else { total.div_ceil(10).max(1) };
    if n.is_multiple_of(step) || n == total {
        let line = format!(
            "  {name}: {n}/{total} variants, {} failing",
            tally.failing.load(Ordering::Relaxed)
        );
        if tty {
            eprint!("\r{line}");
        } else {
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
    }
}

/// Runs one variant (twice with `--twice`) and judges it.
async fn run_variant(
    v: &super::Variant,
    allowed: &BTreeSet<ViolationKind>,
    own: super::Cost,
    paths: &crate::runner::Paths,
    name: &str,
    twice: bool,
) -> (Vec<Finding>, anyhow::Result<Outcome>) {
    let run = super::play(v, &format!("explore-{name}-{}", v.index), paths).await;
    let mut findings = judge(allowed, &v.plan, own, &run);
    if twice {
        if let Ok(first) = &run {
            let again = crate::runner::run_scenario(
                v.scenario.clone(),
                &format!("explore-{name}-{}-again", v.index),
                paths,
                false,
            )
            .await;
            let bytes = |o: &Outcome| serde_json::to_string_pretty(o).unwrap_or_default();
            let (one, two) = (
                bytes(first),
                again
                    .as_ref()
                    .map(|(a, _)| bytes(a))
                    .unwrap_or_else(|e| format!("{e:#}")),
            );
            if one != two {
                // The first line that differs, so that the cause can be looked for.
                let at = one.lines().zip(two.lines()).position(|(a, b)| a != b).unwrap_or(0);
                let line = |t: &str| t.lines().nth(at).unwrap_or("").trim().to_string();
                findings.push(Finding {
                    property: "nondeterministic".into(),
                    detail: format!(
                        "the same variant gave different outcome bytes when run again; first at line {}: {} / {}",
                        at + 1,
                        line(&one),
                        line(&two)
                    ),
                });
            }
        }
    }
    (findings, run)
}

fn print_summary(results: &[ScenarioResult], wall: f64) {
    let w = results.iter().map(|r| r.scenario.len()).max().unwrap_or(8).max(8);
    println!();
    println!(
        "{:<w$}  {:>6}  {:>8}  {:>8}  {:>6}  {:>7}  {:>8}  {:>10}",
        "scenario", "points", "space", "variants", "n/a", "failing", "wall", "variants/s"
    );
    for r in results {
        println!(
            "{:<w$}  {:>6}  {:>8}  {:>8}  {:>6}  {:>7}  {:>7.1}s  {:>10.1}{}",
            r.scenario,
            r.trigger_points,
            r.space,
            r.variants,
            r.not_applicable,
            r.failing,
            r.wall_seconds,
            r.variants as f64 / r.wall_seconds.max(0.001),
            if r.budget_reached { "  (budget reached)" } else { "" }
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
                "  {}: {} after {} ({} variant(s)), e.g. {}\n    {}",
                r.scenario,
                g.property,
                g.event,
                g.variants,
                g.example,
                g.findings.first().map(|f| f.detail.as_str()).unwrap_or(""),
            );
            if !g.shrunk.is_empty() {
                println!("    shrunk ({} runs): {}", g.shrink_runs, g.shrunk.join("; "));
            }
            println!("    run it: cargo xtask test-scenarios {}", g.file.display());
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
