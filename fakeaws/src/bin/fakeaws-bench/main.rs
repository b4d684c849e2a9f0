//! `fakeaws-bench` (run by `cargo xtask bench`): throughput and latency of the release fakeaws and
//! of `moto_server`, side by side in one run, under concurrent keep-alive clients. A benchmark, not
//! a test: it prints figures and ratios, it asserts nothing.
//!
//! It measures the work, not a cache: fakeaws runs on a moving (real-time) clock, so its world
//! settles before every read, and every client cycles through byte-different but equivalent request
//! bodies (parameters reordered, percent-encoded differently), so no answer is served from the
//! read-answer cache (one answer per action, for the same body at the same world state). The one
//! cached row says so. Both servers are started once and built the same world; each figure is the
//! median of interleaved rounds (fakeaws, moto, fakeaws, moto ...), fresh and after the same churn
//! on both. Memory is each server's resident set size.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;

mod conn;
mod variants;
mod world;

use conn::{Conn, Signed};
use variants::variants;
use world::{build_world, churn};

#[derive(Parser)]
#[command(name = "cargo xtask bench", bin_name = "cargo xtask bench", version)]
struct Args {
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Interleaved rounds per figure (the median is printed).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Instances in the benchmark group.
    #[arg(long, default_value_t = 100)]
    instances: usize,
    /// Launch-and-terminate rounds of the churn, on both servers (each launches and terminates
    /// `instances`).
    #[arg(long, default_value_t = 20)]
    churn_rounds: usize,
    /// Byte-different equivalent bodies each client cycles through (1 lets the cache answer).
    #[arg(long, default_value_t = 24)]
    variants: usize,
    /// The fakeaws binary (default: beside this one).
    #[arg(long)]
    fakeaws: Option<std::path::PathBuf>,
    /// moto_server to compare with (default: `moto_server` on PATH, if any); `none` to skip.
    #[arg(long)]
    moto: Option<String>,
}

