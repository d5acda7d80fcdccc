//! The vote feed: compact votes on a ZeroMQ PUB socket, one 8-byte frame each, and
//! subscriptions to other feeds. [`Network`] is the library face of it, as in the Lux docs:
//! a bind address, connect addresses, [`Network::broadcast`] and [`Network::on_vote`].

use super::metrics::{DropReason, Metrics};
use super::BridgeError;
use crate::vote::{Vote, VoteError, VOTE_LEN};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeromq::prelude::*;
use zeromq::{PubSocket, SubSocket, ZmqMessage};

/// A handler called with every vote received from a subscribed feed.
pub type VoteHandler = Arc<dyn Fn(Vote) + Send + Sync>;

/// Why a vote could not be broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The vote does not pack into 8 bytes.
    #[error(transparent)]
    Pack(#[from] VoteError),
    /// The send queue is full (the vote was dropped and counted).
    #[error("the feed's send queue is full; vote dropped")]
    Full,
    /// The feed has no PUB socket (no bind address) or is closed.
    #[error("the feed is not publishing (no bind address, or closed)")]
    Closed,
}

/// A node's vote feed: a PUB socket it publishes on and SUB sockets it listens to.
pub struct Network {
    tx: Option<mpsc::Sender<[u8; VOTE_LEN]>>,
    handlers: Arc<RwLock<Vec<VoteHandler>>>,
    metrics: Metrics,
    endpoint: Option<String>,
    publisher: Option<JoinHandle<()>>,
    subscribers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("endpoint", &self.endpoint)
            .field("subscriptions", &self.subscribers.len())
            .finish_non_exhaustive()
    }
}

/// Votes the publisher task sends per wake-up before it yields.
const BATCH: usize = 256;

impl Network {
    /// Binds a PUB socket at `bind` (if any) and subscribes, with an empty subscription, to
    /// every feed in `connect` (reconnecting as needed). At most `capacity` votes wait to be
    /// published; beyond that [`Network::broadcast`] drops and counts.
    pub async fn start(
        bind: Option<&str>,
        connect: &[String],
        capacity: usize,
        metrics: Metrics,
    ) -> Result<Network, BridgeError> {
        let handlers: Arc<RwLock<Vec<VoteHandler>>> = Arc::default();
        let (mut tx, mut publisher, mut endpoint) = (None, None, None);
        if let Some(bind) = bind {
            let mut socket = PubSocket::new();
            let bound = socket
                .bind(bind)
                .await
                .map_err(|e| BridgeError::bind(bind, e))?;
            endpoint = Some(bound.to_string());
            let (sender, rx) = mpsc::channel(capacity.max(1));
            tx = Some(sender);
            publisher = Some(tokio::spawn(publish(socket, rx)));
        }
        let mut subscribers = Vec::new();
        for address in connect {
            let address = address.clone();
            let (handlers, metrics) = (handlers.clone(), metrics.clone());
            subscribers.push(tokio::spawn(subscribe(address, handlers, metrics)));
        }
        Ok(Network {
            tx,
            handlers,
            metrics,
            endpoint,
            publisher,
            subscribers,
        })
    }

    /// The endpoint the PUB socket is bound to (port resolved), if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Publishes `vote` as one 8-byte frame; never waits.
    pub fn broadcast(&self, vote: &Vote) -> Result<(), FeedError> {
        let bytes = vote.pack()?;
        self.broadcast_packed(bytes)
    }

    /// Publishes an already packed compact vote; never waits.
    pub fn broadcast_packed(&self, bytes: [u8; VOTE_LEN]) -> Result<(), FeedError> {
        let tx = self.tx.as_ref().ok_or(FeedError::Closed)?;
        match tx.try_send(bytes) {
            Ok(()) => {
                self.metrics.votes_sent.inc();
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.drop_frame(DropReason::FeedFull);
                Err(FeedError::Full)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(FeedError::Closed),
        }
    }

    /// Calls `handler` with every vote that arrives from a subscribed feed.
    pub fn on_vote(&self, handler: impl Fn(Vote) + Send + Sync + 'static) {
        if let Ok(mut h) = self.handlers.write() {
            h.push(Arc::new(handler));
        }
    }

    /// Stops the subscriptions, publishes what is queued and closes the PUB socket.
    pub async fn close(mut self) {
        for s in self.subscribers.drain(..) {
            s.abort();
            let _ = s.await;
        }
        self.tx = None;
        if let Some(p) = self.publisher.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), p).await;
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for s in &self.subscribers {
            s.abort();
        }
        if let Some(p) = &self.publisher {
            p.abort();
        }
    }
}

async fn publish(mut socket: PubSocket, mut rx: mpsc::Receiver<[u8; VOTE_LEN]>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        for bytes in batch.drain(..) {
            // A PUB socket drops for slow subscribers rather than blocking; errors are ignored.
            let _ = socket.send(ZmqMessage::from(bytes.to_vec())).await;
        }
    }
    let _ = socket.close().await;
}

async fn subscribe(address: String, handlers: Arc<RwLock<Vec<VoteHandler>>>, metrics: Metrics) {
    loop {
        let mut socket = SubSocket::new();
        if socket.subscribe("").await.is_err() || socket.connect(&address).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        }
        while let Ok(msg) = socket.recv().await {
            // One 8-byte frame per vote; a multi-part message is malformed too.
            let frame = msg.get(0).filter(|_| msg.len() == 1);
            match frame.map(|f| Vote::unpack(f)) {
                Some(Ok(vote)) => {
                    metrics.votes_received.inc();
                    if let Ok(h) = handlers.read() {
                        for handler in h.iter() {
                            handler(vote);
                        }
                    }
                }
                _ => metrics.drop_frame(DropReason::MalformedVote),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineType;
    use std::time::Duration;

    #[tokio::test]
    async fn broadcast_reaches_on_vote_handlers() {
        let metrics = Metrics::new();
        let publisher = Network::start(Some("tcp://127.0.0.1:0"), &[], 16, Metrics::new())
            .await
            .unwrap();
        let endpoint = publisher.endpoint().unwrap().to_string();
        assert!(endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with(":0"));
        let subscriber = Network::start(None, &[endpoint], 16, metrics.clone())
            .await
            .unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        subscriber.on_vote(move |v| {
            let _ = tx.send(v);
        });
        let vote = Vote::new(
            EngineType::Snowflake,
            0x0102,
            0x1234,
            crate::VoteType::Accept,
        );
        // A PUB socket drops what it publishes before the subscription arrives: repeat.
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                publisher.broadcast(&vote).unwrap();
                if let Ok(Some(v)) =
                    tokio::time::timeout(Duration::from_millis(20), rx.recv()).await
                {
                    break v;
                }
            }
        })
        .await
        .expect("the vote arrives");
        assert_eq!(got, vote);
        assert!(metrics.votes_received.get() >= 1);
        assert_eq!(
            subscriber.broadcast(&vote),
            Err(FeedError::Closed),
            "no PUB socket"
        );
        let too_big = Vote::new(EngineType::Snowball, 70_000, 1, crate::VoteType::Prefer);
        assert!(matches!(
            publisher.broadcast(&too_big),
            Err(FeedError::Pack(_))
        ));
        subscriber.close().await;
        publisher.close().await;
    }
}
