//! The two hooks, end to end: settings, identity, state, then the Auto Scaling path or the
//! target-group path. `main` maps every failure to one message and a documented exit code.

use std::process::ExitCode;
use std::sync::Mutex;

use clap::{CommandFactory, FromArgMatches};

use crate::clock::Clock;
use crate::config::{self, Flags, Settings, TargetGroups};
use crate::ctx::Ctx;
use crate::error::{HookError, Result};
use crate::log::Log;
use crate::state::{Registration, State, Store};
use crate::{asg, tg};

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Take the instance out of its load balancers (BeforeInstall, or ApplicationStop).
    Deregister,
    /// Bring it back once healthy (ApplicationStart, or ValidateService).
    Register,
}

impl Hook {
    /// The binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Hook::Deregister => "deregister-from-elb",
            Hook::Register => "register-with-elb",
        }
    }
}

#[derive(clap::Parser, Debug)]
struct Cli {
    #[command(flatten)]
    flags: Flags,
}

const AFTER_HELP: &str = "\
Configuration: elb-hooks.toml beside the binary (or --config / ELB_HOOKS_CONFIG), then ELB_HOOKS_* \
environment variables, then flags. CodeDeploy's DEPLOYMENT_GROUP_ID and DEPLOYMENT_ID are read from the \
environment. Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the instance \
profile; region: AWS_REGION / AWS_DEFAULT_REGION, else instance metadata; AWS_ENDPOINT_URL when set.

Exit codes: 0 done (or nothing to do), 1 AWS call failed, 2 bad configuration (nothing changed), \
3 refused as unsafe (nothing changed), 4 timed out waiting, 5 instance metadata unreachable (nothing \
changed), 6 state file unusable.";

/// The binary's entry point.
pub fn main(hook: Hook) -> ExitCode {
    let about = match hook {
        Hook::Deregister => "Takes this EC2 instance out of its load balancers for a CodeDeploy deployment (Standby in an Auto Scaling group, otherwise target-group deregistration) and waits for draining.",
        Hook::Register => "Brings this EC2 instance back into its load balancers after a CodeDeploy deployment, waits until it is healthy, and restores what the deregister hook changed.",
    };
    let cmd = Cli::command()
        .name(hook.name())
        .version(env!("CARGO_PKG_VERSION"))
        .about(about)
        .after_help(AFTER_HELP);
    let matches = cmd.get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let settings = match config::load(&cli.flags, exe_dir().as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: configuration: {e:#}", hook.name());
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: cannot start: {e}", hook.name());
            return ExitCode::from(1);
        }
    };
    let log = Log {
        hook: hook.name(),
        format: settings.log_format,
    };
    match rt.block_on(run(hook, settings, log.clone(), &env)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = e.exit_code();
            // The error and every cause, joined with `: `.
            eprintln!("{}: {:#}", hook.name(), anyhow::Error::from(e));
            ExitCode::from(code)
        }
    }
}

async fn instance_id(imds: &aws_config::imds::Client) -> Result<String> {
    imds.get("/latest/meta-data/instance-id")
        .await
        .map(|s| s.as_ref().to_string())
        .map_err(|e| HookError::Metadata {
            what: "cannot read the instance id".into(),
            source: Some(
                aws_smithy_types::error::display::DisplayErrorContext(&e)
                    .to_string()
                    .into(),
            ),
        })
}

/// With a deployment group that controls traffic itself, says so and leaves the load balancers
/// and the group to CodeDeploy (`true`: nothing more to do), unless an earlier run left changes
/// to put back first.
async fn leave_to_codedeploy(ctx: &Ctx, hook: Hook, state: &mut State) -> Result<bool> {
    let deregister = matches!(hook, Hook::Deregister);
    let Some(lbs) = crate::deployment::traffic_control(ctx, deregister, state).await? else {
        return Ok(false);
    };
    if state.holds_changes() {
        ctx.warn(format!(
            "the deployment group controls traffic itself ({lbs}), but an earlier run left changes: putting them back as usual"
        ));
        return Ok(false);
    }
    ctx.info(format!(
        "the deployment group controls traffic itself (WITH_TRAFFIC_CONTROL: {lbs}): CodeDeploy's {} does this work, so {} leaves the load balancers and the Auto Scaling group alone",
        if deregister { "BlockTraffic" } else { "AllowTraffic" },
        hook.name()
    ));
    if deregister {
        ctx.save(state)?;
    } else {
        ctx.store.clear()?;
    }
    ctx.info("done");
    Ok(true)
}

