//! The Byzantine nodes of a ledger run: how they answer, serve items and propose.
//!
//! Byzantine nodes keep no ledger: the adversary knows every item proposed. They answer
//! queries by their strategy ([`LedgerAdversary`](crate::node::ledger::LedgerAdversary)), serve every `Get` from the registry
//! (so that their votes and forks can be fetched), and as chain leaders propose by
//! `byzantine.proposer`: `honest` (one block on the latest honest block, to every node),
//! `silent` (nothing) or `equivocate` (blocks A and B on that same parent: A to even node
//! ids, B to odd ones). In a dag, Byzantine leaders propose nothing.

use super::world::{Ev, LedgerWorld};
use crate::node::ledger::{Answer, BlockHeader, Item, LedgerKind, Message, MAX_ANCESTORS};
use crate::node::NodeId;
use crate::sim::scenario::Proposer;
use crate::sim::scheduler::Nanos;
use crate::sim::trace::Trace;
use crate::sim::SimError;

impl LedgerWorld<'_> {
    /// Byzantine node `me` serves `from`'s `Get` of `id` (and its ancestors above height
    /// `above`) from the registry.
    pub(super) fn byzantine_serve(
        &mut self,
        now: Nanos,
        me: NodeId,
        from: NodeId,
        id: u64,
        above: u64,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let mut cur = id;
        for sent in 0..MAX_ANCESTORS {
            let Some(p) = self.production.registry.get(cur) else {
                break;
            };
            if sent > 0 && p.item.height() <= above {
                break;
            }
            let item = p.item.clone();
            let next = match &item {
                Item::Block(b) => b.parent,
                Item::Vertex(_) => 0,
            };
            self.send(now, me, from, Message::Put(item), trace)?;
            cur = next;
        }
        Ok(())
    }

    /// Byzantine node `me` answers `querier`'s query by the adversary's strategy.
    pub(super) fn byzantine_answer(
        &mut self,
        now: Nanos,
        me: NodeId,
        querier: NodeId,
        request: u32,
        deadline: u64,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let Some(adv) = self.adversary.as_mut() else {
            return Ok(());
        };
        let (nodes, pop, registry) = (&self.nodes, &self.pop, &self.production.registry);
        let kind = self.kind;
        let split = |(a, b): (u64, u64)| {
            let mut split = [0u64; 2];
            let tx_of = |v: u64| match registry.get(v).map(|p| &p.item) {
                Some(Item::Vertex(v)) => v.txs.first().map(|t| t.0),
                _ => None,
            };
            let (ta, tb) = (tx_of(a), tx_of(b));
            let height = registry.height(a);
            for (i, n) in nodes.iter().enumerate() {
                if pop.byzantine[i] {
                    continue;
                }
                let side = match kind {
                    LedgerKind::Chain => {
                        let tip = n.tips().as_slice().first().copied().unwrap_or(0);
                        let at = registry.ancestor_at(tip, height);
                        (at == a, at == b)
                    }
                    LedgerKind::Dag => {
                        let pref = |t: Option<u64>| {
                            t.is_some_and(|t| n.dag().is_some_and(|d| d.is_preferred_tx(t)))
                        };
                        (pref(ta), pref(tb))
                    }
                };
                split[0] += u64::from(side.0);
                split[1] += u64::from(side.1);
            }
            split
        };
        match adv.answer(querier, now, registry, split) {
            Answer::Silent => Ok(()),
            Answer::Now(tips) => {
                let msg = Message::Answer { request, tips };
                self.send(now, me, querier, msg, trace)
            }
            Answer::AtDeadline(tips) => {
                if self.shell.bus.cut(now, me, querier) {
                    return Ok(());
                }
                self.shell.messages += 1;
                let at = deadline.saturating_sub(1).max(now);
                let msg = Message::Answer { request, tips };
                let ev = Ev::Deliver {
                    to: querier,
                    from: me,
                    msg,
                };
                self.shell.sched.at(at, ev);
                Ok(())
            }
        }
    }

    /// Byzantine `leader` has the slot of a chain.
    pub(super) fn byzantine_propose(
        &mut self,
        now: Nanos,
        leader: NodeId,
        trace: &mut Trace,
    ) -> Result<(), SimError> {
        let behaviour = self.scenario.byzantine.as_ref().and_then(|b| b.proposer);
        let (parent, height) = self.production.byzantine_parent();
        if self.spec.heights > 0 && height >= self.spec.heights {
            return Ok(());
        }
        let n = self.nodes.len() as NodeId;
        let mut block = |world: &mut Self| -> Result<Item, SimError> {
            let id = world.production.registry.next_id();
            let item = Item::Block(BlockHeader {
                id,
                parent,
                height: height + 1,
            });
            world.register(now, item.clone(), leader, false, trace)?;
            Ok(item)
        };
        match behaviour.unwrap_or_default() {
            Proposer::Silent => Ok(()),
            Proposer::Honest => {
                let item = block(self)?;
                for to in (0..n).filter(|&to| to != leader) {
                    self.send(now, leader, to, Message::Push(item.clone()), trace)?;
                }
                Ok(())
            }
            Proposer::Equivocate => {
                let a = block(self)?;
                let b = block(self)?;
                let pair = (a.id(), b.id());
                self.production.registry.pairs.push(pair);
                for to in (0..n).filter(|&to| to != leader) {
                    let item = if to.is_multiple_of(2) {
                        a.clone()
                    } else {
                        b.clone()
                    };
                    self.send(now, leader, to, Message::Push(item), trace)?;
                }
                Ok(())
            }
        }
    }
}
