//! The scenario file: what a simulation run is made of (see `docs/scenarios.md`).
//!
//! Loading goes: TOML text -> `toml::Table` -> `--set key.path=value` overrides -> [`Scenario`]
//! (params preset resolved, `workload.initial` filled) -> validation. Errors carry the
//! file, line and column of the offending key; a value that came from `--set` is reported
//! at line 0 with `(set by --set key=value)` in the message.

use crate::sim::latency::Latency;
use crate::sim::stake::Stake;
use crate::{ConsensusParams, ParamsError, Protocol};
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use toml::{Spanned, Table, Value};

/// A whole scenario: engine, parameters, network, workload, adversary and checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name of the run; it becomes a directory name (`[A-Za-z0-9_.-]+`).
    pub name: String,
    /// Seed of every random choice of the run.
    #[serde(default)]
    pub seed: u64,
    /// Single-decision protocol every honest node runs.
    #[serde(default = "default_engine")]
    pub engine: Protocol,
    /// Event-driven (virtual time) or lockstep rounds.
    #[serde(default)]
    pub mode: Mode,
    /// Virtual-time budget (event mode).
    #[serde(default = "default_max_time", with = "humantime_serde")]
    pub max_time: Duration,
    /// Round budget (lockstep mode).
    #[serde(default = "default_max_rounds")]
    pub max_rounds: u64,
    /// Consensus parameters, resolved from `preset` plus overrides.
    #[serde(default, deserialize_with = "resolve_params")]
    pub params: ConsensusParams,
    /// The simulated network.
    pub network: Network,
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

fn default_engine() -> Protocol {
    Protocol::Snowball
}
fn default_max_time() -> Duration {
    Duration::from_secs(60)
}
fn default_max_rounds() -> u64 {
    10_000
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
}

impl Mode {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Event => "event",
            Mode::Lockstep => "lockstep",
        }
    }
}

/// The `[params]` table as written: an optional preset plus per-field overrides.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsSpec {
    preset: Option<String>,
    k: Option<usize>,
    alpha_preference: Option<usize>,
    alpha_confidence: Option<usize>,
    beta: Option<usize>,
    concurrent_polls: Option<usize>,
    optimal_processing: Option<usize>,
    max_outstanding_items: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    max_item_processing_time: Option<Duration>,
}

impl ParamsSpec {
    /// The preset (or the defaults), then each field given.
    fn resolve(self) -> Result<ConsensusParams, ParamsError> {
        let mut p = match &self.preset {
            Some(name) => ConsensusParams::preset(name)?,
            None => ConsensusParams::default(),
        };
        let set = |slot: &mut usize, v: Option<usize>| *slot = v.unwrap_or(*slot);
        set(&mut p.k, self.k);
        set(&mut p.alpha_preference, self.alpha_preference);
        set(&mut p.alpha_confidence, self.alpha_confidence);
        set(&mut p.beta, self.beta);
        set(&mut p.concurrent_polls, self.concurrent_polls);
        set(&mut p.optimal_processing, self.optimal_processing);
        set(&mut p.max_outstanding_items, self.max_outstanding_items);
        if let Some(t) = self.max_item_processing_time {
            p.max_item_processing_time = t;
        }
        Ok(p)
    }
}

fn resolve_params<'de, D: Deserializer<'de>>(d: D) -> Result<ConsensusParams, D::Error> {
    ParamsSpec::deserialize(d)?
        .resolve()
        .map_err(serde::de::Error::custom)
}

/// The simulated network: nodes, stake, latency, faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
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

/// The decision being made and how honest nodes start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    /// Number of choices (1..=255).
    pub choices: usize,
    /// Share of honest nodes initially preferring each choice (filled with equal shares on load).
    pub initial: Vec<f64>,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            choices: 2,
            initial: Vec::new(),
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
    /// How they answer queries.
    pub strategy: Strategy,
    /// The choice that stubborn nodes push.
    #[serde(default = "default_target")]
    pub target: usize,
}

