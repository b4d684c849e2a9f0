//! The SVG timeline of one scenario, drawn for a window of simulated time (the deployments' span
//! by default): numbered event markers stacked so they never overlap, a row of deployments, a
//! lane per instance (lifecycle state, lifecycle events labelled with their hook and duration,
//! target health per load balancer, launch and termination causes), serving capacity against the
//! minimum, and requests per second by outcome, each chart with numbered axes; then a legend of
//! exactly the colours used. Every time-placed element carries its simulated times (`data-t`,
//! `data-a`/`data-b`) so the page's zoom script can redraw any window.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::ink::{self, Ink, Mark};
use super::{clock, esc, secs};
use crate::timeline::{Failure, Health, Requests, Timeline};

pub(super) const WIDTH: f64 = 1160.0;
pub(super) const GUTTER: f64 = 150.0;
pub(super) const PLOT: f64 = 980.0;
const ROW: f64 = 18.0;
const CHART: f64 = 110.0;
/// Roughly how wide a character of the 10 px labels is (the page's script measures exactly).
const CHAR: f64 = 6.0;

/// Tick steps, in simulated seconds.
const STEPS: [f64; 14] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
];

/// A tick step giving at most about a dozen ticks over `span` seconds.
pub(super) fn tick_step(span: f64) -> f64 {
    STEPS.into_iter().find(|s| span / s <= 12.0).unwrap_or(21600.0)
}

/// The request buckets' width: whole seconds, at most about 160 buckets over the window and 1,500
/// over the whole story.
pub(super) fn bucket_width(span: f64, end: f64) -> f64 {
    STEPS
        .into_iter()
        .find(|s| span / s <= 160.0 && end / s <= 1500.0)
        .unwrap_or(3600.0)
}

/// A round step for a y axis from 0 to `max`, giving at most five ticks.
fn y_step(max: f64) -> f64 {
    let mut step = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if max / (step * m) <= 5.0 {
                return step * m;
            }
        }
        step *= 10.0;
    }
}

/// A marker's short label: `d1 starts`, or its text cut to 24 characters.
pub(super) fn short(text: &str) -> String {
    if let Some(rest) = text.strip_prefix("deployment ") {
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = rest[n.len()..].trim_start();
        let word = match after.strip_prefix(':') {
            // `deployment 4: Failed: ...` -> `Failed`.
            Some(status) => status.split([':', ' ']).find(|w| !w.is_empty()).unwrap_or(""),
            None => text.rsplit(' ').next().unwrap_or(""),
        };
        if !n.is_empty() {
            return format!("deployment {n} {word}");
        }
    }
    if text.chars().count() <= 24 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(23).collect::<String>())
    }
}

/// Where a marker was placed: its row, its box's left and right, and whether its label is on the
/// left of its circle (near the right edge).
pub(super) type Placed = (usize, f64, f64, bool);

