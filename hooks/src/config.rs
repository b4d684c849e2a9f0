//! Settings: a TOML file shipped beside the binaries (`elb-hooks.toml`), then environment
//! variables, then command-line flags, each overriding the one before. Parsing is kept apart from
//! the validated [`Settings`]; every problem names the key and is reported before any AWS call.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

/// Processes suspended by default while an instance is out of service: the sample scripts' four,
/// and InstanceRefresh, so that an instance refresh started meanwhile pauses until the round ends.
pub const DEFAULT_PROCESSES: [&str; 5] = [
    "AZRebalance",
    "AlarmNotification",
    "ScheduledActions",
    "ReplaceUnhealthy",
    "InstanceRefresh",
];

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub target_groups: Option<Vec<String>>,
    /// Classic Load Balancer names, or `["_all_"]` / `["_any_"]` (the scripts' ELB_LIST).
    pub load_balancers: Option<Vec<String>>,
    pub port: Option<i64>,
    pub handle_processes: Option<bool>,
    pub processes: Option<Vec<String>>,
    pub state_dir: Option<PathBuf>,
    pub log_format: Option<String>,
    pub wait_for_healthy: Option<bool>,
    /// `"refuse"` (default) or `"wait"`: what deregister does when an instance refresh of the
    /// group is under way.
    pub instance_refresh: Option<String>,
    #[serde(default)]
    pub wait: WaitConfig,
    #[serde(default)]
    pub retry: RetryConfig,
    pub maintenance: Option<MaintenanceConfig>,
}

/// `[maintenance]`: the page shown while too few targets are healthy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// The page file, relative to the config file's folder.
    pub page: Option<PathBuf>,
    pub status_code: Option<i64>,
    pub content_type: Option<String>,
    /// Below this many healthy targets the page is shown.
    pub threshold: Option<i64>,
    /// The listener rule's priority.
    pub priority: Option<i64>,
}

/// The maintenance page, validated and read.
#[derive(Debug, Clone, PartialEq)]
pub struct Maintenance {
    pub body: String,
    pub status_code: u16,
    pub content_type: String,
    pub threshold: usize,
    pub priority: i32,
}

/// The longest body a fixed-response rule takes (ELBv2's limit).
pub const MAX_PAGE_CHARS: usize = 1024;
/// Content types a fixed-response rule takes.
pub const PAGE_CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

fn maintenance(
    m: &MaintenanceConfig,
    base: Option<&Path>,
    origin: &dyn Fn(&str) -> String,
) -> anyhow::Result<Maintenance> {
    let page = m.page.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "{}: missing; name the page file (relative to the config file)",
            origin("maintenance.page")
        )
    })?;
    let path = match base {
        Some(b) if page.is_relative() => b.join(page),
        _ => page.clone(),
    };
    let body = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read {}", origin("maintenance.page"), path.display()))?;
    let chars = body.chars().count();
    if chars > MAX_PAGE_CHARS {
        bail!(
            "{}: {} is {chars} characters; a load balancer's fixed response holds at most {MAX_PAGE_CHARS}",
            origin("maintenance.page"),
            path.display()
        );
    }
    let status_code = m.status_code.unwrap_or(503);
    if !(200..600).contains(&status_code) || (300..400).contains(&status_code) {
        bail!(
            "{}: {status_code} is not a 2XX, 4XX or 5XX status code",
            origin("maintenance.status_code")
        );
    }
    let content_type = m.content_type.clone().unwrap_or_else(|| "text/html".into());
    if !PAGE_CONTENT_TYPES.contains(&content_type.as_str()) {
        bail!(
            "{}: '{content_type}' is not one of {}",
            origin("maintenance.content_type"),
            PAGE_CONTENT_TYPES.join(", ")
        );
    }
    let threshold = m.threshold.unwrap_or(1);
    if !(1..=10_000).contains(&threshold) {
        bail!(
            "{}: {threshold} is out of range (1 to 10000)",
            origin("maintenance.threshold")
        );
    }
    let priority = m.priority.unwrap_or(1);
    if !(1..=50_000).contains(&priority) {
        bail!(
            "{}: {priority} is out of range (1 to 50000)",
            origin("maintenance.priority")
        );
    }
    Ok(Maintenance {
        body,
        status_code: status_code as u16,
        content_type,
        threshold: threshold as usize,
        priority: priority as i32,
    })
}

