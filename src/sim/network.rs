//! The message bus: latency (with regions), loss, duplication, partitions and crashes.

use super::latency::LatencySampler;
use super::scenario::{Direction, NetworkSpec};
use super::scheduler::{nanos, Nanos};
use crate::node::NodeId;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const NO_GROUP: u16 = u16::MAX;

#[derive(Debug, Clone)]
struct Partition {
    start: Nanos,
    end: Nanos,
    direction: Direction,
    /// Group of each node, `NO_GROUP` for nodes outside every group.
    group: Vec<u16>,
}

/// What became of one message handed to the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Lost at random.
    Lost,
    /// Cut by a partition.
    Partitioned,
    /// Delivered after the first delay, and again after the second when duplicated.
    Delivered(Nanos, Option<Nanos>),
}

/// The simulated network between the nodes, drawing from its own seeded generator.
#[derive(Debug, Clone)]
pub struct Bus {
    latency: LatencySampler,
    loss: f64,
    duplicate: f64,
    regions: usize,
    base: Vec<Nanos>,
    partitions: Vec<Partition>,
    rng: ChaCha8Rng,
}

impl Bus {
    /// The bus of a scenario's `[network]`; `latency` is its sampler.
    pub fn new(spec: &NetworkSpec, latency: LatencySampler, rng: ChaCha8Rng) -> Self {
        let (regions, base) = match &spec.regions {
            Some(r) => (
                r.names.len(),
                r.base.iter().flatten().map(|d| nanos(*d)).collect(),
            ),
            None => (1, vec![0]),
        };
        let partitions = spec
            .partitions
            .iter()
            .map(|p| {
                let mut group = vec![NO_GROUP; spec.nodes];
                for (g, &[first, last]) in p.groups.iter().enumerate() {
                    for slot in group.iter_mut().take(last + 1).skip(first) {
                        *slot = g as u16;
                    }
                }
                Partition {
                    start: nanos(p.start),
                    end: p.end.map_or(Nanos::MAX, nanos),
                    direction: p.direction,
                    group,
                }
            })
            .collect();
        Bus {
            latency,
            loss: spec.loss,
            duplicate: spec.duplicate,
            regions,
            base,
            partitions,
            rng,
        }
    }

    /// Whether a partition active at `now` cuts messages from `from` to `to`.
    pub fn cut(&self, now: Nanos, from: NodeId, to: NodeId) -> bool {
        self.partitions.iter().any(|p| {
            if now < p.start || now >= p.end {
                return false;
            }
            let (a, b) = (p.group[from as usize], p.group[to as usize]);
            a != NO_GROUP && b != NO_GROUP && a != b && (p.direction == Direction::Both || a < b)
        })
    }

    /// One-way delay of a message from `from` to `to`.
    #[inline]
    fn delay(&mut self, from: NodeId, to: NodeId) -> Nanos {
        let base = if self.regions > 1 {
            let (a, b) = (from as usize % self.regions, to as usize % self.regions);
            self.base[a * self.regions + b]
        } else {
            0
        };
        base.saturating_add(self.latency.sample_ns(&mut self.rng))
    }

    /// Decides the fate of one message sent at `now`.
    #[inline]
    pub fn route(&mut self, now: Nanos, from: NodeId, to: NodeId) -> Fate {
        if !self.partitions.is_empty() && self.cut(now, from, to) {
            return Fate::Partitioned;
        }
        if self.loss > 0.0 && self.rng.random::<f64>() < self.loss {
            return Fate::Lost;
        }
        let first = self.delay(from, to);
        let second = if self.duplicate > 0.0 && self.rng.random::<f64>() < self.duplicate {
            Some(self.delay(from, to))
        } else {
            None
        };
        Fate::Delivered(first, second)
    }
}
