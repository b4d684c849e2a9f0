//! The scenario file format (TOML). Documented, with an annotated example, in `scenarios/README.md`.

use serde::Deserialize;

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows, one or two sentences.
    pub description: String,
    /// The AWS side: a fakeaws world spec (target groups, load balancers, groups, stand-alone instances).
    pub fleet: fakeaws::spec::WorldSpec,
    pub deployment_group: DeploymentGroup,
    /// Revisions, by name; each is a folder under `scenarios/revisions/` plus the hook binaries.
    pub revisions: Vec<RevisionSpec>,
    /// The revision every instance already runs (a previous successful deployment), if any.
    pub initial_revision: Option<String>,
    /// Deployments, in order.
    pub deployments: Vec<DeploymentSpec>,
    /// Things that happen when the simulation reaches a state.
    #[serde(default)]
    pub events: Vec<EventSpec>,
    /// Scripts that fail, hang or are killed.
    #[serde(default)]
    pub script_faults: Vec<ScriptFault>,
    /// The requests users send while the story plays (default: 10 per second per entrance).
    #[serde(default)]
    pub traffic: TrafficSpec,
    /// Invariant violations this scenario demonstrates on purpose.
    #[serde(default)]
    pub expect_violations: Vec<crate::report::ViolationKind>,
}

/// Traffic: requests per simulated second through every entrance of the fleet (each ELBv2
/// listener and Classic Load Balancer).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    /// Requests per simulated second through each entrance.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Paths (with an optional `?query`) the requests ask for, in turn.
    #[serde(default = "default_paths")]
    pub paths: Vec<String>,
    /// The `Host` header.
    #[serde(default = "default_host")]
    pub host: String,
    /// Extra request headers.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Also send real HTTP requests through fakeaws' data plane at each step and check them
    /// against the model.
    #[serde(default)]
    pub probe: bool,
}

impl Default for TrafficSpec {
    fn default() -> Self {
        TrafficSpec {
            rate: default_rate(),
            paths: default_paths(),
            host: default_host(),
            headers: Default::default(),
            probe: false,
        }
    }
}

fn default_paths() -> Vec<String> {
    vec!["/".into()]
}

fn default_host() -> String {
    "www.example.com".into()
}

fn default_rate() -> f64 {
    10.0
}

/// The CodeDeploy deployment group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentGroup {
    pub name: String,
    /// Auto Scaling groups whose instances belong to the deployment group.
    #[serde(default)]
    pub autoscaling_groups: Vec<String>,
    /// Whether the fleet's stand-alone instances belong to the deployment group.
    #[serde(default)]
    pub standalone_instances: bool,
    /// Default deployment configuration.
    #[serde(default)]
    pub config: ConfigSpec,
    /// Roll back automatically when a deployment fails.
    #[serde(default)]
    pub rollback: bool,
}

/// A deployment configuration: `"OneAtATime"`, `"HalfAtATime"`, `"AllAtOnce"`, or
/// `{ type = "HOST_COUNT" | "FLEET_PERCENT", value = N }` (minimum healthy hosts).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ConfigSpec {
    Named(String),
    Custom {
        #[serde(rename = "type")]
        kind: String,
        value: u32,
    },
}

impl Default for ConfigSpec {
    fn default() -> Self {
        ConfigSpec::Named("OneAtATime".into())
    }
}

/// A revision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionSpec {
    pub name: String,
    /// Folder under `scenarios/revisions/` holding `appspec.yml` and the scripts.
    #[serde(default)]
    pub dir: String,
    /// Or: a revision archive (zip/tgz, e.g. from `cargo xtask bundle`), deployed as it is.
    #[serde(default)]
    pub bundle: Option<std::path::PathBuf>,
    /// `elb-hooks.toml` shipped beside the hook binaries in this revision.
    #[serde(default)]
    pub hooks_config: Option<String>,
}

/// A deployment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    pub revision: String,
    /// Overrides the deployment group's configuration.
    pub config: Option<ConfigSpec>,
}

/// When the simulation reaches `when`, do `action` (once). (No `deny_unknown_fields` here: serde
/// does not support it with `flatten`; the action's own fields are still checked.)
#[derive(Debug, Clone, Deserialize)]
pub struct EventSpec {
    pub when: When,
    #[serde(flatten)]
    pub action: Action,
}

/// A state-based trigger. Instances are numbered from 1 in launch order (stand-alone ones last).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Deployment number (from 1); default: any.
    pub deployment: Option<usize>,
    /// Instance number.
    pub instance: Option<usize>,
    /// ... reaches this lifecycle state (`Standby`, `InService`, ...).
    pub reaches: Option<String>,
    /// ... starts this lifecycle event (`BeforeInstall`, ...).
    pub starts: Option<String>,
    /// The deployment has finished this fraction of its instances (0.0 = as it starts).
    pub done: Option<f64>,
}

/// What to do.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Raise the group's desired capacity.
    ScaleOut { count: i64 },
    /// Lower the group's desired capacity.
    ScaleIn { count: i64 },
    /// Add an Availability Zone to the group (unbalancing it).
    AddZone { zone: String },
    /// Terminate an instance (without decrementing desired capacity).
    Terminate { instance: usize },
    /// The instance's application stops answering health checks.
    AppDown { instance: usize },
    /// ... or starts again.
    AppUp { instance: usize },
    /// The next `count` calls of `api` (`*` = any) are throttled.
    Throttle { api: String, count: usize },
    /// The next `count` calls of `api` answer 503.
    Unavailable { api: String, count: usize },
    /// A CloudWatch alarm in ALARM invokes scaling policy `policy` of the group (nothing happens
    /// while AlarmNotification is suspended). Step scaling needs the metric value and threshold.
    Alarm {
        policy: String,
        metric_value: Option<f64>,
        breach_threshold: Option<f64>,
    },
    /// A one-time scheduled action of the group, `in_seconds` from now (skipped if
    /// ScheduledActions is suspended when it comes).
    ScheduledAction {
        name: String,
        in_seconds: i64,
        min: Option<i64>,
        max: Option<i64>,
        desired: Option<i64>,
    },
}

impl Action {
    /// A short description, for timeline markers.
    pub fn describe(&self) -> String {
        match self {
            Action::ScaleOut { count } => format!("scale out by {count}"),
            Action::ScaleIn { count } => format!("scale in by {count}"),
            Action::AddZone { zone } => format!("zone {zone} added"),
            Action::Terminate { instance } => format!("i-{instance} terminated"),
            Action::AppDown { instance } => format!("i-{instance}: application down"),
            Action::AppUp { instance } => format!("i-{instance}: application up"),
            Action::Throttle { api, count } => format!("fault: {count} x {api} throttled"),
            Action::Unavailable { api, count } => format!("fault: {count} x {api} unavailable"),
            Action::Alarm { policy, .. } => format!("alarm invokes {policy}"),
            Action::ScheduledAction { name, in_seconds, .. } => format!("scheduled action {name} in {in_seconds}s"),
        }
    }
}

/// A script that misbehaves in one deployment on one instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptFault {
    /// Deployment number (from 1).
    pub deployment: usize,
    pub instance: usize,
    /// The script's file name, e.g. `register-with-elb` or `start_app.sh`.
    pub script: String,
    pub behaviour: Behaviour,
}

/// How a script misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    /// Exits 1 instead of running.
    Fail,
    /// Never returns: the agent's timeout ends it.
    Hang,
    /// Runs, and is killed the first time it waits.
    Kill,
}