impl Byzantine {
    /// The number of byzantine nodes among `honest_plus_byz_nodes`: `count`, or `round(fraction * nodes)`.
    pub fn resolved_count(&self, honest_plus_byz_nodes: usize) -> usize {
        match (self.count, self.fraction) {
            (Some(c), _) => c,
            (None, Some(f)) => (f * honest_plus_byz_nodes as f64).round() as usize,
            (None, None) => 0,
        }
    }
}

/// How byzantine nodes answer queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Never answers.
    Silent,
    /// Always answers `target`.
    Stubborn,
    /// A uniformly random choice per answer.
    Random,
    /// A different answer per querier (querier id mod choices).
    Equivocate,
    /// Answers the current honest minority choice.
    Balance,
    /// Answers its honest preference just before the querier's poll timeout.
    Delay,
}

impl Strategy {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Silent => "silent",
            Strategy::Stubborn => "stubborn",
            Strategy::Random => "random",
            Strategy::Equivocate => "equivocate",
            Strategy::Balance => "balance",
            Strategy::Delay => "delay",
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

/// Why a scenario could not be loaded.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or a key or value of the wrong name or type.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// The file name.
        origin: String,
        /// 1-based line (0: the value came from `--set`).
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but breaks a rule (e.g. a partition group beyond the last node).
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid {
        /// The file name.
        origin: String,
        /// 1-based line (0: the value came from `--set`).
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A malformed `--set key.path=value`.
    #[error("bad --set {arg:?}: {message}")]
    BadOverride {
        /// The argument as given.
        arg: String,
        /// What is wrong.
        message: String,
    },
}

impl Scenario {
    /// Reads and loads the scenario at `path`, applying `--set` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
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

/// One `--set key.path=value`.
struct Override {
    arg: String,
    path: Vec<String>,
    value: Value,
}

impl Override {
    fn parse(arg: &str) -> Result<Override, ScenarioError> {
        let bad = |m: &str| ScenarioError::BadOverride {
            arg: arg.to_string(),
            message: m.to_string(),
        };
        let (key, raw) = arg
            .split_once('=')
            .ok_or_else(|| bad("expected key.path=value"))?;
        let path: Vec<String> = key.split('.').map(|s| s.trim().to_string()).collect();
        if key.trim().is_empty() {
            return Err(bad("empty key"));
        }
        if path.iter().any(String::is_empty) {
            return Err(bad("empty segment in the key"));
        }
        let raw = raw.trim();
        let value = match format!("v = {raw}").parse::<Table>() {
            Ok(mut t) if t.len() == 1 => t.remove("v"),
            _ => None,
        };
        Ok(Override {
            arg: arg.to_string(),
            path,
            value: value.unwrap_or_else(|| Value::String(raw.to_string())),
        })
    }

    /// Sets the value, creating missing tables; numeric segments index existing arrays.
    fn apply(&self, table: &mut Table) -> Result<(), ScenarioError> {
        let (first, rest) = self.path.split_first().expect("a key has a segment");
        let mut slot = table
            .entry(first.clone())
            .or_insert(Value::Table(Table::new()));
        for (depth, seg) in rest.iter().enumerate() {
            let here = self.path[..=depth].join(".");
            slot = match slot {
                Value::Table(t) => t.entry(seg.clone()).or_insert(Value::Table(Table::new())),
                Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                    Some(v) => v,
                    None => return Err(self.bad(format!("`{here}` has no element {seg}"))),
                },
                _ => return Err(self.bad(format!("`{here}` is not a table"))),
            };
        }
        *slot = self.value.clone();
        Ok(())
    }

    fn bad(&self, message: String) -> ScenarioError {
        ScenarioError::BadOverride {
            arg: self.arg.clone(),
            message,
        }
    }

