//! `fakeaws-bench` (run by `cargo xtask bench`): throughput and latency of the release fakeaws under
//! concurrent keep-alive clients, on a fresh world and on one churned by 10,000 launches and
//! terminations, side by side with `moto_server` when it is installed. A benchmark, not a test:
//! it prints figures and ratios, it asserts nothing.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

#[derive(Parser)]
#[command(name = "cargo xtask bench", bin_name = "cargo xtask bench")]
struct Args {
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Instances in the benchmark group.
    #[arg(long, default_value_t = 100)]
    instances: usize,
    /// Launch-and-terminate rounds for the churned world (each launches and terminates `instances`).
    #[arg(long, default_value_t = 100)]
    churn_rounds: usize,
    /// The fakeaws binary (default: beside this one).
    #[arg(long)]
    fakeaws: Option<std::path::PathBuf>,
    /// moto_server to compare with (default: `moto_server` on PATH, if any); `none` to skip.
    #[arg(long)]
    moto: Option<String>,
}

/// A server under test, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_up(url: &str, child: &mut Child) -> anyhow::Result<()> {
    let addr = url.trim_start_matches("http://").to_string();
    for _ in 0..200 {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before listening ({status})");
        }
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{url} did not come up in 10 s")
}

/// One keep-alive HTTP/1.1 connection (opened again when the server closes it, as moto's does).
struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

async fn connect(host: &str) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(host).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

impl Conn {
    async fn open(url: &str) -> anyhow::Result<Conn> {
        let host = url.trim_start_matches("http://").to_string();
        Ok(Conn {
            sender: connect(&host).await?,
            host,
        })
    }

    /// Waits until the connection can take a request, reconnecting if the server closed it.
    async fn ready(&mut self) -> anyhow::Result<()> {
        if self.sender.is_closed() || self.sender.ready().await.is_err() {
            self.sender = connect(&self.host).await?;
            self.sender.ready().await?;
        }
        Ok(())
    }

    /// POSTs a Query body for `service` (`autoscaling`, `elasticloadbalancing`, `ec2`: the
    /// credential scope, by which moto_server routes), signed with the default key pair; returns
    /// the status and body.
    async fn query(&mut self, service: &str, body: &str) -> anyhow::Result<(u16, String)> {
        self.ready().await?;
        let mut req = hyper::Request::post("/")
            .header("host", &self.host)
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in fakeaws::protocol::sigv4::sign_query_as(
            service,
            fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
            fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
            "us-east-1",
            &self.host,
            body,
        ) {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(Bytes::from(body.to_string())))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).to_string()))
    }

    async fn must(&mut self, service: &str, body: &str) -> anyhow::Result<String> {
        let (status, text) = self.query(service, body).await?;
        if status != 200 {
            bail!("{body}: {status} {}", text.chars().take(300).collect::<String>());
        }
        Ok(text)
    }

    async fn post_json(&mut self, path: &str, json: &str) -> anyhow::Result<()> {
        self.ready().await?;
        let req = hyper::Request::post(path)
            .header("host", &self.host)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(json.to_string())))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let _ = resp.into_body().collect().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status}");
        Ok(())
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// The benchmark world: a target group behind an ALB listener and a group of `n` instances in it.
/// Returns the target group's ARN.
async fn build_world(url: &str, n: usize, moto: bool) -> anyhow::Result<String> {
    let mut c = Conn::open(url).await?;
    let (vpc, subnets) = if moto {
        let v = c
            .must("ec2", "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16")
            .await?;
        let vpc = between(&v, "<vpcId>", "</vpcId>").context("no vpcId")?.to_string();
        let mut subnets = Vec::new();
        for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
            let s = c
                .must(
                    "ec2",
                    &format!("Action=CreateSubnet&Version=2016-11-15&VpcId={vpc}&CidrBlock=10.0.{i}.0%2F24&AvailabilityZone={az}"),
                )
                .await?;
            subnets.push(
                between(&s, "<subnetId>", "</subnetId>")
                    .context("no subnetId")?
                    .to_string(),
            );
        }
        (vpc, subnets)
    } else {
        (
            "vpc-1".to_string(),
            vec!["subnet-a".to_string(), "subnet-b".to_string()],
        )
    };
    let tg = c
        .must(
            "elasticloadbalancing",
            &format!("Action=CreateTargetGroup&Version=2015-12-01&Name=bench&Protocol=HTTP&Port=80&VpcId={vpc}&HealthCheckIntervalSeconds=10&HealthCheckTimeoutSeconds=5&HealthyThresholdCount=2"),
        )
        .await?;
    let tg = between(&tg, "<TargetGroupArn>", "</TargetGroupArn>")
        .context("no TargetGroupArn")?
        .to_string();
    let lb = c
        .must(
            "elasticloadbalancing",
            &format!(
                "Action=CreateLoadBalancer&Version=2015-12-01&Name=bench&Subnets.member.1={}&Subnets.member.2={}",
                subnets[0], subnets[1]
            ),
        )
        .await?;
    let lb = between(&lb, "<LoadBalancerArn>", "</LoadBalancerArn>")
        .context("no LoadBalancerArn")?
        .to_string();
    c.must(
        "elasticloadbalancing",
        &format!("Action=CreateListener&Version=2015-12-01&LoadBalancerArn={lb}&Protocol=HTTP&Port=80&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={tg}"),
    )
    .await?;
    if moto {
        c.must(
            "autoscaling",
            "Action=CreateLaunchConfiguration&Version=2011-01-01&LaunchConfigurationName=bench&ImageId=ami-12c6146b&InstanceType=t2.micro",
        )
        .await?;
    }
    c.must(
        "autoscaling",
        &format!(
            "Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=bench&LaunchConfigurationName=bench&MinSize=0&MaxSize={}&DesiredCapacity={n}&VPCZoneIdentifier={}%2C{}&TargetGroupARNs.member.1={tg}",
            2 * n,
            subnets[0],
            subnets[1]
        ),
    )
    .await?;
    if !moto {
        c.post_json("/_fakeaws/clock/advance", r#"{"seconds": 120}"#).await?;
    }
    Ok(tg)
}

