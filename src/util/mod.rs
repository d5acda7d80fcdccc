//! Small utilities every layer above the nodes uses: outputs that appear whole
//! ([`atomic`]), SIGINT and SIGTERM ([`signals`]), a stdout that a closed pipe silences and
//! the exit codes ([`console`]), file:line:column for TOML files ([`toml_span`]), and
//! durations as nanoseconds ([`nanos`]).

pub mod atomic;
pub mod console;
pub mod signals;
pub mod toml_span;

/// A duration as whole nanoseconds, saturating at `u64::MAX` (about 584 years); scenario and
/// node-config validation refuse durations that do not fit, so for loaded files it is exact.
#[inline]
pub fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
