//! `/metrics` and `/health` over a tiny HTTP/1.1 responder on a tokio `TcpListener`.
//!
//! One request per connection (`Connection: close`), GET or HEAD only, the request head
//! capped at 8 KiB and 5 seconds, at most 32 connections served at once.

use super::metrics::Metrics;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// Connections served at once.
const MAX_CONNECTIONS: usize = 32;

/// What `/health` judges: can this node reach enough stake for a successful poll?
#[derive(Debug, Clone)]
pub struct Health {
    /// Connection flag of each validator, by index (self's stays false).
    pub connected: Arc<[AtomicBool]>,
    /// Stake of each validator, by index.
    pub stakes: Vec<f64>,
    /// This node's validator index.
    pub me: usize,
    /// Whether the node samples itself.
    pub self_sample: bool,
    /// Peers sampled per poll.
    pub k: usize,
    /// Votes needed to raise confidence.
    pub alpha_confidence: usize,
}

impl Health {
    /// Validators reachable now (connected peers, plus self when self-sampling) and their
    /// share of the sampleable stake.
    pub fn reachable(&self) -> (usize, f64) {
        let (mut count, mut stake, mut total) = (0usize, 0.0f64, 0.0f64);
        for (i, &s) in self.stakes.iter().enumerate() {
            if i == self.me && !self.self_sample {
                continue;
            }
            total += s;
            let up = i == self.me
                || self
                    .connected
                    .get(i)
                    .is_some_and(|c| c.load(Ordering::Relaxed));
            if up && s > 0.0 {
                count += 1;
                stake += s;
            }
        }
        (count, if total > 0.0 { stake / total } else { 0.0 })
    }

    /// Whether every sampleable validator with stake is reachable now.
    pub fn all_reachable(&self) -> bool {
        let sampleable = (0..self.stakes.len())
            .filter(|&i| (i != self.me || self.self_sample) && self.stakes[i] > 0.0)
            .count();
        self.reachable().0 == sampleable
    }

    /// Healthy when at least alpha_confidence validators are reachable and they hold at least
    /// alpha_confidence / k of the sampleable stake; with a one-line reason.
    pub fn check(&self) -> (bool, String) {
        let (count, share) = self.reachable();
        let need = self.alpha_confidence as f64 / self.k.max(1) as f64;
        let ok = count >= self.alpha_confidence && share + 1e-12 >= need;
        let text = format!(
            "{}: {count} validators reachable with {:.1}% of sampleable stake; alpha_confidence {} of k {} needs {:.1}%\n",
            if ok { "ok" } else { "unhealthy" },
            share * 100.0,
            self.alpha_confidence,
            self.k,
            need * 100.0
        );
        (ok, text)
    }
}

/// Serves `/metrics` and `/health` on `listener` until the task is dropped or aborted.
pub async fn serve(listener: TcpListener, metrics: Metrics, health: Health) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let shared = Arc::new((metrics, health));
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
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                respond(stream, &shared.0, &shared.1),
            )
            .await;
        });
    }
}

async fn respond(mut stream: TcpStream, metrics: &Metrics, health: &Health) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return write(
                &mut stream,
                431,
                "text/plain",
                "request head too large\n",
                false,
            )
            .await;
        }
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return write(
            &mut stream,
            405,
            "text/plain",
            "only GET and HEAD\n",
            head_only,
        )
        .await;
    }
    let path = target.split('?').next().unwrap_or("");
    match path {
        "/metrics" => {
            let body = metrics.render();
            write(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
                head_only,
            )
            .await
        }
        "/health" => {
            let (ok, body) = health.check();
            let status = if ok { 200 } else { 503 };
            write(
                &mut stream,
                status,
                "text/plain; charset=utf-8",
                &body,
                head_only,
            )
            .await
        }
        _ => {
            write(
                &mut stream,
                404,
                "text/plain",
                "try /metrics or /health\n",
                head_only,
            )
            .await
        }
    }
}

async fn write(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(flags: &[bool], self_sample: bool) -> Health {
        Health {
            connected: flags.iter().map(|&f| AtomicBool::new(f)).collect(),
            stakes: vec![1.0; flags.len()],
            me: 0,
            self_sample,
            k: 3,
            alpha_confidence: 2,
        }
    }

    #[test]
    fn health_needs_alpha_confidence_of_stake() {
        assert!(!health(&[false, true, false, false, false], false).check().0);
        assert!(health(&[false, true, true, true, false], false).check().0);
        assert!(
            !health(&[false, true, true, false, false], false).check().0,
            "50% < 66.7%"
        );
        let (count, share) = health(&[false, true, false], true).reachable();
        assert_eq!((count, share), (2, 2.0 / 3.0));
    }

    #[tokio::test]
    async fn answers_metrics_health_and_404() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(
            listener,
            Metrics::new(),
            health(&[false, true], false),
        ));
        let get = |path: &'static str| async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let m = get("/metrics").await;
        assert!(
            m.starts_with("HTTP/1.1 200 OK\r\n") && m.contains("luxsim_votes_sent_total"),
            "{m}"
        );
        assert!(get("/health").await.starts_with("HTTP/1.1 503"));
        assert!(get("/nope").await.starts_with("HTTP/1.1 404"));
        server.abort();
    }
}
