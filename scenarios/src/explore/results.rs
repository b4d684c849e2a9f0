//! What an exploration found, per scenario: the summary and the JSON's records.

use std::path::PathBuf;

use serde::Serialize;

use super::Finding;

/// One scenario's exploration, for the summary and the JSON.
#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub trigger_points: usize,
    /// Variants in the whole space (at this depth), and how many were run.
    pub space: usize,
    pub variants: usize,
    /// Variants whose event AWS refused (it could not happen at that point).
    pub not_applicable: usize,
    pub failing: usize,
    pub wall_seconds: f64,
    /// Whether the time budget stopped the run before every chosen variant ran.
    pub budget_reached: bool,
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
    /// What shrinking took away from the first variant, and the runs it spent.
    pub shrunk: Vec<String>,
    pub shrink_runs: usize,
    /// The counterexample, a scenario file, and its timeline page.
    pub file: PathBuf,
    pub page: PathBuf,
    /// The counterexample's run in small (the report's sparkline), for the findings page.
    #[serde(skip)]
    pub picture: String,
}
