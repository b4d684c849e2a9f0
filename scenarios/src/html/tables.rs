//! The tables under a timeline: the numbered markers, the deployments (with their overhead
//! against AWS's timers), every lifecycle event of each deployment slowest first, and the
//! violations, the expected ones marked with the scenario's reason.

use std::fmt::Write as _;

use super::{esc, secs};
use crate::report::Outcome;
use crate::timeline::Timeline;

/// The markers, numbered as on the timeline.
pub(super) fn markers(t: &Timeline) -> String {
    if t.markers.is_empty() {
        return String::new();
    }
    let mut b = String::from("<h2>Events</h2><table><tr><th>#</th><th>time</th><th>what</th></tr>");
    for (n, (at, text)) in t.markers.iter().enumerate() {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            n + 1,
            secs(*at),
            esc(text)
        );
    }
    b.push_str("</table>");
    b
}

/// The deployments, then each one's lifecycle events.
pub(super) fn deployments(o: &Outcome) -> String {
    let mut b = String::from("<h2>Deployments</h2><table><tr><th>#</th><th>creator</th><th>revision</th><th>config</th><th>status</th><th>lowest capacity / minimum</th><th>simulated</th><th>AWS's timers and the scripts allow</th><th>overhead</th></tr>");
    for d in &o.deployments {
        let s = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| format!("{v} s"));
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.number,
            d.creator,
            esc(&d.revision),
            esc(&d.config),
            esc(&d.status.to_string()),
            d.lowest_healthy_capacity,
            d.required_healthy_capacity,
            s(d.simulated_seconds),
            s(d.floor_seconds),
            s(d.overhead_seconds)
        );
    }
    b.push_str("</table>");
    for d in o.deployments.iter().filter(|d| !d.zones.is_empty()) {
        let _ = write!(
            b,
            "<h3>Deployment {}: zone by zone</h3><table><tr><th>zone</th><th>instances</th><th>lowest capacity / minimum per zone</th></tr>",
            d.number
        );
        for (zone, z) in &d.zones {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}/{}</td></tr>",
                esc(zone),
                z.instances,
                z.lowest_healthy_capacity,
                z.required_healthy_capacity
            );
        }
        b.push_str("</table>");
    }
    for d in &o.deployments {
        let mut rows: Vec<(&str, &crate::timeline::Bar)> = o
            .timeline
            .lanes
            .values()
            .flat_map(|(label, lane)| lane.bars.iter().map(move |bar| (label.as_str(), bar)))
            .filter(|(_, bar)| bar.deployment == d.number)
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| {
            (b.1.to - b.1.from)
                .partial_cmp(&(a.1.to - a.1.from))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.from.partial_cmp(&b.1.from).unwrap_or(std::cmp::Ordering::Equal))
        });
        let overhead = match (d.simulated_seconds, d.floor_seconds, d.overhead_seconds) {
            (Some(s), Some(f), Some(over)) => {
                format!(" It took {s} s; AWS's timers and the revision's scripts allow {f} s: the hooks cost {over} s.")
            }
            (Some(s), _, _) => format!(" It took {s} s."),
            _ => String::new(),
        };
        let _ = write!(
            b,
            "<h3>Deployment {}: lifecycle events, slowest first</h3><p>{} events on {} instances.{}</p><table><tr><th>instance</th><th>event</th><th>script</th><th>start</th><th>duration</th><th>result</th></tr>",
            d.number,
            rows.len(),
            rows.iter().map(|r| r.0).collect::<std::collections::BTreeSet<_>>().len(),
            esc(&overhead)
        );
        for (label, bar) in rows {
            let class = match bar.result {
                crate::timeline::RunResult::Succeeded => "",
                _ => r#" class="bad""#,
            };
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0} s</td><td{class}>{}</td></tr>",
                esc(label),
                esc(bar.event()),
                esc(bar.what.split_once(' ').map_or("-", |w| w.1)),
                secs(bar.from),
                bar.to - bar.from,
                esc(bar.detail.rsplit(": ").next().unwrap_or(&bar.detail))
            );
        }
        b.push_str("</table>");
    }
    b
}

/// The violations found, each marked expected (with the scenario's reason) or not.
pub(super) fn violations(o: &Outcome) -> String {
    if o.violations.is_empty() {
        return String::new();
    }
    let mut b = String::from("<h2>Violations</h2><table><tr><th>violation</th><th>expected?</th></tr>");
    for v in &o.violations {
        let expected = if o.expected.contains(&v.kind) {
            format!(
                r#"<span class="expected">expected</span>: {}"#,
                esc(o
                    .expected_because
                    .as_deref()
                    .unwrap_or("the scenario demonstrates it on purpose"))
            )
        } else {
            r#"<span class="bad">not expected</span>"#.to_string()
        };
        let _ = write!(
            b,
            "<tr><td><code>{}</code></td><td>{expected}</td></tr>",
            esc(&v.to_string())
        );
    }
    b.push_str("</table>");
    b
}
