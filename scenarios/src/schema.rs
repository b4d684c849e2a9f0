//! The scenario file format (TOML). Documented, with an annotated example, in `scenarios/README.md`.

use fakeaws::model::codedeploy::LifecycleEvent;
use serde::{Deserialize, Serialize};

mod config;
pub use config::{ConfigSpec, HostsSpec, ZonalSpec};

/// One scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Why it breaks them (shown beside each expected violation in the report); required with
    /// `expect_violations`.
    #[serde(default)]
    pub expected_because: Option<String>,
}

/// Traffic: requests per simulated second through every entrance of the fleet (each ELBv2
/// listener and Classic Load Balancer).
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Several clients, each with its own rate, paths, host and headers (each field defaults to
    /// the section's own). Without any, the section itself is the one client.
    #[serde(default)]
    pub clients: Vec<ClientSpec>,
    /// How long each request takes to answer, in seconds (a download, an upload, a long poll,
    /// a connection kept open). 0 (the default): answered the instant it arrives. A request
    /// still being answered when its target leaves is cut (see scenarios/README.md, "Requests
    /// that take time").
    #[serde(default)]
    pub duration_seconds: f64,
}

/// One client of the traffic.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// A name, for the reader.
    pub name: Option<String>,
    pub rate: Option<f64>,
    pub paths: Option<Vec<String>>,
    pub host: Option<String>,
    /// Added to (and over) the section's headers.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    pub duration_seconds: Option<f64>,
}

/// One stream of requests: one client's path.
#[derive(Debug, Clone)]
pub struct Stream {
    pub request: fakeaws::model::Request,
    /// Requests per simulated second.
    pub rate: f64,
    /// How long each takes to answer, in simulated milliseconds.
    pub duration_ms: i64,
}

impl TrafficSpec {
    /// Checks rates and paths, naming what is wrong.
    pub fn validate(&self) -> anyhow::Result<()> {
        let check = |who: &str, rate: f64, paths: &[String], duration: f64| -> anyhow::Result<()> {
            anyhow::ensure!(
                rate.is_finite() && (0.0..=100_000.0).contains(&rate),
                "traffic{who}: rate {rate} is not between 0 and 100000 requests per second"
            );
            anyhow::ensure!(
                duration.is_finite() && (0.0..=86_400.0).contains(&duration),
                "traffic{who}: duration_seconds {duration} is not between 0 and 86400"
            );
            anyhow::ensure!(!paths.is_empty(), "traffic{who}: paths is empty");
            for p in paths {
                anyhow::ensure!(p.starts_with('/'), "traffic{who}: path '{p}' does not start with '/'");
            }
            Ok(())
        };
        check("", self.rate, &self.paths, self.duration_seconds)?;
        for (i, c) in self.clients.iter().enumerate() {
            let who = format!(".clients[{i}]");
            check(
                &who,
                c.rate.unwrap_or(self.rate),
                c.paths.as_deref().unwrap_or(&self.paths),
                c.duration_seconds.unwrap_or(self.duration_seconds),
            )?;
        }
        Ok(())
    }

    /// The request streams: each client's paths, each path at the client's rate divided by the
    /// number of its paths.
    pub fn streams(&self) -> Vec<Stream> {
        let one = [ClientSpec::default()];
        let clients: &[ClientSpec] = if self.clients.is_empty() { &one } else { &self.clients };
        let mut out = Vec::new();
        for c in clients {
            let paths = c.paths.clone().unwrap_or_else(|| self.paths.clone());
            let rate = c.rate.unwrap_or(self.rate) / paths.len().max(1) as f64;
            let host = c.host.clone().unwrap_or_else(|| self.host.clone());
            let duration_ms = (c.duration_seconds.unwrap_or(self.duration_seconds) * 1000.0).round() as i64;
            let mut headers = self.headers.clone();
            headers.extend(c.headers.clone());
            for p in &paths {
                let mut r = fakeaws::model::Request::get(&host, p);
                r.headers = headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                out.push(Stream {
                    request: r,
                    rate,
                    duration_ms,
                });
            }
        }
        out
    }
}

