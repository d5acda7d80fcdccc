//! `/metrics` and `/health` over HTTP/1.1: hyper, on a small tokio runtime in a thread of
//! its own, so that probes never wait on the node's loop nor it on them.
//!
//! Each connection is a task: idle or slow clients hold only their own. Request heads must
//! arrive within [`HEAD_TIMEOUT`] and a connection may live [`CONNECTION_TIMEOUT`]; at most
//! [`MAX_CONNECTIONS`] are served at once, and connections beyond that are closed at once.

use super::health::Health;
use super::metrics::Metrics;
use super::BridgeError;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 512;
/// Time allowed for a request head to arrive.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a connection is served.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request head read.
const MAX_HEAD: usize = 16 * 1024;

/// A running HTTP endpoint; stops when dropped.
pub struct HttpServer {
    /// The address it listens on (port resolved).
    pub address: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `address` (`host:port`) and serves `/metrics` (from `metrics`) and `/health`
    /// (judged by `health`, or always 200 when there is none).
    pub fn start(
        address: &str,
        metrics: Metrics,
        health: Option<Health>,
    ) -> Result<HttpServer, BridgeError> {
        let listener =
            std::net::TcpListener::bind(address).map_err(|e| BridgeError::bind(address, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| BridgeError::bind(address, e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| BridgeError::bind(address, e))?
            .to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BridgeError::Runtime)?;
        let (stop, stopped) = oneshot::channel();
        let shared = Arc::new((metrics, health));
        let thread = std::thread::Builder::new()
            .name("luxsim-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = serve(listener, shared) => {}
                        _ = stopped => {}
                    }
                });
            })
            .map_err(BridgeError::Runtime)?;
        Ok(HttpServer {
            address: bound,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<(Metrics, Option<Health>)>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue; // over the limit: the connection is closed unanswered
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(respond(&req, &shared.0, shared.1.as_ref())) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
        });
    }
}

fn respond(
    req: &Request<Incoming>,
    metrics: &Metrics,
    health: Option<&Health>,
) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        let head = req.method() == Method::HEAD;
        let mut r = Response::new(Full::new(if head {
            Bytes::new()
        } else {
            Bytes::from(body)
        }));
        *r.status_mut() = status;
        if let Ok(v) = content_type.parse() {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        r
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET and HEAD\n".into(),
        );
    }
    match req.uri().path() {
        "/metrics" => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        "/health" => {
            let (ok, body) = health.map_or((true, "ok\n".to_string()), Health::check);
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            reply(status, "text/plain; charset=utf-8", body)
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "try /metrics or /health\n".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::atomic::AtomicBool;

    fn get(addr: &str, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn answers_metrics_health_and_404_while_idle_clients_wait() {
        let health = Health {
            connected: [false, true].iter().map(|&f| AtomicBool::new(f)).collect(),
            stakes: vec![1.0; 2],
            me: 0,
            self_sample: false,
            k: 3,
            alpha_confidence: 2,
        };
        let server = HttpServer::start("127.0.0.1:0", Metrics::new(), Some(health)).unwrap();
        // 64 connections that never send a byte (twice the old server's limit).
        let since = std::time::Instant::now();
        let idle: Vec<_> = (0..64)
            .map(|_| std::net::TcpStream::connect(&server.address).unwrap())
            .collect();
        let m = get(&server.address, "/metrics");
        assert!(
            m.starts_with("HTTP/1.1 200 OK\r\n") && m.contains("luxsim_votes_sent_total"),
            "{m}"
        );
        assert!(get(&server.address, "/health").starts_with("HTTP/1.1 503"));
        assert!(get(&server.address, "/nope").starts_with("HTTP/1.1 404"));
        // The idle ones were neither served nor closed meanwhile: they did not block us. (The
        // server closes them once HEAD_TIMEOUT has passed, so only check before that.)
        if since.elapsed() >= HEAD_TIMEOUT {
            return;
        }
        for mut s in idle {
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            let e = s.read(&mut b).expect_err("still open, nothing sent");
            assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        }
    }
}
