//! `luxsim graph`: a scenario's network as a Graphviz DOT digraph, built with petgraph.
//!
//! Vertices: one per region (its name, node count and intra-region base latency), one per
//! distinct node range of a partition group or a crash (its size, per-region counts, crash
//! times), and, without regions, one for the nodes in no range (or one for the whole
//! network when there is no range at all). Never one per validator. Edges: base latencies
//! between regions (one undirected-looking edge when both directions are equal), and, for
//! each partition, dashed red edges between its groups labelled with the time it is active
//! (both arrowheads for `both`, one from the earlier group for `forward`).

use super::PlotError;
use crate::sim::scenario::{Direction, Scenario};
use petgraph::dot::{Config, Dot};
use petgraph::graph::DiGraph;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// A vertex of the network graph.
#[derive(Debug, Clone, PartialEq)]
pub enum Vertex {
    /// A region.
    Region {
        /// Its name.
        name: String,
        /// Nodes in it.
        nodes: usize,
        /// Base latency inside it.
        intra: Duration,
    },
    /// An inclusive node range: a partition group and/or a crashing range.
    Range {
        /// First node id.
        first: usize,
        /// Last node id.
        last: usize,
        /// Region name and node count of each region the range has nodes in.
        regions: Vec<(String, usize)>,
        /// Crash notes, e.g. `crashes at 1s, recovers at 3s`.
        crashes: Vec<String>,
    },
    /// The nodes in no range.
    Rest {
        /// How many.
        nodes: usize,
    },
    /// The whole network, when there are neither regions nor ranges.
    Network {
        /// Nodes in all.
        nodes: usize,
    },
}

/// An edge of the network graph.
#[derive(Debug, Clone, PartialEq)]
pub enum Edge {
    /// Base latency from region to region; `both_ways` when the reverse is the same.
    Latency {
        /// The base latency.
        base: Duration,
        /// Whether the reverse direction has the same latency (drawn without arrows).
        both_ways: bool,
    },
    /// Partition `index` cuts messages between two of its groups.
    Partition {
        /// Index in `network.partitions`.
        index: usize,
        /// When it is active.
        start: Duration,
        /// When it heals, if ever.
        end: Option<Duration>,
        /// Which messages it cuts.
        direction: Direction,
    },
}

impl fmt::Display for Vertex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Vertex::Region { name, nodes, intra } => {
                write!(f, "{name}\n{nodes} nodes\nintra {}", dur(*intra))
            }
            Vertex::Range {
                first,
                last,
                regions,
                crashes,
            } => {
                write!(f, "nodes {first}-{last}\n({} nodes)", last - first + 1)?;
                if !regions.is_empty() {
                    let r: Vec<String> = regions.iter().map(|(n, c)| format!("{n}: {c}")).collect();
                    write!(f, "\n{}", r.join(", "))?;
                }
                crashes.iter().try_for_each(|c| write!(f, "\n{c}"))
            }
            Vertex::Rest { nodes } => write!(f, "{nodes} nodes in no group\n(unaffected)"),
            Vertex::Network { nodes } => write!(f, "{nodes} nodes\n(fully connected)"),
        }
    }
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edge::Latency { base, .. } => write!(f, "{}", dur(*base)),
            Edge::Partition {
                index, start, end, ..
            } => match end {
                Some(end) => write!(f, "partition {index}: cut {} to {}", dur(*start), dur(*end)),
                None => write!(
                    f,
                    "partition {index}: cut from {}, never heals",
                    dur(*start)
                ),
            },
        }
    }
}

/// The network of `s` as a petgraph graph (see the module docs for what is in it).
pub fn network_graph(s: &Scenario) -> DiGraph<Vertex, Edge> {
    let net = &s.network;
    let mut g = DiGraph::new();
    let regions = net.regions.as_ref().filter(|r| !r.names.is_empty());
    if let Some(r) = regions {
        let count = r.names.len();
        let ids: Vec<_> = r
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                g.add_node(Vertex::Region {
                    name: name.clone(),
                    nodes: net.nodes / count + usize::from(i < net.nodes % count),
                    intra: base(&r.base, i, i),
                })
            })
            .collect();
        for a in 0..count {
            for b in (0..count).filter(|&b| b != a) {
                let (there, back) = (base(&r.base, a, b), base(&r.base, b, a));
                if there != back || a < b {
                    let both_ways = there == back;
                    g.add_edge(
                        ids[a],
                        ids[b],
                        Edge::Latency {
                            base: there,
                            both_ways,
                        },
                    );
                }
            }
        }
    }
    // Distinct node ranges of partition groups and crashes.
    let mut ranges: Vec<[usize; 2]> = Vec::new();
    let all = net.partitions.iter().flat_map(|p| p.groups.iter().copied());
    for range in all.chain(net.crashes.iter().map(|c| c.nodes)) {
        if !ranges.contains(&range) {
            ranges.push(range);
        }
    }
    let ids: Vec<_> = ranges
        .iter()
        .map(|&[first, last]| {
            let crashes = net
                .crashes
                .iter()
                .filter(|c| c.nodes == [first, last])
                .map(|c| match c.recover {
                    Some(r) => format!("crash {}, recover {}", dur(c.at), dur(r)),
                    None => format!("crash {}, no recovery", dur(c.at)),
                })
                .collect();
            let regions = regions.map_or_else(Vec::new, |r| {
                let n = r.names.len();
                (0..n)
                    .map(|i| (r.names[i].clone(), in_region(first, last, i, n)))
                    .filter(|&(_, c)| c > 0)
                    .collect()
            });
            g.add_node(Vertex::Range {
                first,
                last,
                regions,
                crashes,
            })
        })
        .collect();
    if regions.is_none() {
        let mut covered = vec![false; net.nodes];
        for &[first, last] in &ranges {
            for c in covered.iter_mut().take(last + 1).skip(first) {
                *c = true;
            }
        }
        let rest = covered.iter().filter(|&&c| !c).count();
        if ranges.is_empty() {
            g.add_node(Vertex::Network { nodes: net.nodes });
        } else if rest > 0 {
            g.add_node(Vertex::Rest { nodes: rest });
        }
    }
    let id_of = |r: &[usize; 2]| ranges.iter().position(|x| x == r).map(|i| ids[i]);
    for (index, p) in net.partitions.iter().enumerate() {
        for (i, a) in p.groups.iter().enumerate() {
            for b in &p.groups[i + 1..] {
                if let (Some(a), Some(b)) = (id_of(a), id_of(b)) {
                    let edge = Edge::Partition {
                        index,
                        start: p.start,
                        end: p.end,
                        direction: p.direction,
                    };
                    g.add_edge(a, b, edge);
                }
            }
        }
    }
    g
}

