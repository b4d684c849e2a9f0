//! The scenario report: a self-contained static site (nothing fetched from the network) with an
//! index of every scenario of the run and one page per scenario: its summary, its [`Timeline`]
//! drawn as SVG (`svg.rs`, colours and legend in `ink.rs`), zoomable by an inline script
//! (`zoom.js`), and tables of deployments, lifecycle events, markers and violations (`tables.rs`).
//! `report.json` keeps each run's figures and timelines so a later run can be compared against it
//! (`baseline.rs`). The same outcomes always give the same bytes.

mod baseline;
mod ink;
mod svg;
mod tables;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use baseline::{Summary, SAVED};
pub use svg::View;

use crate::report::Outcome;
use crate::timeline::Timeline;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}\
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px;vertical-align:top}\
th{background:#f3f3f3}.ok{color:#1b7f3b;font-weight:600}.bad{color:#b3261e;font-weight:600}.expected{color:#8a5a00;font-weight:600}\
p.desc{max-width:1000px}svg text{font-size:10px;fill:#333}svg text.sub{font-size:9px;fill:#666}svg text.fit{font-size:9px}\
svg text.cause{font-size:9px;font-weight:600;fill:#111}svg text.fit[fill=\"#fff\"]{fill:#fff}svg.timeline{user-select:none;cursor:crosshair}\
.controls button{margin-right:4px}.controls{margin:8px 0}tr.changed td{background:#fff4e5}code{font-size:13px}";

/// Marks pages this report wrote, so a later run can clear the ones it no longer writes.
const GENERATOR: &str = r#"<meta name="generator" content="scenarios report">"#;

const ZOOM: &str = include_str!("zoom.js");

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `t+12s` (or `t+12.5s`).
pub(crate) fn secs(t: f64) -> String {
    if (t - t.round()).abs() < 1e-9 {
        format!("t+{}s", t.round() as i64)
    } else {
        format!("t+{t:.1}s")
    }
}

/// `m:ss` (or `h:mm:ss`), for axes.
pub(crate) fn clock(t: f64) -> String {
    let s = t.round().max(0.0) as i64;
    let (h, m, r) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{r:02}")
    } else {
        format!("{m}:{r:02}")
    }
}

/// A whole page around `body`; `script` adds the zoom.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{GENERATOR}<title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

/// A page with zoomable timelines.
fn page_with_zoom(title: &str, body: &str) -> String {
    page(title, &format!("{body}\n<script>{ZOOM}</script>"))
}

/// `ok`, `ok (2 expected violations)`, or the verdict in red.
pub(crate) fn verdict_html(o: &Outcome) -> String {
    if o.passed && o.violations.is_empty() {
        r#"<span class="ok">ok</span>"#.to_string()
    } else if o.passed {
        format!(
            r#"<span class="ok">ok</span> <span class="expected">({} expected violation{})</span>"#,
            o.violations.len(),
            if o.violations.len() == 1 { "" } else { "s" }
        )
    } else {
        format!(r#"<span class="bad">{}</span>"#, esc(&o.verdict))
    }
}

/// Each deployment's lowest serving capacity against its minimum: `2/3 4/4`.
pub(crate) fn capacity_text(o: &Outcome) -> String {
    o.deployments
        .iter()
        .map(|d| format!("{}/{}", d.lowest_healthy_capacity, d.required_healthy_capacity))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Requests (sent, maintenance page, failed) over every entrance.
pub(crate) fn requests_of(o: &Outcome) -> (u64, u64, u64) {
    o.traffic.values().fold((0, 0, 0), |(s, m, f), t| {
        (
            s + t.sent,
            m + t.maintenance.values().sum::<u64>(),
            f + t.failed.values().sum::<u64>(),
        )
    })
}

/// Each deployment's line in the timeline's deployments row.
fn deployment_lines(o: &Outcome) -> svg::Deployments {
    o.deployments
        .iter()
        .map(|d| (d.number, format!("#{} {}: {}", d.number, d.revision, d.status)))
        .collect()
}

/// The zoom buttons above a page's timelines.
fn controls() -> &'static str {
    r#"<div class="controls"><button data-view="deployments">Deployments</button><button data-view="all">Whole run</button><button data-view="in">Zoom in</button><button data-view="out">Zoom out</button><button data-view="left">&#9664;</button><button data-view="right">&#9654;</button> <span class="view-now"></span> (drag across the timeline to zoom into a stretch)</div>"#
}

/// A small picture of a run for the index: requests per second (served, maintenance page,
/// failed) and serving capacity over the whole story.
pub fn sparkline(t: &Timeline) -> String {
    let (w, h) = (160.0, 28.0);
    let end = t.end.max(1.0);
    let n = 40usize;
    let width = end / n as f64;
    // Each stretch of requests spread over the buckets it covers, as the timeline does.
    let cells: Vec<[f64; 3]> = svg::bucket(&t.requests, width, end)
        .iter()
        .take(n)
        .map(|b| [b.served as f64, b.maintenance as f64, b.failed_total() as f64])
        .collect();
    let peak = cells.iter().map(|c| c[0] + c[1] + c[2]).fold(1.0, f64::max);
    let mut o = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
    );
    let bw = w / n as f64;
    for (k, c) in cells.iter().enumerate() {
        let mut base = h;
        for (v, colour) in [(c[0], ink::SERVED), (c[1], ink::MAINTENANCE), (c[2], "#e53935")] {
            if v <= 0.0 {
                continue;
            }
            let bh = (v / peak * (h - 2.0)).max(1.0);
            base -= bh;
            let _ = write!(
                o,
                r#"<rect x="{:.1}" y="{base:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}"/>"#,
                k as f64 * bw,
                bw - 0.5
            );
        }
    }
    let top = t.capacity.iter().map(|c| c.2).max().unwrap_or(1).max(1) as f64;
    // A step line: each change holds until the next.
    let y = |n: usize| h - 1.0 - n as f64 / top * (h - 2.0);
    let mut pts: Vec<String> = Vec::new();
    for (k, c) in t.capacity.iter().enumerate() {
        let x = c.0 / end * w;
        if k > 0 {
            pts.push(format!("{x:.1},{:.1}", y(t.capacity[k - 1].1)));
        }
        pts.push(format!("{x:.1},{:.1}", y(c.1)));
    }
    if !pts.is_empty() {
        let _ = write!(
            o,
            r#"<polyline points="{} {w:.1},{:.1}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
            pts.join(" "),
            h - 1.0 - t.capacity.last().map_or(0.0, |c| c.1 as f64) / top * (h - 2.0),
            ink::SERVING_LINE
        );
    }
    o.push_str("</svg>");
    o
}

/// The summary table at the top of a scenario page.
fn summary(o: &Outcome) -> String {
    let (sent, maintenance, failed) = requests_of(o);
    format!(
        r#"<table><tr><th>verdict</th><td>{}</td></tr><tr><th>simulated time</th><td>{} s</td></tr><tr><th>overhead against AWS's timers</th><td>{}</td></tr><tr><th>lowest serving capacity / minimum</th><td>{}</td></tr><tr><th>requests</th><td>{sent} sent, {maintenance} maintenance page, {failed} failed</td></tr></table>"#,
        verdict_html(o),
        o.simulated_seconds,
        esc(&crate::report::overhead_text(o)),
        esc(&capacity_text(o))
    )
}

/// One scenario's page.
pub fn scenario_page(name: &str, o: &Outcome) -> String {
    scenario_page_under(name, o, ("index.html", "All scenarios"), None)
}

/// One scenario's page, its first line linking back to `back` (address, text), with the
/// baseline's timeline under its own, on the same window, when there is one.
pub fn scenario_page_under(name: &str, o: &Outcome, back: (&str, &str), base: Option<&Summary>) -> String {
    let t = &o.timeline;
    let (from, to) = t.deployments_span();
    let mut view = View { from, to };
    if let Some(b) = base {
        let (bf, bt) = b.timeline.deployments_span();
        view = View {
            from: from.min(bf),
            to: to.max(bt),
        };
    }
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<p><a href="{}">{}</a></p><h1>{}</h1><p class="desc">{}</p>{}"#,
        esc(back.0),
        esc(back.1),
        esc(name),
        esc(&o.description),
        summary(o)
    );
    b.push_str(controls());
    b.push_str(&svg::svg(t, "now", view, &deployment_lines(o)));
    if let Some(base) = base {
        let _ = write!(
            b,
            r#"<h2 id="baseline">Baseline</h2><p>The same scenario in the baseline report: {}, {} s simulated, {} failed requests. Both timelines show the same window and zoom together.</p>"#,
            esc(&base.verdict),
            base.simulated_seconds,
            base.failed
        );
        b.push_str(&svg::svg(&base.timeline, "base", view, &base.deployments));
    }
    b.push_str(&tables::markers(t));
    b.push_str(&tables::deployments(o));
    b.push_str(&tables::violations(o));
    page_with_zoom(name, &b)
}

/// The index of every scenario of the run.
pub fn index(results: &[(String, Outcome)], baseline: bool) -> String {
    let mut b = String::from("<h1>Scenario report</h1>");
    if baseline {
        b.push_str(r#"<p><a href="baseline.html">Compared with the baseline</a></p>"#);
    }
    b.push_str(r#"<p>Each picture: requests per second over the whole run (green served, blue maintenance page, red failed) and the instances serving (line).</p><table><tr><th>scenario</th><th>verdict</th><th>run</th><th>simulated</th><th>overhead (vs AWS's timers)</th><th>lowest capacity / minimum</th><th>requests sent</th><th>maintenance page</th><th>failed</th></tr>"#);
    for (name, o) in results {
        let (sent, maintenance, failed) = requests_of(o);
        let _ = write!(
            b,
            r#"<tr><td><a href="{0}.html">{0}</a></td><td>{1}</td><td>{2}</td><td>{3} s</td><td>{4}</td><td>{5}</td><td>{sent}</td><td>{maintenance}</td><td>{failed}</td></tr>"#,
            esc(name),
            verdict_html(o),
            sparkline(&o.timeline),
            o.simulated_seconds,
            esc(&crate::report::overhead_text(o)),
            esc(&capacity_text(o))
        );
    }
    b.push_str("</table>");
    page("Scenario report", &b)
}

/// Removes the pages an earlier report wrote into `dir` that this run does not write again.
fn clear_stale(dir: &Path, keep: &[String]) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_page = path.extension().is_some_and(|e| e == "html");
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if !is_page || keep.contains(&stem) || stem == "index" {
            continue;
        }
        let ours = std::fs::read_to_string(&path).is_ok_and(|s| s.contains(GENERATOR));
        if ours {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Writes `index.html`, one page per scenario and `report.json` into `dir`, clearing the pages
/// of earlier runs; with `baseline` (an earlier report's folder), each page shows the baseline's
/// timeline too and `baseline.html` lists what changed. Returns the index's path.
pub fn write_report(dir: &Path, results: &[(String, Outcome)], baseline: Option<&Path>) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let base = match baseline {
        Some(b) => Some(baseline::load(b)?),
        None => None,
    };
    let names: Vec<String> = results.iter().map(|(n, _)| n.clone()).collect();
    let mut keep = names.clone();
    if base.is_some() {
        keep.push("baseline".into());
    }
    clear_stale(dir, &keep)?;
    for (name, o) in results {
        let b = base.as_ref().and_then(|b| b.get(name));
        std::fs::write(
            dir.join(format!("{name}.html")),
            scenario_page_under(name, o, ("index.html", "All scenarios"), b),
        )?;
    }
    if let Some(base) = &base {
        std::fs::write(
            dir.join("baseline.html"),
            baseline::compare(results, base, baseline.unwrap_or(dir)),
        )?;
    }
    baseline::save(dir, results)?;
    let index_path = dir.join("index.html");
    std::fs::write(&index_path, index(results, base.is_some()))?;
    Ok(index_path)
}
