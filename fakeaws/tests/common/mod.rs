//! What the binary's tests share: a signed Query request over a new connection.

use std::io::{Read, Write};
use std::time::Duration;

/// `method path` with a Query `body` signed with the default key pair, sent to `addr` on a new
/// connection (`connection: close`); the whole response as text (what arrived within 5 s).
pub fn signed_http(addr: &str, method: &str, path: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let signature: String = fakeaws::protocol::sigv4::sign_query(
        fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
        fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
        "us-east-1",
        addr,
        body,
    )
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
