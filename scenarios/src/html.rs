//! The scenario report: a self-contained static site (no scripts, no network fetches) with an index
//! of every scenario and one page per scenario drawing its [`Timeline`] as SVG: a lane per instance
//! (lifecycle states coloured, script and hook runs as bars with their result), serving capacity
//! against the deployment's minimum, request outcomes over time and markers for events. Hover titles
//! give exact simulated times. The same outcome always gives the same bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::report::Outcome;
use crate::timeline::{Requests, RunResult, Timeline};

const WIDTH: f64 = 1100.0;
const GUTTER: f64 = 110.0;
const PLOT: f64 = 960.0;
const LANE: f64 = 30.0;
const CHART: f64 = 110.0;
const BUCKETS: usize = 120;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}\
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}\
th{background:#f3f3f3}.ok{color:#1b7f3b;font-weight:600}.bad{color:#b3261e;font-weight:600}\
p.desc{max-width:1000px}svg text{font-size:11px;fill:#333}code{font-size:13px}";

/// Escapes text for HTML and SVG.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The colour of a lifecycle state.
fn state_colour(state: &str) -> &'static str {
    match state {
        "Pending" | "Pending:Proceed" => "#f6c343",
        "Pending:Wait" => "#e8a33d",
        "InService" => "#3cb371",
        "Draining" => "#b48ce0",
        "EnteringStandby" => "#93a3f5",
        "Standby" => "#5b6ee1",
        "Terminating" | "Terminating:Wait" | "Terminating:Proceed" => "#e06666",
        "Terminated" | "Gone" => "#b9b9b9",
        _ => "#cfcfcf",
    }
}

fn result_colour(r: RunResult) -> &'static str {
    match r {
        RunResult::Succeeded => "#2e7d32",
        RunResult::Failed => "#c62828",
        RunResult::TimedOut => "#ef6c00",
        RunResult::Ended => "#757575",
    }
}

/// `t+12s` (or `t+12.5s`).
fn secs(t: f64) -> String {
    if (t - t.round()).abs() < 1e-9 {
        format!("t+{}s", t.round() as i64)
    } else {
        format!("t+{t:.1}s")
    }
}

/// A tick step giving at most about a dozen ticks.
fn tick_step(end: f64) -> f64 {
    [
        5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0,
    ]
    .into_iter()
    .find(|s| end / s <= 12.0)
    .unwrap_or(86400.0)
}

