//! Delivering CodeDeploy's trigger notifications to an HTTP endpoint on loopback, as SNS would
//! deliver them to a subscribed endpoint: one POST per notification, the SNS envelope
//! (`Type: Notification`, `TopicArn`, `Subject`, `Message`, ...) as the body, in the order they
//! were produced. A failed delivery is retried once, then logged and dropped (SNS's HTTP retry
//! policy, shortened).

use std::sync::{Arc, Weak};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;

use crate::state::Fake;

/// Checks an endpoint: `http://` on a loopback address.
pub fn check_endpoint(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("endpoint {url}: only http:// endpoints are delivered to"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let ip = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    let loopback = ip == "localhost" || ip.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback());
    if !loopback {
        return Err(format!(
            "endpoint {url}: notifications go to loopback addresses only (127.0.0.0/8)"
        ));
    }
    Ok((host.to_string(), path.to_string()))
}

/// Delivers notifications from the `from`-th on, until the fake is dropped or another endpoint
/// replaces this one (`generation` changes).
pub async fn deliver(fake: Weak<Fake>, url: String, mut from: usize, generation: u64) {
    let Ok((host, path)) = check_endpoint(&url) else { return };
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Some(f) = fake.upgrade() else { return };
        if f.notify_generation() != generation {
            return;
        }
        let batch: Vec<String> = {
            let w = f.world_read();
            let all = w.codedeploy_notifications();
            let start = from.min(all.len());
            let out = all
                .iter()
                .skip(start)
                .map(|n| {
                    serde_json::json!({
                        "Type": "Notification",
                        "MessageId": format!("{}-{}", n.deployment_id, n.at_ms),
                        "TopicArn": n.target_arn,
                        "Subject": n.subject,
                        "Message": n.message,
                        "Timestamp": crate::clock::iso(n.at_ms),
                        "SignatureVersion": "1",
                    })
                    .to_string()
                })
                .collect();
            from = all.len();
            out
        };
        drop(f);
        for body in batch {
            for attempt in 0..2 {
                match post(&host, &path, &body).await {
                    Ok(()) => break,
                    Err(e) if attempt == 1 => tracing::warn!(%url, error = %e, "trigger notification not delivered"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }
    }
}

async fn post(host: &str, path: &str, body: &str) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(host).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::post(path)
        .header("host", host)
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(Full::new(Bytes::from(body.to_string())))?;
    let resp = sender.send_request(req).await?;
    anyhow::ensure!(resp.status().is_success(), "endpoint answered {}", resp.status());
    Ok(())
}

/// Starts delivering to `url` (replacing any endpoint before it), from the next notification on.
pub fn start(fake: &Arc<Fake>, url: String) -> Result<(), String> {
    check_endpoint(&url)?;
    let generation = fake.next_notify_generation();
    let from = fake.world_read().codedeploy_notifications().len();
    tokio::spawn(deliver(Arc::downgrade(fake), url, from, generation));
    Ok(())
}
