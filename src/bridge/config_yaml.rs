//! `config.yaml`: the node file in YAML, laid out as the Lux docs show it, in sections
//! `node`, `consensus`, `network`, `monitoring` and `byzantine` (`docs/bridge.md`, "YAML
//! configuration"). It is read into the same [`NodeFile`] as `node.toml` and checked by the
//! same rules; every error, of syntax, of a key or a type, or of those rules, names the
//! file, line and column in the YAML text.

use super::config::{localhost, one, one_second, stake_unit};
use super::config::{ByzantineFile, ConfigError, LogFormat, NodeFile, ParamsFile, PeerFile};
use super::config_check::{Ctx, Locator};
use super::ledger_config::LedgerFile;
use super::yaml_span::YamlIndex;
use crate::node::ledger::LedgerKind;
use crate::node::Sampling;
use crate::{Protocol, Shape};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::MessageFormatter;
use std::time::Duration;

mod map;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlFile {
    #[serde(default, deserialize_with = "null_is_default")]
    node: NodeSection,
    #[serde(default, deserialize_with = "null_is_default")]
    consensus: ConsensusSection,
    network: NetworkSection,
    #[serde(default, deserialize_with = "null_is_default")]
    monitoring: MonitoringSection,
    #[serde(default)]
    byzantine: Option<ByzantineFile>,
}

/// A key written with no value (`monitoring:`, its keys all commented out) is its default.
fn null_is_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `node:`: who this node is.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NodeSection {
    id: u32,
    secret_key: Option<String>,
    stake: f64,
    seed: u64,
    #[serde(with = "humantime_serde")]
    max_time: Option<Duration>,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            id: 0,
            secret_key: None,
            stake: one(),
            seed: 0,
            max_time: None,
        }
    }
}

/// `consensus.engine`: a single decision's protocol, or a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Engine {
    Slush,
    Snowflake,
    Snowball,
    #[serde(alias = "snowman")]
    Chain,
    #[serde(alias = "avalanche")]
    Dag,
}

impl Engine {
    /// The name the file uses.
    fn name(self) -> &'static str {
        match self {
            Engine::Slush => "slush",
            Engine::Snowflake => "snowflake",
            Engine::Snowball => "snowball",
            Engine::Chain => "chain",
            Engine::Dag => "dag",
        }
    }
}

/// `consensus:`: what is decided and how.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ConsensusSection {
    engine: Engine,
    decision: Shape,
    choices: Option<usize>,
    blocks: Option<Vec<u32>>,
    initial: usize,
    #[serde(with = "humantime_serde")]
    poll_timeout: Duration,
    self_sample: bool,
    sampling: Sampling,
    stake_unit: f64,
    #[serde(deserialize_with = "null_is_default")]
    params: ParamsFile,
    ledger: Option<LedgerSection>,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        ConsensusSection {
            engine: Engine::Snowball,
            decision: Shape::default(),
            choices: None,
            blocks: None,
            initial: 0,
            poll_timeout: one_second(),
            self_sample: false,
            sampling: Sampling::default(),
            stake_unit: stake_unit(),
            params: ParamsFile::default(),
            ledger: None,
        }
    }
}

/// `consensus.ledger:`: the keys of TOML's `[ledger]` but `kind` (the engine says it).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LedgerSection {
    block_protocol: Protocol,
    #[serde(with = "humantime_serde")]
    block_interval: Duration,
    proposers: Vec<u32>,
    heights: u64,
    transactions: u64,
    batch: usize,
    parents: usize,
    conflicts: f64,
    workload_seed: u64,
}

impl Default for LedgerSection {
    fn default() -> Self {
        let l = LedgerFile::of_kind(LedgerKind::Chain);
        LedgerSection {
            block_protocol: l.block_protocol,
            block_interval: l.block_interval,
            proposers: l.proposers,
            heights: l.heights,
            transactions: l.transactions,
            batch: l.batch,
            parents: l.parents,
            conflicts: l.conflicts,
            workload_seed: l.workload_seed,
        }
    }
}

impl LedgerSection {
    fn into_file(self, kind: LedgerKind) -> LedgerFile {
        LedgerFile {
            kind,
            block_protocol: self.block_protocol,
            block_interval: self.block_interval,
            proposers: self.proposers,
            heights: self.heights,
            transactions: self.transactions,
            batch: self.batch,
            parents: self.parents,
            conflicts: self.conflicts,
            workload_seed: self.workload_seed,
        }
    }
}

/// `network:`: sockets and peers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkSection {
    bind_address: String,
    #[serde(default)]
    feed: Option<String>,
    #[serde(default, deserialize_with = "null_is_default")]
    feed_connect: Vec<String>,
    #[serde(default, deserialize_with = "null_is_default")]
    peers: Vec<Peer>,
}

