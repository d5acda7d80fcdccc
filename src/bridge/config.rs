//! `node.toml`: one bridge node's id, sockets, peers, engine and parameters (`docs/bridge.md`).
//!
//! [`NodeFile`] is the file as written; [`NodeFile::parse`] checks it and resolves it into
//! [`NodeSettings`]. Errors name the file, line and column of the offending key, like
//! scenario errors do.

use super::ledger_config::LedgerFile;
use super::security::{Key, Keys};
#[cfg(test)]
use crate::node::ledger::LedgerKind;
use crate::node::{Sampling, StakeSampler, Strategy};
use crate::util::toml_span::{line_column, Tree};
use crate::{ConsensusParams, Protocol, Shape};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

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
    /// Port of the HTTP endpoint serving `/metrics` and `/health`; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<u16>,
    /// Address the HTTP endpoint binds (default `127.0.0.1`).
    #[serde(default = "localhost")]
    pub metrics_host: String,
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

fn one() -> f64 {
    1.0
}
fn stake_unit() -> f64 {
    crate::node::STAKE_UNIT
}
fn one_usize() -> usize {
    1
}
fn localhost() -> String {
    "127.0.0.1".into()
}
fn snowball() -> Protocol {
    Protocol::Snowball
}
fn one_second() -> Duration {
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

/// Why a node file could not be loaded: the located-TOML error scenarios share (never
/// `BadOverride`: node files take no `--set`).
pub type ConfigError = crate::util::toml_span::TomlError;

/// A file being checked: its name, text and key spans.
pub(super) struct Ctx<'a> {
    origin: &'a str,
    text: &'a str,
    tree: Tree,
}

impl Ctx<'_> {
    /// An `Invalid` error at the first of `paths` present in the file (else line 1).
    pub(super) fn invalid(&self, paths: &[&str], message: impl Into<String>) -> ConfigError {
        let offset = paths
            .iter()
            .find_map(|p| self.tree.span(p))
            .map_or(0, |s| s.start);
        let (line, column) = line_column(self.text, offset);
        ConfigError::invalid(self.origin, line, column, message.into())
    }
}

/// Checks a ZeroMQ TCP endpoint string: `tcp://HOST:PORT` (HOST a name, an IPv4 address,
/// `[IPv6]` or `*`; PORT a number, or `*` / 0 for any when binding).
pub fn check_endpoint(s: &str) -> Result<(), String> {
    let bad =
        |why: &str| format!("{s:?} is not a ZeroMQ endpoint such as tcp://127.0.0.1:7000 ({why})");
    let rest = s
        .strip_prefix("tcp://")
        .ok_or_else(|| bad("only tcp:// is supported"))?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("no :PORT"))?;
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            host == "*"
                || (!host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)))
        }
    };
    if !host_ok {
        return Err(bad("bad host"));
    }
    if port != "*" && port.parse::<u16>().is_err() {
        return Err(bad("the port must be a number from 0 to 65535, or *"));
    }
    Ok(())
}

