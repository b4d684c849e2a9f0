//! `rehearse import FOLDER`: a world file and a scenario built from what the AWS CLI prints for
//! your real account. `scenarios/import/aws-read.sh APPLICATION GROUP FOLDER` runs the read-only
//! calls and saves each answer as JSON (`get-deployment-group.json`, `get-deployment-config.json`,
//! `describe-auto-scaling-groups.json`, `describe-lifecycle-hooks-<group>.json`,
//! `describe-policies-<group>.json`, `describe-target-groups.json`,
//! `describe-target-group-attributes-<target group>.json`, `describe-load-balancers.json`,
//! `describe-listeners-<load balancer>.json`, `describe-rules-<load balancer>-<port>.json`,
//! `elb-describe-load-balancers.json`, `elb-describe-load-balancer-attributes-<name>.json`); this
//! reads them back into the fleet (sizes, zones, health checks, draining, listeners and path rules,
//! lifecycle hooks, suspended processes, scaling policies) and the deployment group (its groups,
//! load balancers, configuration, rollback, traffic control). What it cannot carry over is listed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use fakeaws::model::{HealthCheckType, LifecycleResult, LoadBalancerType, Process};
use fakeaws::spec::{
    ClassicHealthSpec, ClassicSpec, GroupSpec, HealthCheckSpec, HookSpec, ListenerSpec, LoadBalancerSpec, PolicySpec,
    RuleSpec, StepSpec, TargetGroupSpec, WorldSpec,
};
use serde_json::Value;

use crate::schema::{ConfigSpec, DeploymentGroup, HostsSpec, OutdatedStrategy, ZonalSpec};

/// What an import found.
#[derive(Debug, Clone)]
pub struct Imported {
    pub world: WorldSpec,
    pub group: DeploymentGroup,
    /// Things the fleet has that the import leaves out, one line each.
    pub notes: Vec<String>,
}

/// One JSON answer the script saved.
struct Answers {
    dir: PathBuf,
}

