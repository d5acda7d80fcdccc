//! The scenario file: what a simulation run is made of (see `docs/scenarios.md`).
//!
//! Loading goes: TOML text -> `toml::Table` -> `--set key.path=value` overrides -> [`Scenario`]
//! (params preset resolved, `workload.initial` filled) -> validation. Errors carry the
//! file, line and column of the offending key; a value that came from `--set` is reported
//! at line 0 with `(set by --set key=value)` in the message.

use crate::sim::latency::Latency;
use crate::{ConsensusParams, Protocol, Shape};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use toml::{Table, Value};

use locate::{Ctx, Tree};
use overrides::Override;
use validate::validate;

pub use crate::node::{Sampling, Stake, Strategy};
pub use ledger::{Leader, LedgerSpec, Proposer, ScenarioEngine, MAX_PARENTS};

mod ledger;
mod locate;
mod overrides;
mod params;
mod validate;

#[cfg(test)]
mod tests;

/// A whole scenario: engine, parameters, network, workload, adversary and checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name of the run; it becomes a directory name (`[A-Za-z0-9_.-]+`).
    pub name: String,
    /// Seed of every random choice of the run.
    #[serde(default)]
    pub seed: u64,
    /// The engine every honest node runs: one decision, chain or dag.
    #[serde(default)]
    pub engine: ScenarioEngine,
    /// How a single decision among many choices is split: `tree` (avalanchego's
    /// `snowball.Tree`, the default, what avalanchego runs) or `flat` (one n-ary instance);
    /// see [`Scenario::shape`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Shape>,
    /// Chains: what each block's tree over its children runs, `snowflake` (the default,
    /// what avalanchego runs since PR #3403) or `snowball`; see [`Scenario::block_protocol`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_protocol: Option<Protocol>,
    /// Event-driven (virtual time) or lockstep rounds.
    #[serde(default)]
    pub mode: Mode,
    /// Event mode without the short cut: every query and answer is an event handled by the
    /// node (same digests as the default, more events; see `docs/scenarios.md`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
    /// Virtual-time budget (event mode).
    #[serde(default = "default_max_time", with = "humantime_serde")]
    pub max_time: Duration,
    /// Round budget (lockstep mode).
    #[serde(default = "default_max_rounds")]
    pub max_rounds: u64,
    /// Event budget (event mode): the run stops after this many events, so that no
    /// scenario runs forever (a 1 ns poll timeout, say); see [`DEFAULT_MAX_EVENTS`].
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Consensus parameters, resolved from `preset` plus overrides.
    #[serde(default, deserialize_with = "params::resolve_params")]
    pub params: ConsensusParams,
    /// The simulated network.
    pub network: NetworkSpec,
    /// What is being decided and the honest nodes' initial preferences.
    #[serde(default)]
    pub workload: Workload,
    /// The adversary, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byzantine: Option<Byzantine>,
    /// Checks made at the end of the run.
    #[serde(default)]
    pub expect: Expect,
}

fn default_max_time() -> Duration {
    Duration::from_secs(60)
}
fn default_max_rounds() -> u64 {
    10_000
}

/// The default `max_events`: 2^32, a few minutes of simulation on one core.
pub const DEFAULT_MAX_EVENTS: u64 = 1 << 32;

fn default_max_events() -> u64 {
    DEFAULT_MAX_EVENTS
}
fn default_stake_unit() -> f64 {
    crate::node::STAKE_UNIT
}

fn default_poll_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_target() -> usize {
    1
}

/// How the simulator advances: by events in virtual time or by synchronous rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Discrete events with message latencies.
    #[default]
    Event,
    /// Every node polls once per round; answers arrive within the round.
    Lockstep,
    /// avalanchego's test network: one random running node polls per round, reading live
    /// preferences.
    Harness,
}

impl Mode {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Event => "event",
            Mode::Lockstep => "lockstep",
            Mode::Harness => "harness",
        }
    }

    /// Whether the mode counts rounds (lockstep, harness) rather than virtual time.
    pub fn rounds(&self) -> bool {
        *self != Mode::Event
    }
}