/// `[wait]`: seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitConfig {
    pub poll_interval: Option<f64>,
    pub standby_timeout: Option<f64>,
    pub in_service_timeout: Option<f64>,
    pub deregister_timeout: Option<f64>,
    pub healthy_timeout: Option<f64>,
    /// How long `instance_refresh = "wait"` waits for a refresh to end.
    pub instance_refresh: Option<f64>,
}

/// `[retry]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    pub max_attempts: Option<i64>,
    pub base_delay: Option<f64>,
    pub max_delay: Option<f64>,
}

/// Which target groups the target-group path works on.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetGroups {
    /// Every target group the instance is registered in (deregister), or those remembered (register).
    All,
    /// Names or ARNs.
    Listed(Vec<String>),
}

/// Which Classic Load Balancers the classic path works on (the scripts' `ELB_LIST`).
#[derive(Debug, Clone, PartialEq)]
pub enum ClassicLbs {
    /// `_all_`: every load balancer the instance is registered with; none is an error.
    All,
    /// `_any_`: the same, but none is fine.
    Any,
    /// These names.
    Listed(Vec<String>),
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target_groups: TargetGroups,
    /// Classic Load Balancers, when configured.
    pub load_balancers: Option<ClassicLbs>,
    pub port: Option<i32>,
    pub handle_processes: bool,
    pub processes: Vec<String>,
    pub state_dir: PathBuf,
    pub log_format: LogFormat,
    pub wait_for_healthy: bool,
    pub poll_interval: Duration,
    pub standby_timeout: Duration,
    pub in_service_timeout: Duration,
    /// `None`: the target group's deregistration delay + 30 s, as the scripts do.
    pub deregister_timeout: Option<Duration>,
    /// `None`: HealthyThresholdCount x (timeout + interval) + 30 s, as the scripts do.
    pub healthy_timeout: Option<Duration>,
    pub retry_max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// The maintenance page, when configured.
    pub maintenance: Option<Maintenance>,
    /// What deregister does when an instance refresh of the group is under way.
    pub instance_refresh: RefreshPolicy,
    /// How long it waits for one (`RefreshPolicy::Wait`).
    pub refresh_timeout: Duration,
}

/// What deregister does when an instance refresh of the group is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPolicy {
    /// Fail before changing anything, saying so (the default).
    Refuse,
    /// Wait for it to end (up to `[wait] instance_refresh` seconds), then go on.
    Wait,
}

/// The environment and command-line layer (all optional): each setting is a flag with its
/// `ELB_HOOKS_*` variable (clap's `env`), the flag winning over the variable; both override the
/// file. Values are parsed in [`load`], so errors name the variable and the flag alike.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Flags {
    /// Config file (default: `elb-hooks.toml` beside the binary, if present).
    #[arg(long, env = "ELB_HOOKS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Target group name or ARN (repeatable; space or comma separated), or `all`. Only used outside
    /// an Auto Scaling group, and to widen the health wait inside one.
    #[arg(long = "target-group", env = "ELB_HOOKS_TARGET_GROUPS")]
    pub target_groups: Vec<String>,
    /// Classic Load Balancer name (repeatable), or `_all_` / `_any_`.
    #[arg(long = "load-balancer", env = "ELB_HOOKS_LOAD_BALANCERS")]
    pub load_balancers: Vec<String>,
    /// Port to (de)register instead of each target group's own port.
    #[arg(long, env = "ELB_HOOKS_PORT")]
    pub port: Option<String>,
    /// Suspend Auto Scaling processes while the instance is out of service (`--handle-processes`
    /// alone means true).
    #[arg(long, env = "ELB_HOOKS_HANDLE_PROCESSES", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub handle_processes: Option<String>,
    /// Do not suspend any Auto Scaling process.
    #[arg(long)]
    pub no_handle_processes: bool,
    /// Process to suspend (repeatable; space or comma separated).
    #[arg(long = "process", env = "ELB_HOOKS_PROCESSES")]
    pub processes: Vec<String>,
    /// Where the state file lives.
    #[arg(long, env = "ELB_HOOKS_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// `text` or `json`.
    #[arg(long, env = "ELB_HOOKS_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Wait until healthy before returning (`--wait-for-healthy` alone means true).
    #[arg(long, env = "ELB_HOOKS_WAIT_FOR_HEALTHY", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub wait_for_healthy: Option<String>,
    /// Seconds between polls.
    #[arg(long, env = "ELB_HOOKS_POLL_INTERVAL")]
    pub poll_interval: Option<String>,
    /// Attempts per AWS call when errors are transient (1-20).
    #[arg(long, env = "ELB_HOOKS_RETRY_MAX_ATTEMPTS")]
    pub retry_max_attempts: Option<String>,
    /// `refuse` or `wait`: what deregister does while an instance refresh of the group is under way.
    #[arg(long, env = "ELB_HOOKS_INSTANCE_REFRESH")]
    pub instance_refresh: Option<String>,
}