/// Runs one hook.
pub async fn run(hook: Hook, settings: Settings, log: Log, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
    let http = crate::aws::http_client(env);
    let imds = crate::aws::imds_client(&http, env);
    let instance_id = instance_id(&imds).await?;
    let clock = Clock::from_env(env, &format!("{instance_id}:{}", hook.name()));
    let deployment_group = env("DEPLOYMENT_GROUP_ID")
        .or_else(|| env("DEPLOYMENT_GROUP_NAME"))
        .unwrap_or_else(|| "default".into());
    let deployment_id = env("DEPLOYMENT_ID").unwrap_or_else(|| "manual".into());
    let sdk = crate::aws::sdk_config(http, imds, env).await;
    if sdk.region().is_none() {
        return Err(HookError::Metadata {
            what: "no AWS region: set AWS_REGION or run on EC2 with instance metadata".into(),
            source: None,
        });
    }
    let seed = env("ELB_HOOKS_JITTER_SEED").and_then(|s| s.parse::<u64>().ok());
    let store = Store::new(&settings.state_dir, &deployment_group);
    let ctx = Ctx {
        asg: aws_sdk_autoscaling::Client::new(&sdk),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
        classic: aws_sdk_elasticloadbalancing::Client::new(&sdk),
        codedeploy: crate::codedeploy::CodeDeploy::new(&sdk, env),
        clock,
        log,
        settings,
        instance_id: instance_id.clone(),
        deployment_id: deployment_id.clone(),
        deployment_group: deployment_group.clone(),
        application: env("APPLICATION_NAME").filter(|s| !s.is_empty()),
        deployment_group_name: env("DEPLOYMENT_GROUP_NAME").filter(|s| !s.is_empty()),
        store,
        rng: Mutex::new(seed.map(fastrand::Rng::with_seed).unwrap_or_default()),
        foreign_standby: Mutex::default(),
    };
    ctx.info(format!(
        "{} on {instance_id} (deployment {deployment_id}, group {deployment_group}, event {})",
        hook.name(),
        env("LIFECYCLE_EVENT").unwrap_or_else(|| "-".into())
    ));
    let mut state = match ctx.store.load()? {
        Some(s) => {
            if s.deployment_id != deployment_id {
                ctx.warn(format!(
                    "found what deployment {} left in {}: standby={}, min lowered from {:?}, suspended [{}], {} target(s) deregistered; repairing",
                    s.deployment_id,
                    ctx.store.path().display(),
                    s.standby,
                    s.lowered_min_from,
                    s.suspended.join(","),
                    s.deregistered.len()
                ));
            }
            s
        }
        None => State {
            deployment_group,
            instance_id: instance_id.clone(),
            ..Default::default()
        },
    };
    let left_by = std::mem::replace(&mut state.deployment_id, deployment_id);
    if leave_to_codedeploy(&ctx, hook, &mut state).await? {
        return Ok(());
    }
    let hint = state.group.clone();
    // Not when a killed register left it unknown whether its ExitStandby was served: the Standby
    // may be someone else's now, which `asg::register` finds out.
    let recorded = state.standby && !state.exited_standby && state.exit_asked_ms.is_none();
    if let (Hook::Register, true, Some(group)) = (hook, recorded, hint.as_deref()) {
        if asg::register_recorded(&ctx, group, &mut state).await? {
            ctx.store.clear()?;
            ctx.info("done");
            return Ok(());
        }
    }
    match (hook, asg::locate(&ctx, hint.as_deref()).await?) {
        (Hook::Deregister, Some((group, lifecycle))) => {
            ctx.info(format!(
                "{instance_id} is {lifecycle} in Auto Scaling group {}",
                group.name
            ));
            asg::deregister(&ctx, group, &lifecycle, &mut state, &left_by).await?;
        }
        (Hook::Register, Some((group, lifecycle))) => {
            ctx.info(format!(
                "{instance_id} is {lifecycle} in Auto Scaling group {}",
                group.name
            ));
            asg::register(&ctx, group, &lifecycle, &mut state).await?;
            ctx.store.clear()?;
        }
        (Hook::Deregister, None) => {
            if !deregister_outside_groups(&ctx, &mut state).await? {
                return Ok(());
            }
        }
        (Hook::Register, None) => register_outside_groups(&ctx, &mut state).await?,
    }
    ctx.info("done");
    Ok(())
}

