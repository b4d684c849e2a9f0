//! Comparing a run with an earlier one: every report keeps `report.json` (each scenario's
//! figures and timeline); `--baseline DIR` reads an earlier one back and `baseline.html` lists,
//! per scenario, verdict, capacity, failed requests, simulated time and overhead side by side,
//! the changed ones first, each linking to its page where the two timelines are drawn aligned.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::{capacity_text, esc, page, requests_of};
use crate::report::Outcome;
use crate::timeline::Timeline;

/// The file each report keeps its figures in.
pub const SAVED: &str = "report.json";

/// One scenario's figures, as a later run compares them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub verdict: String,
    pub passed: bool,
    /// Lowest serving capacity / minimum, per deployment.
    pub capacity: String,
    pub sent: u64,
    pub failed: u64,
    pub simulated_seconds: i64,
    /// The deployments' overhead against AWS's timers, summed (None when none had a floor).
    pub overhead_seconds: Option<i64>,
    /// Deployment number -> its line in the timeline's deployments row.
    pub deployments: BTreeMap<usize, String>,
    pub timeline: Timeline,
}

impl Summary {
    pub fn of(o: &Outcome) -> Summary {
        let (sent, _, failed) = requests_of(o);
        let overheads: Vec<i64> = o.deployments.iter().filter_map(|d| d.overhead_seconds).collect();
        Summary {
            verdict: o.verdict.clone(),
            passed: o.passed,
            capacity: capacity_text(o),
            sent,
            failed,
            simulated_seconds: o.simulated_seconds,
            overhead_seconds: (!overheads.is_empty()).then(|| overheads.iter().sum()),
            deployments: super::deployment_lines(o),
            timeline: o.timeline.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    scenarios: BTreeMap<String, Summary>,
}

/// Writes `report.json` into `dir`.
pub(super) fn save(dir: &Path, results: &[(String, Outcome)]) -> anyhow::Result<()> {
    let saved = Saved {
        version: 1,
        scenarios: results.iter().map(|(n, o)| (n.clone(), Summary::of(o))).collect(),
    };
    std::fs::write(dir.join(SAVED), serde_json::to_vec(&saved)?)?;
    Ok(())
}

/// Reads an earlier report's `report.json`.
pub(super) fn load(dir: &Path) -> anyhow::Result<BTreeMap<String, Summary>> {
    let path = dir.join(SAVED);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "--baseline {}: no {SAVED} there (a folder an earlier `--report=DIR` run wrote)",
            dir.display()
        )
    })?;
    let saved: Saved = serde_json::from_slice(&bytes)
        .with_context(|| format!("--baseline: {} is not a report this version can read", path.display()))?;
    anyhow::ensure!(
        saved.version == 1,
        "--baseline: {} has version {}, this version reads 1",
        path.display(),
        saved.version
    );
    Ok(saved.scenarios)
}

/// `before -> after`, or the value when both agree.
fn pair<T: PartialEq + std::fmt::Display>(before: Option<T>, after: T) -> (String, bool) {
    match before {
        Some(b) if b == after => (esc(&after.to_string()), false),
        Some(b) => (
            format!("{} &rarr; <b>{}</b>", esc(&b.to_string()), esc(&after.to_string())),
            true,
        ),
        None => (esc(&after.to_string()), true),
    }
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v} s"))
}

/// The comparison page.
pub(super) fn compare(results: &[(String, Outcome)], base: &BTreeMap<String, Summary>, from: &Path) -> String {
    let mut rows: Vec<(bool, String)> = Vec::new();
    for (name, o) in results {
        let now = Summary::of(o);
        let b = base.get(name);
        let verdict = |s: &Summary| if s.passed { "ok".to_string() } else { s.verdict.clone() };
        let (v, vc) = pair(b.map(verdict), verdict(&now));
        let (c, cc) = pair(b.map(|s| s.capacity.clone()), now.capacity.clone());
        let (f, fc) = pair(b.map(|s| s.failed), now.failed);
        let (t, tc) = pair(
            b.map(|s| format!("{} s", s.simulated_seconds)),
            format!("{} s", now.simulated_seconds),
        );
        let (ov, oc) = pair(b.map(|s| opt(s.overhead_seconds)), opt(now.overhead_seconds));
        let mut changed: Vec<&str> = Vec::new();
        for (flag, what) in [
            (vc, "verdict"),
            (cc, "capacity"),
            (fc, "failed requests"),
            (tc, "simulated time"),
            (oc, "overhead"),
        ] {
            if flag {
                changed.push(what);
            }
        }
        let what = match b {
            None => "new scenario".to_string(),
            Some(_) if changed.is_empty() => "unchanged".to_string(),
            Some(_) => changed.join(", "),
        };
        let any = b.is_none() || !changed.is_empty();
        rows.push((
            any,
            format!(
                r##"<tr{}><td><a href="{n}.html#baseline">{n}</a></td><td>{}</td><td>{v}</td><td>{c}</td><td>{f}</td><td>{t}</td><td>{ov}</td></tr>"##,
                if any { r#" class="changed""# } else { "" },
                esc(&what),
                n = esc(name)
            ),
        ));
    }
    for name in base.keys().filter(|n| !results.iter().any(|(r, _)| r == *n)) {
        rows.push((
            true,
            format!(r#"<tr class="changed"><td>{}</td><td>not in this run</td><td></td><td></td><td></td><td></td><td></td></tr>"#, esc(name)),
        ));
    }
    rows.sort_by_key(|r| !r.0);
    let changed = rows.iter().filter(|r| r.0).count();
    let mut b = format!(
        r#"<p><a href="index.html">All scenarios</a></p><h1>Compared with the baseline</h1><p>Baseline: <code>{}</code>. {changed} of {} scenarios changed; they come first. Each links to its page, where the two timelines are drawn on the same window.</p><table><tr><th>scenario</th><th>what changed</th><th>verdict</th><th>lowest capacity / minimum</th><th>failed requests</th><th>simulated</th><th>overhead</th></tr>"#,
        esc(&from.display().to_string()),
        rows.len()
    );
    for (_, row) in rows {
        let _ = write!(b, "{row}");
    }
    b.push_str("</table>");
    page("Compared with the baseline", &b)
}