fn list(value: &str) -> Vec<String> {
    value
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_bool(key: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{key}: '{value}' is not a boolean (true/false)"),
    }
}

fn secs(key: &str, v: f64, min: f64, max: f64) -> anyhow::Result<Duration> {
    if !v.is_finite() || v < min || v > max {
        bail!("{key}: {v} is out of range ({min} to {max} seconds)");
    }
    Ok(Duration::from_secs_f64(v))
}

/// The config file, or the defaults without one.
fn read_file(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(p) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(p).with_context(|| format!("reading config file {}", p.display()))?;
    toml::from_str::<FileConfig>(&text)
        .map_err(|e| anyhow::anyhow!("config file {}: {}", p.display(), e.message()))
        .with_context(|| format!("invalid config file {}", p.display()))
}

impl FileConfig {
    /// The environment-and-flags layer over the file: each value given replaces the file's.
    fn apply_flags(&mut self, flags: &Flags) -> anyhow::Result<()> {
        let file = self;
        let number = |v: &str, var: &str, flag: &str, what: &str| -> anyhow::Result<f64> {
            v.trim()
                .parse::<f64>()
                .map_err(|_| anyhow::anyhow!("{var} / --{flag}: '{v}' is not {what}"))
        };
        if !flags.target_groups.is_empty() {
            file.target_groups = Some(flags.target_groups.iter().flat_map(|s| list(s)).collect());
        }
        if !flags.load_balancers.is_empty() {
            file.load_balancers = Some(flags.load_balancers.iter().flat_map(|s| list(s)).collect());
        }
        if let Some(v) = &flags.port {
            let p = v
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("ELB_HOOKS_PORT / --port: '{v}' is not a port number"))?;
            file.port = Some(p);
        }
        if let Some(v) = &flags.handle_processes {
            file.handle_processes = Some(parse_bool("ELB_HOOKS_HANDLE_PROCESSES / --handle-processes", v)?);
        }
        if flags.no_handle_processes {
            file.handle_processes = Some(false);
        }
        if !flags.processes.is_empty() {
            file.processes = Some(flags.processes.iter().flat_map(|s| list(s)).collect());
        }
        if let Some(v) = &flags.instance_refresh {
            file.instance_refresh = Some(v.trim().to_string());
        }
        if flags.state_dir.is_some() {
            file.state_dir = flags.state_dir.clone();
        }
        if flags.log_format.is_some() {
            file.log_format = flags.log_format.clone();
        }
        if let Some(v) = &flags.wait_for_healthy {
            file.wait_for_healthy = Some(parse_bool("ELB_HOOKS_WAIT_FOR_HEALTHY / --wait-for-healthy", v)?);
        }
        if let Some(v) = &flags.poll_interval {
            file.wait.poll_interval = Some(number(
                v,
                "ELB_HOOKS_POLL_INTERVAL",
                "poll-interval",
                "a number of seconds",
            )?);
        }
        if let Some(v) = &flags.retry_max_attempts {
            let n = v.trim().parse::<i64>().map_err(|_| {
                anyhow::anyhow!("ELB_HOOKS_RETRY_MAX_ATTEMPTS / --retry-max-attempts: '{v}' is not a whole number")
            })?;
            file.retry.max_attempts = Some(n);
        }
        Ok(())
    }
}