impl Answers {
    fn read(&self, name: &str) -> anyhow::Result<Option<Value>> {
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("{}: not the JSON the AWS CLI prints", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn need(&self, name: &str) -> anyhow::Result<Value> {
        self.read(name)?.ok_or_else(|| {
            anyhow!(
                "{}: missing (scenarios/import/aws-read.sh APPLICATION GROUP {} saves it)",
                self.dir.join(name).display(),
                self.dir.display()
            )
        })
    }
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn i(v: &Value, key: &str) -> Option<i64> {
    v.get(key)
        .and_then(|x| x.as_i64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `NAME` of `arn:...:targetgroup/NAME/ID` (or `loadbalancer/app/NAME/ID`).
fn name_in_arn(arn: &str) -> String {
    let parts: Vec<&str> = arn.split('/').collect();
    match parts.as_slice() {
        [_, "app" | "net" | "gwy", name, ..] => (*name).to_string(),
        [_, name, ..] => (*name).to_string(),
        _ => arn.to_string(),
    }
}

/// Reads the answers in `dir`.
pub fn import(dir: &Path) -> anyhow::Result<Imported> {
    let mut r = Reader {
        a: Answers { dir: dir.to_path_buf() },
        notes: Vec::new(),
        tg_names: BTreeMap::new(),
    };
    let dg_answer = r.a.need("get-deployment-group.json")?;
    let dg = dg_answer
        .get("deploymentGroupInfo")
        .ok_or_else(|| anyhow!("get-deployment-group.json: no deploymentGroupInfo"))?;
    let groups_answer = r.a.need("describe-auto-scaling-groups.json")?;
    let target_groups = r.target_groups()?;
    let load_balancers = r.load_balancers()?;
    let classic_load_balancers = r.classic_load_balancers()?;
    let groups = list(&groups_answer, "AutoScalingGroups")
        .iter()
        .map(|g| r.group(g))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let group = r.deployment_group(dg)?;
    Ok(Imported {
        world: WorldSpec {
            target_groups,
            load_balancers,
            classic_load_balancers,
            groups,
            ..Default::default()
        },
        group,
        notes: r.notes,
    })
}

/// The answers being read, what the import leaves out so far, and the target groups' names by ARN.
struct Reader {
    a: Answers,
    notes: Vec<String>,
    tg_names: BTreeMap<String, String>,
}

impl Reader {
    /// The target groups, with their attributes (and their names by ARN, for what refers to them).
    fn target_groups(&mut self) -> anyhow::Result<Vec<TargetGroupSpec>> {
        let Some(tgs) = self.a.read("describe-target-groups.json")? else {
            return Ok(Vec::new());
        };
        list(&tgs, "TargetGroups")
            .iter()
            .map(|tg| self.target_group(tg))
            .collect()
    }

    /// One target group and its attributes.
    fn target_group(&mut self, tg: &Value) -> anyhow::Result<TargetGroupSpec> {
        let name = s(tg, "TargetGroupName")
            .ok_or_else(|| anyhow!("describe-target-groups.json: a target group without TargetGroupName"))?;
        self.tg_names.insert(
            s(tg, "TargetGroupArn").unwrap_or_default().to_string(),
            name.to_string(),
        );
        let attrs = self.a.read(&format!("describe-target-group-attributes-{name}.json"))?;
        let text = |key: &str| {
            attrs.as_ref().and_then(|v| {
                list(v, "Attributes")
                    .iter()
                    .find(|x| s(x, "Key") == Some(key))
                    .and_then(|x| s(x, "Value"))
                    .map(str::to_string)
            })
        };
        let attribute = |key: &str| text(key).and_then(|v| v.parse::<i64>().ok());
        let delay = attribute("deregistration_delay.timeout_seconds");
        let slow_start = attribute("slow_start.duration_seconds").filter(|s| *s > 0);
        let connection_termination = text("deregistration_delay.connection_termination.enabled")
            .map(|v| v == "true")
            .filter(|on| *on);
        let algorithm = match text("load_balancing.algorithm.type") {
            Some(v) => Some(fakeaws::model::Algorithm::parse(&v).ok_or_else(|| {
                anyhow!("describe-target-group-attributes-{name}.json: load_balancing.algorithm.type '{v}' is not one the fake knows")
            })?),
            None => None,
        }
        .filter(|a| *a != fakeaws::model::Algorithm::RoundRobin);
        if attrs.is_none() {
            self.notes.push(format!("target group {name}: no describe-target-group-attributes-{name}.json, so AWS's default deregistration delay (300 s)"));
        }
        Ok(TargetGroupSpec {
            name: name.to_string(),
            port: i(tg, "Port").unwrap_or(80),
            protocol: s(tg, "Protocol").unwrap_or("HTTP").to_string(),
            health_check: HealthCheckSpec {
                interval: i(tg, "HealthCheckIntervalSeconds"),
                timeout: i(tg, "HealthCheckTimeoutSeconds"),
                healthy_threshold: i(tg, "HealthyThresholdCount"),
                unhealthy_threshold: i(tg, "UnhealthyThresholdCount"),
                path: s(tg, "HealthCheckPath").map(str::to_string),
            },
            deregistration_delay: delay,
            slow_start,
            connection_termination,
            algorithm,
        })
    }

    /// ELBv2 load balancers, their listeners and path rules.
    fn load_balancers(&mut self) -> anyhow::Result<Vec<LoadBalancerSpec>> {
        let mut load_balancers = Vec::new();
        if let Some(lbs) = self.a.read("describe-load-balancers.json")? {
            for lb in list(&lbs, "LoadBalancers") {
                let name = s(lb, "LoadBalancerName").unwrap_or_default().to_string();
                let kind = s(lb, "Type")
                    .and_then(LoadBalancerType::parse)
                    .unwrap_or(LoadBalancerType::Application);
                let mut listeners = Vec::new();
                if let Some(ls) = self.a.read(&format!("describe-listeners-{name}.json"))? {
                    for l in list(&ls, "Listeners") {
                        let port = i(l, "Port").unwrap_or(80);
                        let forward = list(l, "DefaultActions")
                            .iter()
                            .find_map(|x| s(x, "TargetGroupArn").map(str::to_string));
                        let Some(tg) = forward.and_then(|arn| self.tg_names.get(&arn).cloned()) else {
                            self.notes.push(format!(
                                "{name}:{port}: its default action forwards to no target group of the deployment; left out"
                            ));
                            continue;
                        };
                        let rules = self.rules(&name, port)?;
                        listeners.push(ListenerSpec {
                            port,
                            // HTTP is the world file's default.
                            protocol: s(l, "Protocol").filter(|p| *p != "HTTP").map(str::to_string),
                            target_group: tg,
                            rules,
                        });
                    }
                }
                load_balancers.push(LoadBalancerSpec { name, kind, listeners });
            }
        }
        Ok(load_balancers)
    }

    /// The path rules of one listener (the default rule is the listener's own action).
    fn rules(&mut self, name: &str, port: i64) -> anyhow::Result<Vec<RuleSpec>> {
        let mut rules = Vec::new();
        if let Some(rs) = self.a.read(&format!("describe-rules-{name}-{port}.json"))? {
            for r in list(&rs, "Rules") {
                let Some(priority) = i(r, "Priority") else { continue }; // the default rule
                let path = list(r, "Conditions").iter().find_map(|c| {
                    (s(c, "Field") == Some("path-pattern"))
                        .then(|| {
                            c.get("PathPatternConfig")
                                .map(|p| list(p, "Values"))
                                .unwrap_or_else(|| list(c, "Values"))
                                .first()
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        })
                        .flatten()
                });
                let Some(path) = path else {
                    self.notes.push(format!(
                        "{name}:{port}: rule {priority} has no path-pattern condition; left out"
                    ));
                    continue;
                };
                let action = list(r, "Actions").first();
                let target_group = action
                    .and_then(|x| s(x, "TargetGroupArn"))
                    .and_then(|arn| self.tg_names.get(arn).cloned());
                let fixed_response =
                    action
                        .and_then(|x| x.get("FixedResponseConfig"))
                        .map(|f| fakeaws::spec::FixedResponseSpec {
                            status_code: i(f, "StatusCode").unwrap_or(503) as u16,
                            body: s(f, "MessageBody").unwrap_or_default().to_string(),
                        });
                if target_group.is_none() && fixed_response.is_none() {
                    self.notes.push(format!("{name}:{port}: rule {priority} neither forwards to a known target group nor answers itself; left out"));
                    continue;
                }
                rules.push(RuleSpec {
                    priority,
                    path,
                    target_group,
                    fixed_response,
                });
            }
        }
        Ok(rules)
    }

    /// Classic Load Balancers, with their connection draining.
    fn classic_load_balancers(&mut self) -> anyhow::Result<Vec<ClassicSpec>> {
        let mut classic_load_balancers = Vec::new();
        if let Some(elbs) = self.a.read("elb-describe-load-balancers.json")? {
            for lb in list(&elbs, "LoadBalancerDescriptions") {
                let name = s(lb, "LoadBalancerName").unwrap_or_default().to_string();
                let listener = list(lb, "ListenerDescriptions").first().and_then(|l| l.get("Listener"));
                let attrs = self
                    .a
                    .read(&format!("elb-describe-load-balancer-attributes-{name}.json"))?;
                let draining = attrs.as_ref().and_then(|v| {
                    let d = v.get("LoadBalancerAttributes")?.get("ConnectionDraining")?;
                    (d.get("Enabled")?.as_bool()?).then(|| i(d, "Timeout")).flatten()
                });
                classic_load_balancers.push(ClassicSpec {
                    name,
                    port: listener.and_then(|l| i(l, "LoadBalancerPort")).unwrap_or(80),
                    instance_port: listener.and_then(|l| i(l, "InstancePort")),
                    health_check: lb.get("HealthCheck").map(|h| ClassicHealthSpec {
                        target: s(h, "Target").unwrap_or("TCP:80").to_string(),
                        interval: i(h, "Interval").unwrap_or(30),
                        timeout: i(h, "Timeout").unwrap_or(5),
                        healthy_threshold: i(h, "HealthyThreshold").unwrap_or(10),
                        unhealthy_threshold: i(h, "UnhealthyThreshold").unwrap_or(2),
                    }),
                    connection_draining: draining,
                });
            }
        }
        Ok(classic_load_balancers)
    }

    /// One Auto Scaling group, with its lifecycle hooks, policies and suspended processes.
    fn group(&mut self, g: &Value) -> anyhow::Result<GroupSpec> {
        let name = s(g, "AutoScalingGroupName")
            .ok_or_else(|| anyhow!("describe-auto-scaling-groups.json: a group without AutoScalingGroupName"))?
            .to_string();
        let hooks = self
            .a
            .read(&format!("describe-lifecycle-hooks-{name}.json"))?
            .map(|v| {
                list(&v, "LifecycleHooks")
                    .iter()
                    // CodeDeploy's own launch hook comes back with the deployment group.
                    .filter(|h| {
                        !s(h, "LifecycleHookName")
                            .unwrap_or_default()
                            .starts_with("CodeDeploy-managed-automatic-launch-deployment-hook")
                    })
                    .map(|h| HookSpec {
                        name: s(h, "LifecycleHookName").unwrap_or_default().to_string(),
                        transition: s(h, "LifecycleTransition").unwrap_or_default().to_string(),
                        heartbeat_timeout: i(h, "HeartbeatTimeout"),
                        default_result: s(h, "DefaultResult").and_then(LifecycleResult::parse),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let policies = self
            .a
            .read(&format!("describe-policies-{name}.json"))?
            .map(|v| {
                list(&v, "ScalingPolicies")
                    .iter()
                    .map(|p| PolicySpec {
                        name: s(p, "PolicyName").unwrap_or_default().to_string(),
                        policy_type: s(p, "PolicyType").map(str::to_string),
                        adjustment_type: s(p, "AdjustmentType").map(str::to_string),
                        scaling_adjustment: i(p, "ScalingAdjustment"),
                        cooldown: i(p, "Cooldown"),
                        steps: list(p, "StepAdjustments")
                            .iter()
                            .map(|st| StepSpec {
                                lower: st.get("MetricIntervalLowerBound").and_then(Value::as_f64),
                                upper: st.get("MetricIntervalUpperBound").and_then(Value::as_f64),
                                adjustment: i(st, "ScalingAdjustment").unwrap_or(0),
                            })
                            .collect(),
                        target_value: p
                            .get("TargetTrackingConfiguration")
                            .and_then(|t| t.get("TargetValue"))
                            .and_then(Value::as_f64),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut suspended = Vec::new();
        for p in list(g, "SuspendedProcesses") {
            let n = s(p, "ProcessName").unwrap_or_default();
            match Process::parse(n) {
                Some(p) => suspended.push(p),
                None => self
                    .notes
                    .push(format!("group {name}: unknown suspended process {n}; left out")),
            }
        }
        let spec = GroupSpec {
            name: name.clone(),
            min: i(g, "MinSize").unwrap_or(0),
            max: i(g, "MaxSize").unwrap_or(0),
            desired: i(g, "DesiredCapacity"),
            availability_zones: list(g, "AvailabilityZones")
                .iter()
                .filter_map(|z| z.as_str().map(str::to_string))
                .collect(),
            target_groups: list(g, "TargetGroupARNs")
                .iter()
                .filter_map(Value::as_str)
                .map(|arn| self.tg_names.get(arn).cloned().unwrap_or_else(|| name_in_arn(arn)))
                .collect(),
            load_balancers: list(g, "LoadBalancerNames")
                .iter()
                .filter_map(|z| z.as_str().map(str::to_string))
                .collect(),
            health_check_type: s(g, "HealthCheckType").and_then(HealthCheckType::parse),
            health_check_grace_period: i(g, "HealthCheckGracePeriod"),
            new_instances_protected_from_scale_in: g
                .get("NewInstancesProtectedFromScaleIn")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            // The AWS CLI's JSON: InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon.
            terminate_hook_abandon: g
                .get("InstanceLifecyclePolicy")
                .and_then(|p| p.get("RetentionTriggers"))
                .and_then(|t| s(t, "TerminateHookAbandon"))
                .and_then(fakeaws::model::RetentionAction::parse),
            capacity_rebalance: g.get("CapacityRebalance").and_then(Value::as_bool).unwrap_or(false),
            // The AWS CLI's JSON: WarmPoolConfiguration, as DescribeAutoScalingGroups gives it.
            warm_pool: g.get("WarmPoolConfiguration").map(|w| fakeaws::spec::WarmPoolSpec {
                min_size: i(w, "MinSize"),
                max_group_prepared_capacity: i(w, "MaxGroupPreparedCapacity"),
                pool_state: s(w, "PoolState").and_then(fakeaws::model::PoolState::parse),
                reuse_on_scale_in: w
                    .get("InstanceReusePolicy")
                    .and_then(|r| r.get("ReuseOnScaleIn"))
                    .and_then(Value::as_bool),
            }),
            lifecycle_hooks: hooks,
            suspended_processes: suspended,
            scaling_policies: policies,
            scheduled_actions: Vec::new(),
            role: None,
        };
        if g.get("MixedInstancesPolicy").is_some() {
            self.notes
                .push(format!("group {name}: mixed instances policy; not modelled, left out"));
        }
        Ok(spec)
    }

    /// The deployment group: its groups, load balancers, configuration, rollback and traffic control.
    fn deployment_group(&mut self, dg: &Value) -> anyhow::Result<DeploymentGroup> {
        let config = match self.a.read("get-deployment-config.json")? {
            Some(c) => {
                let info = c.get("deploymentConfigInfo").unwrap_or(&Value::Null);
                let name = s(info, "deploymentConfigName").unwrap_or_default();
                match name.strip_prefix("CodeDeployDefault.") {
                    Some(short) => ConfigSpec::Named(short.to_string()),
                    None => {
                        let hosts = info.get("minimumHealthyHosts").unwrap_or(&Value::Null);
                        ConfigSpec::Custom {
                            kind: s(hosts, "type").unwrap_or("HOST_COUNT").to_string(),
                            value: i(hosts, "value").unwrap_or(1).max(0) as u32,
                            zonal: info.get("zonalConfig").map(zonal_of),
                        }
                    }
                }
            }
            None => {
                let name = s(dg, "deploymentConfigName").unwrap_or("CodeDeployDefault.OneAtATime");
                ConfigSpec::Named(
                    name.strip_prefix("CodeDeployDefault.")
                        .ok_or_else(|| {
                            anyhow!("the deployment group uses {name}: its get-deployment-config.json is needed")
                        })?
                        .to_string(),
                )
            }
        };
        let lb_info = dg.get("loadBalancerInfo").unwrap_or(&Value::Null);
        let rollback = dg.get("autoRollbackConfiguration").is_some_and(|r| {
            r.get("enabled").and_then(Value::as_bool) == Some(true)
                && list(r, "events").iter().any(|e| e == "DEPLOYMENT_FAILURE")
        });
        let style = dg.get("deploymentStyle").unwrap_or(&Value::Null);
        if s(style, "deploymentType") == Some("BLUE_GREEN") {
            self.notes
                .push("the deployment group is BLUE_GREEN: rehearsed as an in-place deployment".into());
        }
        let group = DeploymentGroup {
            name: s(dg, "deploymentGroupName").unwrap_or("web-dg").to_string(),
            autoscaling_groups: list(dg, "autoScalingGroups")
                .iter()
                .filter_map(|g| s(g, "name").map(str::to_string))
                .collect(),
            standalone_instances: false,
            config,
            rollback,
            traffic_control: s(style, "deploymentOption") == Some("WITH_TRAFFIC_CONTROL"),
            target_groups: list(lb_info, "targetGroupInfoList")
                .iter()
                .filter_map(|t| s(t, "name").map(str::to_string))
                .collect(),
            load_balancers: list(lb_info, "elbInfoList")
                .iter()
                .filter_map(|t| s(t, "name").map(str::to_string))
                .collect(),
            termination_hook: dg.get("terminationHookEnabled").and_then(Value::as_bool) == Some(true),
            outdated_instances_strategy: if s(dg, "outdatedInstancesStrategy") == Some("IGNORE") {
                OutdatedStrategy::Ignore
            } else {
                OutdatedStrategy::Update
            },
        };
        anyhow::ensure!(
            !group.autoscaling_groups.is_empty(),
            "get-deployment-group.json: the deployment group has no Auto Scaling group (instances by tag are not imported)"
        );
        Ok(group)
    }
}

/// The scenario and world files of an import, as text.
pub fn files(im: &Imported) -> anyhow::Result<(String, String)> {
    #[derive(serde::Serialize)]
    struct Fleet<'a> {
        fleet: &'a WorldSpec,
    }
    #[derive(serde::Serialize)]
    struct Group<'a> {
        deployment_group: &'a DeploymentGroup,
    }
    let notes: String = im.notes.iter().map(|n| format!("# - {n}\n")).collect();
    let scenario = format!(
        "# Imported by `rehearse import` from your account's answers: your fleet and deployment group.\n# Replace app/ with your revision; add events (scale-out, terminations, ...) to rehearse under them.\n{}description = \"{} rehearsed as imported\"\n\ninitial_revision = \"v1\"\n\n[[revisions]]\nname = \"v1\"\ndir = \"app\"\n\n[[revisions]]\nname = \"v2\"\ndir = \"app\"\n\n[[deployments]]\nrevision = \"v2\"\n\n{}\n{}",
        if notes.is_empty() { String::new() } else { format!("# Not carried over:\n{notes}") },
        im.group.name,
        toml::to_string(&Group { deployment_group: &im.group })?,
        toml::to_string(&Fleet { fleet: &im.world })?
    );
    let world = format!(
        "# Imported by `rehearse import`: your fleet, for `rehearse serve --world world.toml`.\n{}",
        toml::to_string(&im.world)?
    );
    Ok((scenario, world))
}

/// Imports the answers in `from` and writes `deployment.toml`, `world.toml` and (when missing) a
/// starter revision `app/` into `out`; returns what it wrote. Writes nothing over existing files.
pub fn write(from: &Path, out: &Path) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    let im = import(from)?;
    let (scenario, world) = files(&im)?;
    let targets = [out.join("deployment.toml"), out.join("world.toml")];
    let taken: Vec<String> = targets
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    anyhow::ensure!(
        taken.is_empty(),
        "import writes nothing over existing files; already there: {}",
        taken.join(", ")
    );
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(&targets[0], scenario)?;
    std::fs::write(&targets[1], world)?;
    let mut written = targets.to_vec();
    if !out.join("app").exists() {
        written.extend(crate::init::sample_revision(out)?);
    }
    // What was written must read back as a scenario and a world.
    let sc = crate::runner::read_file(&targets[0]).context("the imported scenario")?;
    sc.validate_names()?;
    Ok((written, im.notes))
}

/// A deployment configuration's `zonalConfig` as the scenario file spells it.
fn zonal_of(z: &Value) -> ZonalSpec {
    let secs = |key: &str| i(z, key).map(|v| v.clamp(0, u32::MAX as i64) as u32);
    ZonalSpec {
        monitor_seconds: secs("monitorDurationInSeconds"),
        first_zone_monitor_seconds: secs("firstZoneMonitorDurationInSeconds"),
        per_zone: z.get("minimumHealthyHostsPerZone").map(|h| HostsSpec {
            kind: s(h, "type").unwrap_or("FLEET_PERCENT").to_string(),
            value: i(h, "value").unwrap_or(0).max(0) as u32,
        }),
    }
}