/// An item of `network.peers`: a bare address, or a map as TOML's `[[peers]]`.
#[derive(Debug)]
enum Peer {
    Address(String),
    Full(PeerFile),
}

impl<'de> Deserialize<'de> for Peer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Peer, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Peer;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a peer: an address such as \"tcp://127.0.0.1:5556\", or a map of id, address, stake, public_key")
            }
            fn visit_str<E>(self, s: &str) -> Result<Peer, E> {
                Ok(Peer::Address(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Peer, A::Error> {
                PeerFile::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(Peer::Full)
            }
        }
        d.deserialize_any(V)
    }
}

/// `monitoring:`: HTTP endpoints and the log.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MonitoringSection {
    metrics_port: Option<u16>,
    metrics_host: String,
    health_port: Option<u16>,
    log_level: Option<log::Level>,
    log_format: Option<LogFormat>,
}

impl Default for MonitoringSection {
    fn default() -> Self {
        MonitoringSection {
            metrics_port: None,
            metrics_host: localhost(),
            health_port: None,
            log_level: None,
            log_format: None,
        }
    }
}

/// A serde-saphyr error as a located `Syntax` error, in one line, without a snippet.
fn syntax(origin: &str, e: &serde_saphyr::Error) -> ConfigError {
    let (line, column) = e
        .location()
        .filter(|l| l.line() > 0)
        .map_or((1, 1), |l| (l.line() as usize, l.column().max(1) as usize));
    let message = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet());
    let message: String = message
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    ConfigError::Syntax {
        origin: origin.to_string(),
        line,
        column,
        message,
    }
}

