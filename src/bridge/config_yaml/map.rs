//! YAML sections into a [`NodeFile`]: bare-address peers get their ids, a chain or dag
//! engine becomes a ledger.

use super::{Engine, Peer, YamlFile};
use crate::bridge::config::{one, ConfigError, NodeFile, PeerFile};
use crate::bridge::config_check::Ctx;
use crate::node::ledger::LedgerKind;
use crate::Protocol;
use std::collections::BTreeSet;

/// The ids of the peers of node `me`: a map's own, and for each bare address, in the order
/// listed, the lowest id that neither this node nor a map peer holds.
fn peer_ids(me: u32, peers: &[Peer]) -> Vec<u32> {
    let mut taken: BTreeSet<u32> = peers
        .iter()
        .filter_map(|p| match p {
            Peer::Full(f) => Some(f.id),
            Peer::Address(_) => None,
        })
        .collect();
    taken.insert(me);
    let mut next = 0u32;
    peers
        .iter()
        .map(|p| match p {
            Peer::Full(f) => f.id,
            Peer::Address(_) => {
                while taken.contains(&next) {
                    next += 1;
                }
                taken.insert(next);
                next
            }
        })
        .collect()
}

/// The `NodeFile` a YAML file stands for; `cx` locates what is wrong in its layout.
pub(super) fn into_node_file(y: YamlFile, cx: &Ctx) -> Result<NodeFile, ConfigError> {
    let (node, c, net, mon) = (y.node, y.consensus, y.network, y.monitoring);
    let bare = net
        .peers
        .iter()
        .filter(|p| matches!(p, Peer::Address(_)))
        .count();
    if bare > 0 && bare == net.peers.len() && node.id as usize > bare {
        return Err(cx.invalid(
            &["id"],
            format!(
                "node.id {}: with peers given as addresses the network is the ids 0 to {bare} \
                 (this node and its {bare} peers); give this node an id in that range, or give \
                 each peer as a map with its id",
                node.id
            ),
        ));
    }
    let ids = peer_ids(node.id, &net.peers);
    let peers = net
        .peers
        .into_iter()
        .zip(ids)
        .map(|(p, id)| match p {
            Peer::Full(f) => f,
            Peer::Address(address) => PeerFile {
                id,
                address,
                stake: one(),
                public_key: None,
            },
        })
        .collect();
    let (engine, ledger) = match c.engine {
        Engine::Slush => (Protocol::Slush, None),
        Engine::Snowflake => (Protocol::Snowflake, None),
        Engine::Snowball => (Protocol::Snowball, None),
        Engine::Chain => (Protocol::Snowball, Some(LedgerKind::Chain)),
        Engine::Dag => (Protocol::Snowball, Some(LedgerKind::Dag)),
    };
    let ledger = match (ledger, c.ledger) {
        (Some(kind), l) => Some(l.unwrap_or_default().into_file(kind)),
        (None, Some(_)) => {
            return Err(cx.invalid(
                &["ledger"],
                format!(
                    "consensus.ledger is for engine chain or dag (snowman, avalanche), not {}",
                    c.engine.name()
                ),
            ))
        }
        (None, None) => None,
    };
    Ok(NodeFile {
        id: node.id,
        secret_key: node.secret_key,
        listen: net.bind_address,
        feed: net.feed,
        feed_connect: net.feed_connect,
        metrics_port: mon.metrics_port,
        metrics_host: mon.metrics_host,
        health_port: mon.health_port,
        log_level: mon.log_level,
        log_format: mon.log_format,
        engine,
        decision: c.decision,
        choices: c.choices,
        blocks: c.blocks,
        initial: c.initial,
        poll_timeout: c.poll_timeout,
        self_sample: c.self_sample,
        sampling: c.sampling,
        stake_unit: c.stake_unit,
        seed: node.seed,
        stake: node.stake,
        max_time: node.max_time,
        params: c.params,
        peers,
        byzantine: y.byzantine,
        ledger,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{err, GOOD};
    use crate::bridge::config::NodeFile;
    use crate::bridge::LedgerFile;
    use crate::node::ledger::LedgerKind;

    #[test]
    fn yaml_and_toml_resolve_alike() {
        let toml = r#"
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
        assert_eq!(
            NodeFile::parse_yaml(GOOD, "a.yaml").unwrap(),
            NodeFile::parse(toml, "a.toml").unwrap()
        );
    }

    #[test]
    fn every_toml_key_has_its_yaml_place() {
        let toml = r#"
id = 1
secret_key = "oOoP=!1{2so3}Ky&4bIjGE5cig]I]IaOeWQdSywd"
listen = "tcp://127.0.0.1:7001"
feed = "tcp://127.0.0.1:7101"
feed_connect = ["tcp://127.0.0.1:7100"]
metrics_port = 9101
metrics_host = "0.0.0.0"
health_port = 9201
log_level = "debug"
log_format = "json"
engine = "snowflake"
decision = "flat"
blocks = [4096, 4097, 4098]
initial = 2
poll_timeout = "250ms"
self_sample = true
sampling = "validators"
stake_unit = 0.5
seed = 9
stake = 3.0
max_time = "10m"

[params]
preset = "testnet"
beta = 9

[[peers]]
id = 0
address = "tcp://127.0.0.1:7000"
stake = 2.0
public_key = "kafqBeUIMcxQ40y{.>>FOw/E$ryZ?)H}v)SisuMN"

[byzantine]
strategy = "stubborn"
target = 1
"#;
        let yaml = r#"
node:
  id: 1
  secret_key: "oOoP=!1{2so3}Ky&4bIjGE5cig]I]IaOeWQdSywd"
  seed: 9
  stake: 3.0
  max_time: 10m
consensus:
  engine: snowflake
  decision: flat
  blocks: [4096, 4097, 4098]
  initial: 2
  poll_timeout: 250ms
  self_sample: true
  sampling: validators
  stake_unit: 0.5
  params: {preset: testnet, beta: 9}
network:
  bind_address: "tcp://127.0.0.1:7001"
  feed: "tcp://127.0.0.1:7101"
  feed_connect: ["tcp://127.0.0.1:7100"]
  peers:
    - {id: 0, address: "tcp://127.0.0.1:7000", stake: 2.0, public_key: "kafqBeUIMcxQ40y{.>>FOw/E$ryZ?)H}v)SisuMN"}
monitoring:
  metrics_port: 9101
  metrics_host: 0.0.0.0
  health_port: 9201
  log_level: DEBUG
  log_format: json
byzantine:
  strategy: stubborn
  target: 1
"#;
        let t = NodeFile::parse(toml, "a.toml").unwrap();
        assert_eq!(NodeFile::parse_yaml(yaml, "a.yaml").unwrap(), t);
        // Every key of the TOML file has a YAML place (all of them but choices, exclusive
        // with blocks, and [ledger]: see ledger_engines_and_their_keys).
        let table: toml::Table = toml::from_str(&t.file.to_toml().unwrap()).unwrap();
        for key in table.keys() {
            assert!(
                crate::bridge::yaml_span::PLACES
                    .iter()
                    .any(|(k, _)| k == key),
                "{key}"
            );
        }
        assert_eq!(table.len(), 24, "{table:?}");
    }

    #[test]
    fn ledger_engines_and_their_keys() {
        let base = GOOD.replace("  choices: 2\n", "");
        let with = |engine: &str, extra: &str| {
            base.replace("engine: snowball", &format!("engine: {engine}{extra}"))
        };
        for (engine, kind) in [
            ("chain", LedgerKind::Chain),
            ("snowman", LedgerKind::Chain),
            ("dag", LedgerKind::Dag),
            ("avalanche", LedgerKind::Dag),
        ] {
            let s = NodeFile::parse_yaml(&with(engine, ""), "n.yaml").unwrap();
            assert_eq!(s.file.ledger, Some(LedgerFile::of_kind(kind)), "{engine}");
        }
        let ledger = "\n  ledger:\n    proposers: [7, 1]\n    heights: 5";
        let s = NodeFile::parse_yaml(&with("snowman", ledger), "n.yaml").unwrap();
        let l = s.file.ledger.unwrap();
        assert_eq!(
            (l.kind, l.proposers, l.heights),
            (LedgerKind::Chain, vec![7, 1], 5)
        );
        let e = |engine: &str, extra: &str| {
            NodeFile::parse_yaml(&with(engine, extra), "n.yaml")
                .unwrap_err()
                .to_string()
        };
        let m = e("dag", "\n  ledger:\n    batch: 0");
        assert_eq!(
            m,
            "n.yaml:6:12: consensus.ledger.batch (0) must be between 1 and 500"
        );
        let m = e("chain", "\n  ledger:\n    transactions: 5");
        assert_eq!(m, "n.yaml:6:19: consensus.ledger.transactions and consensus.ledger.conflicts are for engine: dag");
        let m = e("dag", "\n  ledger:\n    proposers: [1, 3]");
        assert!(
            m.starts_with("n.yaml:6:20: consensus.ledger.proposers: 3 is neither"),
            "{m}"
        );
        let m = e("snowball", "\n  ledger:\n    heights: 5");
        assert_eq!(
            m,
            "n.yaml:5:3: consensus.ledger is for engine chain or dag (snowman, avalanche), not snowball"
        );
        let m = e("chain", "\n  ledger:\n    kind: dag");
        assert!(m.starts_with("n.yaml:6:5: unknown field `kind`"), "{m}");
        let m = e("chain", "\n  choices: 2");
        assert_eq!(m, "n.yaml:5:12: consensus.choices: a chain or dag node decides blocks or vertices, not choices; remove consensus.choices");
    }

    #[test]
    fn bare_address_peers_take_the_lowest_free_ids() {
        let net = |id: u32, peers: &str| {
            format!("node:\n  id: {id}\nnetwork:\n  bind_address: \"tcp://127.0.0.1:5555\"\n  peers:\n{peers}")
        };
        let ids = |text: &str| -> Vec<u32> {
            let s = NodeFile::parse_yaml(text, "n.yaml").unwrap();
            s.file.peers.iter().map(|p| p.id).collect()
        };
        let two = "    - \"tcp://127.0.0.1:5556\"\n    - \"tcp://127.0.0.1:5557\"\n";
        assert_eq!(ids(&net(0, two)), [1, 2]);
        assert_eq!(ids(&net(1, two)), [0, 2]);
        assert_eq!(ids(&net(2, two)), [0, 1]);
        // Map peers keep their ids; bare ones fill the lowest ids left, in order.
        let mixed = "    - {id: 1, address: \"tcp://127.0.0.1:5556\"}\n    - \"tcp://127.0.0.1:5557\"\n    - \"tcp://127.0.0.1:5558\"\n";
        assert_eq!(ids(&net(0, mixed)), [1, 2, 3]);
        assert_eq!(ids(&net(2, mixed)), [1, 0, 3]);
        let e = err(&net(3, two));
        assert!(
            e.starts_with("node.yaml:2:7: node.id 3: with peers given as addresses the network is the ids 0 to 2"),
            "{e}"
        );
        // With a key, every peer needs a map with its public_key.
        let keyed = net(0, two).replace(
            "  id: 0\n",
            "  id: 0\n  secret_key: \"oOoP=!1{2so3}Ky&4bIjGE5cig]I]IaOeWQdSywd\"\n",
        );
        assert_eq!(
            err(&keyed),
            "node.yaml:7:7: peer 1 has no public_key: with a node.secret_key, every peer needs one"
        );
    }
}