/// Loads the file (if any), applies the environment-and-flags layer, validates.
pub fn load(flags: &Flags, exe_dir: Option<&Path>) -> anyhow::Result<Settings> {
    let path = flags
        .config
        .clone()
        .or_else(|| exe_dir.map(|d| d.join("elb-hooks.toml")).filter(|p| p.exists()));
    let mut file = read_file(path.as_deref())?;
    file.apply_flags(flags)?;
    let origin = |key: &str| match &path {
        Some(p) => format!("{key} (in {})", p.display()),
        None => key.to_string(),
    };
    let target_groups = match file.target_groups {
        None => TargetGroups::All,
        Some(v) if v.is_empty() => bail!(
            "{}: the list is empty; name target groups (names or ARNs) or use [\"all\"]",
            origin("target_groups")
        ),
        Some(v) if v.len() == 1 && (v[0] == "all" || v[0] == "_all_") => TargetGroups::All,
        Some(v) => {
            for name in &v {
                if name == "all" || name == "_all_" {
                    bail!(
                        "{}: 'all' cannot be combined with named target groups",
                        origin("target_groups")
                    );
                }
                let plain = name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                if !plain && !name.starts_with("arn:") {
                    bail!(
                        "{}: '{name}' is neither a target group name nor an ARN",
                        origin("target_groups")
                    );
                }
            }
            TargetGroups::Listed(v)
        }
    };
    let load_balancers = match file.load_balancers {
        None => None,
        Some(v) if v.is_empty() => {
            bail!(
                "{}: the list is empty; name Classic Load Balancers or use [\"_all_\"] / [\"_any_\"]",
                origin("load_balancers")
            )
        }
        Some(v) if v.len() == 1 && v[0] == "_all_" => Some(ClassicLbs::All),
        Some(v) if v.len() == 1 && v[0] == "_any_" => Some(ClassicLbs::Any),
        Some(v) => {
            for n in &v {
                if n == "_all_" || n == "_any_" {
                    bail!("{}: {n} cannot be combined with names", origin("load_balancers"));
                }
                if n.is_empty() || n.len() > 32 || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    bail!(
                        "{}: '{n}' is not a Classic Load Balancer name",
                        origin("load_balancers")
                    );
                }
            }
            Some(ClassicLbs::Listed(v))
        }
    };
    let port = match file.port {
        None => None,
        Some(p) if (1..=65535).contains(&p) => Some(p as i32),
        Some(p) => bail!("{}: {p} is not a valid port (1-65535)", origin("port")),
    };
    let processes = file
        .processes
        .unwrap_or_else(|| DEFAULT_PROCESSES.iter().map(|s| s.to_string()).collect());
    const KNOWN: [&str; 8] = [
        "AZRebalance",
        "AlarmNotification",
        "ScheduledActions",
        "ReplaceUnhealthy",
        "HealthCheck",
        "AddToLoadBalancer",
        "InstanceRefresh",
        "Terminate",
    ];
    for p in &processes {
        if p == "Launch" {
            bail!(
                "{}: Launch must never be suspended (the instance could not leave Standby)",
                origin("processes")
            );
        }
        if !KNOWN.contains(&p.as_str()) {
            bail!(
                "{}: '{p}' is not an Auto Scaling process (one of {})",
                origin("processes"),
                KNOWN.join(", ")
            );
        }
    }
    let log_format = match file.log_format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => bail!("{}: '{other}' is not text or json", origin("log_format")),
    };
    let w = &file.wait;
    let r = &file.retry;
    let max_attempts = r.max_attempts.unwrap_or(8);
    if !(1..=20).contains(&max_attempts) {
        bail!(
            "{}: {max_attempts} is out of range (1 to 20)",
            origin("retry.max_attempts")
        );
    }
    let maintenance = match &file.maintenance {
        None => None,
        Some(_) if load_balancers.is_some() => bail!(
            "{}: Classic Load Balancers have no listener rules, so the hooks cannot show a maintenance page there (remove [maintenance] or load_balancers)",
            origin("maintenance")
        ),
        Some(m) => {
            let base = path.as_deref().and_then(Path::parent).or(exe_dir);
            Some(maintenance(m, base, &origin)?)
        }
    };
    let instance_refresh = match file.instance_refresh.as_deref() {
        None | Some("refuse") => RefreshPolicy::Refuse,
        Some("wait") => RefreshPolicy::Wait,
        Some(other) => bail!(
            "{} / ELB_HOOKS_INSTANCE_REFRESH: '{other}' is not refuse or wait",
            origin("instance_refresh")
        ),
    };
    let settings = Settings {
        instance_refresh,
        refresh_timeout: secs(
            &origin("wait.instance_refresh"),
            w.instance_refresh.unwrap_or(3600.0),
            1.0,
            86_400.0,
        )?,
        maintenance,
        target_groups,
        load_balancers,
        port,
        handle_processes: file.handle_processes.unwrap_or(true),
        processes,
        state_dir: file
            .state_dir
            .unwrap_or_else(|| PathBuf::from("/var/lib/codedeploy-elb-hooks")),
        log_format,
        wait_for_healthy: file.wait_for_healthy.unwrap_or(true),
        poll_interval: secs(
            &origin("wait.poll_interval"),
            w.poll_interval.unwrap_or(1.0),
            0.01,
            300.0,
        )?,
        standby_timeout: secs(
            &origin("wait.standby_timeout"),
            w.standby_timeout.unwrap_or(3960.0),
            1.0,
            86_400.0,
        )?,
        in_service_timeout: secs(
            &origin("wait.in_service_timeout"),
            w.in_service_timeout.unwrap_or(360.0),
            1.0,
            86_400.0,
        )?,
        deregister_timeout: w
            .deregister_timeout
            .map(|v| secs(&origin("wait.deregister_timeout"), v, 1.0, 86_400.0))
            .transpose()?,
        healthy_timeout: w
            .healthy_timeout
            .map(|v| secs(&origin("wait.healthy_timeout"), v, 1.0, 86_400.0))
            .transpose()?,
        retry_max_attempts: max_attempts as u32,
        retry_base: secs(&origin("retry.base_delay"), r.base_delay.unwrap_or(1.0), 0.001, 60.0)?,
        retry_max: secs(&origin("retry.max_delay"), r.max_delay.unwrap_or(30.0), 0.001, 600.0)?,
    };
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, flags: Flags) -> anyhow::Result<Settings> {
        let dir = std::env::temp_dir().join(format!("elb-hooks-cfg-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("elb-hooks.toml");
        std::fs::write(&path, text)?;
        let r = load(&flags, Some(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    fn none() -> Flags {
        Flags::default()
    }

    #[test]
    fn defaults_follow_the_scripts_where_they_were_right() {
        let s = load_text("", none()).expect("empty config");
        assert_eq!(s.target_groups, TargetGroups::All);
        assert!(s.handle_processes);
        assert_eq!(s.processes, DEFAULT_PROCESSES);
        assert_eq!(s.poll_interval, Duration::from_secs(1));
        assert!(s.deregister_timeout.is_none());
    }

    #[test]
    fn errors_name_the_key() {
        let e = format!("{:#}", load_text("bogus = 1", none()).unwrap_err());
        assert!(e.contains("bogus"), "{e}");
        let e = format!("{:#}", load_text("port = 70000", none()).unwrap_err());
        assert!(e.contains("port") && e.contains("70000"), "{e}");
        let e = format!("{:#}", load_text("target_groups = []", none()).unwrap_err());
        assert!(e.contains("target_groups"), "{e}");
        let e = format!("{:#}", load_text("processes = [\"Launch\"]", none()).unwrap_err());
        assert!(e.contains("processes"), "{e}");
        let e = format!("{:#}", load_text("[wait]\npoll_interval = -1", none()).unwrap_err());
        assert!(e.contains("wait.poll_interval"), "{e}");
        let port = Flags {
            port: Some("http".into()),
            ..none()
        };
        let e = format!("{:#}", load_text("", port).unwrap_err());
        assert!(e.contains("ELB_HOOKS_PORT") && e.contains("--port"), "{e}");
    }

    /// `[maintenance]`: the page file relative to the config file, AWS's limits checked before any
    /// AWS call, and no page behind Classic Load Balancers.
    #[test]
    fn maintenance_page_settings() {
        let dir = std::env::temp_dir().join(format!("elb-hooks-maint-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(dir.join("bin")).expect("dir");
        std::fs::write(dir.join("page.html"), "<h1>Back soon</h1>").expect("page");
        std::fs::write(dir.join("big.html"), "x".repeat(MAX_PAGE_CHARS + 1)).expect("page");
        let load_in_bin = |text: &str| {
            let path = dir.join("bin").join("elb-hooks.toml");
            std::fs::write(&path, text).expect("config");
            load(
                &Flags {
                    config: Some(path),
                    ..none()
                },
                None,
            )
        };
        let s = load_in_bin("[maintenance]\npage = \"../page.html\"").expect("valid");
        assert_eq!(
            s.maintenance,
            Some(Maintenance {
                body: "<h1>Back soon</h1>".into(),
                status_code: 503,
                content_type: "text/html".into(),
                threshold: 1,
                priority: 1,
            })
        );
        assert!(load_in_bin("").expect("valid").maintenance.is_none());
        for (text, needle) in [
            ("[maintenance]\npage = \"../big.html\"", "at most 1024"),
            ("[maintenance]\npage = \"../missing.html\"", "cannot read"),
            ("[maintenance]", "maintenance.page"),
            (
                "[maintenance]\npage = \"../page.html\"\nstatus_code = 302",
                "maintenance.status_code",
            ),
            (
                "[maintenance]\npage = \"../page.html\"\ncontent_type = \"image/png\"",
                "maintenance.content_type",
            ),
            (
                "[maintenance]\npage = \"../page.html\"\npriority = 0",
                "maintenance.priority",
            ),
            (
                "[maintenance]\npage = \"../page.html\"\nthreshold = 0",
                "maintenance.threshold",
            ),
            (
                "load_balancers = [\"old\"]\n[maintenance]\npage = \"../page.html\"",
                "Classic Load Balancers have no listener rules",
            ),
        ] {
            let e = format!("{:#}", load_in_bin(text).unwrap_err());
            assert!(e.contains(needle), "{text}: {e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The `ELB_HOOKS_*` variables reach the settings through clap's `env`, over the file; a flag
    /// wins over its variable. (nextest runs each test in its own process; the variable names are
    /// used by no other test.)
    #[test]
    fn env_overrides_file_and_flags_override_env() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            flags: Flags,
        }
        std::env::set_var("ELB_HOOKS_TARGET_GROUPS", "b c");
        std::env::set_var("ELB_HOOKS_PORT", "8080");
        std::env::set_var("ELB_HOOKS_WAIT_FOR_HEALTHY", "false");
        let cli = Cli::try_parse_from(["hook"]).expect("parses");
        let s = load_text("target_groups = [\"a\"]\nport = 80", cli.flags).expect("loads");
        assert_eq!(s.target_groups, TargetGroups::Listed(vec!["b".into(), "c".into()]));
        assert_eq!(s.port, Some(8080));
        assert!(!s.wait_for_healthy);
        let cli = Cli::try_parse_from(["hook", "--port", "9090", "--wait-for-healthy"]).expect("parses");
        let s = load_text("port = 80", cli.flags).expect("loads");
        assert_eq!(s.port, Some(9090));
        assert!(s.wait_for_healthy);
        for k in [
            "ELB_HOOKS_TARGET_GROUPS",
            "ELB_HOOKS_PORT",
            "ELB_HOOKS_WAIT_FOR_HEALTHY",
        ] {
            std::env::remove_var(k);
        }
    }
}