impl Default for TrafficSpec {
    fn default() -> Self {
        TrafficSpec {
            rate: default_rate(),
            paths: default_paths(),
            host: default_host(),
            headers: Default::default(),
            probe: false,
            clients: Vec::new(),
            duration_seconds: 0.0,
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
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Deployment style WITH_TRAFFIC_CONTROL: CodeDeploy itself takes each instance out of the
    /// load balancers (BlockTraffic) and puts it back (AllowTraffic), no hook scripts needed.
    #[serde(default)]
    pub traffic_control: bool,
    /// The target groups CodeDeploy steers traffic through (`loadBalancerInfo`).
    #[serde(default)]
    pub target_groups: Vec<String>,
    /// The Classic Load Balancers CodeDeploy steers traffic through.
    #[serde(default)]
    pub load_balancers: Vec<String>,
    /// `terminationHookEnabled`: an instance a scale-in terminates is held while CodeDeploy runs a
    /// termination deployment on it (BeforeBlockTraffic, BlockTraffic, AfterBlockTraffic).
    #[serde(default)]
    pub termination_hook: bool,
    /// `outdatedInstancesStrategy`: `"UPDATE"` (CodeDeploy's default: instances launched during a
    /// successful deployment with the previous revision get a follow-up deployment) or `"IGNORE"`.
    #[serde(default)]
    pub outdated_instances_strategy: OutdatedStrategy,
}

/// What CodeDeploy does with instances launched during a deployment (AWS's spelling).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum OutdatedStrategy {
    #[default]
    #[serde(rename = "UPDATE")]
    Update,
    #[serde(rename = "IGNORE")]
    Ignore,
}

/// A revision.
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Its scripts get `$PORT`: the instance's application port on loopback, answering (the
    /// revision's files) while the app model says the app runs, so a script can poll it with curl.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub app_port: bool,
}

/// A deployment.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    pub revision: String,
    /// Overrides the deployment group's configuration.
    pub config: Option<ConfigSpec>,
    /// If this deployment fails, it is created once more this many simulated seconds later (an
    /// operator's retry after reading why; launches and everything timed run meanwhile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i64>,
}

/// When the simulation reaches `when`, do `action` (once). (No `deny_unknown_fields` here: serde
/// does not support it with `flatten`; the action's own fields are still checked.)
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventSpec {
    pub when: When,
    #[serde(flatten)]
    pub action: Action,
}

/// A state-based trigger. Instances are numbered from 1 in launch order (stand-alone ones last).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Deployment number (from 1); default: any.
    pub deployment: Option<usize>,
    /// Instance number.
    pub instance: Option<usize>,
    /// ... reaches this lifecycle state (`Standby`, `InService`, ...; AWS's spelling, checked
    /// when the file is read).
    pub reaches: Option<fakeaws::model::Lifecycle>,
    /// ... starts this lifecycle event (`BeforeInstall`, ..., CodeDeploy's own `Install`,
    /// `BlockTraffic` and `AllowTraffic` too), in
    /// `deployment` or, without one, in any deployment (a launch or termination deployment too).
    pub starts: Option<LifecycleEvent>,
    /// The deployment has finished this fraction of its instances (0.0 = as it starts).
    pub done: Option<f64>,
    /// ... makes its Nth AWS call in `deployment` (counted from 1 over the deployment's scripts on
    /// `instance`): the call waits while the event happens, then is served.
    pub call: Option<usize>,
}

