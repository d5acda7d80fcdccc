//! libzmq sockets as the bridge sets them up: bounded before anything is read, never
//! blocking the node, authenticated when the node has keys.
//!
//! Every socket gets [`MAX_MESSAGE`] (`ZMQ_MAXMSGSIZE`): libzmq reads a frame's announced
//! length and closes the connection when it is larger, before it allocates anything for the
//! body, so no peer can make the process reserve memory it announces (a ZMTP greeting and
//! a 64 GiB frame header are 73 bytes). High-water marks bound what each connection queues;
//! the handshake must finish within [`HANDSHAKE_MS`]; linger is zero, so closing never
//! waits on a peer.

use super::security::{Keys, ZAP_DOMAIN};

/// The largest message any bridge socket accepts, ZMTP handshake commands included: a CURVE
/// INITIATE command is about 300 bytes; poll frames are 16 or 20, compact votes 8.
pub const MAX_MESSAGE: i64 = 1024;
/// The largest message a ledger node's poll sockets accept: the largest ledger frame
/// (a vertex with every parent and transaction a frame allows) and room for the handshake.
pub const LEDGER_MAX_MESSAGE: i64 = crate::wire::MAX_FRAME as i64 + 1024;
/// How long a connection may take to complete its handshake, in milliseconds.
pub const HANDSHAKE_MS: i32 = 5_000;
/// Delay before reconnecting to a peer that went away, doubling up to [`RECONNECT_MAX_MS`].
pub const RECONNECT_MS: i32 = 50;
/// The longest delay between reconnection attempts, in milliseconds.
pub const RECONNECT_MAX_MS: i32 = 1_000;

/// Options every bridge socket gets: the message bound, `hwm` messages queued each way per
/// connection, no linger, a handshake deadline, TCP keep-alive.
pub fn bounded(socket: &zmq::Socket, hwm: usize) -> zmq::Result<()> {
    bounded_to(socket, hwm, MAX_MESSAGE)
}

/// [`bounded`] with its own message bound: ledger sockets carry vertices
/// ([`LEDGER_MAX_MESSAGE`]).
pub fn bounded_to(socket: &zmq::Socket, hwm: usize, max_message: i64) -> zmq::Result<()> {
    let hwm = i32::try_from(hwm.max(1)).unwrap_or(i32::MAX);
    socket.set_maxmsgsize(max_message)?;
    socket.set_sndhwm(hwm)?;
    socket.set_rcvhwm(hwm)?;
    socket.set_linger(0)?;
    socket.set_handshake_ivl(HANDSHAKE_MS)?;
    socket.set_tcp_keepalive(1)?;
    socket.set_reconnect_ivl(RECONNECT_MS)?;
    socket.set_reconnect_ivl_max(RECONNECT_MAX_MS)?;
    Ok(())
}

/// Makes `socket` a CURVE server with `keys`, its clients checked by the ZAP handler.
pub fn curve_server(socket: &zmq::Socket, keys: &Keys) -> zmq::Result<()> {
    socket.set_curve_server(true)?;
    socket.set_curve_secretkey(&keys.secret().0)?;
    socket.set_zap_domain(ZAP_DOMAIN)
}

/// Makes `socket` a CURVE client with `keys` that accepts only the server `server`.
pub fn curve_client(
    socket: &zmq::Socket,
    keys: &Keys,
    server: &super::security::Key,
) -> zmq::Result<()> {
    socket.set_curve_serverkey(&server.0)?;
    socket.set_curve_publickey(&keys.public().0)?;
    socket.set_curve_secretkey(&keys.secret().0)
}

/// The endpoint a socket is bound to, port resolved (`tcp://127.0.0.1:41234`).
pub fn bound_endpoint(socket: &zmq::Socket) -> String {
    match socket.get_last_endpoint() {
        Ok(Ok(e)) => e,
        _ => String::new(),
    }
}

/// A socket monitor's PAIR end: reports the connection state of one outbox.
pub struct Monitor {
    /// The PAIR socket receiving the events.
    pub socket: zmq::Socket,
}

/// Events a [`Monitor`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// A handshake completed: the peer is reachable.
    Up,
    /// The connection closed.
    Down,
}

impl Monitor {
    /// Watches `socket` (connections, handshakes, disconnections) on `inproc://name`.
    pub fn watch(ctx: &zmq::Context, socket: &zmq::Socket, name: &str) -> zmq::Result<Monitor> {
        let endpoint = format!("inproc://{name}");
        let events = zmq::SocketEvent::HANDSHAKE_SUCCEEDED as i32
            | zmq::SocketEvent::DISCONNECTED as i32
            | zmq::SocketEvent::CLOSED as i32;
        socket.monitor(&endpoint, events)?;
        let pair = ctx.socket(zmq::PAIR)?;
        pair.set_linger(0)?;
        pair.connect(&endpoint)?;
        Ok(Monitor { socket: pair })
    }

    /// The events waiting, oldest first.
    pub fn drain(&self) -> Vec<Link> {
        let mut out = Vec::new();
        while let Ok(parts) = self.socket.recv_multipart(zmq::DONTWAIT) {
            let Some(head) = parts.first().filter(|h| h.len() >= 2) else {
                continue;
            };
            let event = u16::from_le_bytes([head[0], head[1]]);
            if event == zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16 {
                out.push(Link::Up);
            } else {
                out.push(Link::Down);
            }
        }
        out
    }
}
