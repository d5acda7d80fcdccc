//! What a ledger node knows of items: those in its engine, those parked until their parents
//! arrive, and those it has asked a peer for.

use super::Item;
use rustc_hash::FxHashMap;

/// Most items parked at once; an item beyond it is dropped (and fetched again when named).
pub(super) const MAX_PARKED: usize = 4096;

#[derive(Debug, Clone)]
struct Entry {
    item: Item,
    /// In the engine (else parked, waiting for a parent).
    added: bool,
}

/// The items of one node (lookups only: nothing iterates a hash map).
#[derive(Debug, Clone, Default)]
pub(super) struct Store {
    items: FxHashMap<u64, Entry>,
    /// Missing parent -> ids of the parked items waiting for it.
    waiting: FxHashMap<u64, Vec<u64>>,
    parked: usize,
    /// Item id -> time its last `Get` was sent.
    fetching: FxHashMap<u64, u64>,
}

impl Store {
    /// The item, in the engine or parked.
    pub(super) fn get(&self, id: u64) -> Option<&Item> {
        self.items.get(&id).map(|e| &e.item)
    }

    /// Whether the item is in the engine.
    pub(super) fn is_added(&self, id: u64) -> bool {
        self.items.get(&id).is_some_and(|e| e.added)
    }

    /// Whether the item is known at all (in the engine or parked).
    pub(super) fn is_known(&self, id: u64) -> bool {
        self.items.contains_key(&id)
    }

    /// Records an item added to the engine.
    pub(super) fn added(&mut self, item: Item) {
        let id = item.id();
        self.fetching.remove(&id);
        if let Some(e) = self.items.get_mut(&id) {
            if !e.added {
                e.added = true;
                self.parked -= 1;
            }
        } else {
            self.items.insert(id, Entry { item, added: true });
        }
    }

    /// Parks an item until `parent` is added; false (and dropped) when too many are parked.
    pub(super) fn park(&mut self, item: Item, parent: u64) -> bool {
        let id = item.id();
        if !self.items.contains_key(&id) {
            if self.parked >= MAX_PARKED {
                return false;
            }
            self.items.insert(id, Entry { item, added: false });
            self.parked += 1;
        }
        self.fetching.remove(&id);
        self.waiting.entry(parent).or_default().push(id);
        true
    }

    /// The parked items that waited for `parent`, in the order they came.
    pub(super) fn unpark(&mut self, parent: u64) -> Option<Vec<u64>> {
        self.waiting.remove(&parent)
    }

    /// Whether a `Get` for `id` should go out now (none sent, or the last is older than
    /// `retry`); if so, notes it as sent at `now`.
    pub(super) fn should_fetch(&mut self, id: u64, now: u64, retry: u64) -> bool {
        if self.items.contains_key(&id) {
            return false;
        }
        match self.fetching.get(&id) {
            Some(&at) if now < at.saturating_add(retry) => false,
            _ => {
                self.fetching.insert(id, now);
                true
            }
        }
    }

    /// Whether the item is on its way: asked for less than `retry` ago, or parked.
    pub(super) fn is_pending(&self, id: u64, now: u64, retry: u64) -> bool {
        let asked = self
            .fetching
            .get(&id)
            .is_some_and(|&at| now < at.saturating_add(retry));
        asked || self.items.get(&id).is_some_and(|e| !e.added)
    }

    /// Items parked now.
    pub(super) fn parked(&self) -> usize {
        self.parked
    }
}