/// Reads YAML `text` into a [`NodeFile`], and the context its checks locate errors by.
pub(super) fn read<'a>(text: &str, origin: &'a str) -> Result<(NodeFile, Ctx<'a>), ConfigError> {
    let y: YamlFile = serde_saphyr::from_str(text).map_err(|e| syntax(origin, &e))?;
    let cx = Ctx {
        origin,
        at: Locator::Yaml(YamlIndex::new(text)),
    };
    let file = map::into_node_file(y, &cx)?;
    Ok((file, cx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::config::FileFormat;
    use std::path::Path;

    /// The Lux docs' `config.yaml`, as they write it.
    const DOCS: &str = r#"consensus:
  engine: snowball
  params:
    k: 20
    alpha_preference: 15
    alpha_confidence: 15
    beta: 20
network:
  bind_address: "tcp://0.0.0.0:5555"
  peers:
    - "tcp://peer1:5555"
    - "tcp://peer2:5555"
monitoring:
  metrics_port: 8000
  log_level: INFO
"#;

    /// `GOOD` of the TOML tests (`config.rs`), in YAML.
    pub(super) const GOOD: &str = r#"node:
  id: 2
consensus:
  engine: snowball
  choices: 2
  poll_timeout: 500ms
  params:
    preset: local
network:
  bind_address: "tcp://127.0.0.1:7002"
  feed: "tcp://127.0.0.1:7102"
  peers:
    - id: 1
      address: "tcp://127.0.0.1:7001"
    - id: 7
      address: "tcp://127.0.0.1:7007"
      stake: 2.0
monitoring:
  metrics_port: 9102
"#;

    /// The error of YAML `text`, as shown.
    pub(super) fn err(text: &str) -> String {
        NodeFile::parse_yaml(text, "node.yaml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_docs_config_loads() {
        let s = NodeFile::parse_yaml(DOCS, "config.yaml").unwrap();
        let f = &s.file;
        assert_eq!((f.id, f.listen.as_str()), (0, "tcp://0.0.0.0:5555"));
        assert_eq!(s.validators, vec![0, 1, 2]);
        let peers: Vec<_> = f.peers.iter().map(|p| (p.id, p.address.as_str())).collect();
        assert_eq!(peers, [(1, "tcp://peer1:5555"), (2, "tcp://peer2:5555")]);
        assert_eq!(s.stakes, vec![1.0; 3]);
        let p = s.params;
        assert_eq!(
            (p.k, p.alpha_preference, p.alpha_confidence, p.beta),
            (20, 15, 15, 20)
        );
        assert_eq!(f.engine, Protocol::Snowball);
        assert_eq!((f.metrics_port, f.health_port), (Some(8000), None));
        assert_eq!(f.log_level, Some(log::Level::Info));
        assert_eq!(f.sampling, Sampling::Stake);
        // Sections and lists written with every key commented out are their defaults.
        let bare = "node:\nconsensus:\n  self_sample: true\n  params:\n  ledger:\nnetwork:\n  bind_address: \"tcp://127.0.0.1:5555\"\n  peers:\n  feed_connect:\nmonitoring:\nbyzantine:\n";
        let b = NodeFile::parse_yaml(bare, "bare.yaml").unwrap();
        assert_eq!(
            (b.validators.len(), b.params.k, b.file.metrics_port),
            (1, 20, None)
        );
        // Read as TOML, this text was an error; by its name it is YAML now.
        let dir = std::env::temp_dir().join(format!("luxsim-yaml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["config.yaml", "config.yml", "CONFIG.YAML"] {
            let path = dir.join(name);
            std::fs::write(&path, DOCS).unwrap();
            assert_eq!(FileFormat::of(&path), FileFormat::Yaml);
            assert_eq!(NodeFile::load(&path).unwrap(), s, "{name}");
        }
        let path = dir.join("config.toml");
        std::fs::write(&path, DOCS).unwrap();
        let e = NodeFile::load(&path).unwrap_err().to_string();
        assert!(e.ends_with("config.toml:1:10: expected `.`, `=`"), "{e}");
        assert_eq!(FileFormat::of(Path::new("node.conf")), FileFormat::Toml);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn errors_name_file_line_and_column_in_yaml_terms() {
        let cases = [
            // Syntax.
            (
                GOOD.replace("  choices: 2", "  choices: 2: 3"),
                "node.yaml:5:13: mapping values are not allowed in this context",
            ),
            // An unknown key.
            (
                GOOD.replace("  choices: 2", "  choices: 2\n  frobnicate: 1"),
                "node.yaml:6:3: unknown field `frobnicate`, expected one of engine, decision, choices, blocks, initial, poll_timeout, self_sample, sampling, stake_unit, params, ledger",
            ),
            (
                GOOD.replace("node:\n", "nodes:\n"),
                "node.yaml:1:1: unknown field `nodes`, expected one of node, consensus, network, monitoring, byzantine",
            ),
            // Wrong types and values.
            (
                GOOD.replace("    preset: local", "    k: twenty"),
                "node.yaml:8:8: invalid u64",
            ),
            (
                GOOD.replace("engine: snowball", "engine: bogus"),
                "node.yaml:4:11: unknown variant `bogus`, expected one of slush, snowflake, snowball, chain, snowman, avalanche, dag",
            ),
            (
                GOOD.replace("  poll_timeout: 500ms", "  poll_timeout: 5 parsecs"),
                "node.yaml:6:3: invalid value: string \"5 parsecs\", expected a duration",
            ),
            (
                GOOD.replace("metrics_port: 9102", "log_level: loud"),
                "node.yaml:19:14: unknown variant `loud`, expected one of ERROR, WARN, INFO, DEBUG, TRACE",
            ),
            // The rules of every node file.
            (
                GOOD.replace("\"tcp://127.0.0.1:7002\"", "\"nowhere\""),
                "node.yaml:10:17: network.bind_address: \"nowhere\" is not a ZeroMQ endpoint such as tcp://127.0.0.1:7000 (only tcp:// is supported)",
            ),
            (
                GOOD.replace("\"tcp://127.0.0.1:7001\"", "\"tcp://127.0.0.1\""),
                "node.yaml:14:16: network.peers.address: \"tcp://127.0.0.1\" is not a ZeroMQ endpoint such as tcp://127.0.0.1:7000 (no :PORT)",
            ),
            (
                GOOD.replace("    preset: local", "    preset: local\n    beta: 0"),
                "node.yaml:9:11: consensus.params: beta (0) must be at least 1",
            ),
            (
                GOOD.replace("  id: 2\n", "  id: 65536\n"),
                "node.yaml:2:7: node.id 65536 does not fit in 16 bits (compact votes carry u16 node ids; maximum 65535)",
            ),
            (
                GOOD.replace("id: 7", "id: 70000"),
                "node.yaml:15:11: peer id 70000 does not fit in 16 bits (maximum 65535)",
            ),
            (
                GOOD.replace("id: 7", "id: 1"),
                "node.yaml:15:11: peer id 1 is listed twice",
            ),
            (
                GOOD.replace("  choices: 2", "  choices: 2\n  initial: 2"),
                "node.yaml:6:12: consensus.initial (2) must be a choice index below 2",
            ),
            (
                GOOD.replace("stake: 2.0", "stake: -1.0"),
                "node.yaml:17:14: peer stake (-1) must be a finite number >= 0",
            ),
        ];
        for (text, want) in cases {
            let e = err(&text);
            assert_eq!(e, want);
            for toml in ["TOML", "toml", "[ledger]", " = ", "expected '.'"] {
                assert!(!e.contains(toml), "{e}");
            }
        }
    }
}
