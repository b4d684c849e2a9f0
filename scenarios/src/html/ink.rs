//! The colours a timeline draws with, each with its meaning, and the legend built from the ones a
//! page actually used: every colour on the page is named there, and nothing else is.

use std::fmt::Write as _;

use super::esc;
use crate::timeline::{Failure, Health, RunResult};

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    Swatch,
    Line,
    Dashed,
    Marker,
}

/// The colours used so far, in first-use order, with what they mean.
#[derive(Debug, Default)]
pub(super) struct Ink {
    used: Vec<(&'static str, Vec<String>, Mark)>,
}

impl Ink {
    /// Notes that `colour` was drawn meaning `name`; returns the colour.
    pub(super) fn mark(&mut self, colour: &'static str, name: &str, how: Mark) -> &'static str {
        match self.used.iter_mut().find(|(c, _, m)| *c == colour && *m == how) {
            Some((_, names, _)) => {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
            None => self.used.push((colour, vec![name.to_string()], how)),
        }
        colour
    }

    /// A filled area meaning `name`.
    pub(super) fn fill(&mut self, colour: &'static str, name: &str) -> &'static str {
        self.mark(colour, name, Mark::Swatch)
    }

    /// The legend: one entry per colour used, wrapped to `width`, from `(x, y)`; returns the SVG
    /// and its height.
    pub(super) fn legend(&self, x0: f64, y0: f64, width: f64) -> (String, f64) {
        let mut o = String::from(r#"<g class="legend">"#);
        let (mut x, mut y) = (x0, y0);
        for (colour, names, how) in &self.used {
            let name = names.join(" / ");
            let w = 22.0 + 6.2 * name.chars().count() as f64 + 16.0;
            if x + w > x0 + width && x > x0 {
                x = x0;
                y += 18.0;
            }
            let _ = write!(o, r#"<g class="entry" data-colour="{colour}">"#);
            match how {
                Mark::Swatch => {
                    let _ = write!(
                        o,
                        r#"<rect x="{x:.1}" y="{:.1}" width="14" height="10" fill="{colour}"/>"#,
                        y + 1.0
                    );
                }
                Mark::Line | Mark::Dashed => {
                    let dash = if *how == Mark::Dashed {
                        r#" stroke-dasharray="5 3""#
                    } else {
                        ""
                    };
                    let _ = write!(
                        o,
                        r#"<line x1="{x:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="{colour}" stroke-width="2"{dash}/>"#,
                        y + 6.0,
                        x + 16.0
                    );
                }
                Mark::Marker => {
                    let _ = write!(
                        o,
                        r##"<circle cx="{:.1}" cy="{:.1}" r="6" fill="#fff" stroke="{colour}"/>"##,
                        x + 7.0,
                        y + 6.0
                    );
                }
            }
            let _ = write!(
                o,
                r#"<text x="{:.1}" y="{:.1}">{}</text></g>"#,
                x + 20.0,
                y + 10.0,
                esc(&name)
            );
            x += w;
        }
        o.push_str("</g>");
        (o, y - y0 + 18.0)
    }
}

/// A lifecycle state's colour and its name in the legend.
pub(super) fn state(state: &str) -> (&'static str, &'static str) {
    match state {
        "Pending" | "Pending:Proceed" => ("#f6c343", "Pending"),
        "Pending:Wait" => ("#e8a33d", "Pending:Wait (launch hook)"),
        "InService" => ("#3cb371", "InService"),
        "Draining" => ("#b48ce0", "InService, draining"),
        "EnteringStandby" => ("#93a3f5", "EnteringStandby"),
        "Standby" => ("#5b6ee1", "Standby"),
        "Terminating" | "Terminating:Wait" | "Terminating:Proceed" => ("#e06666", "Terminating"),
        "Terminated" | "Gone" => ("#b9b9b9", "Terminated"),
        "Detaching" | "Detached" => ("#a1887f", "Detached"),
        "Warmed:Pending" | "Warmed:Pending:Wait" | "Warmed:Pending:Proceed" => {
            ("#d4ecf7", "Warmed:Pending (entering the warm pool)")
        }
        "Warmed:Stopped" | "Warmed:Running" | "Warmed:Hibernated" => ("#8fc1dd", "in the warm pool"),
        "Warmed:Terminating" | "Warmed:Terminating:Wait" | "Warmed:Terminating:Proceed" | "Warmed:Terminated" => {
            ("#e6a0a0", "terminated from the warm pool")
        }
        _ => ("#cfcfcf", "other state"),
    }
}

/// A target's health colour and name.
pub(super) fn health(h: Health) -> (&'static str, &'static str) {
    match h {
        Health::Initial => ("#fde68a", "target initial"),
        Health::Healthy | Health::InService => ("#65a30d", "target healthy / InService"),
        Health::Unhealthy | Health::OutOfService => ("#dc2626", "target unhealthy / OutOfService"),
        Health::Draining => ("#7c3aed", "target draining"),
        Health::Unused => ("#94a3b8", "target unused"),
        Health::Unavailable => ("#78350f", "target unavailable"),
        Health::Unregistered => ("none", "not registered"),
    }
}

/// A lifecycle event's bar colour and name, by its result.
pub(super) fn run(r: RunResult) -> (&'static str, &'static str) {
    match r {
        RunResult::Succeeded => ("#2e7d32", "event succeeded"),
        RunResult::Failed => ("#c62828", "event failed"),
        RunResult::TimedOut => ("#ef6c00", "event timed out"),
        RunResult::Ended => ("#757575", "event cut short"),
    }
}

/// A failure cause's colour.
pub(super) fn failure(f: Failure) -> &'static str {
    match f {
        Failure::BadGateway => "#e53935",
        Failure::ConnectionFailed => "#8e0000",
        Failure::NoTarget => "#ff7043",
        Failure::NoListener => "#6d4c41",
        Failure::CutInFlight => "#ad1457",
        Failure::ResetInFlight => "#4a148c",
    }
}

pub(super) const SERVED: &str = "#66bb6a";
pub(super) const MAINTENANCE: &str = "#42a5f5";
pub(super) const SERVING_LINE: &str = "#00897b";
pub(super) const MEMBERS_LINE: &str = "#9e9e9e";
pub(super) const MINIMUM_LINE: &str = "#d81b60";
pub(super) const MARKER: &str = "#555555";
pub(super) const DEPLOYMENT: &str = "#cfd8dc";
pub(super) const CHANGE: &str = "#111111";