/// Lays markers out in rows: each goes in the first row where its box (circle and label) clears
/// the one before it by 4 px; a label that would run past the plot goes on the circle's left.
/// Returns the places in input order, `None` for markers outside the window.
pub(super) fn layout(xs: &[Option<(f64, f64)>]) -> Vec<Option<Placed>> {
    let mut order: Vec<usize> = (0..xs.len()).filter(|i| xs[*i].is_some()).collect();
    order.sort_by(|a, b| {
        xs[*a]
            .map(|p| p.0)
            .partial_cmp(&xs[*b].map(|p| p.0))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut rows: Vec<f64> = Vec::new();
    let mut out = vec![None; xs.len()];
    for i in order {
        let Some((x, label)) = xs[i] else { continue };
        let flip = x + 12.0 + label > GUTTER + PLOT + 20.0;
        let (left, right) = if flip {
            (x - 12.0 - label, x + 8.0)
        } else {
            (x - 8.0, x + 12.0 + label)
        };
        let row = match rows.iter().position(|end| *end + 4.0 <= left) {
            Some(r) => r,
            None => {
                rows.push(f64::NEG_INFINITY);
                rows.len() - 1
            }
        };
        rows[row] = right;
        out[i] = Some((row, left, right, flip));
    }
    out
}

/// The window a timeline is drawn for, in simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub from: f64,
    pub to: f64,
}

struct Canvas {
    view: View,
    /// What is drawn against time (clipped to the plot).
    o: String,
    /// Names and axes in the gutter on the left (not clipped).
    g: String,
    ink: Ink,
}

impl Canvas {
    fn x(&self, t: f64) -> f64 {
        GUTTER + (t - self.view.from) / (self.view.to - self.view.from).max(1e-9) * PLOT
    }

    /// A rectangle over `[a, b]` seconds.
    #[allow(clippy::too_many_arguments)]
    fn span(&mut self, class: &str, (a, b): (f64, f64), y: f64, h: f64, fill: &str, min: f64, title: &str) {
        let (x0, x1) = (self.x(a), self.x(b));
        // Deployments back to back stay apart.
        let edge = if class == "deployment" {
            r##" stroke="#fff""##
        } else {
            ""
        };
        let _ = write!(
            self.o,
            r#"<rect class="{class}" data-a="{a}" data-b="{b}" data-min="{min}" x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{fill}"{edge}><title>{}</title></rect>"#,
            (x1 - x0).max(min),
            esc(title)
        );
    }

    /// A label inside `[a, b]` seconds, shown when it fits.
    fn label(&mut self, (a, b): (f64, f64), y: f64, text: &str, fill: &str) {
        let (x0, x1) = (self.x(a), self.x(b));
        let fits = CHAR * text.chars().count() as f64 + 6.0 <= x1 - x0;
        let _ = write!(
            self.o,
            r#"<text class="fit" data-a="{a}" data-b="{b}" x="{:.1}" y="{y:.1}" fill="{fill}" visibility="{}">{}</text>"#,
            x0 + 3.0,
            if fits { "visible" } else { "hidden" },
            esc(text)
        );
    }
}

impl Canvas {
    /// The deployments row: each deployment's span, named.
    fn deployments_row(&mut self, t: &Timeline, deployments: &Deployments, top: f64) {
        let _ = write!(self.g, r#"<text x="8" y="{:.1}">deployments</text>"#, top + 11.0);
        self.o.push_str(r#"<g class="deployments">"#);
        for (from, to, min, number) in &t.minimum {
            let line = deployments.get(number).cloned().unwrap_or_else(|| format!("#{number}"));
            let fill = self.ink.fill(ink::DEPLOYMENT, "deployment running");
            let title = format!(
                "deployment {line}: {}..{}, minimum healthy {min}",
                secs(*from),
                secs(*to)
            );
            self.span("deployment", (*from, *to), top, 15.0, fill, 1.0, &title);
            self.label(
                (*from, *to),
                top + 11.5,
                &format!("{line} ({:.0} s)", to - from),
                "#222",
            );
        }
        self.o.push_str("</g>");
    }

    /// One lane per instance: its lifecycle states, its scripts' runs, its health in each load
    /// balancer, its launch or termination.
    fn lanes(&mut self, t: &Timeline, top: f64, end: f64) {
        let mut y = top;
        for (label, lane) in t.lanes.values() {
            let h = lane_height(lane.health.len());
            let _ = write!(
                self.g,
                r#"<text x="8" y="{:.1}" font-weight="600">{}</text>"#,
                y + 13.0,
                esc(label)
            );
            let _ = write!(self.o, r#"<g class="lane" data-instance="{}">"#, esc(label));
            for (k, (from, state)) in lane.states.iter().enumerate() {
                let to = lane.states.get(k + 1).map_or(end, |n| n.0);
                let (colour, name) = ink::state(state);
                let fill = self.ink.fill(colour, name);
                let title = format!("{label} {state} {}..{}", secs(*from), secs(to));
                self.span("state", (*from, to), y, 16.0, fill, 0.5, &title);
            }
            let by = y + 18.0;
            let _ = write!(
                self.g,
                r#"<text x="20" y="{:.1}" class="sub">lifecycle events</text>"#,
                by + 10.0
            );
            for b in &lane.bars {
                let (colour, name) = ink::run(b.result);
                let fill = self.ink.fill(colour, name);
                let hook = b
                    .script()
                    .map_or_else(|| b.event().to_string(), |s| format!("{} {s}", b.event()));
                let title = format!(
                    "{label}: {} ({}..{}, {:.0} s) {}",
                    b.what,
                    secs(b.from),
                    secs(b.to),
                    b.to - b.from,
                    b.detail
                );
                self.span("run", (b.from, b.to), by, 13.0, fill, 2.0, &title);
                self.label(
                    (b.from, b.to),
                    by + 10.0,
                    &format!("{hook} {:.0}s", b.to - b.from),
                    "#fff",
                );
            }
            let mut hy = by + 16.0;
            for (lb, states) in &lane.health {
                let _ = write!(
                    self.g,
                    r#"<text x="20" y="{:.1}" class="sub">{}</text>"#,
                    hy + 6.0,
                    esc(&short(lb))
                );
                for (k, (from, h)) in states.iter().enumerate() {
                    if *h == Health::Unregistered {
                        continue;
                    }
                    let to = states.get(k + 1).map_or(end, |n| n.0);
                    let (colour, name) = ink::health(*h);
                    let fill = self.ink.fill(colour, name);
                    let title = format!("{label} in {lb}: {} {}..{}", h.as_str(), secs(*from), secs(to));
                    self.span("health", (*from, to), hy, 6.0, fill, 0.5, &title);
                }
                hy += 7.0;
            }
            for ch in &lane.changes {
                let verb = if ch.launch { "launched" } else { "terminated" };
                let stroke = self
                    .ink
                    .mark(ink::CHANGE, "launch or termination (cause written beside)", Mark::Line);
                let x = self.x(ch.at);
                let _ = write!(
                    self.o,
                    r#"<g class="change"><line data-t="{0}" x1="{x:.1}" y1="{1:.1}" x2="{x:.1}" y2="{2:.1}" stroke="{stroke}" stroke-width="2"/><text class="cause" data-t="{0}" data-dx="3" x="{3:.1}" y="{4:.1}">{5} {6}</text><title>{label} {verb} at {7}: {6}</title></g>"#,
                    ch.at,
                    y - 1.0,
                    y + 17.0,
                    x + 3.0,
                    y + 12.0,
                    if ch.launch { "▲" } else { "✕" },
                    ch.cause.as_str(),
                    secs(ch.at)
                );
            }
            self.o.push_str("</g>");
            y += h;
        }
    }

    /// Instances in the group and serving, against each deployment's minimum.
    fn capacity(&mut self, t: &Timeline, top_y: f64, end: f64) {
        let top = t
            .capacity
            .iter()
            .map(|c| c.2.max(c.1))
            .chain(t.minimum.iter().map(|m| m.2))
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let cy = |n: f64| top_y + CHART - (n / top) * CHART;
        let _ = write!(
            self.g,
            r#"<text x="8" y="{:.1}" font-weight="600">instances</text>"#,
            top_y - 8.0
        );
        y_axis(&mut self.g, top_y, top, 1.0);
        let _ = write!(
            self.o,
            r##"<g class="capacity"><rect class="frame" x="{GUTTER}" y="{top_y:.1}" width="{PLOT}" height="{CHART}" fill="none" stroke="#dddddd"/>"##
        );
        let serving: Vec<(f64, f64)> = t.capacity.iter().map(|c| (c.0, c.1 as f64)).collect();
        let members: Vec<(f64, f64)> = t.capacity.iter().map(|c| (c.0, c.2 as f64)).collect();
        for (points, class, colour, name, how) in [
            (
                members,
                "members",
                ink::MEMBERS_LINE,
                "instances in the group",
                Mark::Dashed,
            ),
            (
                serving,
                "serving",
                ink::SERVING_LINE,
                "instances serving (InService, healthy)",
                Mark::Line,
            ),
        ] {
            if points.is_empty() {
                continue;
            }
            let stroke = self.ink.mark(colour, name, how);
            let mut pts: Vec<(f64, f64)> = Vec::new();
            for (k, (at, n)) in points.iter().enumerate() {
                if k > 0 {
                    pts.push((*at, cy(points[k - 1].1)));
                }
                pts.push((*at, cy(*n)));
            }
            pts.push((end, cy(points.last().map_or(0.0, |p| p.1))));
            let data: Vec<String> = pts.iter().map(|(t, y)| format!("{t},{y:.1}")).collect();
            let drawn: Vec<String> = pts.iter().map(|(t, y)| format!("{:.1},{y:.1}", self.x(*t))).collect();
            let dash = if how == Mark::Dashed {
                r#" stroke-dasharray="4 3""#
            } else {
                ""
            };
            let _ = write!(
                self.o,
                r#"<polyline class="{class}" data-pts="{}" points="{}" fill="none" stroke="{stroke}" stroke-width="2"{dash}/>"#,
                data.join(" "),
                drawn.join(" ")
            );
        }
        for (from, to, min, number) in &t.minimum {
            let stroke = self
                .ink
                .mark(ink::MINIMUM_LINE, "deployment's minimum healthy hosts", Mark::Dashed);
            let _ = write!(
                self.o,
                r#"<line class="minimum" data-a="{from}" data-b="{to}" x1="{:.1}" y1="{2:.1}" x2="{:.1}" y2="{2:.1}" stroke="{stroke}" stroke-width="2" stroke-dasharray="6 3"><title>deployment {number}: minimum healthy {min} ({3}..{4})</title></line>"#,
                self.x(*from),
                self.x(*to),
                cy(*min as f64),
                secs(*from),
                secs(*to)
            );
        }
        self.o.push_str("</g>");
    }

    /// Requests per second, stacked per bucket by what they got.
    fn requests(&mut self, t: &Timeline, top: f64, end: f64) {
        let width = bucket_width(self.view.to - self.view.from, end);
        let buckets = bucket(&t.requests, width, end);
        let peak = buckets
            .iter()
            .map(|b| b.total() as f64 / width)
            .fold(0.0, f64::max)
            .max(1.0);
        let axis_top = peak.max(y_step(peak) * (peak / y_step(peak)).ceil());
        let _ = write!(
            self.g,
            r#"<text x="8" y="{:.1}" font-weight="600">requests per second</text><text x="8" y="{:.1}" class="sub">({width:.0} s buckets)</text>"#,
            top - 8.0,
            top + 8.0
        );
        y_axis(&mut self.g, top, axis_top, 0.0);
        let _ = write!(
            self.o,
            r##"<g class="requests"><rect class="frame" x="{GUTTER}" y="{top:.1}" width="{PLOT}" height="{CHART}" fill="none" stroke="#dddddd"/>"##
        );
        for (k, b) in buckets.iter().enumerate() {
            if b.total() == 0 {
                continue;
            }
            let (a, z) = (k as f64 * width, ((k + 1) as f64 * width).min(end));
            let mut base = top + CHART;
            let mut parts: Vec<(u64, &'static str, String)> = vec![
                (b.served, ink::SERVED, "served".to_string()),
                (
                    b.maintenance,
                    ink::MAINTENANCE,
                    "maintenance page (fixed response)".to_string(),
                ),
            ];
            for f in Failure::ALL {
                parts.push((b.failed[f as usize], ink::failure(f), format!("failed: {}", f.as_str())));
            }
            for (n, colour, what) in parts {
                if n == 0 {
                    continue;
                }
                let rate = n as f64 / width;
                let h = rate / axis_top * CHART;
                base -= h;
                let fill = self.ink.fill(colour, &what);
                let title = format!("{}..{}: {n} {what} ({rate:.1}/s)", secs(a), secs(z));
                let _ = write!(
                    self.o,
                    r#"<rect class="req" data-a="{a}" data-b="{z}" data-min="0.5" x="{:.1}" y="{base:.1}" width="{:.1}" height="{h:.1}" fill="{fill}"><title>{}</title></rect>"#,
                    self.x(a),
                    (self.x(z) - self.x(a) - 0.5).max(0.5),
                    esc(&title)
                );
            }
        }
        self.o.push_str("</g>");
    }
}

/// The height of an instance's lane with `n` load balancers.
fn lane_height(n: usize) -> f64 {
    16.0 + 2.0 + 13.0 + 3.0 + n as f64 * 7.0 + 8.0
}

/// Deployment number -> its line in the deployments row (`deployment 2 (v2): Succeeded`).
pub type Deployments = BTreeMap<usize, String>;

/// The SVG timeline of one scenario for `view`; `id` names its parts (several on one page).
pub fn svg(t: &Timeline, id: &str, view: View, deployments: &Deployments) -> String {
    let end = t.end.max(1.0);
    let mut body = Canvas {
        view,
        o: String::new(),
        g: String::new(),
        ink: Ink::default(),
    };
    // Markers, laid out first: their rows decide where the body starts.
    let labels: Vec<String> = t.markers.iter().map(|(_, m)| short(m)).collect();
    let xs: Vec<Option<(f64, f64)>> = t
        .markers
        .iter()
        .zip(&labels)
        .map(|((at, _), l)| {
            (*at >= view.from && *at <= view.to).then(|| (body.x(*at), CHAR * l.chars().count() as f64))
        })
        .collect();
    let placed = layout(&xs);
    let rows = placed.iter().flatten().map(|p| p.0 + 1).max().unwrap_or(0);
    let band = 8.0 + rows as f64 * ROW;

    // The body, below the markers.
    let ticks_y = 12.0;
    let dep_top = 20.0;
    let lanes_top = dep_top + 22.0;
    let lb_rows: Vec<usize> = t.lanes.values().map(|(_, l)| l.health.len()).collect();
    let lanes_h: f64 = lb_rows.iter().map(|n| lane_height(*n)).sum();
    let cap_top = lanes_top + lanes_h + 26.0;
    let req_top = cap_top + CHART + 40.0;
    let bottom = req_top + CHART;

    body.deployments_row(t, deployments, dep_top);
    body.lanes(t, lanes_top, end);
    body.capacity(t, cap_top, end);
    body.requests(t, req_top, end);

    // Time axis (grid, top and bottom labels), under everything else.
    let mut axis = String::new();
    let step = tick_step(view.to - view.from);
    let _ = write!(
        axis,
        r#"<g class="axis ticks" data-top="{:.1}" data-bottom="{bottom:.1}" data-label-top="{ticks_y:.1}" data-label-bottom="{:.1}">"#,
        ticks_y + 4.0,
        bottom + 14.0
    );
    let mut s = (view.from / step).ceil() * step;
    while s <= view.to + 1e-9 {
        let x = body.x(s);
        let _ = write!(
            axis,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#e4e4e4"/><text x="{x:.1}" y="{ticks_y:.1}" text-anchor="middle">{2}</text><text x="{x:.1}" y="{1:.1}" text-anchor="middle">{2}</text>"##,
            ticks_y + 4.0,
            bottom + 14.0,
            clock(s)
        );
        s += step;
    }
    let _ = write!(
        axis,
        r#"</g><text class="axis-title" x="{:.1}" y="{:.1}" text-anchor="end">simulated time (m:ss)</text>"#,
        GUTTER + PLOT,
        bottom + 28.0
    );

    // The markers, in the band above the body; their lines run down through it.
    let mut m = String::from(r#"<g class="markers">"#);
    for (n, ((at, text), place)) in t.markers.iter().zip(&placed).enumerate() {
        let stroke = body
            .ink
            .mark(ink::MARKER, "event (numbered; listed below the timeline)", Mark::Marker);
        let x = body.x(*at);
        let (row, left, right, flip, vis) = match place {
            Some((r, l, rr, f)) => (*r, *l, *rr, *f, "visible"),
            None => (0, 0.0, 0.0, false, "hidden"),
        };
        let (dx, anchor) = if flip { (-10.0, "end") } else { (10.0, "start") };
        let cy = 8.0 + row as f64 * ROW + 8.0;
        let _ = write!(
            m,
            r##"<g class="marker" data-t="{at}" visibility="{vis}" data-box="{left:.1} {:.1} {right:.1} {:.1}"><line class="marker-line" data-t="{at}" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{stroke}" stroke-dasharray="2 3"/><circle data-t="{at}" cx="{x:.1}" cy="{cy:.1}" r="7" fill="#fff" stroke="{stroke}"/><text class="num" data-t="{at}" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="mlabel" data-t="{at}" data-dx="{dx}" text-anchor="{anchor}" x="{:.1}" y="{:.1}">{}</text><title>{} {}: {}</title></g>"##,
            cy - 8.0,
            cy + 8.0,
            cy + 7.0,
            band + bottom,
            cy + 3.5,
            n + 1,
            x + dx,
            cy + 3.5,
            esc(&labels[n]),
            n + 1,
            secs(*at),
            esc(text)
        );
    }
    m.push_str("</g>");

    let (legend, legend_h) = body.ink.legend(GUTTER, bottom + 44.0, PLOT);
    let height = band + bottom + 44.0 + legend_h + 6.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" id="{id}" data-from="{}" data-to="{}" data-end="{end}" data-gutter="{GUTTER}" data-plot="{PLOT}" data-band="{band:.1}" data-body="{:.1}" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="timeline"><defs><clipPath id="{id}-clip"><rect x="{GUTTER}" y="-10000" width="{PLOT}" height="20000"/></clipPath><clipPath id="{id}-mclip"><rect x="{:.1}" y="-10000" width="{:.1}" height="20000"/></clipPath></defs>"#,
        view.from,
        view.to,
        bottom + 44.0 + legend_h + 6.0,
        GUTTER - 10.0,
        WIDTH - GUTTER + 10.0
    );
    let _ = write!(o, r#"<g class="body" transform="translate(0 {band:.1})">"#);
    o.push_str(&axis);
    let _ = write!(
        o,
        r#"<g class="gutter">{}</g><g clip-path="url(#{id}-clip)">{}</g>"#,
        body.g, body.o
    );
    o.push_str(&legend);
    o.push_str("</g>");
    let _ = write!(o, r#"<g clip-path="url(#{id}-mclip)">{m}</g>"#);
    o.push_str("</svg>");
    o
}

/// Numbers on a chart's y axis, from 0 to `max` (a whole-number axis when `whole` is 1).
fn y_axis(o: &mut String, top: f64, max: f64, whole: f64) {
    let step = y_step(max).max(whole);
    o.push_str(r#"<g class="axis y">"#);
    let mut v = 0.0;
    while v <= max + 1e-9 {
        let y = top + CHART - v / max * CHART;
        let _ = write!(
            o,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{GUTTER}" y2="{y:.1}" stroke="#999999"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            GUTTER - 4.0,
            GUTTER - 6.0,
            y + 3.5,
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        );
        v += step;
    }
    o.push_str("</g>");
}

/// Requests spread into buckets of `width` seconds over `[0, end)`.
pub(super) fn bucket(requests: &[(f64, f64, Requests)], width: f64, end: f64) -> Vec<Requests> {
    let n = ((end / width).ceil() as usize).max(1);
    const CELLS: usize = 2 + Failure::ALL.len();
    let mut spill = vec![[0.0f64; CELLS]; n];
    for (from, to, r) in requests {
        let span = (to - from).max(1e-9);
        let first = ((from / width).floor().max(0.0) as usize).min(n - 1);
        let last = (((to - 1e-9) / width).floor().max(0.0) as usize).min(n - 1);
        for (b, cell) in spill.iter_mut().enumerate().take(last + 1).skip(first) {
            let (a, z) = (b as f64 * width, (b + 1) as f64 * width);
            let share = ((to.min(z) - from.max(a)).max(0.0)) / span;
            cell[0] += r.served as f64 * share;
            cell[1] += r.maintenance as f64 * share;
            for (k, f) in r.failed.iter().enumerate() {
                cell[2 + k] += *f as f64 * share;
            }
        }
    }
    spill
        .iter()
        .map(|c| Requests {
            served: c[0].round() as u64,
            maintenance: c[1].round() as u64,
            failed: std::array::from_fn(|k| c[2 + k].round() as u64),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_at_one_instant_stack_in_rows() {
        let placed = layout(&[
            Some((200.0, 60.0)),
            Some((200.0, 60.0)),
            Some((400.0, 30.0)),
            None,
            Some((1120.0, 60.0)),
        ]);
        assert_eq!(placed[0].map(|p| p.0), Some(0));
        assert_eq!(placed[1].map(|p| p.0), Some(1));
        assert_eq!(placed[2].map(|p| p.0), Some(0));
        assert_eq!(placed[3], None);
        assert_eq!(
            placed[4],
            Some((0, 1048.0, 1128.0, true)),
            "near the right edge the label goes left"
        );
    }

    #[test]
    fn buckets_are_round_and_few() {
        assert_eq!(bucket_width(300.0, 900.0), 2.0);
        assert_eq!(bucket_width(60.0, 100.0), 1.0);
        assert_eq!(bucket_width(3000.0, 3000.0), 30.0);
        assert_eq!(y_step(7.0), 2.0);
        assert_eq!(y_step(48.0), 10.0);
    }

    #[test]
    fn short_labels() {
        assert_eq!(
            short("deployment 2 (v2, CodeDeployDefault.OneAtATime) starts"),
            "deployment 2 starts"
        );
        assert_eq!(short("scale out by 2"), "scale out by 2");
        assert_eq!(
            short("deployment 4: Failed: 1 of 3 instances failed (minimum healthy hosts 2)"),
            "deployment 4 Failed"
        );
        assert_eq!(
            short("operator: i-3 out of Standby and more"),
            "operator: i-3 out of St…"
        );
    }
}
