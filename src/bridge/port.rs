//! What both bridge drivers (one decision, ledgers) do with sockets, the same way: read the
//! inbox's `[identity, body]` envelopes and the outboxes' bodies, send on an outbox or back
//! on a connection, and count every frame that goes nowhere.

use super::metrics::{DropReason, Metrics};
use super::node::Sockets;
use std::sync::atomic::{AtomicBool, Ordering};

/// Frames taken from one socket per wake-up, so that no peer starves the others.
pub(super) const BATCH: usize = 256;
/// The longest ROUTER identity kept for a reply (libzmq's own are 5 bytes).
const MAX_IDENTITY: usize = 32;

/// The ROUTER identity of the connection a request came on: where its reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ReplyTo {
    len: u8,
    id: [u8; MAX_IDENTITY],
}

impl ReplyTo {
    fn of(identity: &[u8]) -> Option<ReplyTo> {
        let mut id = [0u8; MAX_IDENTITY];
        id.get_mut(..identity.len())?.copy_from_slice(identity);
        Some(ReplyTo {
            len: identity.len() as u8,
            id,
        })
    }

    fn bytes(&self) -> &[u8] {
        &self.id[..self.len as usize]
    }
}

/// One envelope read from the inbox, its body left in the message buffer.
pub(super) enum Inbound {
    /// Nothing more to read now.
    Empty,
    /// A malformed envelope, counted.
    Dropped,
    /// A body from the connection `reply_to` (`None`: an identity too long to keep), whose
    /// CURVE handshake authenticated validator `user` (`None` without keys).
    Body {
        /// Where replies go.
        reply_to: Option<ReplyTo>,
        /// The authenticated validator id.
        user: Option<u32>,
    },
}

/// Reads one `[identity, body]` envelope from `router` into `msg`.
pub(super) fn recv_inbox(router: &zmq::Socket, msg: &mut zmq::Message, m: &Metrics) -> Inbound {
    if router.recv(msg, zmq::DONTWAIT).is_err() {
        return Inbound::Empty;
    }
    let reply_to = ReplyTo::of(msg);
    if !router.get_rcvmore().unwrap_or(false) {
        m.drop_frame(DropReason::Malformed);
        return Inbound::Dropped;
    }
    if router.recv(msg, zmq::DONTWAIT).is_err() {
        return Inbound::Empty;
    }
    if router.get_rcvmore().unwrap_or(false) {
        skip_parts(router, msg);
        m.drop_frame(DropReason::Malformed);
        return Inbound::Dropped;
    }
    let user = msg.gets("User-Id").and_then(|u| u.parse::<u32>().ok());
    Inbound::Body { reply_to, user }
}

/// Reads one single-part body from an outbox into `msg`: `Some(true)` when there is one,
/// `Some(false)` after counting a multi-part message, `None` when nothing is left.
pub(super) fn recv_outbox(
    dealer: &zmq::Socket,
    msg: &mut zmq::Message,
    m: &Metrics,
) -> Option<bool> {
    dealer.recv(msg, zmq::DONTWAIT).ok()?;
    if dealer.get_rcvmore().unwrap_or(false) {
        skip_parts(dealer, msg);
        m.drop_frame(DropReason::Malformed);
        return Some(false);
    }
    Some(true)
}

fn skip_parts(socket: &zmq::Socket, msg: &mut zmq::Message) {
    while socket.get_rcvmore().unwrap_or(false) {
        if socket.recv(msg, zmq::DONTWAIT).is_err() {
            break;
        }
    }
}

/// Sends `bytes` on the outbox of validator `to`; returns whether it left, having counted
/// why not (no outbox, not connected, queue full).
pub(super) fn send_out(
    sockets: &Sockets,
    connected: &[AtomicBool],
    to: u32,
    bytes: &[u8],
    m: &Metrics,
) -> bool {
    let Some(Some(dealer)) = sockets.outboxes.get(to as usize) else {
        m.drop_frame(DropReason::UnknownPeer);
        return false;
    };
    match dealer.send(bytes, zmq::DONTWAIT) {
        Ok(()) => true,
        Err(_)
            if connected
                .get(to as usize)
                .is_some_and(|c| c.load(Ordering::Relaxed)) =>
        {
            m.drop_frame(DropReason::OutboxFull);
            false
        }
        Err(_) => {
            m.drop_frame(DropReason::NotConnected);
            false
        }
    }
}

