//! Probes: with `[traffic] probe = true` the runner also turns on fakeaws' data plane and, at
//! every step of simulated time, sends one real HTTP request per entrance and request shape
//! through the listener's loopback port. Each answer must be one the traffic model allows at that
//! instant (same status; for a 200, one of the targets the model forwards to), and no connection
//! may be refused. The pages served are recorded with when each was first and last seen, so a
//! report shows the old revision's page giving way to the new one.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

use anyhow::anyhow;
use fakeaws::model::Request;
use fakeaws::rehearsal::{Routed, TrafficView};

use super::Sim;
use crate::report::ProbeReport;

/// What the probes of one entrance saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct ProbeTally {
    sent: u64,
    agreed: u64,
    refused: u64,
    disagreements: Vec<String>,
    /// Page -> (first, last) simulated second it was seen.
    pages: BTreeMap<String, (i64, i64)>,
}

impl ProbeTally {
    /// Whether every probe was answered as the model said.
    pub(crate) fn clean(&self) -> bool {
        self.refused == 0 && self.agreed == self.sent
    }

    pub(crate) fn report(&self) -> ProbeReport {
        ProbeReport {
            sent: self.sent,
            agreed_with_model: self.agreed,
            refused_connections: self.refused,
            pages: self
                .pages
                .iter()
                .map(|(p, (a, b))| (p.clone(), format!("t+{a}s..t+{b}s")))
                .collect(),
            disagreements: self.disagreements.clone(),
        }
    }
}

/// One real answer.
struct Answer {
    status: u16,
    instance: Option<String>,
    body: String,
}

fn send(url: &str, req: &Request) -> std::io::Result<Answer> {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let query: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let target = if query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, query.join("&"))
    };
    let mut head = format!("GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", req.host);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::ConnectionReset, "closed without an answer"))?;
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let instance = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("x-fakeaws-instance"))
        .map(|(_, v)| v.trim().to_string());
    Ok(Answer {
        status,
        instance,
        body: body.to_string(),
    })
}

/// The text of a page, without tags, on one line.
fn page_text(status: u16, body: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let text: String = text.chars().take(60).collect();
    format!("{status} {text}")
}

impl Sim {
    /// Turns the data plane on (once the fleet exists) when the scenario asks for probes.
    pub(super) fn start_probes(&mut self) -> anyhow::Result<()> {
        if !self.sc.traffic.probe {
            return Ok(());
        }
        self.fake()
            .enable_data_plane(0)
            .map_err(|e| anyhow!("starting fakeaws' data plane: {e}"))?;
        Ok(())
    }

    /// Sends the probes of one step and checks them against the model's view.
    pub(super) fn probe(&mut self, view: &TrafficView) {
        let Some(dp) = self.fake().data_plane() else { return };
        let urls: BTreeMap<String, String> = dp.endpoints().into_iter().map(|e| (e.entrance, e.url)).collect();
        let second = (self.now() - self.start_ms) / 1000;
        for ev in &view.entrances {
            let entrance = &ev.label;
            let Some(url) = urls.get(entrance) else { continue };
            for (req, stream) in self.traffic.requests.iter().zip(&ev.streams) {
                let candidates = &stream.candidates;
                let got = send(url, req);
                let tally = self.traffic.probes.entry(entrance.clone()).or_default();
                tally.sent += 1;
                let answer = match got {
                    Ok(a) => a,
                    Err(e) => {
                        let nlb_refusal = candidates.iter().any(|c| matches!(c, Routed::ConnectionFailed { .. }));
                        if nlb_refusal {
                            tally.agreed += 1;
                        } else {
                            tally.refused += 1;
                            if tally.disagreements.len() < 5 {
                                tally.disagreements.push(format!("t+{second}s {}: {e}", req.path));
                            }
                        }
                        continue;
                    }
                };
                let allowed = candidates.iter().any(|c| match c {
                    Routed::Served { instance, .. } => {
                        answer.status != 502 && answer.instance.as_deref() == Some(instance.as_str())
                    }
                    other => other.status() == Some(answer.status) && answer.instance.is_none(),
                });
                if allowed {
                    tally.agreed += 1;
                } else if tally.disagreements.len() < 5 {
                    tally.disagreements.push(format!(
                        "t+{second}s {}: got {} from {:?}, model allowed {candidates:?}",
                        req.path, answer.status, answer.instance
                    ));
                }
                let page = page_text(answer.status, &answer.body);
                let seen = tally.pages.entry(page).or_insert((second, second));
                seen.1 = second;
            }
        }
    }
}