/// 10,000 launches and terminations (by default): the group doubles, then halves, on the clock.
async fn churn(url: &str, n: usize, rounds: usize) -> anyhow::Result<()> {
    let mut c = Conn::open(url).await?;
    for _ in 0..rounds {
        for d in [2 * n, n] {
            c.must(
                "autoscaling",
                &format!("Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=bench&DesiredCapacity={d}"),
            )
            .await?;
            c.post_json("/_fakeaws/clock/advance", r#"{"seconds": 400}"#).await?;
        }
    }
    c.post_json("/_fakeaws/clock/advance", r#"{"seconds": 3700}"#).await?;
    Ok(())
}

/// Requests per second, p50 and p99 (ms) of `body` from `clients` keep-alive clients.
async fn load(
    url: &str,
    service: &'static str,
    body: String,
    clients: usize,
    secs: f64,
) -> anyhow::Result<(f64, f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let url = url.to_string();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&url).await?;
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let (status, text) = c.query(service, &body).await?;
                if status != 200 {
                    bail!("{status}: {}", text.chars().take(200).collect::<String>());
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
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
    Ok((all.len() as f64 / elapsed, pct(0.5), pct(0.99)))
}

struct Figures {
    health: (f64, f64, f64),
    groups: (f64, f64, f64),
}

async fn measure(url: &str, tg: &str, a: &Args) -> anyhow::Result<Figures> {
    let health = load(
        url,
        "elasticloadbalancing",
        format!("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn={tg}"),
        a.clients,
        a.seconds,
    )
    .await?;
    let groups = load(
        url,
        "autoscaling",
        "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=bench".to_string(),
        a.clients,
        a.seconds,
    )
    .await?;
    Ok(Figures { health, groups })
}

fn row(name: &str, f: (f64, f64, f64)) {
    println!(
        "  {name:<46} {:>10.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        f.0, f.1, f.2
    );
}

fn start_fakeaws(a: &Args) -> anyhow::Result<Server> {
    let exe = match &a.fakeaws {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("fakeaws"),
    };
    let port = free_port()?;
    let child = Command::new(&exe)
        .args(["--bind", &format!("127.0.0.1:{port}"), "--manual-clock"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    Ok(Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    println!(
        "fakeaws-bench: {} keep-alive clients, {} s per figure, a group of {} instances in a target group",
        a.clients, a.seconds, a.instances
    );
    let mut fake = start_fakeaws(&a)?;
    wait_up(&fake.url, &mut fake.child).await?;
    let tg = build_world(&fake.url, a.instances, false).await?;
    let fresh = measure(&fake.url, &tg, &a).await?;
    let t = Instant::now();
    churn(&fake.url, a.instances, a.churn_rounds).await?;
    println!(
        "churned: {} launches and {} terminations in {:.1} s",
        a.churn_rounds * a.instances,
        a.churn_rounds * a.instances,
        t.elapsed().as_secs_f64()
    );
    let churned = measure(&fake.url, &tg, &a).await?;
    println!("\nfakeaws (release)");
    row("DescribeTargetHealth, fresh world", fresh.health);
    row("DescribeTargetHealth, churned world", churned.health);
    row("DescribeAutoScalingGroups, fresh world", fresh.groups);
    row("DescribeAutoScalingGroups, churned world", churned.groups);
    println!(
        "  churned/fresh: DescribeTargetHealth {:.2}, DescribeAutoScalingGroups {:.2}",
        churned.health.0 / fresh.health.0,
        churned.groups.0 / fresh.groups.0
    );
    drop(fake);

    let moto = match a.moto.as_deref() {
        Some("none") => None,
        Some(p) => Some(p.to_string()),
        None => which("moto_server"),
    };
    let Some(moto) = moto else {
        println!("\nmoto_server not found (pip install 'moto[server]'): no comparison");
        return Ok(());
    };
    let port = free_port()?;
    let child = Command::new(&moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {moto}"))?;
    let mut m = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_up(&m.url, &mut m.child).await?;
    let tg = match build_world(&m.url, a.instances, true).await {
        Ok(tg) => tg,
        Err(e) => {
            println!("\nmoto_server: building the same world failed ({e:#}): no comparison");
            return Ok(());
        }
    };
    let moto_fresh = measure(&m.url, &tg, &a).await?;
    println!("\nmoto_server ({moto})");
    row("DescribeTargetHealth, fresh world", moto_fresh.health);
    row("DescribeAutoScalingGroups, fresh world", moto_fresh.groups);
    println!(
        "  fakeaws/moto (fresh): DescribeTargetHealth {:.1}x, DescribeAutoScalingGroups {:.1}x; churned fakeaws/fresh moto: {:.1}x, {:.1}x",
        fresh.health.0 / moto_fresh.health.0,
        fresh.groups.0 / moto_fresh.groups.0,
        churned.health.0 / moto_fresh.health.0,
        churned.groups.0 / moto_fresh.groups.0
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