impl Scenario {
    /// Checks the names the file refers to: each revision a deployment, the initial revision or a
    /// CreateDeployment event names is one of the file's, each configuration a known one; the
    /// message names the valid choices.
    pub fn validate_names(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.expect_violations.is_empty() || self.expected_because.as_deref().is_some_and(|s| !s.trim().is_empty()),
            "expect_violations needs expected_because = \"...\": why the scenario breaks those invariants on purpose (the report shows it beside each)"
        );
        let known: Vec<&str> = self.revisions.iter().map(|r| r.name.as_str()).collect();
        let check = |at: &str, name: &str| {
            anyhow::ensure!(
                known.contains(&name),
                "{at}: unknown revision \"{name}\" (this file's revisions: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
            Ok(())
        };
        if let Some(r) = &self.initial_revision {
            check("initial_revision", r)?;
        }
        self.deployment_group.config.validate("deployment_group.config")?;
        for (i, d) in self.deployments.iter().enumerate() {
            check(&format!("deployments[{i}]"), &d.revision)?;
            if let Some(c) = &d.config {
                c.validate(&format!("deployments[{i}].config"))?;
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            if let Action::CreateDeployment { revision } = &e.action {
                check(&format!("events[{i}]"), revision)?;
            }
        }
        Ok(())
    }

    /// Checks what serde cannot: triggers that could never fire, naming the event and what is
    /// wrong.
    pub fn validate_events(&self) -> anyhow::Result<()> {
        for (i, ev) in self.events.iter().enumerate() {
            let w = &ev.when;
            anyhow::ensure!(
                w.instance.is_some() || (w.reaches.is_none() && w.starts.is_none()),
                "events[{i}]: `reaches` and `starts` need `instance`"
            );
            if let Some(d) = w.deployment {
                anyhow::ensure!(d >= 1, "events[{i}]: deployment numbers start at 1");
            }
            if let Some(n) = w.call {
                anyhow::ensure!(
                    n >= 1 && w.instance.is_some() && w.deployment.is_some(),
                    "events[{i}]: `call` (from 1) needs `instance` and `deployment`"
                );
                anyhow::ensure!(
                    w.reaches.is_none() && w.starts.is_none() && w.done.is_none(),
                    "events[{i}]: `call` is a trigger of its own: no `reaches`, `starts` or `done` beside it"
                );
            }
            if let Some(f) = w.done {
                anyhow::ensure!(
                    (0.0..=1.0).contains(&f),
                    "events[{i}]: done = {f} is not a fraction between 0.0 and 1.0"
                );
            }
        }
        Ok(())
    }
}

/// What to do.
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// An operator puts an instance in Standby (EnterStandby, decrementing the desired capacity):
    /// not the hooks' doing, so it holds nothing of the deployment back.
    EnterStandby { instance: usize },
    /// An operator takes an instance out of Standby (ExitStandby).
    ExitStandby { instance: usize },
    /// The script running on the instance is killed (SIGKILL to its process group), as by an
    /// out-of-memory killer or an agent restart: the deployment sees it fail.
    KillScript { instance: usize },
    /// An operator suspends a scaling process of the group.
    SuspendProcess { process: fakeaws::model::Process },
    /// An operator sets the group's MinSize.
    SetMinSize { min: i64 },
    /// Someone creates a deployment of `revision` through CodeDeploy's API (a pipeline, an
    /// operator): refused while another deployment of the group is active, as CodeDeploy does;
    /// otherwise it runs after the deployments under way.
    CreateDeployment { revision: String },
    /// A one-time scheduled action of the group, `in_seconds` from now (skipped if
    /// ScheduledActions is suspended when it comes).
    ScheduledAction {
        name: String,
        in_seconds: i64,
        min: Option<i64>,
        max: Option<i64>,
        desired: Option<i64>,
    },
    /// Someone starts an instance refresh of the group (StartInstanceRefresh, Rolling): every
    /// instance replaced in batches that keep `min_healthy_percentage` (AWS's default 90) of the
    /// desired capacity, each replacement given `instance_warmup` seconds (default: the health
    /// check grace period); `launch_template`: the desired configuration's.
    StartInstanceRefresh {
        min_healthy_percentage: Option<i64>,
        instance_warmup: Option<i64>,
        launch_template: Option<String>,
    },
    /// EC2 sends the instance (a Spot Instance) a rebalance recommendation: with the group's
    /// `capacity_rebalance` on, a replacement launches and the instance is terminated once it is
    /// in service and healthy.
    RebalanceRecommendation { instance: usize },
    /// EC2 sends the instance (a Spot Instance) its two-minute interruption notice, then takes it.
    SpotInterruption { instance: usize },
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
            Action::EnterStandby { instance } => format!("operator: i-{instance} to Standby"),
            Action::ExitStandby { instance } => format!("operator: i-{instance} out of Standby"),
            Action::KillScript { instance } => format!("i-{instance}: running script killed"),
            Action::SuspendProcess { process } => format!("operator: {process} suspended"),
            Action::SetMinSize { min } => format!("operator: MinSize {min}"),
            Action::CreateDeployment { revision } => format!("CreateDeployment {revision}"),
            Action::RebalanceRecommendation { instance } => format!("i-{instance}: EC2 rebalance recommendation"),
            Action::SpotInterruption { instance } => format!("i-{instance}: Spot interruption notice (two minutes)"),
            Action::StartInstanceRefresh {
                min_healthy_percentage, ..
            } => format!(
                "instance refresh started (minimum healthy {}%)",
                min_healthy_percentage.unwrap_or(90)
            ),
        }
    }
}

