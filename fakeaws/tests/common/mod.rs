//! What the binary's tests share: the binary started with its log kept, and a signed Query request
//! over a new connection. Each test file uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_fakeaws");

/// The binary, killed when dropped: its URL, its address and its log lines so far.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub addr: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary on a free loopback port with a manual clock and no data plane, then `args` (its log
/// kept); under `ulimit -n N` when `nofile` says so.
pub fn start_logged(nofile: Option<u32>, args: &[&str]) -> Server {
    let limit = nofile.map(|n| format!("ulimit -n {n} && ")).unwrap_or_default();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{limit}exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(["--bind", "127.0.0.1:0", "--manual-clock", "--no-data-plane"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let log = Arc::new(Mutex::new(Vec::new()));
    let url = loop {
        let line = lines.next().expect("fakeaws printed its address").expect("line");
        log.lock().expect("log").push(line.clone());
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split(' ').next().unwrap_or_default().to_string();
        }
    };
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().expect("log").push(line);
        }
    });
    let addr = url.trim_start_matches("http://").to_string();
    Server { child, url, addr, log }
}

/// `method path` with a Query `body` signed with the default key pair, sent to `addr` on a new
/// connection (`connection: close`); the whole response as text (what arrived within 5 s).
pub fn signed_http(addr: &str, method: &str, path: &str, body: &str) -> String {
    signed_http_as(
        fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
        fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
        addr,
        method,
        path,
        body,
    )
}

/// [`signed_http`] signed with another key pair.
pub fn signed_http_as(key: &str, secret: &str, addr: &str, method: &str, path: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let signature: String = fakeaws::protocol::sigv4::sign_query(key, secret, "us-east-1", addr, body)
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\n{signature}content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
