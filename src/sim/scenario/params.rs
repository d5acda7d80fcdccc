//! The `[params]` table: a preset plus per-field overrides ([`ParamsSpec`]), resolved on load.

use crate::ConsensusParams;
use crate::ParamsSpec;
use serde::de::Deserializer;
use serde::Deserialize;

/// Deserializes a `[params]` table into resolved [`ConsensusParams`].
pub(super) fn resolve_params<'de, D: Deserializer<'de>>(d: D) -> Result<ConsensusParams, D::Error> {
    ParamsSpec::deserialize(d)?
        .resolve()
        .map_err(serde::de::Error::custom)
}