/// Deregister outside Auto Scaling: the Classic Load Balancers and target groups configured (and
/// those an earlier run recorded). `false` when there was nothing to do.
async fn deregister_outside_groups(ctx: &Ctx, state: &mut State) -> Result<bool> {
    if let Some(which) = ctx.settings.load_balancers.clone() {
        let mut lbs = state.classic.clone();
        for lb in crate::classic::resolve(ctx, &which, &state.classic).await? {
            if !lbs.contains(&lb) {
                lbs.push(lb);
            }
        }
        if lbs.is_empty() {
            ctx.info("load_balancers = [\"_any_\"] and the instance is registered with none: nothing to do there");
        } else {
            state.classic = lbs.clone();
            ctx.save(state)?;
            crate::classic::deregister(ctx, &lbs).await?;
        }
    }
    ctx.info(format!(
        "{} is not in an Auto Scaling group: deregistering from target groups",
        ctx.instance_id
    ));
    let mut regs: Vec<Registration> = state.deregistered.clone();
    for (t, port) in tg::configured(ctx).await? {
        let r = Registration {
            target_group_arn: t.arn,
            port,
        };
        if !regs.contains(&r) {
            regs.push(r);
        }
    }
    if regs.is_empty() {
        ctx.info("the instance is in no target group: nothing to do");
        return Ok(false);
    }
    state.deregistered = regs.clone();
    if let Some(m) = &ctx.settings.maintenance {
        state.maintenance_priority = Some(m.priority);
    }
    ctx.save(state)?;
    let slow_start = tg::deregister(ctx, &regs).await?;
    state.slow_start_s = slow_start.as_secs();
    ctx.save(state)?;
    Ok(true)
}

/// Register outside Auto Scaling: back where deregister took the instance out (its record), or
/// into the listed target groups.
async fn register_outside_groups(ctx: &Ctx, state: &mut State) -> Result<()> {
    if let Some(which) = ctx.settings.load_balancers.clone() {
        let lbs = match (&which, state.classic.is_empty()) {
            (_, false) => state.classic.clone(),
            (crate::config::ClassicLbs::Listed(n), true) => n.clone(),
            _ => Vec::new(),
        };
        if lbs.is_empty() {
            ctx.info("no record of Classic Load Balancers to register with: nothing to do there");
        } else {
            crate::classic::register(ctx, &lbs).await?;
        }
        state.classic.clear();
        ctx.save(state)?;
    }
    ctx.info(format!(
        "{} is not in an Auto Scaling group: registering with target groups",
        ctx.instance_id
    ));
    let regs: Vec<Registration> = if !state.deregistered.is_empty() {
        state.deregistered.clone()
    } else {
        match &ctx.settings.target_groups {
            TargetGroups::Listed(_) => tg::configured(ctx)
                .await?
                .into_iter()
                .map(|(t, port)| Registration {
                    target_group_arn: t.arn,
                    port,
                })
                .collect(),
            TargetGroups::All => {
                ctx.info("target_groups = all and no record of a deregistration: no target group to register with");
                Vec::new()
            }
        }
    };
    if !regs.is_empty() {
        let slow_start = std::time::Duration::from_secs(state.slow_start_s);
        tg::register(ctx, &regs, state.maintenance_priority, slow_start).await?;
    }
    ctx.store.clear()?;
    Ok(())
}

/// The folder `elb-hooks.toml` is looked for in: the binary's as it was started (the agent runs
/// `bin/deregister-from-elb` of the revision, which may be a symbolic link to an installed
/// binary), else the executable's own when it was found on `PATH`.
fn exe_dir() -> Option<std::path::PathBuf> {
    let invoked = std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .filter(|p| p.components().count() > 1);
    let path = match invoked {
        Some(p) => std::path::absolute(p).ok()?,
        None => std::env::current_exe().ok()?,
    };
    path.parent().map(std::path::Path::to_path_buf)
}
