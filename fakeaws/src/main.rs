//! The `fakeaws` binary: serves the fake on a loopback address until SIGINT/SIGTERM, optionally
//! loading a world file first and saving the whole world on shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use fakeaws::spec::{self, SavedState, WorldFile};
use fakeaws::{app, Clock, ClockMode, Fake, World};

/// A local fake of AWS for CodeDeploy deployments behind load balancers: Auto Scaling, Elastic Load
/// Balancing (v2 and Classic) with a real data plane, EC2 instance metadata, CodeDeploy's API and S3.
#[derive(Parser, Debug)]
#[command(name = "fakeaws", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566")]
    bind: SocketAddr,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    allow_remote: bool,
    /// Start from this world file (TOML/JSON spec, or a state saved with --save).
    #[arg(long)]
    world: Option<PathBuf>,
    /// Write the whole world to this file on shutdown.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Run simulated time this many times faster than real time.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Freeze simulated time; it moves only through POST /_fakeaws/clock/advance.
    #[arg(long, conflicts_with = "time_scale")]
    manual_clock: bool,
    /// Accept IMDSv1 requests (no token). By default IMDSv2 is required.
    #[arg(long)]
    imds_v1: bool,
    /// Region of the simulated account.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The account's instance quota: requests that would launch more instances are refused with
    /// LimitExceeded (bounds memory and the time any one request holds the world).
    #[arg(long, default_value_t = fakeaws::DEFAULT_MAX_INSTANCES)]
    max_instances: usize,
    /// Do not serve the load balancers' listeners (the data plane) on loopback ports.
    #[arg(long)]
    no_data_plane: bool,
    /// First loopback port for the data plane's listeners (each new one takes the next free
    /// port); 0 picks any free port.
    #[arg(long, default_value_t = 0)]
    data_plane_port_base: u16,
    /// Accept requests whatever their signature (by default every Query API request must carry a
    /// valid SigV4 signature of a known credential).
    #[arg(long)]
    no_verify_signatures: bool,
    /// Another key pair requests may be signed with, as ACCESS_KEY_ID:SECRET (repeatable). Known
    /// without it: the default pair and each instance's role credentials.
    #[arg(long, value_name = "ACCESS_KEY_ID:SECRET")]
    credentials: Vec<String>,
    /// Connections open at once; when reached, the longest idle one is closed to make room
    /// (default: the open-descriptor limit less 128).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Seconds a keep-alive connection may sit with no request in flight before it is closed.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, default_value_t = 10)]
    header_read_timeout: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fakeaws: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.bind.ip().is_loopback() && !args.allow_remote {
        bail!(
            "refusing to listen on non-loopback address {} (pass --allow-remote if you mean it)",
            args.bind
        );
    }
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        bail!("--time-scale must be a positive number, not {}", args.time_scale);
    }
    let mode = if args.manual_clock {
        ClockMode::Manual
    } else {
        ClockMode::Scaled(args.time_scale)
    };
    let clock = Clock::starting_now(mode);
    let mut world = World::new(&args.region, clock.now_ms());
    world.set_max_instances(args.max_instances);
    if let Some(path) = &args.world {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading world file {}", path.display()))?;
        match spec::parse(&text, &path.to_string_lossy())
            .with_context(|| format!("parsing world file {}", path.display()))?
        {
            WorldFile::Spec(s) => {
                spec::apply(&mut world, &s)
                    .map_err(|e| anyhow::anyhow!("world file {}: {}", path.display(), e.message))?;
            }
            WorldFile::Saved(saved) => {
                world = saved.world;
                clock.advance_to(world.now_ms());
            }
        }
    }
    world.set_max_instances(args.max_instances);
    let limits = limits(&args)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let fake = Fake::with_world(world, clock, args.imds_v1);
        fake.auth.set_verify_signatures(!args.no_verify_signatures);
        // From the environment, not a flag: a secret does not belong in the process list.
        if let Some(token) = std::env::var("FAKEAWS_ADMIN_TOKEN").ok().filter(|t| !t.is_empty()) {
            fake.auth.set_admin_token(token);
        }
        for pair in &args.credentials {
            let Some((key, secret)) = pair.split_once(':').filter(|(k, s)| !k.is_empty() && !s.is_empty()) else {
                anyhow::bail!(
                    "--credentials takes ACCESS_KEY_ID:SECRET, not {:?}",
                    pair.split(':').next().unwrap_or_default()
                );
            };
            fake.auth.add_credentials(
                key,
                fakeaws::protocol::sigv4::Known {
                    secret: secret.to_string(),
                    token: None,
                    expires_ms: None,
                    principal: None,
                },
            );
        }
        let listener = fakeaws::listen::bind(args.bind).with_context(|| format!("binding {}", args.bind))?;
        let addr = listener.local_addr()?;
        fake.set_base_url(format!("http://{addr}"));
        eprintln!(
            "fakeaws: listening on http://{addr} (region {}, admin API at /_fakeaws/, up to {} connections)",
            args.region, limits.max_connections
        );
        if !args.no_data_plane {
            let endpoints = fake
                .enable_data_plane(args.data_plane_port_base)
                .context("starting the data plane")?;
            for ep in endpoints {
                eprintln!("fakeaws: data plane {} -> {}", ep.entrance, ep.url);
            }
        }
        fakeaws::listen::serve(listener, app(fake.clone()), limits, shutdown()).await;
        if let Some(path) = &args.save {
            save(&fake, path)?;
            eprintln!("fakeaws: world saved to {}", path.display());
        }
        Ok(())
    })
}

/// The connection bounds, checked against the descriptor limit.
fn limits(args: &Args) -> anyhow::Result<fakeaws::listen::Limits> {
    let mut limits = fakeaws::listen::Limits::default();
    if let Some(n) = args.max_connections {
        let most = fakeaws::listen::connections_for(fakeaws::listen::descriptor_limit());
        if n == 0 || n > most {
            bail!(
                "--max-connections must be between 1 and {most} (the open-descriptor limit {} less a reserve), not {n}",
                fakeaws::listen::descriptor_limit()
            );
        }
        limits.max_connections = n;
    }
    if args.idle_timeout == 0 || args.header_read_timeout == 0 {
        bail!("--idle-timeout and --header-read-timeout take a number of seconds above 0");
    }
    limits.idle_timeout = std::time::Duration::from_secs(args.idle_timeout);
    limits.header_read_timeout = std::time::Duration::from_secs(args.header_read_timeout);
    Ok(limits)
}

fn save(fake: &Arc<Fake>, path: &PathBuf) -> anyhow::Result<()> {
    let world = fake.world().clone();
    let text = serde_json::to_string_pretty(&SavedState {
        fakeaws_state: 1,
        world,
    })?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
