//! The ZeroMQ bridge: the simulator's node state machine, unchanged, as real processes.
//!
//! - [`frame`] holds the node-to-node frames of the poll protocol (`docs/wire.md`);
//! - [`config`] reads `node.toml`;
//! - [`node`] drives [`crate::node::Node`] over ROUTER/DEALER sockets ([`inbox`]: the
//!   ROUTER; [`outbox`]: one DEALER per peer);
//! - [`feed`] publishes 8-byte compact votes on a PUB socket, the [`Network`] API;
//! - [`metrics`] and [`health`] serve Prometheus text on `/metrics`, and `/health`;
//! - [`cluster`] runs a scenario's nodes as local processes (`luxsim cluster`).
//!
//! `docs/bridge.md` describes the whole, and why ROUTER/DEALER.

pub mod cluster;
pub mod config;
pub mod feed;
pub mod frame;
pub mod health;
pub mod inbox;
pub mod metrics;
pub mod node;
pub mod outbox;

pub use config::{ConfigError, NodeFile, NodeSettings};
pub use feed::{FeedError, Network};
pub use frame::{Frame, FrameError};
pub use metrics::{DropReason, Metrics};
pub use node::{Event, NodeReport};

use crate::commands::{EXIT_BAD_INPUT, EXIT_OK};
use std::io::Write;
use std::path::Path;

/// Why a bridge node could not run.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The node file is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A socket could not be bound.
    #[error("cannot bind {address}: {message}")]
    Bind {
        /// The endpoint or address.
        address: String,
        /// Why.
        message: String,
    },
    /// The node's own id is not in its validator set (cannot happen with a checked file).
    #[error("node {0} is not in its own validator set")]
    NotInValidatorSet(u32),
    /// The stake weights are unusable.
    #[error("stake: {0}")]
    Stake(crate::sim::stake::StakeError),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

impl BridgeError {
    /// A bind failure at `address`.
    pub fn bind(address: &str, e: impl std::fmt::Display) -> BridgeError {
        BridgeError::Bind {
            address: address.to_string(),
            message: e.to_string(),
        }
    }
}

/// Completes on SIGINT or SIGTERM (Ctrl-C only, where there is no SIGTERM).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Writes one event as a JSON line on stdout; a closed stdout is ignored.
fn print_event(e: &Event) {
    if let Ok(line) = serde_json::to_string(e) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Completes when stdin reaches end of file (the parent closed it, or died).
async fn stdin_closed() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// Runs a node on a single-threaded runtime until SIGINT or SIGTERM (or, with
/// `exit_on_stdin_close`, until stdin closes), printing its events as JSON lines.
pub fn run_node_blocking(
    settings: NodeSettings,
    exit_on_stdin_close: bool,
) -> Result<NodeReport, BridgeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BridgeError::Runtime)?;
    rt.block_on(async {
        let stop = async {
            if exit_on_stdin_close {
                tokio::select! {
                    _ = shutdown_signal() => {}
                    _ = stdin_closed() => {}
                }
            } else {
                shutdown_signal().await;
            }
        };
        node::run(settings, stop, print_event).await
    })
}

/// `luxsim node --config FILE`: returns the exit code (0 after a clean shutdown, 2 on bad input).
pub fn node_command(config: &Path, exit_on_stdin_close: bool) -> u8 {
    let result = NodeFile::load(config)
        .map_err(BridgeError::from)
        .and_then(|s| run_node_blocking(s, exit_on_stdin_close));
    match result {
        Ok(_) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}
