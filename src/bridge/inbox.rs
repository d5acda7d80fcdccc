//! The inbox: the node's ROUTER socket, read by its own task, which decodes and checks each
//! frame and queues it for the driver, or drops and counts it.

use super::config::NodeSettings;
use super::frame::{Frame, FrameError};
use super::metrics::{DropReason, Metrics};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use zeromq::prelude::*;
use zeromq::{RouterSocket, ZmqMessage};

/// Reads the ROUTER, checks each frame and queues it for the driver (or drops and counts).
pub async fn run(
    mut router: RouterSocket,
    tx: mpsc::Sender<(u32, Frame)>,
    s: Arc<NodeSettings>,
    me: u32,
    metrics: Metrics,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        let msg: ZmqMessage = tokio::select! {
            _ = &mut stop => break,
            msg = router.recv() => match msg {
                Ok(msg) => msg,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        // A ROUTER message is [peer identity, body]: exactly one body frame.
        let decoded = match (msg.len(), msg.get(1)) {
            (2, Some(body)) => Frame::decode(body),
            _ => {
                metrics.drop_frame(DropReason::Malformed);
                continue;
            }
        };
        let frame = match decoded {
            Ok(frame) => frame,
            Err(FrameError::UnsupportedVersion(_)) => {
                metrics.drop_frame(DropReason::Version);
                continue;
            }
            Err(_) => {
                metrics.drop_frame(DropReason::Malformed);
                continue;
            }
        };
        let Some(from) = s.index_of(frame.from()).filter(|&i| i != me) else {
            metrics.drop_frame(DropReason::UnknownPeer);
            continue;
        };
        if let Frame::Answer { choice, .. } = frame {
            if choice as usize >= s.choices() {
                metrics.drop_frame(DropReason::InvalidChoice);
                continue;
            }
        }
        if tx.try_send((from, frame)).is_err() {
            metrics.drop_frame(DropReason::Overload);
        }
    }
    let _ = router.close().await;
}
