//! One outbox per peer: a DEALER socket connected to the peer's ROUTER, owned by a task
//! that reconnects whenever the peer goes away. The node never waits on a peer: it hands
//! frames to the outbox queue (bounded by max_outstanding_items) or drops and counts them.

use super::metrics::{DropReason, Metrics};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeromq::prelude::*;
use zeromq::{DealerSocket, SocketEvent, SocketOptions, ZmqMessage};

/// How long the first connection attempt may take (zeromq retries a refused connection
/// inside an attempt after 50, 100, 200 ms...); each failed attempt doubles it up to
/// [`MAX_CONNECT_TIMEOUT`], so a peer just starting is found quickly and a distant one still
/// has time for its handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(100);
/// The longest connection attempt.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a connected outbox checks its socket monitor for a disconnection.
const MONITOR_TICK: Duration = Duration::from_millis(100);

/// The outboxes of every peer, by validator index.
#[derive(Debug)]
pub struct Outboxes {
    queues: Vec<Option<mpsc::Sender<(Instant, ZmqMessage)>>>,
    connected: Arc<[AtomicBool]>,
    tasks: Vec<JoinHandle<()>>,
    metrics: Metrics,
}

impl Outboxes {
    /// Starts one outbox task per `(index, address)`; `validators` is the size of the set.
    /// A frame that waited longer than `max_age` for its peer is dropped (`not_connected`):
    /// its poll is over.
    pub fn start(
        validators: usize,
        peers: &[(u32, String)],
        capacity: usize,
        max_age: Duration,
        metrics: Metrics,
    ) -> Outboxes {
        let connected: Arc<[AtomicBool]> =
            (0..validators).map(|_| AtomicBool::new(false)).collect();
        let mut queues: Vec<Option<mpsc::Sender<(Instant, ZmqMessage)>>> = vec![None; validators];
        let mut tasks = Vec::with_capacity(peers.len());
        for (index, address) in peers {
            let (tx, rx) = mpsc::channel(capacity.max(1));
            queues[*index as usize] = Some(tx);
            let flag = connected.clone();
            let (index, address, metrics) = (*index as usize, address.clone(), metrics.clone());
            tasks.push(tokio::spawn(async move {
                run(address, rx, &flag[index], max_age, metrics).await;
            }));
        }
        Outboxes {
            queues,
            connected,
            tasks,
            metrics,
        }
    }

    /// Queues `frame` for the peer at `index`; returns whether it was queued (else counted).
    ///
    /// Frames queue while the peer is not connected yet too (a peer that just started has
    /// not accepted this node's connection yet), up to the queue's bound; when the queue is
    /// full they are dropped as `not_connected` or, for a connected peer, `outbox_full`.
    pub fn send(&self, index: u32, frame: Vec<u8>) -> bool {
        let Some(Some(tx)) = self.queues.get(index as usize) else {
            self.metrics.drop_frame(DropReason::UnknownPeer);
            return false;
        };
        match tx.try_send((Instant::now(), ZmqMessage::from(frame))) {
            Ok(()) => true,
            Err(_) => {
                let reason = if self.is_connected(index) {
                    DropReason::OutboxFull
                } else {
                    DropReason::NotConnected
                };
                self.metrics.drop_frame(reason);
                false
            }
        }
    }

    /// Whether the peer at `index` is connected now.
    pub fn is_connected(&self, index: u32) -> bool {
        self.connected
            .get(index as usize)
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// The connection flags, by validator index (shared with the health check).
    pub fn flags(&self) -> Arc<[AtomicBool]> {
        self.connected.clone()
    }

    /// Closes every outbox: queued frames are sent if the peer is there, sockets closed.
    pub async fn close(mut self) {
        self.queues.clear();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
        for t in self.tasks.drain(..) {
            let abort = t.abort_handle();
            if tokio::time::timeout_at(deadline, t).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Outboxes {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Connects, forwards frames, and reconnects after a disconnection, until the queue closes.
async fn run(
    address: String,
    mut rx: mpsc::Receiver<(Instant, ZmqMessage)>,
    connected: &AtomicBool,
    max_age: Duration,
    metrics: Metrics,
) {
    // Pause between failed attempts: 20 ms, doubling up to 1 s (a peer whose name does not
    // resolve fails at once), back to 20 ms after a connection.
    let mut pause = Duration::from_millis(20);
    let mut timeout = CONNECT_TIMEOUT;
    loop {
        let mut options = SocketOptions::default();
        options.connect_timeout(timeout);
        let mut dealer = DealerSocket::with_options(options);
        let mut monitor = dealer.monitor();
        if dealer.connect(&address).await.is_err() {
            // Frames wait (bounded) for the connection; a closed queue ends the outbox.
            if rx.is_closed() {
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
            timeout = (timeout * 2).min(MAX_CONNECT_TIMEOUT);
            continue;
        }
        pause = Duration::from_millis(20);
        timeout = CONNECT_TIMEOUT;
        connected.store(true, Ordering::Relaxed);
        let (mut send, mut recv) = dealer.split();
        let mut tick = tokio::time::interval(MONITOR_TICK);
        'connected: loop {
            tokio::select! {
                frame = rx.recv() => match frame {
                    Some((queued, _)) if queued.elapsed() > max_age => {
                        metrics.drop_frame(DropReason::NotConnected);
                    }
                    Some((_, frame)) => {
                        if send.send(frame).await.is_err() {
                            metrics.drop_frame(DropReason::NotConnected);
                            break 'connected;
                        }
                    }
                    None => {
                        connected.store(false, Ordering::Relaxed);
                        return;
                    }
                },
                // Nothing is expected back on a DEALER; polling it notices a closed connection.
                reply = recv.recv() => if reply.is_err() {
                    break 'connected;
                },
                _ = tick.tick() => {
                    while let Ok(event) = monitor.try_recv() {
                        if matches!(event, SocketEvent::Disconnected(_)) {
                            break 'connected;
                        }
                    }
                }
            }
        }
        connected.store(false, Ordering::Relaxed);
    }
}
