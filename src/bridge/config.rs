//! `node.toml` (or `config.yaml`): one bridge node's id, sockets, peers, engine and
//! parameters (`docs/bridge.md`).
//!
//! [`NodeFile`] is the file as written in TOML; [`NodeFile::parse`] checks it and resolves
//! it into [`NodeSettings`] (`config_check.rs`). A YAML file (`config_yaml.rs`) is read
//! into the same `NodeFile` and checked by the same rules. Errors name the file, line and
//! column of the offending key, like scenario errors do.

use super::config_check::{Ctx, Locator};
use super::ledger_config::LedgerFile;
use super::security::{Key, Keys};
#[cfg(test)]
use crate::node::ledger::LedgerKind;
use crate::node::{Sampling, Strategy};
use crate::util::toml_span::Tree;
use crate::{ConsensusParams, Protocol, Shape};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// How the node writes its log on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per record.
    #[default]
    Text,
    /// One JSON object per line: `ts`, `level`, `target`, `msg`.
    Json,
}

/// The two languages a node file may be written in, told by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `.toml`, and any name that is not `.yaml` or `.yml`.
    Toml,
    /// `.yaml` or `.yml` (any case).
    Yaml,
}

impl FileFormat {
    /// The format of the file at `path`: YAML for `.yaml` and `.yml`, else TOML.
    pub fn of(path: &Path) -> FileFormat {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") {
            FileFormat::Yaml
        } else {
            FileFormat::Toml
        }
    }
}

/// A peer as written in `[[peers]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerFile {
    /// The peer's node id (below 65536: it appears in compact votes).
    pub id: u32,
    /// The peer's poll endpoint (its `listen`), e.g. `tcp://10.0.0.2:7000`.
    pub address: String,
    /// The peer's stake weight.
    #[serde(default = "one")]
    pub stake: f64,
    /// The peer's CURVE public key (Z85, 40 characters); required when this node has a
    /// `secret_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// `[params]`: an optional preset plus per-field overrides.
pub type ParamsFile = crate::ParamsSpec;

/// `[byzantine]`: this node answers queries by an adversary strategy instead of honestly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineFile {
    /// silent, stubborn, random, equivocate, balance or delay.
    pub strategy: Strategy,
    /// The choice stubborn nodes push.
    #[serde(default = "one_usize")]
    pub target: usize,
}

/// `node.toml` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// This node's id (below 65536).
    pub id: u32,
    /// This node's CURVE secret key (Z85, 40 characters; `luxsim keygen` makes one). With
    /// it every peer must give its `public_key`, and every frame is authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// The ROUTER endpoint the node binds for queries and answers.
    pub listen: String,
    /// The PUB endpoint of the vote feed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// Vote feeds to subscribe to (counted as votes received).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feed_connect: Vec<String>,
    /// Port of the HTTP endpoint serving `/metrics` (and `/health` when `health_port` is
    /// absent); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<u16>,
    /// Address the HTTP endpoints bind (default `127.0.0.1`).
    #[serde(default = "localhost")]
    pub metrics_host: String,
    /// Port of an HTTP endpoint of its own for `/health`; none: `/health` is on
    /// `metrics_port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_port: Option<u16>,
    /// The log level (error, warn, info, debug, trace; any case), below `--log-level` and
    /// `RUST_LOG`; default info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<log::Level>,
    /// The log format, `text` or `json`, below `--log-format`; default text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// slush, snowflake or snowball.
    #[serde(default = "snowball")]
    pub engine: Protocol,
    /// `tree` (avalanchego's `snowball.Tree`, the default) or `flat`.
    #[serde(default)]
    pub decision: Shape,
    /// Number of choices (exclusive with `blocks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<usize>,
    /// Block ids, one per choice, as published in compact votes (exclusive with `choices`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<u32>>,
    /// The initial preference (a choice index).
    #[serde(default)]
    pub initial: usize,
    /// How long a poll waits for its answers.
    #[serde(default = "one_second", with = "humantime_serde")]
    pub poll_timeout: Duration,
    /// Whether the node may sample itself.
    #[serde(default)]
    pub self_sample: bool,
    /// How a poll fills its k slots: `"stake"` (k stake units, avalanchego's validator
    /// sampling, the default) or `"validators"` (k distinct validators).
    #[serde(default)]
    pub sampling: Sampling,
    /// The stake one unit stands for under `"stake"` sampling (default 1e-9).
    #[serde(default = "stake_unit")]
    pub stake_unit: f64,
    /// Seed of the node's sampling (TOML integers stop at i64::MAX).
    #[serde(default)]
    pub seed: u64,
    /// This node's own stake weight.
    #[serde(default = "one")]
    pub stake: f64,
    /// Stop by itself after this long (default: run until SIGINT or SIGTERM).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_time: Option<Duration>,
    /// Engine parameters.
    #[serde(default)]
    pub params: ParamsFile,
    /// The other validators.
    #[serde(default)]
    pub peers: Vec<PeerFile>,
    /// Adversary mode, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byzantine: Option<ByzantineFile>,
    /// A chain or DAG validator instead of a single decision, if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerFile>,
}