/// The SVG timeline of one scenario.
pub fn svg(t: &Timeline) -> String {
    let end = t.end.max(1.0);
    let x = |s: f64| GUTTER + (s.clamp(0.0, end) / end) * PLOT;
    let lanes_top = 50.0;
    let lanes_h = LANE * t.lanes.len() as f64;
    let cap_top = lanes_top + lanes_h + 30.0;
    let req_top = cap_top + CHART + 40.0;
    let legend_top = req_top + CHART + 30.0;
    let height = legend_top + 30.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="timeline">"##
    );
    // Time axis.
    let step = tick_step(end);
    o.push_str(r#"<g class="axis">"#);
    let mut s = 0.0;
    while s <= end + 1e-9 {
        let _ = write!(
            o,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#e4e4e4"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle">{4}</text>"##,
            x(s),
            lanes_top - 6.0,
            req_top + CHART,
            lanes_top - 12.0,
            secs(s)
        );
        s += step;
    }
    o.push_str("</g>");
    // Lanes.
    for (i, (label, lane)) in t.lanes.values().enumerate() {
        let y = lanes_top + i as f64 * LANE;
        let _ = write!(
            o,
            r##"<g class="lane" data-instance="{l}"><text x="8" y="{ty:.1}">{l}</text>"##,
            l = esc(label),
            ty = y + 15.0
        );
        for (k, (from, state)) in lane.states.iter().enumerate() {
            let to = lane.states.get(k + 1).map_or(end, |n| n.0);
            let w = (x(to) - x(*from)).max(0.5);
            let _ = write!(
                o,
                r##"<rect class="state" x="{:.1}" y="{:.1}" width="{w:.1}" height="16" fill="{}"><title>{} {} {}..{}</title></rect>"##,
                x(*from),
                y + 3.0,
                state_colour(state),
                esc(label),
                esc(state),
                secs(*from),
                secs(to)
            );
        }
        for b in &lane.bars {
            let w = (x(b.to) - x(b.from)).max(2.0);
            let _ = write!(
                o,
                r##"<rect class="run" x="{:.1}" y="{:.1}" width="{w:.1}" height="7" fill="{}"><title>{}: {} ({}..{}) {}</title></rect>"##,
                x(b.from),
                y + 20.0,
                result_colour(b.result),
                esc(label),
                esc(&b.what),
                secs(b.from),
                secs(b.to),
                esc(&b.detail)
            );
        }
        o.push_str("</g>");
    }
    // Capacity against the minimum.
    let top = t.capacity.iter().map(|c| c.2).max().unwrap_or(1).max(1) as f64;
    let cy = |n: f64| cap_top + CHART - (n / top) * CHART;
    let _ = write!(
        o,
        r##"<g class="capacity"><text x="8" y="{:.1}">serving</text><text x="8" y="{:.1}">of {}</text><rect x="{GUTTER}" y="{cap_top:.1}" width="{PLOT}" height="{CHART}" fill="none" stroke="#ddd"/>"##,
        cap_top + 14.0,
        cap_top + 28.0,
        top
    );
    for (points, class, colour, dash) in [
        (
            t.capacity.iter().map(|c| (c.0, c.1 as f64)).collect::<Vec<_>>(),
            "serving",
            "#2e7d32",
            "",
        ),
        (
            t.capacity.iter().map(|c| (c.0, c.2 as f64)).collect::<Vec<_>>(),
            "members",
            "#9e9e9e",
            r#" stroke-dasharray="4 3""#,
        ),
    ] {
        if points.is_empty() {
            continue;
        }
        let mut path = String::new();
        for (k, (at, n)) in points.iter().enumerate() {
            if k > 0 {
                let _ = write!(path, " {:.1},{:.1}", x(*at), cy(points[k - 1].1));
            }
            let _ = write!(path, " {:.1},{:.1}", x(*at), cy(*n));
        }
        let last = points.last().map_or(0.0, |p| p.1);
        let _ = write!(path, " {:.1},{:.1}", x(end), cy(last));
        let _ = write!(
            o,
            r##"<polyline class="{class}" points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"##,
            path.trim()
        );
    }
    for (from, to, min, number) in &t.minimum {
        let _ = write!(
            o,
            r##"<line class="minimum" x1="{0:.1}" y1="{2:.1}" x2="{1:.1}" y2="{2:.1}" stroke="#c62828" stroke-width="2" stroke-dasharray="6 3"><title>deployment {number}: minimum healthy {min} ({3}..{4})</title></line>"##,
            x(*from),
            x(*to),
            cy(*min as f64),
            secs(*from),
            secs(*to)
        );
    }
    o.push_str("</g>");
    // Requests over time: served, maintenance page, failed, stacked per bucket.
    let width = end / BUCKETS as f64;
    let mut buckets = vec![Requests::default(); BUCKETS];
    let mut spill = vec![[0.0f64; 3]; BUCKETS];
    for (from, to, r) in &t.requests {
        let span = (to - from).max(1e-9);
        let first = ((from / width).floor().max(0.0) as usize).min(BUCKETS - 1);
        let last = (((to - 1e-9) / width).floor().max(0.0) as usize).min(BUCKETS - 1);
        for (b, cell) in spill.iter_mut().enumerate().take(last + 1).skip(first) {
            let (a, z) = (b as f64 * width, (b + 1) as f64 * width);
            let share = ((to.min(z) - from.max(a)).max(0.0)) / span;
            cell[0] += r.served as f64 * share;
            cell[1] += r.maintenance as f64 * share;
            cell[2] += r.failed as f64 * share;
        }
    }
    for (b, cell) in buckets.iter_mut().zip(&spill) {
        b.served = cell[0].round() as u64;
        b.maintenance = cell[1].round() as u64;
        b.failed = cell[2].round() as u64;
    }
    let peak = buckets
        .iter()
        .map(|b| b.served + b.maintenance + b.failed)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let _ = write!(
        o,
        r##"<g class="requests"><text x="8" y="{:.1}">requests</text><text x="8" y="{:.1}">per {:.0}s</text><rect x="{GUTTER}" y="{req_top:.1}" width="{PLOT}" height="{CHART}" fill="none" stroke="#ddd"/>"##,
        req_top + 14.0,
        req_top + 28.0,
        width
    );
    let bw = PLOT / BUCKETS as f64;
    for (k, b) in buckets.iter().enumerate() {
        let total = b.served + b.maintenance + b.failed;
        if total == 0 {
            continue;
        }
        let mut base = req_top + CHART;
        for (n, colour, what) in [
            (b.served, "#66bb6a", "served"),
            (b.maintenance, "#42a5f5", "maintenance page"),
            (b.failed, "#e53935", "failed"),
        ] {
            if n == 0 {
                continue;
            }
            let h = n as f64 / peak * CHART;
            base -= h;
            let _ = write!(
                o,
                r##"<rect class="req {cls}" x="{:.1}" y="{base:.1}" width="{:.1}" height="{h:.1}" fill="{colour}"><title>{}..{}: {n} {what}</title></rect>"##,
                GUTTER + k as f64 * bw,
                (bw - 0.5).max(0.5),
                secs(k as f64 * width),
                secs((k + 1) as f64 * width),
                cls = what.split(' ').next().unwrap_or(what)
            );
        }
    }
    o.push_str("</g>");
    // Markers.
    o.push_str(r#"<g class="markers">"#);
    for (n, (at, text)) in t.markers.iter().enumerate() {
        let _ = write!(
            o,
            r##"<g class="marker"><line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#555" stroke-dasharray="2 3"/><circle cx="{0:.1}" cy="{1:.1}" r="7" fill="#fff" stroke="#555"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle">{4}</text><title>{5}: {6}</title></g>"##,
            x(*at),
            12.0,
            req_top + CHART,
            15.5,
            n + 1,
            secs(*at),
            esc(text)
        );
    }
    o.push_str("</g>");
    // Legend.
    o.push_str(r#"<g class="legend">"#);
    let mut lx = GUTTER;
    for (name, colour) in [
        ("Pending", state_colour("Pending")),
        ("Pending:Wait", state_colour("Pending:Wait")),
        ("InService", state_colour("InService")),
        ("Draining", state_colour("Draining")),
        ("EnteringStandby", state_colour("EnteringStandby")),
        ("Standby", state_colour("Standby")),
        ("Terminating", state_colour("Terminating")),
        ("run ok", result_colour(RunResult::Succeeded)),
        ("run failed", result_colour(RunResult::Failed)),
        ("timed out", result_colour(RunResult::TimedOut)),
    ] {
        let _ = write!(
            o,
            r##"<rect x="{lx:.1}" y="{legend_top:.1}" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="{:.1}">{name}</text>"##,
            lx + 16.0,
            legend_top + 10.0
        );
        lx += 18.0 + 7.0 * name.len() as f64 + 14.0;
    }
    o.push_str("</g></svg>");
    o
}

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

fn verdict_html(o: &Outcome) -> String {
    if o.passed {
        r#"<span class="ok">ok</span>"#.to_string()
    } else {
        format!(r#"<span class="bad">{}</span>"#, esc(&o.verdict))
    }
}

fn capacity_text(o: &Outcome) -> String {
    o.deployments
        .iter()
        .map(|d| format!("{}/{}", d.lowest_healthy_capacity, d.required_healthy_capacity))
        .collect::<Vec<_>>()
        .join(" ")
}

fn requests_of(o: &Outcome) -> (u64, u64, u64) {
    o.traffic.values().fold((0, 0, 0), |(s, m, f), t| {
        (
            s + t.sent,
            m + t.maintenance.values().sum::<u64>(),
            f + t.failed.values().sum::<u64>(),
        )
    })
}

/// One scenario's page.
pub fn scenario_page(name: &str, o: &Outcome) -> String {
    scenario_page_under(name, o, ("index.html", "All scenarios"))
}

/// One scenario's page, its first line linking back to `back` (address, text).
pub fn scenario_page_under(name: &str, o: &Outcome, back: (&str, &str)) -> String {
    let (sent, maintenance, failed) = requests_of(o);
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<p><a href="{}">{}</a></p><h1>{}</h1><p class="desc">{}</p><table><tr><th>verdict</th><td>{}</td></tr><tr><th>simulated time</th><td>{} s</td></tr><tr><th>overhead against the floor</th><td>{}</td></tr><tr><th>lowest serving capacity / minimum</th><td>{}</td></tr><tr><th>requests</th><td>{sent} sent, {maintenance} maintenance page, {failed} failed</td></tr></table>"#,
        esc(back.0),
        esc(back.1),
        esc(name),
        esc(&o.description),
        verdict_html(o),
        o.simulated_seconds,
        esc(&crate::report::overhead_text(o)),
        esc(&capacity_text(o))
    );
    b.push_str(&svg(&o.timeline));
    if !o.timeline.markers.is_empty() {
        b.push_str("<h2>Markers</h2><table><tr><th>#</th><th>time</th><th>what</th></tr>");
        for (n, (at, text)) in o.timeline.markers.iter().enumerate() {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                n + 1,
                secs(*at),
                esc(text)
            );
        }
        b.push_str("</table>");
    }
    b.push_str("<h2>Deployments</h2><table><tr><th>#</th><th>creator</th><th>revision</th><th>config</th><th>status</th><th>capacity</th><th>simulated / floor</th></tr>");
    for d in &o.deployments {
        let timing = match (d.simulated_seconds, d.floor_seconds) {
            (Some(s), Some(f)) => format!("{s} s / {f} s"),
            (Some(s), None) => format!("{s} s"),
            _ => "-".into(),
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td></tr>",
            d.number,
            d.creator,
            esc(&d.revision),
            esc(&d.config),
            esc(&d.status.to_string()),
            d.lowest_healthy_capacity,
            d.required_healthy_capacity,
            timing
        );
    }
    b.push_str("</table>");
    if !o.violations.is_empty() {
        b.push_str("<h2>Violations</h2><ul>");
        for v in &o.violations {
            let _ = write!(b, "<li><code>{}</code></li>", esc(&v.to_string()));
        }
        b.push_str("</ul>");
    }
    page(name, &b)
}

/// The index of every scenario.
pub fn index(results: &[(String, Outcome)]) -> String {
    let mut b = String::from(
        "<h1>Scenario report</h1><table><tr><th>scenario</th><th>verdict</th><th>simulated</th><th>overhead (vs floor)</th><th>lowest capacity / minimum</th><th>requests sent</th><th>maintenance page</th><th>failed</th></tr>",
    );
    for (name, o) in results {
        let (sent, maintenance, failed) = requests_of(o);
        let _ = write!(
            b,
            r#"<tr><td><a href="{0}.html">{0}</a></td><td>{1}</td><td>{2} s</td><td>{3}</td><td>{4}</td><td>{sent}</td><td>{maintenance}</td><td>{failed}</td></tr>"#,
            esc(name),
            verdict_html(o),
            o.simulated_seconds,
            esc(&crate::report::overhead_text(o)),
            esc(&capacity_text(o))
        );
    }
    b.push_str("</table>");
    page("Scenario report", &b)
}

/// Writes `index.html` and one page per scenario into `dir`; returns the index's path.
pub fn write_report(dir: &Path, results: &[(String, Outcome)]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for (name, o) in results {
        std::fs::write(dir.join(format!("{name}.html")), scenario_page(name, o))?;
    }
    let index_path = dir.join("index.html");
    std::fs::write(&index_path, index(results))?;
    Ok(index_path)
}