/// Sends `bytes` back on the inbox connection `to`; returns whether it left, having counted
/// why not (the connection closed, or its queue is full).
pub(super) fn send_back(router: &zmq::Socket, to: ReplyTo, bytes: &[u8], m: &Metrics) -> bool {
    let sent = router
        .send(to.bytes(), zmq::SNDMORE | zmq::DONTWAIT)
        .and_then(|()| router.send(bytes, zmq::DONTWAIT));
    match sent {
        Ok(()) => true,
        Err(zmq::Error::EHOSTUNREACH) => {
            m.drop_frame(DropReason::Unroutable);
            false
        }
        Err(_) => {
            m.drop_frame(DropReason::OutboxFull);
            false
        }
    }
}

/// Closed polls remembered to tell a late answer from an unsolicited one.
const RECENT_POLLS: usize = 256;

/// The polls in flight as a driver sees them: when each began and whom it still waits for,
/// and the recently closed ones, so that every answer is either owed or counted.
#[derive(Debug, Default)]
pub(super) struct PollBook {
    open: std::collections::HashMap<u32, (u64, Vec<u32>)>,
    recent: std::collections::VecDeque<u32>,
}

impl PollBook {
    /// Poll `request` was recorded at `now` with `count` of `answers` for `top`: logs it,
    /// counts it (successful when `count` reaches `alpha_confidence`) and, if it was open,
    /// records its latency and closes it. Both drivers report polls through here.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn recorded(
        &mut self,
        metrics: &Metrics,
        alpha_confidence: usize,
        now: u64,
        request: u32,
        top: u64,
        count: u32,
        answers: u32,
    ) {
        log::debug!("poll {request} recorded: {count} of {answers} answers for {top}");
        metrics.polls.inc();
        if count as usize >= alpha_confidence {
            metrics.polls_successful.inc();
        }
        if let Some(started) = self.close(request) {
            let secs = now.saturating_sub(started) as f64 / 1e9;
            metrics.poll_latency.record(secs);
        }
    }

    /// Poll `request` began at `now` (a second call keeps the first time).
    pub(super) fn open(&mut self, request: u32, now: u64) {
        self.open.entry(request).or_insert((now, Vec::new()));
    }

    /// Poll `request` (opened at `now` if not yet) waits for an answer of validator `to`.
    pub(super) fn owe(&mut self, request: u32, to: u32, now: u64) {
        self.open
            .entry(request)
            .or_insert((now, Vec::new()))
            .1
            .push(to);
    }

    /// Validator `from` answered poll `request`: `Ok` if the answer was owed, else why it is
    /// dropped (the poll closed already, or never asked `from`).
    pub(super) fn answered(&mut self, request: u32, from: u32) -> Result<(), DropReason> {
        let owed = self.open.get_mut(&request).and_then(|p| {
            let pos = p.1.iter().position(|&x| x == from)?;
            Some(p.1.swap_remove(pos))
        });
        match owed {
            Some(_) => Ok(()),
            None if self.recent.contains(&request) => Err(DropReason::Late),
            None => Err(DropReason::Unsolicited),
        }
    }

    /// Poll `request` closed; when it began, if it was open.
    pub(super) fn close(&mut self, request: u32) -> Option<u64> {
        let began = self.open.remove(&request).map(|p| p.0);
        if self.recent.len() == RECENT_POLLS {
            self.recent.pop_front();
        }
        self.recent.push_back(request);
        began
    }

    /// Closes every open poll (a decision ends them).
    pub(super) fn close_all(&mut self) {
        let open: Vec<u32> = self.open.keys().copied().collect();
        for r in open {
            self.close(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_owed_once_then_late_and_a_stranger_is_unsolicited() {
        let mut b = PollBook::default();
        b.owe(7, 2, 100);
        b.owe(7, 3, 150);
        assert_eq!(b.answered(7, 2), Ok(()));
        assert_eq!(b.answered(7, 2), Err(DropReason::Unsolicited), "only once");
        assert_eq!(b.answered(7, 9), Err(DropReason::Unsolicited));
        assert_eq!(b.close(7), Some(100));
        assert_eq!(b.answered(7, 3), Err(DropReason::Late));
        assert_eq!(b.answered(8, 3), Err(DropReason::Unsolicited));
        b.open(9, 5);
        b.close_all();
        assert_eq!(b.close(9), None);
    }
}