    /// Whether this override set `path` or one of its ancestors.
    fn covers(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('.').collect();
        segs.len() >= self.path.len() && self.path.iter().zip(&segs).all(|(a, b)| a == b)
    }
}

/// Where each value of the file is: a tree of spanned values.
enum Tree {
    Leaf,
    Table(Vec<(String, Spanned<Tree>)>),
    Array(Vec<Spanned<Tree>>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tree, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    entries.push((k, m.next_value()?));
                }
                Ok(Tree::Table(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = s.next_element()? {
                    items.push(v);
                }
                Ok(Tree::Array(items))
            }
        }
        d.deserialize_any(V)
    }
}

impl Tree {
    /// The span of the value at a dotted path (`network.partitions.0.groups`).
    fn span(&self, path: &str) -> Option<Range<usize>> {
        let mut node = self;
        let mut span = None;
        for seg in path.split('.') {
            let child = match node {
                Tree::Table(t) => t.iter().rev().find(|(k, _)| k == seg).map(|(_, v)| v),
                Tree::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                Tree::Leaf => None,
            }?;
            span = Some(child.span());
            node = child.get_ref();
        }
        span
    }
}

/// What error reporting needs: the text, its value spans and the overrides.
struct Ctx<'a> {
    origin: &'a str,
    text: &'a str,
    tree: Tree,
    sets: Vec<Override>,
}

impl Ctx<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (
            before.matches('\n').count() + 1,
            before[line_start..].chars().count() + 1,
        )
    }

    fn located(&self, invalid: bool, line: usize, column: usize, message: String) -> ScenarioError {
        let origin = self.origin.to_string();
        match invalid {
            false => ScenarioError::Syntax {
                origin,
                line,
                column,
                message,
            },
            true => ScenarioError::Invalid {
                origin,
                line,
                column,
                message,
            },
        }
    }

    fn syntax(&self, offset: usize, message: &str) -> ScenarioError {
        let (line, column) = self.line_col(offset);
        self.located(false, line, column, message.trim().replace('\n', "; "))
    }

    /// An `Invalid` error about `paths`: blamed on the last `--set` of any of them, else
    /// located at the first one found in the file.
    fn invalid(&self, paths: &[&str], message: String) -> ScenarioError {
        let covers = |o: &&Override| paths.iter().any(|p| o.covers(p));
        if let Some(o) = self.sets.iter().rev().find(covers) {
            return self.located(true, 0, 0, format!("{message} (set by --set {})", o.arg));
        }
        let (line, column) = match paths.iter().find_map(|p| self.tree.span(p)) {
            Some(span) => self.line_col(span.start),
            None => (0, 0),
        };
        self.located(true, line, column, message)
    }

    /// Deserializes the overridden table; a failure is located in the file or blamed on a `--set`.
    fn deserialize(&self, original: &Table, table: Table) -> Result<Scenario, ScenarioError> {
        let err = match Scenario::deserialize(table) {
            Ok(s) => return Ok(s),
            Err(e) => e,
        };
        let message = err.message().trim();
        if let Err(e) = toml::from_str::<Scenario>(self.text) {
            if e.message().trim() == message {
                return Err(self.syntax(e.span().map_or(0, |s| s.start), message));
            }
        }
        // Not in the file: blame the first --set after which this error appears.
        let mut t = original.clone();
        for o in &self.sets {
            o.apply(&mut t)?;
            if let Err(e) = Scenario::deserialize(t.clone()) {
                if e.message().trim() == message {
                    let message = format!("{message} (set by --set {})", o.arg);
                    return Err(self.located(false, 0, 0, message));
                }
            }
        }
        Err(self.located(false, 0, 0, message.to_string()))
    }
}

/// The key of `[params]` that a parameter error is about.
fn params_field(e: &ParamsError) -> &'static str {
    match e {
        ParamsError::KTooSmall(_) => "k",
        ParamsError::AlphaPreferenceTooSmall { .. } => "alpha_preference",
        ParamsError::AlphaConfidenceBelowPreference { .. }
        | ParamsError::AlphaConfidenceAboveK { .. } => "alpha_confidence",
        ParamsError::BetaTooSmall(_) => "beta",
        ParamsError::ConcurrentPolls { .. } => "concurrent_polls",
        ParamsError::OptimalProcessing(_) => "optimal_processing",
        ParamsError::MaxOutstandingItems(_) => "max_outstanding_items",
        ParamsError::MaxItemProcessingTime(_) => "max_item_processing_time",
        _ => "preset",
    }
}

