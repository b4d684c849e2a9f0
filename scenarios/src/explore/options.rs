//! What to explore and how: `rehearse explore`'s options (clap), with their checks.

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;

/// What to explore and how (`rehearse explore --help`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Scenario files, or filters over the shipped ones; none: every shipped scenario.
    #[arg(value_name = "SCENARIO|FILE")]
    pub scenarios: Vec<String>,
    /// At most this many variants per scenario, a seeded sample.
    #[arg(long, value_name = "N")]
    pub max_variants: Option<usize>,
    /// The seed of the sample and of the budget's order.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// `K/N`: this machine's share of the variants.
    #[arg(long, value_name = "K/N", value_parser = partition)]
    pub partition: Option<(usize, usize)>,
    /// Where counterexamples go (default `target/explore`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A JSON summary for CI.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Variants run at once.
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub jobs: usize,
    /// Only these kinds of event (`scale_in`, `script_fail` ...); none: all.
    #[arg(long, value_name = "KIND,...", value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(super::KINDS).map(String::from))]
    pub events: Vec<String>,
    /// Run every variant twice and require the same outcome bytes (the determinism property).
    #[arg(long)]
    pub twice: bool,
    /// 1: one event per variant; 2: every pair of them.
    #[arg(long, default_value_t = 1, value_name = "1|2", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=2))]
    pub depth: usize,
    /// Stop starting variants after this many seconds (they then run in a seeded random order).
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    pub budget: Option<f64>,
    /// Runs each counterexample's shrinking may spend (0: not shrunk).
    #[arg(long = "shrink", default_value_t = SHRINK_RUNS, value_name = "RUNS")]
    pub shrink_runs: usize,
    /// Only list each scenario's trigger points and planned events; run no variant.
    #[arg(long)]
    pub list: bool,
}

/// Runs a counterexample's shrinking may spend by default.
pub const SHRINK_RUNS: usize = 16;

/// `--partition K/N`, with 1 <= K <= N.
fn partition(v: &str) -> Result<(usize, usize), String> {
    v.split_once('/')
        .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
        .filter(|(k, n)| *n > 0 && (1..=*n).contains(k))
        .ok_or_else(|| format!("expected K/N with 1 <= K <= N, not {v}"))
}

/// `--budget SECONDS`: a positive number.
fn seconds(v: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|b| b.is_finite() && *b > 0.0)
        .ok_or_else(|| format!("expected a positive number of seconds, not {v}"))
}

impl Default for Options {
    /// Every shipped scenario, depth 1, seed 1, 4 variants at once, counterexamples shrunk.
    fn default() -> Options {
        Options {
            scenarios: Vec::new(),
            max_variants: None,
            seed: 1,
            partition: None,
            out: None,
            json: None,
            jobs: 4,
            events: Vec::new(),
            twice: false,
            depth: 1,
            budget: None,
            shrink_runs: SHRINK_RUNS,
            list: false,
        }
    }
}
