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

    /// The time now, in milliseconds since the Unix epoch (on the remote clock: its simulated time,
    /// the time the fake stamps its scaling activities with).
    pub async fn now_ms(&self) -> anyhow::Result<i64> {
        match self {
            Clock::System { .. } => Ok(std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_millis() as i64),
            Clock::Remote { url, .. } => {
                let head = remote(url, "GET", "/clock", String::new())
                    .await
                    .with_context(|| format!("reading the clock at {url}"))?;
                head.get("x-fakeaws-now-ms")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .context("the clock's answer has no x-fakeaws-now-ms header")
            }
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
    let body = serde_json::json!({ "seconds": d.as_secs_f64(), "who": who }).to_string();
    remote(url, "POST", "/clock/sleep", body).await.map(drop)
}

/// One request to the remote clock at `url` (its admin API), the answer's headers (what the
/// hooks read of it is there: the simulated time).
async fn remote(url: &str, method: &str, path: &str, body: String) -> anyhow::Result<hyper::HeaderMap> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let uri: hyper::Uri = format!("{}{path}", url.trim_end_matches('/'))
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
    let req = hyper::Request::builder()
        .method(method)
        .uri(uri.path())
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let resp = sender.send_request(req).await?;
    conn.abort();
    anyhow::ensure!(resp.status().is_success(), "the clock answered {}", resp.status());
    Ok(resp.headers().clone())
}

/// The duration GNU `sleep` takes from its arguments: each a non-negative number with an
/// optional unit (`s`, `m`, `h`, `d`), or `infinity`, added up; the error names what is wrong
/// as `sleep` does.
pub fn parse_sleep(args: &[String]) -> Result<Duration, String> {
    if args.is_empty() {
        return Err("missing operand".into());
    }
    let mut total = 0.0f64;
    for a in args {
        let (number, unit) = match a.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() && a != "infinity" => (&a[..i], c),
            _ => (a.as_str(), 's'),
        };
        let scale = match unit {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86400.0,
            _ => return Err(format!("invalid time interval '{a}'")),
        };
        let n: f64 = match number {
            "infinity" => f64::INFINITY,
            n => n.parse().map_err(|_| format!("invalid time interval '{a}'"))?,
        };
        if n.is_nan() || n < 0.0 {
            return Err(format!("invalid time interval '{a}'"));
        }
        total += n * scale;
    }
    // "infinity" and the like: as long as a Duration holds, which is longer than any rehearsal.
    Ok(Duration::try_from_secs_f64(total).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod sleep_tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Duration, String> {
        parse_sleep(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn sleep_arguments_are_read_as_gnu_sleep_reads_them() {
        assert_eq!(p(&["40"]), Ok(Duration::from_secs(40)));
        assert_eq!(p(&["1m", "30s"]), Ok(Duration::from_secs(90)));
        assert_eq!(p(&["0.5"]), Ok(Duration::from_millis(500)));
        assert_eq!(p(&["2h"]), Ok(Duration::from_secs(7200)));
        assert_eq!(p(&["infinity"]), Ok(Duration::MAX));
        assert_eq!(p(&[]), Err("missing operand".into()));
        assert_eq!(p(&["ten"]), Err("invalid time interval 'ten'".into()));
        assert_eq!(p(&["5x"]), Err("invalid time interval '5x'".into()));
        assert_eq!(p(&["-1"]), Err("invalid time interval '-1'".into()));
    }
}
