//! Tree: one decision among choices named by 64-bit ids, decided bit by bit as avalanchego's
//! `snowball.Tree` decides (`snow/consensus/snowball/tree.go`, a modified Patricia tree).
//!
//! The choices' ids are read bit by bit, bit 0 first, bit `i` being `(id >> i) & 1`: the
//! order in which avalanchego's `ids.ID.Bit` reads an id whose 32 bytes are the id's
//! little-endian bytes followed by zeros. Block ids (chains, the `Consensus` API) are used as
//! they are; a single decision's choices go by [`crate::engine::tree_id`], a stand-in for
//! avalanchego's hashed ids. A run of bits on which no two added choices differ
//! is one *unary* node; a bit on which they differ is a *binary* node with a child for each
//! value. A poll's votes are split bit by bit: a binary node counts the votes of each side
//! and passes the winning side's votes on, so two choices that share a prefix pool their
//! votes for it (with 50 colours and k = 20 a prefix can reach alpha where no colour can).
//!
//! Invariants (as in `tree.go`):
//! - a unary node covers bits `[decided, common)`: every choice below it agrees with its
//!   preference there; its child, if any, starts at bit `common`;
//! - when the root finalizes, the tree's root becomes its child on the winning side (the
//!   decided prefix grows), so a choice that differs from the preference inside the decided
//!   prefix can never be added again and its votes are dropped; an inner node that finalizes
//!   stays in place and passes polls through, exactly as in `tree.go`;
//! - a binary node passes on the votes of side 1 if they reach alpha_preference, else those
//!   of side 0 (so side 1 wins when both do, possible only with alpha_preference <= k/2);
//! - a node that fails a poll resets its own confidence and marks the subtree below it, which
//!   resets before it next counts a poll (`should_reset`), as avalanchego's tree does.
//!
//! Each node counts with Snowball, Snowflake or (ours, not avalanchego's) Slush; a Slush tree
//! finalizes after beta polls. See `counters.rs` for what each counter does after
//! finalization.

mod counters;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::{ConsensusParams, Protocol};
use counters::{Binary as BinaryCounter, Rules, Unary as UnaryCounter};

/// Bits of a choice id.
pub(crate) const ID_BITS: u32 = 64;

/// Bit `i` of `id` (0 or 1).
#[inline]
fn bit(id: u64, i: u32) -> usize {
    ((id >> i) & 1) as usize
}

/// The mask of bits `[start, stop)`.
#[inline]
fn mask(start: u32, stop: u32) -> u64 {
    if start >= stop {
        return 0;
    }
    let high = if stop >= ID_BITS {
        u64::MAX
    } else {
        (1u64 << stop) - 1
    };
    high & !((1u64 << start) - 1)
}

/// Whether `a` and `b` agree on bits `[start, stop)`.
#[inline]
fn equal_subset(start: u32, stop: u32, a: u64, b: u64) -> bool {
    (a ^ b) & mask(start, stop) == 0
}

/// The first bit in `[start, stop)` where `a` and `b` differ.
#[inline]
fn first_difference(start: u32, stop: u32, a: u64, b: u64) -> Option<u32> {
    let d = (a ^ b) & mask(start, stop);
    (d != 0).then(|| d.trailing_zeros())
}

/// Moves the votes for ids that agree with `with` on bits `[start, stop)` to the front and
/// returns how many there are.
fn keep(votes: &mut [(u64, u32)], start: u32, stop: u32, with: u64) -> usize {
    let mut kept = 0;
    for i in 0..votes.len() {
        if equal_subset(start, stop, votes[i].0, with) {
            votes.swap(kept, i);
            kept += 1;
        }
    }
    kept
}

/// The sum of a bag's counts.
#[inline]
fn total(votes: &[(u64, u32)]) -> u32 {
    votes.iter().map(|&(_, n)| n).sum()
}

/// A child's index in the arena, stored plus one so that `Option<Link>` takes four bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link(std::num::NonZeroU32);

impl Link {
    #[inline]
    fn to(n: u32) -> Link {
        Link(std::num::NonZeroU32::new(n + 1).expect("an arena holds fewer than 2^32 - 1 nodes"))
    }

    #[inline]
    fn node(self) -> u32 {
        self.0.get() - 1
    }
}

/// One side of a binary node in four bytes: the link to its child, if any (its arena index
/// plus one in bits 0-30, zero for none), and in bit 31 whether the child resets before it
/// next counts a poll (avalanchego's `shouldReset`).
#[derive(Debug, Clone, Copy)]
struct Side(u32);

