//! The vote feed: compact votes on a ZeroMQ PUB socket, one 8-byte frame each, and
//! subscriptions to other feeds. [`Network`] is the library face of it, as in the Lux docs:
//! a bind address, connect addresses, [`Network::broadcast`] and [`Network::on_vote`].
//!
//! The feed is a public broadcast: anyone may subscribe (a Python notebook, a dashboard), so
//! it runs without CURVE; a vote on it carries no authority over consensus. Every socket is
//! bounded as the poll sockets are (`sockets::bounded`), so an oversized frame closes its
//! connection instead of growing memory. A subscriber thread polls the SUB sockets and
//! calls the handlers.

use super::metrics::{DropReason, Metrics};
use super::sockets::{bound_endpoint, bounded};
use super::BridgeError;
use crate::api::{Vote, VoteError, VOTE_LEN};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

/// A handler called with every vote received from a subscribed feed.
pub type VoteHandler = Arc<dyn Fn(Vote) + Send + Sync>;

/// Why a vote could not be broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The vote does not pack into 8 bytes.
    #[error(transparent)]
    Pack(#[from] VoteError),
    /// The feed has no PUB socket (no bind address) or is closed.
    #[error("the feed is not publishing (no bind address, or closed)")]
    Closed,
}

/// A node's vote feed: a PUB socket it publishes on and SUB sockets it listens to.
pub struct Network {
    publisher: Option<Mutex<zmq::Socket>>,
    endpoint: Option<String>,
    handlers: Arc<RwLock<Vec<VoteHandler>>>,
    metrics: Metrics,
    stop: Arc<AtomicBool>,
    subscriber: Option<JoinHandle<()>>,
    _ctx: zmq::Context,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// Binds a PUB socket at `bind` (if any) and subscribes, with an empty subscription, to
    /// every feed in `connect` (reconnecting as needed). At most `capacity` votes queue for
    /// each subscriber; beyond that PUB drops, as ZeroMQ does for slow subscribers.
    pub fn start(
        bind: Option<&str>,
        connect: &[String],
        capacity: usize,
        metrics: Metrics,
    ) -> Result<Network, BridgeError> {
        Network::start_in(&zmq::Context::new(), bind, connect, capacity, metrics)
    }

    /// [`Network::start`] on the ZeroMQ context `ctx`.
    pub fn start_in(
        ctx: &zmq::Context,
        bind: Option<&str>,
        connect: &[String],
        capacity: usize,
        metrics: Metrics,
    ) -> Result<Network, BridgeError> {
        let (mut publisher, mut endpoint) = (None, None);
        if let Some(bind) = bind {
            let socket = ctx
                .socket(zmq::PUB)
                .map_err(|e| BridgeError::bind(bind, e))?;
            bounded(&socket, capacity).map_err(|e| BridgeError::bind(bind, e))?;
            socket.bind(bind).map_err(|e| BridgeError::bind(bind, e))?;
            endpoint = Some(bound_endpoint(&socket));
            publisher = Some(Mutex::new(socket));
        }
        let mut subs = Vec::with_capacity(connect.len());
        for address in connect {
            let socket = ctx
                .socket(zmq::SUB)
                .map_err(|e| BridgeError::bind(address, e))?;
            bounded(&socket, capacity).map_err(|e| BridgeError::bind(address, e))?;
            socket
                .set_subscribe(b"")
                .map_err(|e| BridgeError::bind(address, e))?;
            socket
                .connect(address)
                .map_err(|e| BridgeError::bind(address, e))?;
            subs.push(socket);
        }
        let handlers: Arc<RwLock<Vec<VoteHandler>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let subscriber = if subs.is_empty() {
            None
        } else {
            let (h, m, s) = (handlers.clone(), metrics.clone(), stop.clone());
            Some(
                std::thread::Builder::new()
                    .name("luxsim-feed".into())
                    .spawn(move || subscribe(&subs, &h, &m, &s))
                    .map_err(BridgeError::Runtime)?,
            )
        };
        Ok(Network {
            publisher,
            endpoint,
            handlers,
            metrics,
            stop,
            subscriber,
            _ctx: ctx.clone(),
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
        let socket = self.publisher.as_ref().ok_or(FeedError::Closed)?;
        let socket = socket.lock().map_err(|_| FeedError::Closed)?;
        socket
            .send(&bytes[..], zmq::DONTWAIT)
            .map_err(|_| FeedError::Closed)?;
        self.metrics.votes_sent.inc();
        Ok(())
    }

    /// Calls `handler` with every vote that arrives from a subscribed feed.
    pub fn on_vote(&self, handler: impl Fn(Vote) + Send + Sync + 'static) {
        if let Ok(mut h) = self.handlers.write() {
            h.push(Arc::new(handler));
        }
    }

    /// Stops the subscriptions and closes the sockets.
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.subscriber.take() {
            let _ = t.join();
        }
        self.publisher = None;
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.shut();
    }
}

/// Reads every SUB socket until `stop` (checked every 50 ms), calling the handlers.
fn subscribe(
    subs: &[zmq::Socket],
    handlers: &RwLock<Vec<VoteHandler>>,
    metrics: &Metrics,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        let mut items: Vec<zmq::PollItem> =
            subs.iter().map(|s| s.as_poll_item(zmq::POLLIN)).collect();
        if zmq::poll(&mut items, 50).is_err() {
            return;
        }
        let ready: Vec<bool> = items.iter().map(zmq::PollItem::is_readable).collect();
        drop(items);
        for (socket, _) in subs.iter().zip(ready).filter(|(_, r)| *r) {
            // At most a batch per socket per wake-up, so one busy feed cannot starve another.
            for _ in 0..256 {
                let Ok(parts) = socket.recv_multipart(zmq::DONTWAIT) else {
                    break;
                };
                // One 8-byte frame per vote; a multi-part message is malformed too.
                match parts.as_slice() {
                    [one] => match Vote::unpack(one) {
                        Ok(vote) => {
                            metrics.votes_received.inc();
                            if let Ok(h) = handlers.read() {
                                for handler in h.iter() {
                                    handler(vote);
                                }
                            }
                        }
                        Err(_) => metrics.drop_frame(DropReason::MalformedVote),
                    },
                    _ => metrics.drop_frame(DropReason::MalformedVote),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineType;
    use std::time::{Duration, Instant};

    #[test]
    fn broadcast_reaches_on_vote_handlers() {
        let metrics = Metrics::new();
        let publisher = Network::start(Some("tcp://127.0.0.1:0"), &[], 16, Metrics::new()).unwrap();
        let endpoint = publisher.endpoint().unwrap().to_string();
        assert!(endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with(":0"));
        let subscriber = Network::start(None, &[endpoint], 16, metrics.clone()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
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
        let until = Instant::now() + Duration::from_secs(30);
        let got = loop {
            publisher.broadcast(&vote).unwrap();
            if let Ok(v) = rx.recv_timeout(Duration::from_millis(20)) {
                break v;
            }
            assert!(Instant::now() < until, "the vote arrives");
        };
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
        subscriber.close();
        publisher.close();
    }
}
