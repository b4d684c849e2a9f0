//! The `fakeaws` binary cannot be starved (issue 31): idle connections beyond its descriptor limit
//! do not keep a signed client out, idle and slow connections are closed on their timeouts, and a
//! refused body closes the connection with `Connection: close`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

mod common;

use common::Server;

/// The binary with `args`.
fn start(args: &[&str]) -> Server {
    common::start_logged(None, args)
}

/// A signed DescribeAutoScalingGroups on a new connection; the response's status line.
fn signed_call(addr: &str) -> String {
    let out = common::signed_http(addr, "POST", "/", "Action=DescribeAutoScalingGroups&Version=2011-01-01");
    out.lines().next().unwrap_or_default().to_string()
}

/// Whether the server closed `s` (end of stream or reset) within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

/// This process's descriptor limit, its soft limit raised to the hard one first (room for the idle
/// clients).
fn raise_own_descriptor_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    if l.current != l.maximum {
        l.current = l.maximum;
        let _ = setrlimit(Resource::Nofile, l);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// The case: the server under `ulimit -n 1024`, twice as many idle connections as it has
/// descriptors. On a machine whose hard limit leaves this process fewer than 2,200 descriptors the
/// same is run at a smaller scale (the server's limit half of what the clients can hold).
#[test]
fn two_thousand_idle_connections_under_1024_descriptors_do_not_starve_a_signed_client() {
    let own = raise_own_descriptor_limit();
    let server_nofile: u32 = if own >= 2_200 {
        1_024
    } else {
        u32::try_from((own.saturating_sub(100) / 2).clamp(200, 1_024)).unwrap_or(200)
    };
    let server = common::start_logged(Some(server_nofile), &[]);
    let limit = fakeaws::listen::connections_for(u64::from(server_nofile));
    let announced = server.log.lock().expect("log").join("\n");
    assert!(announced.contains(&format!("up to {limit} connections")), "{announced}");
    let mut idle = Vec::new();
    for i in 0..2 * server_nofile {
        match TcpStream::connect(&server.addr) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("idle connection {i} refused: {e}"),
        }
    }
    let started = Instant::now();
    let status = signed_call(&server.addr);
    let took = started.elapsed();
    assert!(status.starts_with("HTTP/1.1 200"), "{status:?}");
    assert!(took < Duration::from_secs(1), "served after {took:?}");
    // The oldest idle ones made room; the server never ran out of descriptors.
    assert!(
        closed_within(&mut idle[0], Duration::from_secs(2)),
        "the longest idle connection is still open"
    );
    let log = server.log.lock().expect("log").join("\n");
    assert!(log.contains("closing the longest idle ones"), "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
    assert!(server.url.starts_with("http://127.0.0.1:"));
}

#[test]
fn idle_and_slow_connections_are_closed_on_their_timeouts() {
    let server = start(&["--idle-timeout", "1", "--header-read-timeout", "1"]);
    // Nothing sent at all: idle.
    let mut idle = TcpStream::connect(&server.addr).expect("connect");
    // Half a request head, then nothing: the header-read timeout.
    let mut slow = TcpStream::connect(&server.addr).expect("connect");
    slow.write_all(b"POST / HTTP/1.1\r\nhost: x\r\n").expect("write");
    let started = Instant::now();
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
    assert!(closed_within(&mut slow, Duration::from_secs(5)));
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    // A busy server still answers new clients.
    assert!(signed_call(&server.addr).starts_with("HTTP/1.1 200"));
}

#[test]
fn a_refused_body_closes_the_connection_and_says_so() {
    let server = start(&[]);
    let mut s = TcpStream::connect(&server.addr).expect("connect");
    let len = 5 * 1024 * 1024;
    write!(
        s,
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {len}\r\n\r\n",
        server.addr
    )
    .expect("head");
    let mut writer = s.try_clone().expect("clone");
    // The body is written on its own thread: the server stops reading it part way.
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..(len / chunk.len()) {
            if writer.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 400"), "{text}");
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    assert!(text.contains("the request body is too large"), "{text}");
    let _ = sender.join();
}