/// The simulated network: nodes, stake, latency, faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Number of nodes, honest and byzantine.
    pub nodes: usize,
    /// How stake is spread over the nodes.
    #[serde(default)]
    pub stake: Stake,
    /// One-way message latency (jitter on top of the region base when regions are set).
    #[serde(default)]
    pub latency: Latency,
    /// Probability that a message is dropped.
    #[serde(default)]
    pub loss: f64,
    /// Probability that a message is delivered twice.
    #[serde(default)]
    pub duplicate: f64,
    /// How long a node waits for the answers of a poll.
    #[serde(default = "default_poll_timeout", with = "humantime_serde")]
    pub poll_timeout: Duration,
    /// Whether a node may sample itself.
    #[serde(default)]
    pub self_sample: bool,
    /// How a poll fills its k slots: `"stake"` (k stake units, avalanchego's validator
    /// sampling) or `"validators"` (k distinct validators); by default stake, except in
    /// harness mode, whose avalanchego test harness samples distinct nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Sampling>,
    /// The stake one unit stands for under `"stake"` sampling: a node of weight w holds
    /// round(w / stake_unit) units (default 1e-9: a weight in AVAX, units in nAVAX).
    #[serde(default = "default_stake_unit")]
    pub stake_unit: f64,
    /// Regions with base latencies; node i is in region i % R.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Regions>,
    /// Network partitions over time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<Partition>,
    /// Node crashes over time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crashes: Vec<Crash>,
}

/// Named regions and the one-way base latency between each pair of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regions {
    /// Region names; node i is in region `i % names.len()`.
    pub names: Vec<String>,
    /// `base[a][b]`: one-way base latency from region a to region b.
    #[serde(with = "duration_matrix")]
    pub base: Vec<Vec<Duration>>,
}

/// A matrix of duration strings (`[["5ms", "80ms"], ["80ms", "5ms"]]`).
mod duration_matrix {
    use humantime_serde::Serde;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(m: &[Vec<Duration>], s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Vec<Serde<&Duration>>> = m
            .iter()
            .map(|row| row.iter().map(Serde::from).collect())
            .collect();
        rows.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<Duration>>, D::Error> {
        let rows = Vec::<Vec<Serde<Duration>>>::deserialize(d)?;
        Ok(rows
            .into_iter()
            .map(|row| row.into_iter().map(Serde::into_inner).collect())
            .collect())
    }
}

/// A partition: between `start` and `end`, messages between groups are dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// When the partition begins.
    #[serde(with = "humantime_serde")]
    pub start: Duration,
    /// When it heals; never when absent.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub end: Option<Duration>,
    /// Inclusive node-id ranges `[first, last]`; nodes in no group are unaffected.
    pub groups: Vec<[usize; 2]>,
    /// Which cross-group messages are dropped.
    #[serde(default)]
    pub direction: Direction,
}

/// Which messages a partition drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Every message between two different groups.
    #[default]
    Both,
    /// Only messages from an earlier group to a later one.
    Forward,
}

/// A crash of a range of nodes, with an optional recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    /// Inclusive node-id range `[first, last]`.
    pub nodes: [usize; 2],
    /// When the nodes stop.
    #[serde(with = "humantime_serde")]
    pub at: Duration,
    /// When they come back, keeping their state; never when absent.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub recover: Option<Duration>,
}

/// The decision being made and how honest nodes start; for ledgers, how blocks are made.
///
/// The ledger keys are `None` when absent; [`Scenario::ledger`] fills in their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    /// Number of choices (1..=255).
    pub choices: usize,
    /// Share of honest nodes initially preferring each choice (filled with equal shares on load).
    pub initial: Vec<f64>,
    /// Chain: heights every honest node must accept (0: blocks until `max_time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heights: Option<u64>,
    /// Chain and dag: time between two proposal slots.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub block_interval: Option<Duration>,
    /// Chain and dag: who proposes each slot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<Leader>,
    /// Dag: transaction arrivals in all (0: until `max_time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions: Option<u64>,
    /// Dag: arrivals per virtual second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_rate: Option<f64>,
    /// Dag: most transactions in one vertex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    /// Dag: most parents a vertex names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parents: Option<usize>,
    /// Dag: share of arrivals that are double spends (a pair of conflicting transactions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<f64>,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            choices: 2,
            initial: Vec::new(),
            heights: None,
            block_interval: None,
            leader: None,
            transactions: None,
            tx_rate: None,
            batch: None,
            parents: None,
            conflicts: None,
        }
    }
}