/// `network.partitions.0.end` -> `network.partitions[0].end`, as messages name keys.
fn key_name(path: &str) -> String {
    let mut name = String::new();
    for seg in path.split('.') {
        match seg.parse::<usize>() {
            Ok(i) => name += &format!("[{i}]"),
            Err(_) if name.is_empty() => name += seg,
            Err(_) => name += &format!(".{seg}"),
        }
    }
    name
}

/// The rules serde cannot check; each failure names the key and points at its value.
fn validate(s: &Scenario, cx: &Ctx) -> Result<(), ScenarioError> {
    // check!(ok, [paths], rule...): the message is "KEY RULE", KEY named by the first path.
    macro_rules! check {
        ($ok:expr, $paths:expr, $($rule:tt)+) => {
            if !$ok {
                let given = $paths;
                let paths: Vec<&str> = given.iter().map(AsRef::as_ref).collect();
                let message = format!("{} {}", key_name(paths[0]), format!($($rule)+));
                return Err(cx.invalid(&paths, message));
            }
        };
    }
    let unit = |x: f64| (0.0..1.0).contains(&x);
    let name_ok = (s.name.chars()).all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    let why = "must be non-empty and use only A-Z a-z 0-9 _ . -";
    check!(
        name_ok && !s.name.is_empty(),
        ["name"],
        "{:?} {why}",
        s.name
    );
    check!(
        !s.max_time.is_zero(),
        ["max_time"],
        "must be greater than 0"
    );
    check!(s.max_rounds >= 1, ["max_rounds"], "must be at least 1");
    if let Err(e) = s.params.validate() {
        let paths = [
            &format!("params.{}", params_field(&e)),
            "params.preset",
            "params",
        ];
        return Err(cx.invalid(&paths, format!("params: {e}")));
    }
    let (n, nodes) = (&s.network, s.network.nodes);
    check!(
        nodes >= 1,
        ["network.nodes"],
        "({nodes}) must be at least 1"
    );
    check!(
        unit(n.loss),
        ["network.loss"],
        "({}) must be in [0, 1)",
        n.loss
    );
    check!(
        unit(n.duplicate),
        ["network.duplicate"],
        "({}) must be in [0, 1)",
        n.duplicate
    );
    check!(
        !n.poll_timeout.is_zero(),
        ["network.poll_timeout"],
        "must be greater than 0"
    );
    if s.mode == Mode::Event {
        let (k, max_k) = (s.params.k, if n.self_sample { nodes } else { nodes - 1 });
        let paths = ["params.k", "params.preset", "network.nodes"];
        let why = format!("(network.nodes = {nodes}, self_sample = {})", n.self_sample);
        check!(
            k <= max_k,
            paths,
            "({k}) exceeds the {max_k} distinct validators a node can sample {why}"
        );
    }
    if let Stake::Weights(w) = &n.stake {
        check!(
            w.len() == nodes,
            ["network.stake"],
            "lists {} weights for {nodes} nodes",
            w.len()
        );
        for (i, x) in w.iter().enumerate() {
            let ok = x.is_finite() && *x >= 0.0;
            check!(
                ok,
                [format!("network.stake.{i}")],
                "({x}) must be finite and >= 0"
            );
        }
        let positive = w.iter().sum::<f64>() > 0.0;
        check!(
            positive,
            ["network.stake"],
            "weights must sum to more than 0"
        );
    }
    if let Some(r) = &n.regions {
        let k = r.names.len();
        check!(
            k >= 1,
            ["network.regions.names"],
            "must name at least one region"
        );
        check!(
            r.base.len() == k,
            ["network.regions.base"],
            "has {} rows for {k} regions",
            r.base.len()
        );
        for (i, row) in r.base.iter().enumerate() {
            let path = format!("network.regions.base.{i}");
            check!(
                row.len() == k,
                [path],
                "has {} entries for {k} regions",
                row.len()
            );
        }
    }
    let in_range = |[a, b]: [usize; 2]| a <= b && b < nodes;
    let range_rule = format!("must have first <= last < network.nodes ({nodes})");
    for (i, p) in n.partitions.iter().enumerate() {
        let at = format!("network.partitions.{i}");
        if let Some(end) = p.end {
            let start = p.start;
            check!(
                start < end,
                [format!("{at}.end")],
                "({end:?}) must be after start ({start:?})"
            );
        }
        check!(
            !p.groups.is_empty(),
            [format!("{at}.groups"), at],
            "must list a node range"
        );
        for (j, g) in p.groups.iter().enumerate() {
            let path = format!("{at}.groups.{j}");
            check!(in_range(*g), [path], "({g:?}) {range_rule}");
            let overlap = p.groups[..j]
                .iter()
                .position(|h| h[0] <= g[1] && g[0] <= h[1]);
            if let Some(h) = overlap {
                check!(
                    false,
                    [path],
                    "({g:?}) overlaps groups[{h}] ({:?})",
                    p.groups[h]
                );
            }
        }
    }
    for (i, c) in n.crashes.iter().enumerate() {
        let at = format!("network.crashes.{i}");
        check!(
            in_range(c.nodes),
            [format!("{at}.nodes")],
            "({:?}) {range_rule}",
            c.nodes
        );
        if let Some(r) = c.recover {
            let path = format!("{at}.recover");
            check!(r > c.at, [path], "({r:?}) must be after at ({:?})", c.at);
        }
    }
    let (w, choices) = (&s.workload, s.workload.choices);
    check!(
        (1..=255).contains(&choices),
        ["workload.choices"],
        "({choices}) must be between 1 and 255"
    );
    let entries = w.initial.len();
    check!(
        entries == choices,
        ["workload.initial"],
        "has {entries} entries for {choices} choices"
    );
    for (i, x) in w.initial.iter().enumerate() {
        let ok = x.is_finite() && *x >= 0.0;
        check!(
            ok,
            [format!("workload.initial.{i}")],
            "({x}) must be finite and >= 0"
        );
    }
    let sum: f64 = w.initial.iter().sum();
    let sums_to_one = (sum - 1.0).abs() <= 1e-6;
    check!(sums_to_one, ["workload.initial"], "sums to {sum}, not 1");
    if let Some(b) = &s.byzantine {
        let paths = ["byzantine", "byzantine.count", "byzantine.fraction"];
        let one = b.fraction.is_some() != b.count.is_some();
        check!(one, paths, "needs exactly one of fraction or count");
        if let Some(f) = b.fraction {
            check!(unit(f), ["byzantine.fraction"], "({f}) must be in [0, 1)");
        }
        let count = b.resolved_count(nodes);
        let paths = [if b.count.is_some() {
            "byzantine.count"
        } else {
            "byzantine.fraction"
        }];
        check!(
            count < nodes,
            paths,
            "gives {count} byzantine nodes of {nodes}: none honest"
        );
        let ok = b.strategy != Strategy::Stubborn || b.target < choices;
        let paths = ["byzantine.target", "byzantine.strategy"];
        check!(
            ok,
            paths,
            "({}) must be less than workload.choices ({choices})",
            b.target
        );
    }
    if let Some(f) = s.expect.finalized {
        let ok = (0.0..=1.0).contains(&f);
        check!(ok, ["expect.finalized"], "({f}) must be in [0, 1]");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of `docs/scenarios.md`.
    const EXAMPLE: &str = r#"
name = "byzantine"
seed = 42
engine = "snowball"
mode = "event"
max_time = "60s"
max_rounds = 10000
[params]
k = 20
alpha_preference = 15
alpha_confidence = 15
beta = 20
concurrent_polls = 4
[network]
nodes = 2000
stake = "uniform"
latency = { model = "lognormal", median = "40ms", sigma = 0.5 }
loss = 0.0
duplicate = 0.0
poll_timeout = "1s"
self_sample = false
[network.regions]
names = ["us", "eu", "asia"]
base = [["5ms", "80ms", "150ms"], ["80ms", "5ms", "120ms"], ["150ms", "120ms", "5ms"]]
[[network.partitions]]
start = "2s"
end = "5s"
groups = [[0, 999], [1000, 1999]]
direction = "both"
[[network.crashes]]
nodes = [10, 19]
at = "1s"
recover = "3s"
[workload]
choices = 2
initial = [0.5, 0.5]
[byzantine]
fraction = 0.1
strategy = "balance"
target = 1
[expect]
safety = true
finalized = 1.0
max_p99_finality = "5s"
max_rounds = 100
"#;

    const MINIMAL: &str = "name = \"min\"\n[network]\nnodes = 100\n";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn parse(text: &str, sets: &[&str]) -> Result<Scenario, ScenarioError> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        Scenario::parse(text, "test.toml", &sets)
    }

    #[test]
    fn the_example_parses_to_the_expected_values() {
        let s = parse(EXAMPLE, &[]).unwrap();
        assert_eq!(
            (s.name.as_str(), s.seed, s.engine, s.mode),
            ("byzantine", 42, Protocol::Snowball, Mode::Event)
        );
        assert_eq!(
            (s.max_time, s.max_rounds),
            (Duration::from_secs(60), 10_000)
        );
        assert_eq!(s.params, ConsensusParams::default());
        let n = &s.network;
        assert_eq!(
            (n.nodes, &n.stake, n.loss, n.duplicate),
            (2000, &Stake::Uniform, 0.0, 0.0)
        );
        assert_eq!(
            n.latency,
            Latency::Lognormal {
                median: ms(40),
                sigma: 0.5
            }
        );
        assert_eq!((n.poll_timeout, n.self_sample), (ms(1000), false));
        let r = n.regions.as_ref().unwrap();
        assert_eq!(r.names, ["us", "eu", "asia"]);
        assert_eq!(r.base[0], [ms(5), ms(80), ms(150)]);
        assert_eq!(r.base[2][1], ms(120));
        assert_eq!(
            n.partitions,
            [Partition {
                start: ms(2000),
                end: Some(ms(5000)),
                groups: vec![[0, 999], [1000, 1999]],
                direction: Direction::Both
            }]
        );
        assert_eq!(
            n.crashes,
            [Crash {
                nodes: [10, 19],
                at: ms(1000),
                recover: Some(ms(3000))
            }]
        );
        assert_eq!(
            s.workload,
            Workload {
                choices: 2,
                initial: vec![0.5, 0.5]
            }
        );
        let b = s.byzantine.as_ref().unwrap();
        assert_eq!(
            (b.fraction, b.count, b.strategy, b.target),
            (Some(0.1), None, Strategy::Balance, 1)
        );
        assert_eq!(b.resolved_count(2000), 200);
        assert_eq!(
            s.expect,
            Expect {
                safety: Some(true),
                finalized: Some(1.0),
                max_p99_finality: Some(ms(5000)),
                max_rounds: Some(100)
            }
        );
        assert_eq!((s.mode.name(), b.strategy.name()), ("event", "balance"));
    }

    #[test]
    fn defaults_fill_everything_but_name_and_nodes() {
        let s = parse(MINIMAL, &[]).unwrap();
        assert_eq!(
            (s.seed, s.engine, s.mode),
            (0, Protocol::Snowball, Mode::Event)
        );
        assert_eq!(
            (s.max_time, s.max_rounds),
            (Duration::from_secs(60), 10_000)
        );
        assert_eq!(s.params, ConsensusParams::default());
        let n = &s.network;
        assert_eq!(
            (&n.stake, &n.latency),
            (&Stake::Uniform, &Latency::default())
        );
        assert_eq!(
            (n.loss, n.duplicate, n.poll_timeout, n.self_sample),
            (0.0, 0.0, ms(1000), false)
        );
        assert!(n.regions.is_none() && n.partitions.is_empty() && n.crashes.is_empty());
        assert_eq!(
            s.workload,
            Workload {
                choices: 2,
                initial: vec![0.5, 0.5]
            }
        );
        assert_eq!((s.byzantine, s.expect), (None, Expect::default()));
        let three = parse(&format!("{MINIMAL}[workload]\nchoices = 4\n"), &[]).unwrap();
        assert_eq!(three.workload.initial, [0.25; 4]);
        let byz = parse(
            &format!("{MINIMAL}[byzantine]\ncount = 7\nstrategy = \"silent\"\n"),
            &[],
        )
        .unwrap();
        assert_eq!(
            byz.byzantine.map(|b| (b.target, b.resolved_count(100))),
            Some((1, 7))
        );
    }

    #[test]
    fn a_preset_then_overrides() {
        let text = format!("{MINIMAL}[params]\npreset = \"mainnet\"\nbeta = 10\nmax_item_processing_time = \"5s\"\n");
        let p = parse(&text, &[]).unwrap().params;
        let want = ConsensusParams {
            beta: 10,
            max_item_processing_time: ms(5000),
            ..ConsensusParams::preset("mainnet").unwrap()
        };
        assert_eq!(p, want);
        assert_eq!((p.k, p.alpha_preference, p.concurrent_polls), (21, 15, 4));
        let local = parse(
            &format!("params = {{ preset = \"local\" }}\n{MINIMAL}"),
            &[],
        )
        .unwrap();
        assert_eq!(local.params, ConsensusParams::preset("local").unwrap());
    }

    #[test]
    fn set_overrides_values_creates_tables_and_falls_back_to_strings() {
        let s = parse(
            EXAMPLE,
            &[
                "params.k=30",
                "params.alpha_preference = 16",
                "params.alpha_confidence=16",
                "network.latency.median=\"20ms\"",
                "network.partitions.0.end=\"9s\"",
                "byzantine.strategy=silent",
                "seed=7",
            ],
        )
        .unwrap();
        assert_eq!((s.params.k, s.params.alpha_preference, s.seed), (30, 16, 7));
        assert_eq!(
            s.network.latency,
            Latency::Lognormal {
                median: ms(20),
                sigma: 0.5
            }
        );
        assert_eq!(s.network.partitions[0].end, Some(ms(9000)));
        assert_eq!(s.byzantine.unwrap().strategy, Strategy::Silent);
        let s = parse(
            MINIMAL,
            &[
                "byzantine.count=3",
                "byzantine.strategy=stubborn",
                "expect.safety=true",
                "name=renamed",
            ],
        )
        .unwrap();
        let b = s.byzantine.unwrap();
        assert_eq!(
            (b.count, b.strategy, s.expect.safety, s.name.as_str()),
            (Some(3), Strategy::Stubborn, Some(true), "renamed")
        );
        let s = parse(
            MINIMAL,
            &["network.latency={ model = \"constant\", value = \"7ms\" }"],
        )
        .unwrap();
        assert_eq!(s.network.latency, Latency::Constant { value: ms(7) });
    }

    #[test]
    fn round_trips_through_json_and_toml() {
        let s = parse(EXAMPLE, &[]).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.contains("\"base\":[[\"5ms\",\"80ms\",\"150ms\"]"),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Scenario>(&json).unwrap(), s);
        let text = toml::to_string(&s).unwrap();
        assert_eq!(parse(&text, &[]).unwrap(), s);
        let preset = parse(&format!("{MINIMAL}[params]\npreset = \"testnet\"\n"), &[]).unwrap();
        let json = serde_json::to_string(&preset).unwrap();
        assert!(
            json.contains("\"k\":11") && !json.contains("preset"),
            "{json}"
        );
    }
}
