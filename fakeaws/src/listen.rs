//! Accepting connections within bounds, so that no client can starve the others.
//!
//! The fake serves HTTP/1.1 on one loopback socket; every open connection holds a file
//! descriptor. Three bounds keep a well-behaved client served whatever else is connected:
//! - a **header-read timeout**: a client that starts a request must send its headers in time;
//! - an **idle timeout**: a keep-alive connection with no request in flight is closed after a while
//!   (clients open a new one, as they do when AWS closes theirs);
//! - a **connection limit** below the process's descriptor limit: when it is reached, the connection
//!   idle the longest is closed to make room (logged), and when every connection is busy the next
//!   one waits for one to end. Descriptors never run out, so `accept` never fails for want of one.
//!
//! Times here are real times: they bound what sockets hold, whatever the simulated clock does.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

/// Descriptors kept out of the connection limit: the listener, the data plane's listeners and
/// connections, files, the runtime's own.
const RESERVED_DESCRIPTORS: u64 = 128;

/// The bounds one server keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may sit with no request in flight.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    /// The process's open-descriptor limit less a reserve (at least 16 connections), a 10 s
    /// header-read timeout and a 60 s idle timeout (an Application Load Balancer's default).
    fn default() -> Limits {
        Limits {
            max_connections: connections_for(descriptor_limit()),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Listens on `addr` with a backlog of 4,096 (the kernel caps it at `net.core.somaxconn`): a burst
/// of new connections waits in the kernel's queue for the accept loop instead of having its SYNs
/// dropped and retried a second later, as with a backlog of 128.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// The soft limit on open descriptors of this process.
pub fn descriptor_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

/// The connection limit that leaves a reserve below `descriptors`.
pub fn connections_for(descriptors: u64) -> usize {
    let n = descriptors.saturating_sub(RESERVED_DESCRIPTORS).clamp(16, 1 << 20);
    usize::try_from(n).unwrap_or(1 << 20)
}

/// One open connection, as the accept loop sees it.
struct Conn {
    /// Requests being answered on it now.
    in_flight: AtomicUsize,
    /// When it last started or finished a request (ms since the server started).
    last_active_ms: AtomicU64,
    /// Told to close (it is the longest idle when room is needed).
    close: Notify,
}

impl Conn {
    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }
}

/// The open connections, by a number of their own.
#[derive(Default)]
struct Open {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Signalled whenever a connection ends.
    ended: Notify,
}

impl Open {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the connection idle the longest to close; false when every one is busy.
    fn close_longest_idle(&self) -> bool {
        let conns = self.lock();
        let victim = conns
            .values()
            .filter(|c| c.is_idle())
            .min_by_key(|c| c.last_active_ms.load(Ordering::Acquire));
        match victim {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; connections still
/// open then are closed once their requests in flight are answered.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    let open = Arc::new(Open::default());
    let started = Instant::now();
    let mut next_id = 0u64;
    let mut evicted = 0u64;
    let mut last_log: Option<Instant> = None;
    let stopping = Arc::new(Notify::new());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Not for want of descriptors (the limit keeps a reserve), but whatever it
                    // is, do not spin on it.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Room for this one: close the longest idle connections, or wait for a busy one to end.
        loop {
            let count = open.lock().len();
            if count < limits.max_connections {
                break;
            }
            let ended = open.ended.notified();
            if open.close_longest_idle() {
                evicted += 1;
                if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::warn!(
                        "{count} connections open, the limit (--max-connections {}, below the descriptor limit {}): closing the longest idle ones ({evicted} so far)",
                        limits.max_connections,
                        descriptor_limit()
                    );
                    last_log = Some(Instant::now());
                }
            }
            ended.await;
        }
        next_id += 1;
        let id = next_id;
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(elapsed_ms(started)),
            close: Notify::new(),
        });
        open.lock().insert(id, conn.clone());
        let open = open.clone();
        let router = router.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            serve_one(stream, peer, router, conn, limits, started, stopping).await;
            open.lock().remove(&id);
            open.ended.notify_waiters();
        });
    }
    stopping.notify_waiters();
    // Give the connections answering a request a moment to finish it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !open.lock().is_empty() && Instant::now() < deadline {
        let ended = open.ended.notified();
        let _ = tokio::time::timeout(Duration::from_millis(100), ended).await;
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Marks a connection busy while a request on it is answered, the response body included.
struct Busy {
    conn: Arc<Conn>,
    started: Instant,
}

impl Busy {
    fn new(conn: Arc<Conn>, started: Instant) -> Busy {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.last_active_ms.store(elapsed_ms(started), Ordering::Release);
        Busy { conn, started }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.conn
            .last_active_ms
            .store(elapsed_ms(self.started), Ordering::Release);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn serve_one(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    conn: Arc<Conn>,
    limits: Limits,
    started: Instant,
    stopping: Arc<Notify>,
) {
    let _ = stream.set_nodelay(true);
    let svc = {
        let conn = conn.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let busy = Busy::new(conn.clone(), started);
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let resp = router.oneshot(req.map(Body::new)).await;
                // Busy until the body is sent: dropped with it.
                resp.map(|r| {
                    r.map(|b| {
                        Body::new(b.map_frame(move |f| {
                            let _ = &busy;
                            f
                        }))
                    })
                })
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let serving = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(serving);
    let idle = limits.idle_timeout.as_millis() as u64;
    loop {
        let since = elapsed_ms(started).saturating_sub(conn.last_active_ms.load(Ordering::Acquire));
        let wait = Duration::from_millis(idle.saturating_sub(since).max(1));
        tokio::select! {
            _ = serving.as_mut() => return,
            () = conn.close.notified() => {
                if conn.is_idle() {
                    return; // dropped: closed at once
                }
                serving.as_mut().graceful_shutdown();
            }
            () = stopping.notified() => serving.as_mut().graceful_shutdown(),
            () = tokio::time::sleep(wait) => {
                let since = elapsed_ms(started).saturating_sub(conn.last_active_ms.load(Ordering::Acquire));
                if conn.is_idle() && since >= idle {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_keeps_a_reserve_below_the_descriptor_limit() {
        assert_eq!(connections_for(1024), 896);
        assert_eq!(connections_for(100), 16);
        assert_eq!(connections_for(u64::MAX), 1 << 20);
    }
}