pub(super) fn one() -> f64 {
    1.0
}
pub(super) fn stake_unit() -> f64 {
    crate::node::STAKE_UNIT
}
fn one_usize() -> usize {
    1
}
pub(super) fn localhost() -> String {
    "127.0.0.1".into()
}
fn snowball() -> Protocol {
    Protocol::Snowball
}
pub(super) fn one_second() -> Duration {
    Duration::from_secs(1)
}

/// A checked, resolved node configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSettings {
    /// The file as written.
    pub file: NodeFile,
    /// The resolved parameters.
    pub params: ConsensusParams,
    /// Block id of each choice (the choice itself when `blocks` is absent).
    pub blocks: Vec<u16>,
    /// Every validator id, sorted: the state machine's validator index is a position here.
    pub validators: Vec<u32>,
    /// Stake of each validator, in `validators` order.
    pub stakes: Vec<f64>,
    /// This node's CURVE keys, when it authenticates its peers.
    pub keys: Option<Keys>,
    /// Each validator's CURVE public key, in `validators` order (this node's own included).
    pub public_keys: Vec<Option<Key>>,
}

impl NodeSettings {
    /// The number of choices.
    pub fn choices(&self) -> usize {
        self.blocks.len()
    }

    /// The validator index of node `id`, if it is this node or a configured peer.
    pub fn index_of(&self, id: u32) -> Option<u32> {
        self.validators.binary_search(&id).ok().map(|i| i as u32)
    }

    /// The node id at validator index `index`.
    pub fn id_at(&self, index: u32) -> Option<u32> {
        self.validators.get(index as usize).copied()
    }
}

/// Why a node file could not be loaded: the located error scenarios share (never
/// `BadOverride`: node files take no `--set`), for TOML and YAML files alike.
pub type ConfigError = crate::util::toml_span::TomlError;

impl NodeFile {
    /// Reads and checks the node file at `path`, YAML for `.yaml` and `.yml`, else TOML
    /// ([`FileFormat::of`]).
    pub fn load(path: &Path) -> Result<NodeSettings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::io(path, source))?;
        let origin = path.display().to_string();
        match FileFormat::of(path) {
            FileFormat::Toml => NodeFile::parse(&text, &origin),
            FileFormat::Yaml => NodeFile::parse_yaml(&text, &origin),
        }
    }

    /// Parses and checks TOML node-file `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<NodeSettings, ConfigError> {
        let file: NodeFile = toml::from_str(text).map_err(|e| {
            ConfigError::syntax(origin, text, e.span().map_or(0, |s| s.start), e.message())
        })?;
        let cx = Ctx {
            origin,
            at: Locator::Toml {
                text,
                tree: toml::from_str(text).unwrap_or(Tree::Leaf),
            },
        };
        file.check(&cx)
    }

    /// Parses and checks YAML node-file `text` (the layout of `docs/bridge.md`, "YAML");
    /// `origin` names it in errors.
    pub fn parse_yaml(text: &str, origin: &str) -> Result<NodeSettings, ConfigError> {
        let (file, cx) = super::config_yaml::read(text, origin)?;
        file.check(&cx)
    }

    /// This file as TOML text (a seed above i64::MAX does not fit in TOML and is an error).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = 2
