//! Time for the hooks: the wall clock in production; in rehearsals, fakeaws' simulated clock.
//!
//! When `ELB_HOOKS_CLOCK_URL` is set (the scenario runner and tests set it to the fake's admin
//! API), every wait is a request to `POST {url}/clock/sleep`, so hours of draining pass in
//! milliseconds and the simulation stays deterministic. This is the hooks' only non-AWS endpoint.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A clock that can sleep and tell how long the hook has been running.
#[derive(Debug, Clone)]
pub enum Clock {
    /// Real time.
    System { start: Instant },
    /// fakeaws' simulated clock.
    Remote {
        url: String,
        who: String,
        start: Instant,
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
                start: Instant::now(),
                slept: Arc::default(),
            },
            _ => Clock::System { start: Instant::now() },
        }
    }

    /// Time since the hook started (simulated sleeps included).
    pub fn elapsed(&self) -> Duration {
        match self {
            Clock::System { start } => start.elapsed(),
            Clock::Remote { start, slept, .. } => start.elapsed() + *slept.lock().unwrap_or_else(|e| e.into_inner()),
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
    let rest = url
        .strip_prefix("http://")
        .context("ELB_HOOKS_CLOCK_URL must start with http://")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, String::new()));
    let body = serde_json::json!({ "seconds": d.as_secs_f64(), "who": who }).to_string();
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let req = format!(
        "POST {}/clock/sleep HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        path.trim_end_matches('/'),
        body.len()
    );
    stream.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp).await?;
    let text = String::from_utf8_lossy(&resp);
    if !text.starts_with("HTTP/1.1 200") {
        anyhow::bail!("the clock answered: {}", text.lines().next().unwrap_or_default());
    }
    Ok(())
}