impl Side {
    const RESET: u32 = 1 << 31;

    fn new(child: Option<u32>, reset: bool) -> Side {
        let mut side = Side(if reset { Side::RESET } else { 0 });
        if let Some(c) = child {
            side.set_child(c);
        }
        side
    }

    #[inline]
    fn child(self) -> Option<u32> {
        let c = self.0 & !Side::RESET;
        (c != 0).then(|| c - 1)
    }

    #[inline]
    fn set_child(&mut self, c: u32) {
        assert!(
            c + 1 < Side::RESET,
            "an arena holds fewer than 2^31 - 1 nodes"
        );
        self.0 = (self.0 & Side::RESET) | (c + 1);
    }

    #[inline]
    fn reset(self) -> bool {
        self.0 & Side::RESET != 0
    }

    #[inline]
    fn set_reset(&mut self, reset: bool) {
        self.0 = (self.0 & !Side::RESET) | if reset { Side::RESET } else { 0 };
    }
}

/// A run of bits `[decided, common)` on which every choice below agrees (bit positions fit
/// a byte, so that the node takes 32 bytes).
#[derive(Debug, Clone)]
struct Unary {
    preference: u64,
    decided: u8,
    common: u8,
    counter: UnaryCounter,
    should_reset: bool,
    child: Option<Link>,
}

impl Unary {
    #[inline]
    fn decided(&self) -> u32 {
        u32::from(self.decided)
    }

    #[inline]
    fn common(&self) -> u32 {
        u32::from(self.common)
    }
}

/// One bit on which the choices below differ, a side (child and reset flag) for each value.
///
/// The bit is not stored: the two preferences agree below it and differ at it (each is a
/// choice of its side, and all choices below agree on the bits above), so it is the lowest
/// set bit of their difference. With it, a tree node takes 40 bytes: 10^7 trees of four
/// nodes are 640 MB smaller than at 56.
#[derive(Debug, Clone)]
struct Binary {
    preferences: [u64; 2],
    counter: BinaryCounter,
    sides: [Side; 2],
}

impl Binary {
    /// The bit this node decides.
    #[inline]
    fn bit(&self) -> u32 {
        debug_assert_ne!(self.preferences[0], self.preferences[1]);
        (self.preferences[0] ^ self.preferences[1]).trailing_zeros()
    }
}

#[derive(Debug, Clone)]
enum Node {
    Unary(Unary),
    Binary(Binary),
}

impl Node {
    fn leaf(preference: u64, decided: u32) -> Node {
        Node::Unary(Unary {
            preference,
            decided: decided as u8,
            common: ID_BITS as u8,
            counter: UnaryCounter::default(),
            should_reset: false,
            child: None,
        })
    }

    fn preference(&self, r: &Rules) -> u64 {
        match self {
            Node::Unary(u) => u.preference,
            Node::Binary(b) => b.preferences[b.counter.preference(r)],
        }
    }

    fn decided_prefix(&self) -> u32 {
        match self {
            Node::Unary(u) => u.decided(),
            Node::Binary(b) => b.bit(),
        }
    }

    fn finalized(&self) -> bool {
        match self {
            Node::Unary(u) => u.counter.finalized,
            Node::Binary(b) => b.counter.finalized,
        }
    }
}

/// One decision among choices named by 64-bit ids, decided bit by bit (see the module docs).
///
/// The nodes live in an arena and name each other by index, as avalanchego's nodes name
/// each other by pointer: a poll that finalizes a node replaces only the *root* by the node's
/// child; an inner node that finalizes stays where it is and passes later polls through, as
/// in `tree.go`. Nodes spliced out of the root's way stay in the arena (a tree holds at
/// most two nodes a choice added, plus the ones an interior split copies).
#[derive(Debug, Clone)]
pub struct Tree {
    rules: Rules,
    nodes: Vec<Node>,
    root: u32,
    should_reset: bool,
    polls: u32,
}

impl Tree {
    /// A tree of `protocol` counters over one choice, `initial`.
    pub fn new(protocol: Protocol, params: &ConsensusParams, initial: u64) -> Self {
        Tree {
            rules: Rules::new(protocol, params),
            nodes: vec![Node::leaf(initial, 0)],
            root: 0,
            should_reset: false,
            polls: 0,
        }
    }

    fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }

    fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// Releases the arena's spare room (a tree built once and then only polled).
    pub fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
    }

    /// Adds a choice; a choice already decided against (it differs from the preference in
    /// the decided prefix), or already added, changes nothing.
    pub fn add(&mut self, id: u64) {
        let root = self.node(self.root);
        if equal_subset(0, root.decided_prefix(), root.preference(&self.rules), id) {
            self.root = self.add_at(self.root, id);
        }
    }

    /// Adds `id` below node `n`; returns the node that takes `n`'s place.
    fn add_at(&mut self, n: u32, id: u64) -> u32 {
        match &self.nodes[n as usize] {
            Node::Unary(_) => self.add_unary(n, id),
            Node::Binary(b) => {
                let side = bit(id, b.bit());
                if let Some(child) = b.sides[side].child() {
                    let child = self.add_at(child, id);
                    if let Node::Binary(b) = &mut self.nodes[n as usize] {
                        b.sides[side].set_child(child);
                    }
                }
                n
            }
        }
    }

    /// Adds `id` below unary node `n`, splitting it at the first bit where `id` differs
    /// from its preference (the five cases of `tree.go`).
    fn add_unary(&mut self, n: u32, id: u64) -> u32 {
        let Node::Unary(u) = &self.nodes[n as usize] else {
            unreachable!("add_unary on a binary node")
        };
        if u.counter.finalized {
            return n;
        }
        let Some(index) = first_difference(u.decided(), u.common(), u.preference, id) else {
            // No difference here: the split, if any, is further down.
            if let Some(child) = u.child {
                let child = self.add_at(child.node(), id);
                if let Node::Unary(u) = &mut self.nodes[n as usize] {
                    u.child = Some(Link::to(child));
                }
            }
            return n;
        };
        let u = u.clone();
        let side = bit(u.preference, index);
        let mut preferences = [0; 2];
        preferences[side] = u.preference;
        preferences[1 - side] = id;
        let mut b = Binary {
            preferences,
            counter: u.counter.extend(side),
            sides: [Side::new(None, u.should_reset); 2],
        };
        debug_assert_eq!(
            b.bit(),
            index,
            "the preferences first differ at the new bit"
        );
        let fresh = self.push(Node::leaf(id, index + 1));
        if u.decided() + 1 == u.common() {
            // The node covered this one bit: the binary node replaces it.
            if let Some(child) = u.child {
                b.sides[side].set_child(child.node());
                b.sides[1 - side].set_child(fresh);
            }
            self.push(Node::Binary(b))
        } else if index == u.decided() {
            // Split on its first bit: the binary node goes above it.
            if let Node::Unary(me) = &mut self.nodes[n as usize] {
                me.decided += 1;
            }
            b.sides[side].set_child(n);
            b.sides[1 - side].set_child(fresh);
            self.push(Node::Binary(b))
        } else if index + 1 == u.common() {
            // Split on its last bit: the binary node goes below it.
            if let Some(child) = u.child {
                b.sides[side].set_child(child.node());
                b.sides[1 - side].set_child(fresh);
            }
            let below = self.push(Node::Binary(b));
            if let Node::Unary(me) = &mut self.nodes[n as usize] {
                me.common -= 1;
                me.child = Some(Link::to(below));
            }
            n
        } else {
            // Split inside: it goes below the binary node, a copy of its top above.
            if let Node::Unary(me) = &mut self.nodes[n as usize] {
                me.decided = (index + 1) as u8;
            }
            b.sides[side].set_child(n);
            b.sides[1 - side].set_child(fresh);
            let below = self.push(Node::Binary(b));
            self.push(Node::Unary(Unary {
                preference: u.preference,
                decided: u.decided,
                common: index as u8,
                counter: u.counter,
                should_reset: false,
                child: Some(Link::to(below)),
            }))
        }
    }

    /// Records a poll: `votes` is the bag (choice id, votes), reordered in place; votes for
    /// choices decided against are dropped. Returns whether the root counted it as
    /// successful (at least alpha_preference votes reached it).
    pub fn record_poll(&mut self, votes: &mut [(u64, u32)]) -> bool {
        let root = self.node(self.root);
        let n = keep(
            votes,
            0,
            root.decided_prefix(),
            root.preference(&self.rules),
        );
        let (root, ok) = self.poll_at(self.root, &mut votes[..n], self.should_reset);
        self.root = root;
        self.should_reset = false;
        self.polls += 1;
        ok
    }

    /// Records a poll that failed before any vote counted: every node resets before it next
    /// counts a poll.
    pub fn record_unsuccessful_poll(&mut self) {
        self.should_reset = true;
        self.polls += 1;
    }

    /// Applies `votes` (all agreeing with node `n`'s preference above it) at `n`; `reset`
    /// says its parent failed an earlier poll. Returns the node that takes `n`'s place (a
    /// descendant, if `n` is final) and whether the poll succeeded at `n`.
    fn poll_at(&mut self, n: u32, votes: &mut [(u64, u32)], reset: bool) -> (u32, bool) {
        let r = self.rules;
        match &mut self.nodes[n as usize] {
            Node::Unary(u) => {
                if reset {
                    u.counter.record_unsuccessful_poll();
                    u.should_reset = true;
                }
                let count = total(votes);
                if count < r.alpha_preference {
                    u.counter.record_unsuccessful_poll();
                    u.should_reset = true;
                    return (n, false);
                }
                u.counter.record_poll(count, &r);
                if let Some(child) = u.child.map(Link::node) {
                    // Every vote here agrees with the child's prefix: nothing can have
                    // been decided between this node and its child.
                    let reset = u.should_reset;
                    let (next, _) = self.poll_at(child, votes, reset);
                    let child_preference = self.node(child).preference(&r);
                    let Node::Unary(u) = &mut self.nodes[n as usize] else {
                        unreachable!()
                    };
                    if u.counter.finalized {
                        return (next, true);
                    }
                    u.preference = child_preference;
                }
                if let Node::Unary(u) = &mut self.nodes[n as usize] {
                    u.should_reset = false;
                }
                (n, true)
            }
            Node::Binary(b) => {
                let at = b.bit();
                let zeros = keep(votes, at, at + 1, 0);
                let (low, high) = votes.split_at_mut(zeros);
                let side = usize::from(total(high) >= r.alpha_preference);
                // The sides change in a copy, stored once: flags packed with the links
                // would otherwise chain a load on each store.
                let mut sides = b.sides;
                if reset {
                    b.counter.record_unsuccessful_poll();
                    sides[side].set_reset(true);
                }
                sides[1 - side].set_reset(true);
                let pruned = if side == 0 { low } else { high };
                let count = total(pruned);
                if count < r.alpha_preference {
                    b.counter.record_unsuccessful_poll();
                    sides[side].set_reset(true);
                    b.sides = sides;
                    return (n, false);
                }
                b.counter.record_poll(count, side, &r);
                b.sides = sides;
                if let Some(child) = sides[side].child() {
                    let (next, _) = self.poll_at(child, pruned, sides[side].reset());
                    let next_preference = self.node(next).preference(&r);
                    let Node::Binary(b) = &mut self.nodes[n as usize] else {
                        unreachable!()
                    };
                    if b.counter.finalized {
                        return (next, true);
                    }
                    b.preferences[side] = next_preference;
                }
                if let Node::Binary(b) = &mut self.nodes[n as usize] {
                    b.sides[side].set_reset(false);
                }
                (n, true)
            }
        }
    }

    /// The preferred choice.
    pub fn preference(&self) -> u64 {
        self.node(self.root).preference(&self.rules)
    }

    /// Whether the decision is final (Slush: after beta polls).
    pub fn finalized(&self) -> bool {
        match self.rules.protocol {
            Protocol::Slush => self.polls >= self.rules.beta,
            _ => self.node(self.root).finalized(),
        }
    }

    /// The root's consecutive successful polls (Slush: polls so far).
    pub fn confidence(&self) -> usize {
        match (self.rules.protocol, self.node(self.root)) {
            (Protocol::Slush, _) => self.polls as usize,
            (_, Node::Unary(u)) => u.counter.confidence as usize,
            (_, Node::Binary(b)) => b.counter.confidence as usize,
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, n: u32, depth: usize) -> fmt::Result {
        let indent = "    ".repeat(depth);
        let r = &self.rules;
        if depth > 0 {
            f.write_str("\n")?;
        }
        match self.node(n) {
            Node::Unary(u) => {
                let c = u.counter.display(r);
                write!(f, "{indent}{c} Bits = [{}, {})", u.decided, u.common)?;
                if let Some(child) = u.child {
                    self.write(f, child.node(), depth + 1)?;
                }
            }
            Node::Binary(b) => {
                write!(f, "{indent}{} Bit = {}", b.counter.display(r), b.bit())?;
                for child in b.sides.iter().filter_map(|s| s.child()) {
                    self.write(f, child, depth + 1)?;
                }
            }
        }
        Ok(())
    }
}

/// The tree as avalanchego's `Tree.String()` prints it: a line a node, children indented by
/// four spaces, a binary node's 0 side first, no final newline.
impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, self.root, 0)
    }
}
