//! The ZeroMQ bridge: the simulator's node state machines, unchanged, as real processes.
//!
//! - [`crate::wire`] holds the frames they exchange (`docs/wire.md`);
//! - [`config`] reads `node.toml` or `config.yaml` (`config_yaml`, `yaml_span`), and
//!   `config_check` checks either; [`security`] holds CURVE keys and the ZAP handler;
//! - [`node`] drives [`crate::node::Node`] and [`crate::node::ledger::LedgerNode`] over
//!   libzmq sockets ([`sockets`]: how each is bounded and authenticated; `driver` and
//!   `ledger_driver`: what each frame does; `port`: what both do with sockets);
//! - [`feed`] publishes 8-byte compact votes on a PUB socket, the [`Network`] API;
//! - [`metrics`], [`health`] and [`http`] serve Prometheus text on `/metrics`, and `/health`;
//!   [`logging`] writes the node's log on stderr, as text or JSON lines;
//! - [`schedule`] says who proposes what on sockets (`[ledger]` in `node.toml`);
//! - [`cluster`] runs a scenario's nodes as local processes (`luxsim cluster`).
//!
//! `docs/bridge.md` describes the whole, its threat model, and why libzmq.

pub(crate) mod cluster;
mod cluster_ledger;
pub(crate) mod config;
mod config_check;
mod config_yaml;
mod driver;
pub(crate) mod feed;
pub(crate) mod health;
pub(crate) mod http;
pub(crate) mod ledger_config;
mod ledger_driver;
pub(crate) mod logging;
pub(crate) mod metrics;
pub(crate) mod node;
mod port;
pub(crate) mod schedule;
pub(crate) mod security;
pub(crate) mod sockets;
mod yaml_span;

pub use crate::wire::LedgerFrame;
pub use crate::wire::{Frame, FrameError};
pub use cluster::{free_ports, run_cluster, ClusterArgs};
pub use config::{
    ConfigError, FileFormat, LogFormat, NodeFile, NodeSettings, ParamsFile, PeerFile,
};
pub use driver::engine_of;
pub use feed::{FeedError, Network};
pub use ledger_config::LedgerFile;
pub use metrics::{DropReason, Metrics};
pub use node::{Event, NodeReport};
pub use security::{Key, Keys};
pub use sockets::curve_client;

use crate::util::console::{EXIT_BAD_INPUT, EXIT_OK};
use std::io::Write;
use std::path::PathBuf;
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

/// The arguments of `luxsim node`.
#[derive(Debug, Clone, Default)]
pub struct NodeArgs {
    /// The node file (`.yaml` / `.yml`: YAML; else TOML).
    pub config: PathBuf,
    /// Also stop cleanly when stdin closes.
    pub exit_on_stdin_close: bool,
    /// Only check the file (and say what the node would warn about), then exit.
    pub check: bool,
    /// `--log-level`: above `RUST_LOG` and the file's level.
    pub log_level: Option<log::Level>,
    /// `--log-format`: above the file's format.
    pub log_format: Option<LogFormat>,
    /// `--metrics-port`: replaces the file's `metrics_port`.
    pub metrics_port: Option<u16>,
    /// `--health-port`: replaces the file's `health_port`.
    pub health_port: Option<u16>,
}

/// `luxsim node --config FILE`: returns the exit code (0 after a clean shutdown, 2 on bad input).
pub fn node_command(args: &NodeArgs) -> u8 {
    let loaded = NodeFile::load(&args.config);
    let file = loaded.as_ref().ok().map(|s| &s.file);
    let level = logging::level_source(
        args.log_level,
        std::env::var("RUST_LOG").ok(),
        file.and_then(|f| f.log_level),
    );
    let format = args
        .log_format
        .or(file.and_then(|f| f.log_format))
        .unwrap_or_default();
    logging::init(&level, format);
    let result = loaded.map_err(BridgeError::from).and_then(|mut s| {
        if let Some(port) = args.metrics_port {
            s.file.metrics_port = Some(port);
        }
        if let Some(port) = args.health_port {
            s.file.health_port = Some(port);
        }
        if s.keys.is_none() {
            let key = match FileFormat::of(&args.config) {
                FileFormat::Toml => "secret_key",
                FileFormat::Yaml => "node.secret_key",
            };
            log::warn!(
                "{} has no {key}: peers are not authenticated, any host that reaches this \
                 node's ports can claim to be a validator (docs/bridge.md)",
                args.config.display()
            );
        }
        if args.check {
            if let Some(why) = health::Health::of(&s).never_succeeds() {
                log::warn!("node {}: {why}", s.file.id);
            }
            log::info!(
                "{}: ok (node {} of {} validators)",
                args.config.display(),
                s.file.id,
                s.validators.len()
            );
            return Ok(());
        }
        run_node_blocking(s, args.exit_on_stdin_close).map(|_| ())
    });
    match result {
        Ok(_) => EXIT_OK,
        Err(e) => {
            log::error!("{e}");
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