/// A duration as in scenario files: `80ms`, `1.5s`, `0s`.
fn dur(d: Duration) -> String {
    if d.is_zero() {
        "0s".into()
    } else {
        format!("{d:?}")
    }
}

/// `base[a][b]`, or zero when the matrix is short.
fn base(m: &[Vec<Duration>], a: usize, b: usize) -> Duration {
    m.get(a)
        .and_then(|row| row.get(b))
        .copied()
        .unwrap_or_default()
}

/// How many ids in `first..=last` are congruent to `region` modulo `count`.
fn in_region(first: usize, last: usize, region: usize, count: usize) -> usize {
    let upto = |n: usize| n / count + usize::from(n % count > region); // ids in 0..n
    upto(last + 1) - upto(first)
}

/// Escapes `s` for a double-quoted DOT string (newlines become centred line breaks).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One line describing the scenario's network, for the graph's title.
fn title(s: &Scenario) -> String {
    let net = &s.network;
    let value = |v: &serde_json::Value| v.as_str().map_or(v.to_string(), String::from);
    let latency = match serde_json::to_value(&net.latency) {
        Ok(serde_json::Value::Object(o)) => {
            let model = o.get("model").map(value).unwrap_or_default();
            let params: Vec<String> = o
                .iter()
                .filter(|(k, _)| *k != "model")
                .map(|(k, v)| format!("{k} {}", value(v)))
                .collect();
            format!("{model} ({})", params.join(", "))
        }
        _ => String::new(),
    };
    let jitter = if net.regions.is_some() {
        " as jitter on the region base"
    } else {
        ""
    };
    let byzantine = s.byzantine.as_ref().map_or(String::new(), |b| {
        let n = b.resolved_count(net.nodes);
        format!(", {n} byzantine ({})", b.strategy.name())
    });
    format!(
        "{}: {} nodes{byzantine}; latency {latency}{jitter}; loss {}; duplicate {}; \
         poll timeout {}",
        s.name,
        net.nodes,
        net.loss,
        net.duplicate,
        dur(net.poll_timeout)
    )
}

/// The network of `s` as Graphviz DOT text (`digraph network { ... }`).
pub fn network_dot(s: &Scenario) -> String {
    let g = network_graph(s);
    let node_attrs = |_, (_, v): (_, &Vertex)| {
        let (shape, fill) = match v {
            Vertex::Region { .. } => ("ellipse", "#dbe9f6"),
            Vertex::Range { crashes, .. } if !crashes.is_empty() => ("box", "#f6dbdb"),
            Vertex::Range { .. } => ("box", "#fdf0d5"),
            Vertex::Rest { .. } | Vertex::Network { .. } => ("box", "#e8e8e8"),
        };
        let label = quote(&v.to_string());
        format!("label = {label}, shape = {shape}, style = filled, fillcolor = \"{fill}\" ")
    };
    let edge_attrs = |_, e: petgraph::graph::EdgeReference<'_, Edge>| {
        let w = e.weight();
        let label = quote(&w.to_string());
        match w {
            Edge::Latency { both_ways, .. } => {
                let dir = if *both_ways { "none" } else { "forward" };
                format!("label = {label}, dir = {dir} ")
            }
            Edge::Partition { direction, .. } => {
                let dir = match direction {
                    Direction::Both => "both",
                    Direction::Forward => "forward",
                };
                format!(
                    "label = {label}, dir = {dir}, style = dashed, color = red, fontcolor = red "
                )
            }
        }
    };
    let config = [
        Config::NodeNoLabel,
        Config::EdgeNoLabel,
        Config::GraphContentOnly,
    ];
    let body = Dot::with_attr_getters(&g, &config, &edge_attrs, &node_attrs);
    format!(
        "digraph network {{\n    graph [label = {}, labelloc = t, fontname = \"Helvetica\"]\n    \
         node [fontname = \"Helvetica\"]\n    edge [fontname = \"Helvetica\", fontsize = 10]\n\
         {body}}}\n",
        quote(&title(s))
    )
}

/// Writes the DOT of `s` to `path`.
pub fn write_dot(s: &Scenario, path: &Path) -> Result<(), PlotError> {
    let write_err = |source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    crate::util::atomic::write_atomic(path, network_dot(s).as_bytes()).map_err(write_err)
}
