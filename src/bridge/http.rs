//! `/metrics`, `/health` and, on ledger nodes, `POST /propose` over HTTP/1.1: hyper, on a small tokio runtime in a thread of
//! its own, so that probes never wait on the node's loop nor it on them.
//!
//! Each connection is a task: idle or slow clients hold only their own. Request heads must
//! arrive within [`HEAD_TIMEOUT`] and a connection may live [`CONNECTION_TIMEOUT`]; at most
//! [`MAX_CONNECTIONS`] are served at once, and connections beyond that are closed at once.

use super::health::Health;
use super::metrics::Metrics;
use super::BridgeError;
use crate::node::ledger::{Command, LedgerKind};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
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

/// Where `POST /propose` hands a ledger node its proposals.
pub struct Submit {
    /// The node loop's queue (bounded: a full queue is a 503).
    pub queue: SyncSender<Command>,
    /// Chain or dag: whether `txs` are wanted.
    pub kind: LedgerKind,
    /// This node's id, part of the ids it picks.
    pub node: u32,
}

/// The first id `POST /propose` picks for node `node`: ids from here on are the node's own,
/// far above any slot's.
pub fn submitted_ids(node: u32) -> u64 {
    (1 << 48) | (u64::from(node) << 24)
}

/// A running HTTP endpoint; stops when dropped.
pub struct HttpServer {
    /// The address it listens on (port resolved).
    pub address: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `address` (`host:port`) and serves `/metrics` (from `metrics`), `/health`
    /// (judged by `health`) and `POST /propose` (into `submit`), each only when given (else
    /// 404).
    pub fn start(
        address: &str,
        metrics: Option<Metrics>,
        health: Option<Health>,
        submit: Option<Submit>,
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
        let next = submit.as_ref().map_or(0, |s| submitted_ids(s.node));
        let shared = Arc::new(Shared {
            metrics,
            health,
            submit,
            next: AtomicU64::new(next),
        });
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

/// The node's HTTP endpoints: `/metrics` (and `POST /propose`) on `metrics_port`, `/health`
/// on `health_port`, or beside `/metrics` when `health_port` is absent or the same port.
#[derive(Default)]
pub struct Endpoints {
    /// The endpoint on `metrics_port`.
    pub metrics: Option<HttpServer>,
    /// The endpoint of `/health` alone, on `health_port`.
    pub health: Option<HttpServer>,
}

impl Endpoints {
    /// Starts the endpoints `metrics_port` and `health_port` ask for, on `host`.
    pub fn start(
        host: &str,
        metrics_port: Option<u16>,
        health_port: Option<u16>,
        metrics: &Metrics,
        health: &Health,
        submit: Option<Submit>,
    ) -> Result<Endpoints, BridgeError> {
        // One port for both: /health beside /metrics, as without a health_port.
        let apart = health_port.filter(|&h| metrics_port.is_none_or(|m| h != m || h == 0));
        let metrics = match metrics_port {
            Some(port) => Some(HttpServer::start(
                &format!("{host}:{port}"),
                Some(metrics.clone()),
                apart.is_none().then(|| health.clone()),
                submit,
            )?),
            None => None,
        };
        let health = match apart {
            Some(port) => Some(HttpServer::start(
                &format!("{host}:{port}"),
                None,
                Some(health.clone()),
                None,
            )?),
            None => None,
        };
        Ok(Endpoints { metrics, health })
    }

    /// The address `/health` is served on, if any.
    pub fn health_address(&self) -> Option<&str> {
        self.health
            .as_ref()
            .or(self.metrics.as_ref())
            .map(|h| h.address.as_str())
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

/// What every connection's task reads.
struct Shared {
    metrics: Option<Metrics>,
    health: Option<Health>,
    submit: Option<Submit>,
    /// The id the next proposal without one gets.
    next: AtomicU64,
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
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
                async move { Ok::<_, Infallible>(respond(&req, &shared)) }
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

fn respond(req: &Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let (metrics, health) = (shared.metrics.as_ref(), shared.health.as_ref());
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
    if req.uri().path() == "/propose" {
        let (status, body) = propose(req, shared);
        return reply(status, "text/plain; charset=utf-8", body);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET and HEAD\n".into(),
        );
    }
    match (req.uri().path(), metrics, health) {
        ("/metrics", Some(metrics), _) => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        ("/health", _, Some(health)) => {
            let (ok, body) = health.check();
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            reply(status, "text/plain; charset=utf-8", body)
        }
        _ => {
            let served: Vec<&str> = [
                metrics.map(|_| "/metrics"),
                health.map(|_| "/health"),
                shared.submit.as_ref().map(|_| "POST /propose"),
            ]
            .into_iter()
            .flatten()
            .collect();
            reply(
                StatusCode::NOT_FOUND,
                "text/plain",
                format!("not here; this port serves {}\n", served.join(", ")),
            )
        }
    }
}

/// `POST /propose?id=ID&txs=TX:KEY,TX:KEY&anchored=true`: queues a proposal (every
/// parameter optional; dag vertices need `txs`).
fn propose(req: &Request<Incoming>, shared: &Shared) -> (StatusCode, String) {
    let Some(submit) = &shared.submit else {
        return (
            StatusCode::NOT_FOUND,
            "no /propose here: it is for ledger nodes (chain or dag), on their metrics_port\n"
                .into(),
        );
    };
    if req.method() != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "POST /propose only\n".into(),
        );
    }
    let command = match parse_proposal(req.uri().query().unwrap_or(""), submit.kind) {
        Ok(p) => Command::Propose {
            id: p
                .id
                .unwrap_or_else(|| shared.next.fetch_add(1, Ordering::Relaxed)),
            txs: p.txs,
            anchored: p.anchored,
        },
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let Command::Propose { id, .. } = command;
    match submit.queue.try_send(command) {
        Ok(()) => (StatusCode::ACCEPTED, format!("queued {id}\n")),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many proposals waiting; retry\n".into(),
        ),
    }
}

/// A proposal as `POST /propose` asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The item's id; `None`: the node picks one of its own.
    pub id: Option<u64>,
    /// Dag: (transaction, conflict key) pairs.
    pub txs: Vec<(u64, u64)>,
    /// Dag: name only the last accepted vertex as parent.
    pub anchored: bool,
}

/// The proposal of a `/propose` query string, or what is wrong with it.
pub fn parse_proposal(query: &str, kind: LedgerKind) -> Result<Proposal, String> {
    let (mut id, mut txs, mut anchored) = (None, Vec::new(), false);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "id" => match value.parse::<u64>() {
                Ok(0) | Err(_) => {
                    return Err(format!("id={value}: an id is a number from 1 to 2^64-1"))
                }
                Ok(v) => id = Some(v),
            },
            "txs" => {
                for t in value.split(',').filter(|t| !t.is_empty()) {
                    let (tx, key) = t.split_once(':').unwrap_or((t, t));
                    match (tx.parse::<u64>(), key.parse::<u64>()) {
                        (Ok(tx), Ok(key)) => txs.push((tx, key)),
                        _ => return Err(format!("txs: {t:?} is not TX or TX:KEY (numbers)")),
                    }
                }
            }
            "anchored" => anchored = matches!(value, "" | "1" | "true"),
            other => {
                return Err(format!(
                    "unknown parameter {other:?}: use id, txs, anchored"
                ))
            }
        }
    }
    match kind {
        LedgerKind::Chain if !txs.is_empty() || anchored => {
            Err("a chain block carries no txs and is not anchored".into())
        }
        LedgerKind::Dag if txs.is_empty() => Err("a vertex needs txs=TX:KEY,...".into()),
        LedgerKind::Dag if txs.len() > crate::wire::MAX_VERTEX_TXS => Err(format!(
            "{} txs: a vertex carries at most {}",
            txs.len(),
            crate::wire::MAX_VERTEX_TXS
        )),
        _ => Ok(Proposal { id, txs, anchored }),
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
    fn a_proposal_query_parses_or_says_what_is_wrong() {
        let p = parse_proposal("id=5&txs=1:9,2&anchored=true", LedgerKind::Dag).unwrap();
        assert_eq!(
            p,
            Proposal {
                id: Some(5),
                txs: vec![(1, 9), (2, 2)],
                anchored: true
            }
        );
        assert_eq!(parse_proposal("", LedgerKind::Chain).unwrap().id, None);
        let e = |q: &str, k| parse_proposal(q, k).unwrap_err();
        assert!(e("id=x", LedgerKind::Chain).contains("id=x"));
        assert!(e("txs=1", LedgerKind::Chain).contains("no txs"));
        assert!(e("id=3", LedgerKind::Dag).contains("needs txs"));
        assert!(e("txs=a:b", LedgerKind::Dag).contains("\"a:b\""));
        assert!(e("colour=red", LedgerKind::Dag).contains("unknown parameter"));
    }

    #[test]
    fn answers_metrics_health_and_404_while_idle_clients_wait() {
        let health = Health {
            connected: [false, true].iter().map(|&f| AtomicBool::new(f)).collect(),
            stakes: vec![1.0; 2],
            me: 0,
            self_sample: false,
            sampling: crate::node::Sampling::Validators,
            stake_unit: crate::node::STAKE_UNIT,
            k: 3,
            alpha_confidence: 2,
        };
        let server =
            HttpServer::start("127.0.0.1:0", Some(Metrics::new()), Some(health), None).unwrap();
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

    #[test]
    fn health_has_a_port_of_its_own_unless_it_is_metrics_port() {
        let health = Health {
            connected: [false, true].iter().map(|&f| AtomicBool::new(f)).collect(),
            stakes: vec![1.0; 2],
            me: 0,
            self_sample: false,
            sampling: crate::node::Sampling::Stake,
            stake_unit: crate::node::STAKE_UNIT,
            k: 1,
            alpha_confidence: 1,
        };
        let status = |addr: &str, path: &str| get(addr, path)[9..12].to_string();
        let m = Metrics::new();
        // Two ports: each serves its own path only.
        let e = Endpoints::start("127.0.0.1", Some(0), Some(0), &m, &health, None).unwrap();
        let (metrics, apart) = (e.metrics.as_ref().unwrap(), e.health.as_ref().unwrap());
        assert_ne!(metrics.address, apart.address);
        assert_eq!(e.health_address(), Some(apart.address.as_str()));
        assert_eq!(status(&metrics.address, "/metrics"), "200");
        assert_eq!(status(&metrics.address, "/health"), "404");
        assert_eq!(status(&apart.address, "/health"), "200");
        let body = get(&apart.address, "/metrics");
        assert!(
            body.starts_with("HTTP/1.1 404") && body.ends_with("this port serves /health\n"),
            "{body}"
        );
        // The same port for both: one endpoint, as without a health port.
        let port: u16 = metrics.address.rsplit(':').next().unwrap().parse().unwrap();
        drop(e);
        let e = Endpoints::start("127.0.0.1", Some(port), Some(port), &m, &health, None).unwrap();
        assert!(e.health.is_none());
        let one = &e.metrics.as_ref().unwrap().address;
        assert_eq!(
            (status(one, "/metrics"), status(one, "/health")),
            ("200".into(), "200".into())
        );
        // Health alone.
        let e = Endpoints::start("127.0.0.1", None, Some(0), &m, &health, None).unwrap();
        assert!(e.metrics.is_none());
        assert_eq!(status(e.health_address().unwrap(), "/health"), "200");
    }
}
