//! The life cycle of an item (block, vertex, transaction) in an engine.

use serde::{Deserialize, Serialize};

/// Whether an item is still being decided, or how it was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Known, not decided yet.
    Processing,
    /// Accepted: final.
    Accepted,
    /// Rejected: final.
    Rejected,
}

impl Status {
    /// Whether the item is accepted or rejected.
    pub fn is_decided(self) -> bool {
        self != Status::Processing
    }
}