impl NodeFile {
    /// Reads and checks the node file at `path`.
    pub fn load(path: &Path) -> Result<NodeSettings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::io(path, source))?;
        NodeFile::parse(&text, &path.display().to_string())
    }

    /// Parses and checks node-file `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<NodeSettings, ConfigError> {
        let file: NodeFile = toml::from_str(text).map_err(|e| {
            ConfigError::syntax(origin, text, e.span().map_or(0, |s| s.start), e.message())
        })?;
        let cx = Ctx {
            origin,
            text,
            tree: toml::from_str(text).unwrap_or(Tree::Leaf),
        };
        file.check(&cx)
    }

    /// This file as TOML text (a seed above i64::MAX does not fit in TOML and is an error).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    fn check(self, cx: &Ctx) -> Result<NodeSettings, ConfigError> {
        let f = &self;
        if f.id > u32::from(u16::MAX) {
            return Err(cx.invalid(&["id"], format!("id {} does not fit in 16 bits (compact votes carry u16 node ids; maximum 65535)", f.id)));
        }
        check_endpoint(&f.listen).map_err(|m| cx.invalid(&["listen"], format!("listen: {m}")))?;
        if let Some(feed) = &f.feed {
            check_endpoint(feed).map_err(|m| cx.invalid(&["feed"], format!("feed: {m}")))?;
        }
        for (i, a) in f.feed_connect.iter().enumerate() {
            check_endpoint(a).map_err(|m| {
                cx.invalid(
                    &[&format!("feed_connect.{i}")],
                    format!("feed_connect: {m}"),
                )
            })?;
        }
        let params = f.params.resolve().and_then(|p| p.validate().map(|()| p));
        let params = params.map_err(|e| {
            let key = e.field();
            cx.invalid(
                &[&format!("params.{key}"), "params"],
                format!("params: {e}"),
            )
        })?;
        let blocks: Vec<u16> = match (f.choices, &f.blocks) {
            (Some(_), Some(_)) => {
                return Err(cx.invalid(&["blocks"], "give either choices or blocks, not both"))
            }
            (Some(n), None) if !(1..=65536).contains(&n) => {
                return Err(cx.invalid(
                    &["choices"],
                    format!("choices ({n}) must be between 1 and 65536 (block ids are u16)"),
                ))
            }
            (Some(n), None) => (0..n).map(|c| c as u16).collect(),
            (None, None) => vec![0, 1],
            (None, Some(b)) => {
                let mut seen = BTreeSet::new();
                for (i, &id) in b.iter().enumerate() {
                    let at = [format!("blocks.{i}")];
                    let at = [at[0].as_str(), "blocks"];
                    if id > u32::from(u16::MAX) {
                        return Err(cx.invalid(
                            &at,
                            format!("block id {id} does not fit in 16 bits (maximum 65535)"),
                        ));
                    }
                    if !seen.insert(id) {
                        return Err(cx.invalid(&at, format!("block id {id} is listed twice")));
                    }
                }
                if b.is_empty() {
                    return Err(cx.invalid(&["blocks"], "blocks must name at least one block"));
                }
                b.iter().map(|&id| id as u16).collect()
            }
        };
        if f.initial >= blocks.len() {
            return Err(cx.invalid(
                &["initial"],
                format!(
                    "initial ({}) must be a choice index below {}",
                    f.initial,
                    blocks.len()
                ),
            ));
        }
        if f.poll_timeout.is_zero() {
            return Err(cx.invalid(&["poll_timeout"], "poll_timeout must be greater than 0"));
        }
        if let Some(b) = &f.byzantine {
            if b.target >= blocks.len() {
                return Err(cx.invalid(
                    &["byzantine.target"],
                    format!(
                        "byzantine.target ({}) must be a choice index below {}",
                        b.target,
                        blocks.len()
                    ),
                ));
            }
        }
        if let Some(l) = &f.ledger {
            super::ledger_config::check_ledger(f, l, cx)?;
        }
        let stake_ok = |s: f64| s.is_finite() && s >= 0.0;
        if !stake_ok(f.stake) {
            return Err(cx.invalid(
                &["stake"],
                format!("stake ({}) must be a finite number >= 0", f.stake),
            ));
        }
        let keys = match &f.secret_key {
            Some(k) => Some(
                Keys::from_secret_z85(k)
                    .map_err(|e| cx.invalid(&["secret_key"], format!("secret_key: {e}")))?,
            ),
            None => None,
        };
        let mut validators = vec![(f.id, f.stake, keys.as_ref().map(Keys::public))];
        for (i, p) in f.peers.iter().enumerate() {
            let at = |key: &str| format!("peers.{i}.{key}");
            if p.id > u32::from(u16::MAX) {
                return Err(cx.invalid(
                    &[&at("id")],
                    format!("peer id {} does not fit in 16 bits (maximum 65535)", p.id),
                ));
            }
            if p.id == f.id {
                return Err(cx.invalid(
                    &[&at("id")],
                    format!("peer id {} is this node's own id", p.id),
                ));
            }
            if validators.iter().any(|v| v.0 == p.id) {
                return Err(cx.invalid(&[&at("id")], format!("peer id {} is listed twice", p.id)));
            }
            check_endpoint(&p.address)
                .map_err(|m| cx.invalid(&[&at("address")], format!("peers.address: {m}")))?;
            if !stake_ok(p.stake) {
                return Err(cx.invalid(
                    &[&at("stake")],
                    format!("peer stake ({}) must be a finite number >= 0", p.stake),
                ));
            }
            let public = match (&p.public_key, &keys) {
                (Some(k), Some(_)) => Some(Key::from_z85(k).map_err(|e| {
                    cx.invalid(&[&at("public_key")], format!("peers.public_key: {e}"))
                })?),
                (None, Some(_)) => {
                    return Err(cx.invalid(
                        &[&at("id")],
                        format!(
                            "peer {} has no public_key: with a secret_key, every peer needs one",
                            p.id
                        ),
                    ))
                }
                (Some(_), None) => {
                    return Err(cx.invalid(
                        &[&at("public_key")],
                        "a peer's public_key needs this node's own secret_key (luxsim keygen)",
                    ))
                }
                (None, None) => None,
            };
            if public.is_some() && validators.iter().any(|v| v.2 == public) {
                return Err(cx.invalid(
                    &[&at("public_key")],
                    format!("peer {}'s public_key is another validator's", p.id),
                ));
            }
            validators.push((p.id, p.stake, public));
        }
        let sampleable: f64 = validators
            .iter()
            .filter(|v| f.self_sample || v.0 != f.id)
            .map(|v| v.1)
            .sum();
        if sampleable <= 0.0 {
            return Err(cx.invalid(
                &["peers", "id"],
                "no stake to sample: add peers with positive stake",
            ));
        }
        validators.sort_by_key(|v| v.0);
        let stakes: Vec<f64> = validators.iter().map(|v| v.1).collect();
        if let Err(e) = StakeSampler::new(&stakes, f.sampling, f.stake_unit) {
            return Err(cx.invalid(&["stake_unit", "stake"], e.to_string()));
        }
        if let Some(l) = &f.ledger {
            for (i, p) in l.proposers.iter().enumerate() {
                if !validators.iter().any(|v| v.0 == *p) {
                    return Err(cx.invalid(
                        &[&format!("ledger.proposers.{i}"), "ledger.proposers"],
                        format!("ledger.proposers: {p} is neither this node nor a peer"),
                    ));
                }
            }
        }
        Ok(NodeSettings {
            params,
            blocks,
            validators: validators.iter().map(|v| v.0).collect(),
            stakes,
            public_keys: validators.iter().map(|v| v.2).collect(),
            keys,
            file: self,
        })
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
        let samples = [
            include_str!("../../examples/node.toml"),
            include_str!("../../deploy/compose/node-0.toml"),
            include_str!("../../deploy/compose/node-4.toml"),
        ];
        for text in samples {
            let s = NodeFile::parse(text, "sample.toml").unwrap();
            assert_eq!(s.validators.len(), s.file.peers.len() + 1);
        }
    }
}
