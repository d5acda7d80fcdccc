//! Small utilities every layer above the nodes uses: outputs that appear whole
//! ([`atomic`]), SIGINT and SIGTERM ([`signals`]), a stdout that a closed pipe silences and
//! the exit codes ([`console`]), and file:line:column for TOML files ([`toml_span`]).

pub mod atomic;
pub mod console;
pub mod signals;
pub mod toml_span;