/// The byzantine nodes: how many (`fraction` or `count`) and how they behave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Byzantine {
    /// Share of all nodes that are byzantine (exclusive with `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Number of byzantine nodes (exclusive with `fraction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// Share of the stake the byzantine nodes hold (exclusive with `fraction` and `count`):
    /// nodes are taken in a uniformly random order until their stake reaches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stake_fraction: Option<f64>,
    /// How they answer queries.
    pub strategy: Strategy,
    /// The choice that stubborn nodes push.
    #[serde(default = "default_target")]
    pub target: usize,
    /// Ledger engines: what Byzantine leaders propose (default `honest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposer: Option<Proposer>,
}

impl Byzantine {
    /// The number of byzantine nodes among `honest_plus_byz_nodes`: `count`, or
    /// `round(fraction * nodes)`; 0 with `stake_fraction`, whose count depends on the stake
    /// drawn (see `Population::draw`).
    pub fn resolved_count(&self, honest_plus_byz_nodes: usize) -> usize {
        match (self.count, self.fraction) {
            (Some(c), _) => c,
            (None, Some(f)) => (f * honest_plus_byz_nodes as f64).round() as usize,
            (None, None) => 0,
        }
    }
}

/// Optional checks made at the end of a run; a failed one makes the run exit with code 1.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    /// Whether no two honest nodes may finalize different choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<bool>,
    /// Least share of honest nodes that finalize.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finalized: Option<f64>,
    /// Largest allowed 99th percentile of finality time.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub max_p99_finality: Option<Duration>,
    /// Lockstep runs must finish within this many rounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rounds: Option<u64>,
}

/// Why a scenario could not be loaded: the located-TOML error node configs share.
pub type ScenarioError = crate::util::toml_span::TomlError;

impl Scenario {
    /// The single-decision protocol the nodes run: the engine's own, or Snowball for chain
    /// and dag (whose engines run Snowball instances inside).
    pub fn protocol(&self) -> Protocol {
        self.engine.protocol().unwrap_or(Protocol::Snowball)
    }

    /// The shape of a single decision: `decision`, or the tree.
    pub fn shape(&self) -> Shape {
        self.decision.unwrap_or_default()
    }

    /// What a chain's per-block trees run: `block_protocol`, or Snowflake.
    pub fn block_protocol(&self) -> Protocol {
        self.block_protocol.unwrap_or(Protocol::Snowflake)
    }

    /// How polls sample their peers: `network.sampling`, or stake units (validators in
    /// harness mode).
    pub fn sampling(&self) -> Sampling {
        self.network.sampling.unwrap_or(match self.mode {
            Mode::Harness => Sampling::Validators,
            _ => Sampling::Stake,
        })
    }

    /// Reads and loads the scenario at `path`, applying `--set` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ScenarioError::io(path, source))?;
        Scenario::parse(&text, &path.display().to_string(), overrides)
    }

    /// Loads a scenario from `text` (`origin` names it in messages), applying `--set` overrides.
    pub fn parse(
        text: &str,
        origin: &str,
        overrides: &[String],
    ) -> Result<Scenario, ScenarioError> {
        let sets = overrides
            .iter()
            .map(|a| Override::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut cx = Ctx {
            origin,
            text,
            tree: Tree::Leaf,
            sets,
        };
        let original: Table = text.parse().map_err(|e: toml::de::Error| {
            cx.syntax(e.span().map_or(0, |s| s.start), e.message())
        })?;
        cx.tree = toml::from_str(text).unwrap_or(Tree::Leaf);
        let mut table = original.clone();
        for o in &cx.sets {
            o.apply(&mut table)?;
        }
        // An unknown preset is a rule broken, not a syntax error: report it at its value.
        if let Some(Value::String(p)) = table.get("params").and_then(|p| p.get("preset")) {
            if let Err(e) = ConsensusParams::preset(p) {
                return Err(cx.invalid(&["params.preset", "params"], format!("params: {e}")));
            }
        }
        let mut s = cx.deserialize(&original, table)?;
        if s.workload.initial.is_empty() && (1..=255).contains(&s.workload.choices) {
            s.workload.initial = vec![1.0 / s.workload.choices as f64; s.workload.choices];
        }
        validate(&s, &cx)?;
        Ok(s)
    }
}
