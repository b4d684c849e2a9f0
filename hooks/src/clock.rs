//! Time for the hooks: the wall clock in production; in rehearsals, fakeaws' simulated clock.
//!
//! When `ELB_HOOKS_CLOCK_URL` is set (the scenario runner and tests set it to the fake's admin
//! API), every wait is a request to `POST {url}/clock/sleep`, so hours of draining pass in
//! milliseconds and the simulation stays deterministic. This is the hooks' only non-AWS endpoint.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A clock that can sleep and tell how long the hook has been running.
#[derive(Debug, Clone)]
pub enum Clock {
    /// Real time.
    System { start: Instant },
    /// fakeaws' simulated clock.
    Remote {
        url: String,
        who: String,
        slept: Arc<Mutex<Duration>>,
    },
}

impl Clock {
    /// The wall clock, or the remote clock named by `ELB_HOOKS_CLOCK_URL`. `who` names this
    /// process's sleeps on the remote clock; a driver may set `ELB_HOOKS_CLOCK_WHO` to a token of
    /// its own, so it can tell this run's sleeps from those of a process it killed.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>, who: &str) -> Clock {
        match env("ELB_HOOKS_CLOCK_URL") {
            Some(url) if !url.is_empty() => Clock::Remote {
                url,
                who: env("ELB_HOOKS_CLOCK_WHO").unwrap_or_else(|| who.to_string()),
                slept: Arc::default(),
            },
            _ => Clock::System { start: Instant::now() },
        }
    }

    /// Time since the hook started (on the remote clock: the simulated time it slept).
    pub fn elapsed(&self) -> Duration {
        match self {
            Clock::System { start } => start.elapsed(),
            // Simulated time only: real milliseconds spent on requests would make a timeout near its
            // limit depend on the machine's load.
            Clock::Remote { slept, .. } => *slept.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Sleeps for `d`.
    pub async fn sleep(&self, d: Duration) -> anyhow::Result<()> {
        match self {
            Clock::System { .. } => {
                tokio::time::sleep(d).await;
                Ok(())
            }
            Clock::Remote { url, who, slept, .. } => {
                remote_sleep(url, who, d)
                    .await
                    .with_context(|| format!("sleeping on the clock at {url}"))?;
                *slept.lock().unwrap_or_else(|e| e.into_inner()) += d;
                Ok(())
            }
        }
    }
}

async fn remote_sleep(url: &str, who: &str, d: Duration) -> anyhow::Result<()> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let uri: hyper::Uri = format!("{}/clock/sleep", url.trim_end_matches('/'))
        .parse()
        .context("ELB_HOOKS_CLOCK_URL is not a URL")?;
    anyhow::ensure!(
        uri.scheme_str() == Some("http"),
        "ELB_HOOKS_CLOCK_URL must start with http://"
    );
    let authority = uri.authority().context("ELB_HOOKS_CLOCK_URL has no host")?.clone();
    let stream = tokio::net::TcpStream::connect((authority.host(), authority.port_u16().unwrap_or(80))).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    let conn = tokio::spawn(conn);
    let body = serde_json::json!({ "seconds": d.as_secs_f64(), "who": who }).to_string();
    let req = hyper::Request::post(uri.path())
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let resp = sender.send_request(req).await?;
    conn.abort();
    anyhow::ensure!(resp.status().is_success(), "the clock answered {}", resp.status());
    Ok(())
}
