//! The explorer's findings page: `index.html` in the output folder lists every scenario explored
//! (points, variants, failures, wall time) and every finding (property, event, how many variants,
//! the example, how it was shrunk) with links to the counterexample's scenario file and its
//! timeline page and its run in small, drawn by the scenario report's own components
//! ([`crate::html`]: page, timeline page, sparkline).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::options::Options;
use super::results::ScenarioResult;
use crate::html::{esc, page, scenario_page_under};
use crate::report::Outcome;

/// Writes the counterexample's timeline page, `<out>/<scenario>/<label>.html`; returns its path.
pub fn timeline(out: &Path, scenario: &str, label: &str, o: &Outcome) -> anyhow::Result<PathBuf> {
    let dir = out.join(scenario);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{label}.html"));
    std::fs::write(
        &path,
        scenario_page_under(label, o, ("../index.html", "All findings"), None),
    )?;
    Ok(path)
}

/// The address of `path` relative to `out` (pages link to each other within the folder).
fn relative(out: &Path, path: &Path) -> String {
    path.strip_prefix(out)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes `<out>/index.html`, the findings of this run (then the rehearse explored); returns its
/// path.
pub fn write(out: &Path, results: &[ScenarioResult], o: &Options) -> anyhow::Result<PathBuf> {
    let body = format!("{}{}{}", head(o), findings(out, results), scenarios(results));
    let path = out.join("index.html");
    std::fs::create_dir_all(out)?;
    std::fs::write(&path, page("Explore: findings", &body))?;
    Ok(path)
}

fn head(o: &Options) -> String {
    format!(
        "<p>Written by <code>cargo xtask explore</code>.</p><h1>Explore: findings</h1><p>Seed {}, depth {}{}{}. Each finding is the first variant of a group failing one way, shrunk to the fewest events and the smallest fleet that still fail so; its file runs as it is: <code>cargo xtask test-scenarios FILE</code>.</p>",
        o.seed,
        o.depth,
        o.partition.map(|(k, n)| format!(", partition {k}/{n}")).unwrap_or_default(),
        o.max_variants.map(|m| format!(", at most {m} variants per scenario")).unwrap_or_default()
    )
}

/// The table of findings, or a line saying there is none.
fn findings(out: &Path, results: &[ScenarioResult]) -> String {
    if results.iter().all(|r| r.findings.is_empty()) {
        return r#"<p class="ok">No findings: every variant kept every property.</p>"#.to_string();
    }
    let mut b = String::from("<h2>Findings</h2><table><tr><th>scenario</th><th>property</th><th>event</th><th>variants</th><th>first variant</th><th>what broke</th><th>shrunk</th><th>run</th><th>counterexample</th></tr>");
    for r in results {
        for g in &r.findings {
            let timeline = if g.page.as_os_str().is_empty() {
                String::new()
            } else {
                format!(r#"<a href="{}">timeline</a><br>"#, esc(&relative(out, &g.page)))
            };
            let what: Vec<String> = g
                .findings
                .iter()
                .map(|f| format!("<code>{}</code>: {}", esc(&f.property), esc(&f.detail)))
                .collect();
            let _ = write!(
                b,
                r#"<tr><td>{}</td><td class="bad">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{timeline}<a href="{}">scenario file</a></td></tr>"#,
                esc(&r.scenario),
                esc(&g.property),
                esc(&g.event),
                g.variants,
                esc(&g.example),
                what.join("<br>"),
                if g.shrunk.is_empty() {
                    "-".to_string()
                } else {
                    esc(&g.shrunk.join("; "))
                },
                g.picture,
                esc(&relative(out, &g.file)),
            );
        }
    }
    b.push_str("</table>");
    b
}

/// Every scenario explored: points, the space, variants run, failures, wall time.
fn scenarios(results: &[ScenarioResult]) -> String {
    let mut b = String::from("<h2>Scenarios explored</h2><table><tr><th>scenario</th><th>trigger points</th><th>space</th><th>variants run</th><th>n/a</th><th>failing</th><th>wall</th></tr>");
    for r in results {
        let failing = if r.failing == 0 {
            r#"<span class="ok">0</span>"#.to_string()
        } else {
            format!(r#"<span class="bad">{}</span>"#, r.failing)
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{failing}</td><td>{:.1} s</td></tr>",
            esc(&r.scenario),
            r.trigger_points,
            r.space,
            r.variants,
            if r.budget_reached { " (budget reached)" } else { "" },
            r.not_applicable,
            r.wall_seconds
        );
    }
    b.push_str("</table>");
    b
}