/// A script that misbehaves in one deployment on one instance.
#[derive(Debug, Clone, Deserialize, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    /// Exits 1 instead of running.
    Fail,
    /// Never returns: the agent's timeout ends it.
    Hang,
    /// Runs, and is killed the first time it waits.
    Kill,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_clients_make_one_stream_per_path_at_their_own_rate() {
        let t: TrafficSpec = toml::from_str(
            r#"
rate = 12
paths = ["/", "/a"]
headers = { "X-Team" = "web" }

[[clients]]
name = "mobile"
rate = 4
host = "m.example.com"
headers = { "User-Agent" = "Mobile" }

[[clients]]
paths = ["/api?v=2"]
"#,
        )
        .expect("parses");
        t.validate().expect("valid");
        let s = t.streams();
        let shape: Vec<(String, String, f64)> = s
            .iter()
            .map(|s| (s.request.host.clone(), s.request.path.clone(), s.rate))
            .collect();
        assert_eq!(
            shape,
            [
                ("m.example.com".to_string(), "/".to_string(), 2.0),
                ("m.example.com".to_string(), "/a".to_string(), 2.0),
                ("www.example.com".to_string(), "/api".to_string(), 12.0),
            ]
        );
        assert_eq!(s[0].request.headers.len(), 2, "section headers and the client's");
        assert_eq!(s[2].request.query, [("v".to_string(), "2".to_string())]);
        // Without clients the section is the one client: the shipped scenarios' streams.
        let plain = TrafficSpec::default().streams();
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].rate, 10.0);
        assert_eq!(plain[0].duration_ms, 0, "answered at once unless told");
    }

    fn scenario_with_event(when: &str) -> anyhow::Result<Scenario> {
        let text = format!(
            r#"
description = "x"
deployments = []
revisions = []
[deployment_group]
name = "dg"
[fleet]
[[events]]
when = {when}
do = "scale_in"
count = 1
"#
        );
        let sc: Scenario = toml::from_str(&text)?;
        sc.validate_events()?;
        Ok(sc)
    }

    #[test]
    fn triggers_that_can_never_fire_are_refused_when_read() {
        let e = scenario_with_event(r#"{ instance = 1, reaches = "Standbyy" }"#).unwrap_err();
        assert!(e.to_string().contains("Standbyy"), "{e}");
        let e = scenario_with_event(r#"{ instance = 1, starts = "BeforeInstal" }"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown variant `BeforeInstal`, expected one of `BeforeBlockTraffic`"),
            "{e}"
        );
        let e = scenario_with_event(r#"{ reaches = "Standby" }"#).unwrap_err();
        assert!(e.to_string().contains("need `instance`"), "{e}");
        let e = scenario_with_event(r#"{ done = 1.5 }"#).unwrap_err();
        assert!(e.to_string().contains("done = 1.5"), "{e}");
        let ok = scenario_with_event(r#"{ instance = 1, reaches = "Pending:Wait" }"#).expect("valid");
        assert_eq!(ok.events[0].when.reaches, Some(fakeaws::model::Lifecycle::PendingWait));
        scenario_with_event(r#"{ instance = 4, starts = "BlockTraffic" }"#).expect("the engine's own steps too");
    }

    #[test]
    fn bad_traffic_is_named() {
        let t: TrafficSpec = toml::from_str("rate = -1").expect("parses");
        assert!(t.validate().unwrap_err().to_string().contains("rate -1"));
        let t: TrafficSpec = toml::from_str("[[clients]]\npaths = [\"x\"]").expect("parses");
        assert!(t
            .validate()
            .unwrap_err()
            .to_string()
            .contains("traffic.clients[0]: path 'x'"));
    }
}