/// A server under test, killed when dropped.
pub struct Server {
    name: &'static str,
    child: Child,
    url: String,
    moto: bool,
    tg: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Resident set size in MB (Linux `/proc`), if readable.
    fn rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_up(url: &str, child: &mut Child) -> anyhow::Result<()> {
    let addr = url.trim_start_matches("http://").to_string();
    for _ in 0..400 {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before listening ({status})");
        }
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{url} did not come up in 20 s")
}

/// One figure: requests per second, p50 and p99 (ms).
#[derive(Clone, Copy, Default)]
struct Figure {
    rps: f64,
    p50: f64,
    p99: f64,
}

/// `clients` keep-alive clients sending `bodies` in turn for `secs`. With at least three bodies per
/// client, each client cycles through its own (body `i` goes to client `i % clients`): a body comes
/// back only after two others of its client, so none can be answered from the cache, which keeps
/// the last two answers per action.
async fn load(
    url: &str,
    service: &'static str,
    bodies: &[String],
    clients: usize,
    secs: f64,
) -> anyhow::Result<Figure> {
    let host = url.trim_start_matches("http://");
    let signed: Vec<Signed> = bodies.iter().map(|b| Signed::new(host, service, b)).collect();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    let own = signed.len() >= 3 * clients;
    for client in 0..clients {
        let url = url.to_string();
        let signed: Vec<Signed> = match own {
            true => signed.iter().skip(client).step_by(clients).cloned().collect(),
            false => signed.clone(),
        };
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&url).await?;
            let mut lat = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let (status, text) = c.send(&signed[i % signed.len()]).await?;
                if status != 200 {
                    bail!("{status}: {}", text.chars().take(200).collect::<String>());
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                i += 1;
            }
            anyhow::Ok(lat)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok(Figure {
        rps: all.len() as f64 / elapsed,
        p50: pct(0.5),
        p99: pct(0.99),
    })
}

/// The two reads measured, each with its request variants.
struct Reads {
    health: Vec<String>,
    groups: Vec<String>,
}

impl Reads {
    fn new(tg: &str, n: usize) -> Reads {
        Reads {
            health: variants(
                &[
                    ("Action", "DescribeTargetHealth"),
                    ("Version", "2015-12-01"),
                    ("TargetGroupArn", tg),
                ],
                n,
            ),
            groups: variants(
                &[
                    ("Action", "DescribeAutoScalingGroups"),
                    ("Version", "2011-01-01"),
                    ("AutoScalingGroupNames.member.1", "bench"),
                ],
                n,
            ),
        }
    }
}

/// Per server: (DescribeTargetHealth, DescribeAutoScalingGroups), the median of `rounds`
/// interleaved rounds.
async fn measure(servers: &[&Server], a: &Args) -> anyhow::Result<Vec<(Figure, Figure)>> {
    let mut per: Vec<(Vec<Figure>, Vec<Figure>)> = vec![(Vec::new(), Vec::new()); servers.len()];
    for _ in 0..a.rounds.max(1) {
        for (s, out) in servers.iter().zip(per.iter_mut()) {
            let reads = Reads::new(&s.tg, a.variants);
            out.0
                .push(load(&s.url, "elasticloadbalancing", &reads.health, a.clients, a.seconds).await?);
            out.1
                .push(load(&s.url, "autoscaling", &reads.groups, a.clients, a.seconds).await?);
        }
    }
    Ok(per.into_iter().map(|(h, g)| (median(h), median(g))).collect())
}

fn median(mut figures: Vec<Figure>) -> Figure {
    figures.sort_by(|x, y| x.rps.total_cmp(&y.rps));
    figures.get(figures.len() / 2).copied().unwrap_or_default()
}

fn start(name: &'static str, exe: &str, args: &[String], moto: bool) -> anyhow::Result<Server> {
    let port = free_port()?;
    let mut all: Vec<String> = args.to_vec();
    if moto {
        all.extend(["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()]);
    } else {
        all.extend(["--bind".into(), format!("127.0.0.1:{port}"), "--no-data-plane".into()]);
    }
    let child = Command::new(exe)
        .args(&all)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {exe}"))?;
    Ok(Server {
        name,
        child,
        url: format!("http://127.0.0.1:{port}"),
        moto,
        tg: String::new(),
    })
}

fn cells(f: Option<Figure>) -> String {
    match f {
        Some(f) => format!("{:>8.0} {:>7.2} {:>7.2}", f.rps, f.p50, f.p99),
        None => format!("{:>8} {:>7} {:>7}", "-", "-", "-"),
    }
}

fn row(name: &str, fake: Figure, moto: Option<Figure>) {
    let ratio = moto
        .filter(|m| m.rps > 0.0)
        .map(|m| format!("{:>7.0}x", fake.rps / m.rps))
        .unwrap_or_else(|| format!("{:>8}", "-"));
    println!("  {name:<44} {}   {}   {ratio}", cells(Some(fake)), cells(moto));
}

fn rss(s: &Server) -> String {
    s.rss_mb().map_or("-".into(), |m| format!("{m:.0} MB"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let exe = match &a.fakeaws {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("fakeaws"),
    };
    let exe = exe.display().to_string();
    let moto_exe = match a.moto.as_deref() {
        Some("none") => None,
        Some(p) => Some(p.to_string()),
        None => which("moto_server"),
    };
    println!(
        "fakeaws-bench: {} keep-alive clients, {} s per figure, median of {} interleaved rounds, {} request variants, a group of {} instances in a target group",
        a.clients, a.seconds, a.rounds, a.variants, a.instances
    );
    // All servers up at once, for the whole run.
    let mut fake = start("fakeaws", &exe, &[], false)?;
    let mut cached = start("fakeaws (manual clock)", &exe, &["--manual-clock".into()], false)?;
    let mut moto = match &moto_exe {
        Some(m) => Some(start("moto_server", m, &[], true)?),
        None => None,
    };
    wait_up(&fake.url, &mut fake.child).await?;
    wait_up(&cached.url, &mut cached.child).await?;
    let launches = (a.churn_rounds + 2) * a.instances;
    fake.tg = build_world(&fake.url, a.instances, false, launches).await?;
    cached.tg = build_world(&cached.url, a.instances, false, launches).await?;
    if let Some(m) = moto.as_mut() {
        wait_up(&m.url, &mut m.child).await?;
        match build_world(&m.url, a.instances, true, launches).await {
            Ok(tg) => m.tg = tg,
            Err(e) => {
                println!("moto_server: building the same world failed ({e:#}): no comparison");
                moto = None;
            }
        }
    }
    if moto.is_none() && moto_exe.is_none() {
        println!("moto_server not found (pip install 'moto[server]'): fakeaws alone");
    }
    let servers: Vec<&Server> = std::iter::once(&fake).chain(moto.as_ref()).collect();
    let rss_fresh: Vec<String> = servers.iter().map(|s| rss(s)).collect();
    let before = Conn::open(&fake.url).await?.answers().await?;
    let fresh = measure(&servers, &a).await?;
    let after_fresh = Conn::open(&fake.url).await?.answers().await?;
    let mut churn_took = Vec::new();
    for s in &servers {
        let t = Instant::now();
        churn(s, a.instances, a.churn_rounds).await?;
        churn_took.push((s.name, t.elapsed().as_secs_f64()));
    }
    let rss_churned: Vec<String> = servers.iter().map(|s| rss(s)).collect();
    let after_churn = Conn::open(&fake.url).await?.answers().await?;
    let churned = measure(&servers, &a).await?;
    let after = Conn::open(&fake.url).await?.answers().await?;
    let hits = (after_fresh.0 - before.0) + (after.0 - after_churn.0);
    let reads = hits + (after_fresh.1 - before.1) + (after.1 - after_churn.1);
    // The answer cache at work: a frozen clock and one body, labelled as such.
    let one = Args {
        variants: 1,
        rounds: 1,
        ..a
    };
    let cache = measure(&[&cached], &one).await?[0];

    let n = a.churn_rounds * a.instances;
    println!(
        "churn: {n} launches and {n} terminations on each: {}",
        churn_took
            .iter()
            .map(|(name, s)| format!("{name} {s:.1} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "\n  {:<44} {:>8} {:>7} {:>7}   {:>8} {:>7} {:>7}   {:>8}",
        "fakeaws (moving clock) | moto_server", "req/s", "p50 ms", "p99 ms", "req/s", "p50 ms", "p99 ms", "ratio"
    );
    let m = |v: &Vec<(Figure, Figure)>, f: fn(&(Figure, Figure)) -> Figure| v.get(1).map(f);
    row("DescribeTargetHealth, fresh world", fresh[0].0, m(&fresh, |p| p.0));
    row(
        "DescribeTargetHealth, churned world",
        churned[0].0,
        m(&churned, |p| p.0),
    );
    row("DescribeAutoScalingGroups, fresh world", fresh[0].1, m(&fresh, |p| p.1));
    row(
        "DescribeAutoScalingGroups, churned world",
        churned[0].1,
        m(&churned, |p| p.1),
    );
    println!(
        "  {:<44} {}   (manual clock, one body: not work, a copy)",
        "DescribeTargetHealth, answer cache (fakeaws)",
        cells(Some(cache.0)),
    );
    println!(
        "  churned/fresh: fakeaws {:.2} / {:.2}{}",
        churned[0].0.rps / fresh[0].0.rps,
        churned[0].1.rps / fresh[0].1.rps,
        match (fresh.get(1), churned.get(1)) {
            (Some(f), Some(c)) => format!(", moto {:.2} / {:.2}", c.0.rps / f.0.rps, c.1.rps / f.1.rps),
            _ => String::new(),
        }
    );
    println!("  fakeaws' answer cache in the rows above: {hits} of {reads} reads answered from it");
    println!(
        "  memory (resident) fresh -> churned: {}",
        servers
            .iter()
            .zip(rss_fresh.iter().zip(&rss_churned))
            .map(|(s, (f, c))| format!("{} {f} -> {c}", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn which(name: &str) -> Option<String> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
    })
}