listen = "tcp://127.0.0.1:7002"
feed = "tcp://127.0.0.1:7102"
metrics_port = 9102
engine = "snowball"
choices = 2
poll_timeout = "500ms"

[params]
preset = "local"

[[peers]]
id = 1
address = "tcp://127.0.0.1:7001"

[[peers]]
id = 7
address = "tcp://127.0.0.1:7007"
stake = 2.0
"#;

    #[test]
    fn a_good_file_resolves() {
        let s = NodeFile::parse(GOOD, "node.toml").unwrap();
        assert_eq!(s.params.k, 3);
        assert_eq!(s.validators, vec![1, 2, 7]);
        assert_eq!(s.stakes, vec![1.0, 1.0, 2.0]);
        assert_eq!(
            (s.index_of(7), s.index_of(3), s.id_at(1)),
            (Some(2), None, Some(2))
        );
        assert_eq!(s.blocks, vec![0, 1]);
        assert_eq!(s.file.poll_timeout, Duration::from_millis(500));
        let again = NodeFile::parse(&s.file.to_toml().unwrap(), "again.toml").unwrap();
        assert_eq!(again, s);
    }

    fn err(text: &str) -> String {
        NodeFile::parse(text, "node.toml").unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = err(&GOOD.replace("id = 7", "id = 70000"));
        assert!(e.starts_with("node.toml:18:6: peer id 70000"), "{e}");
        let e = err(&GOOD.replace("id = 2\n", "id = 65536\n"));
        assert!(e.starts_with("node.toml:2:6: id 65536 does not fit"), "{e}");
        let e = err(&GOOD.replace("preset = \"local\"", "preset = \"local\"\nbeta = 0"));
        assert!(e.starts_with("node.toml:12:8: params: beta (0)"), "{e}");
        let e = err(&GOOD.replace("engine = \"snowball\"", "engine = \"avalanche\""));
        assert!(e.starts_with("node.toml:6:10: unknown variant"), "{e}");
        let e = err(&GOOD.replace("\"tcp://127.0.0.1:7001\"", "\"nowhere\""));
        assert!(e.starts_with("node.toml:15:11: peers.address"), "{e}");
        let e = err(&GOOD.replace("id = 7", "id = 1"));
        assert!(e.contains("listed twice"), "{e}");
        let e = err(&GOOD.replace("choices = 2", "choices = 2\nfrobnicate = 1"));
        assert!(
            e.starts_with("node.toml:8:1: unknown field `frobnicate`"),
            "{e}"
        );
        let e = err(&GOOD.replace("choices = 2", "blocks = [5, 5]"));
        assert!(e.contains("listed twice"), "{e}");
        let e = err(&GOOD.replace("choices = 2", "choices = 2\ninitial = 2"));
        assert!(e.starts_with("node.toml:8:11: initial (2)"), "{e}");
        let e = err("id = [");
        assert!(e.starts_with("node.toml:1:"), "{e}");
    }

    #[test]
    fn a_ledger_table_resolves_and_its_errors_are_located() {
        let base = GOOD.replace("choices = 2\n", "");
        let with = |table: &str| format!("{base}\n[ledger]\n{table}");
        let s = NodeFile::parse(
            &with("kind = \"chain\"\nproposers = [7, 1]\nheights = 5"),
            "n.toml",
        )
        .unwrap();
        let l = s.file.ledger.as_ref().unwrap();
        assert_eq!((l.kind, l.heights, l.batch), (LedgerKind::Chain, 5, 10));
        assert_eq!(l.block_interval, Duration::from_millis(100));
        let again = NodeFile::parse(&s.file.to_toml().unwrap(), "again.toml").unwrap();
        assert_eq!(again, s);
        let e = |t: &str| NodeFile::parse(&with(t), "n.toml").unwrap_err().to_string();
        let m = e("kind = \"dag\"\nproposers = [1, 3]");
        assert!(
            m.contains("ledger.proposers: 3 is neither this node nor a peer"),
            "{m}"
        );
        let m = e("kind = \"dag\"\nbatch = 0");
        assert!(m.starts_with("n.toml:23:9: ledger.batch (0)"), "{m}");
        let m = e("kind = \"chain\"\ntransactions = 5");
        assert!(m.contains("are for kind = \"dag\""), "{m}");
        let m = e("kind = \"dag\"\nconflicts = 2.0");
        assert!(m.contains("between 0 and 1"), "{m}");
        let m = e("kind = \"tree\"");
        assert!(m.contains("unknown variant `tree`"), "{m}");
        let m = NodeFile::parse(&format!("{GOOD}\n[ledger]\nkind = \"chain\""), "n.toml")
            .unwrap_err()
            .to_string();
        assert!(m.contains("decides blocks or vertices, not choices"), "{m}");
        let byz =
            format!("{base}\n[byzantine]\nstrategy = \"stubborn\"\n\n[ledger]\nkind = \"chain\"");
        let m = NodeFile::parse(&byz, "n.toml").unwrap_err().to_string();
        assert!(m.contains("plays only silent, not stubborn"), "{m}");
    }

    #[test]
    fn shipped_samples_load() {
        let s = NodeFile::parse(include_str!("../../examples/node.toml"), "node.toml").unwrap();
        assert_eq!(s.validators.len(), s.file.peers.len() + 1);
        // The compose cluster's files (compose.yaml): five nodes with CURVE keys.
        let compose = [
            include_str!("../../deploy/compose/node-0.yaml"),
            include_str!("../../deploy/compose/node-1.yaml"),
            include_str!("../../deploy/compose/node-2.yaml"),
            include_str!("../../deploy/compose/node-3.yaml"),
            include_str!("../../deploy/compose/node-4.yaml"),
        ];
        for (i, text) in compose.into_iter().enumerate() {
            let s = NodeFile::parse_yaml(text, "node.yaml").unwrap();
            assert_eq!(
                (s.file.id, &s.validators[..]),
                (i as u32, &[0, 1, 2, 3, 4][..])
            );
            assert!(s.keys.is_some() && s.public_keys.iter().all(Option::is_some));
            let ports = (s.file.metrics_port, s.file.health_port);
            assert_eq!(ports, (Some(9100), Some(9200)));
            assert_eq!(
                (s.params.k, s.params.alpha_confidence, s.params.beta),
                (4, 4, 4)
            );
        }
        // The docs' config.yaml on one machine: three nodes that list one another.
        let yaml = [
            include_str!("../../examples/config.yaml"),
            include_str!("../../examples/config-1.yaml"),
            include_str!("../../examples/config-2.yaml"),
        ];
        for (i, text) in yaml.into_iter().enumerate() {
            let s = NodeFile::parse_yaml(text, "sample.yaml").unwrap();
            assert_eq!((s.file.id, &s.validators[..]), (i as u32, &[0, 1, 2][..]));
            assert_eq!(s.file.listen, format!("tcp://127.0.0.1:{}", 5555 + i));
            for p in &s.file.peers {
                assert_eq!(p.address, format!("tcp://127.0.0.1:{}", 5555 + p.id));
            }
            let ports = (s.file.metrics_port, s.file.health_port);
            assert_eq!(ports, (Some(8000 + i as u16), Some(8080 + i as u16)));
            assert_eq!((s.params.k, s.params.alpha_confidence), (20, 15));
        }
    }
}
