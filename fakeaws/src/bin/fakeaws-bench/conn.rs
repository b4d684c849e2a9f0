//! The bench's client side: keep-alive HTTP/1.1 connections sending pre-signed Query requests.

use anyhow::bail;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// One keep-alive HTTP/1.1 connection (opened again when the server closes it, as moto's does).
pub struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

async fn connect(host: &str) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(host).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A Query request ready to send: its body and signed headers (signed once: a signature holds
/// for 15 minutes, so the clients spend their time sending, not signing).
#[derive(Clone)]
pub struct Signed {
    body: String,
    headers: Vec<(String, String)>,
}

impl Signed {
    /// `body` for `service` (`autoscaling`, `elasticloadbalancing`, `ec2`: the credential scope,
    /// by which moto_server routes), signed with the default key pair for `host`.
    pub fn new(host: &str, service: &str, body: &str) -> Signed {
        let headers = fakeaws::protocol::sigv4::sign_query_as(
            service,
            fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
            fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
            "us-east-1",
            host,
            body,
        );
        Signed {
            body: body.to_string(),
            headers,
        }
    }
}

impl Conn {
    pub async fn open(url: &str) -> anyhow::Result<Conn> {
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

    pub async fn send(&mut self, s: &Signed) -> anyhow::Result<(u16, String)> {
        self.ready().await?;
        let mut req = hyper::Request::post("/")
            .header("host", &self.host)
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in &s.headers {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(Bytes::from(s.body.clone())))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).to_string()))
    }

    pub async fn must(&mut self, service: &str, body: &str) -> anyhow::Result<String> {
        let signed = Signed::new(&self.host, service, body);
        let (status, text) = self.send(&signed).await?;
        if status != 200 {
            bail!("{body}: {status} {}", text.chars().take(300).collect::<String>());
        }
        Ok(text)
    }

    /// The fake's answer-cache counts: (hits, misses).
    pub async fn answers(&mut self) -> anyhow::Result<(u64, u64)> {
        self.ready().await?;
        let req = hyper::Request::get("/_fakeaws/answers")
            .header("host", &self.host)
            .body(Full::new(Bytes::new()))?;
        let resp = self.sender.send_request(req).await?;
        let bytes = resp.into_body().collect().await?.to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        Ok((v["hits"].as_u64().unwrap_or(0), v["misses"].as_u64().unwrap_or(0)))
    }

    pub async fn post_json(&mut self, path: &str, json: &str) -> anyhow::Result<()> {
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

pub fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}
