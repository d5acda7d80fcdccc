//! The ZeroMQ bridge: the simulator's node state machines, unchanged, as real processes.
//!
//! - [`frame`] holds the node-to-node frames of the poll protocol (`docs/wire.md`), and
//!   [`ledger_frame`] those of chain and DAG validators;
//! - [`config`] reads `node.toml`; [`security`] holds CURVE keys and the ZAP handler;
//! - [`node`] drives [`crate::node::Node`] and [`crate::node::ledger::LedgerNode`] over
//!   libzmq sockets ([`sockets`]: how each is bounded and authenticated; `driver` and
//!   `ledger_driver`: what each frame does; `port`: what both do with sockets);
//! - [`feed`] publishes 8-byte compact votes on a PUB socket, the [`Network`] API;
//! - [`metrics`], [`health`] and [`http`] serve Prometheus text on `/metrics`, and `/health`;
//! - [`schedule`] says who proposes what on sockets (`[ledger]` in `node.toml`);
//! - [`cluster`] runs a scenario's nodes as local processes (`luxsim cluster`).
//!
//! `docs/bridge.md` describes the whole, its threat model, and why libzmq.

pub(crate) mod cluster;
mod cluster_ledger;
pub(crate) mod config;
mod driver;
pub(crate) mod feed;
pub(crate) mod frame;
pub(crate) mod health;
pub(crate) mod http;
pub(crate) mod ledger_config;
mod ledger_driver;
pub(crate) mod ledger_frame;
pub(crate) mod metrics;
pub(crate) mod node;
mod port;
pub(crate) mod schedule;
pub(crate) mod security;
pub(crate) mod sockets;

pub use cluster::{free_ports, run_cluster, ClusterArgs};
pub use config::{ConfigError, NodeFile, NodeSettings, ParamsFile, PeerFile};
pub use driver::engine_of;
pub use feed::{FeedError, Network};
pub use frame::{Frame, FrameError};
pub use ledger_config::LedgerFile;
pub use ledger_frame::LedgerFrame;
pub use metrics::{DropReason, Metrics};
pub use node::{Event, NodeReport};
pub use security::{Key, Keys};
pub use sockets::curve_client;

use crate::util::console::{EXIT_BAD_INPUT, EXIT_OK};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    Stake(crate::node::StakeError),
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

/// Writes one event as a JSON line on stdout; a closed stdout is ignored.
fn print_event(e: &Event) {
    if let Ok(line) = serde_json::to_string(e) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// A flag set once stdin reaches end of file (the parent closed it, or died).
fn stdin_closed() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        set.store(true, Ordering::SeqCst);
    });
    flag
}

/// Runs a node until SIGINT or SIGTERM (or, with `exit_on_stdin_close`, until stdin
/// closes), printing its events as JSON lines.
pub fn run_node_blocking(
    settings: NodeSettings,
    exit_on_stdin_close: bool,
) -> Result<NodeReport, BridgeError> {
    crate::util::signals::install();
    let closed = exit_on_stdin_close.then(stdin_closed);
    let stop = || {
        crate::util::signals::received().is_some()
            || closed.as_ref().is_some_and(|c| c.load(Ordering::SeqCst))
    };
    node::run(settings, &stop, print_event)
}

/// `luxsim node --config FILE`: returns the exit code (0 after a clean shutdown, 2 on bad input).
pub fn node_command(config: &Path, exit_on_stdin_close: bool) -> u8 {
    let result = NodeFile::load(config)
        .map_err(BridgeError::from)
        .and_then(|s| {
            if s.keys.is_none() {
                eprintln!(
                    "warning: {} has no secret_key: peers are not authenticated, any host that \
                 reaches this node's ports can claim to be a validator (docs/bridge.md)",
                    config.display()
                );
            }
            run_node_blocking(s, exit_on_stdin_close)
        });
    match result {
        Ok(_) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

/// `luxsim keygen`: prints a fresh CURVE key pair as the lines of a node file.
pub fn keygen_command() -> u8 {
    match Keys::generate() {
        Ok(k) => {
            crate::util::console::say(format_args!(
                "# This node's node.toml:\nsecret_key = \"{}\"\n# Its entry in other nodes' [[peers]]:\npublic_key = \"{}\"",
                k.secret().to_z85(),
                k.public().to_z85()
            ));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: cannot generate a key pair: {e}");
            EXIT_BAD_INPUT
        }
    }
}
