//! The node's log on stderr: the `log` facade written by `env_logger`, as text or as one JSON
//! object per line (`docs/bridge.md`, "Logging"). Its events on stdout are not log records.

use super::config::LogFormat;
use super::node::Event;
use log::Level;
use serde::Serialize;
use std::io::Write;

/// Where the log level came from, strongest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelSource {
    /// `--log-level`.
    Flag(Level),
    /// `RUST_LOG`, in env_logger's syntax (`debug`, `luxsim=debug,warn`).
    Env(String),
    /// `log_level` (TOML) or `monitoring.log_level` (YAML).
    File(Level),
    /// Nothing said: info.
    Default,
}

/// The level by precedence: `--log-level`, then `RUST_LOG` (when set and not empty), then
/// the file's, then info.
pub fn level_source(flag: Option<Level>, env: Option<String>, file: Option<Level>) -> LevelSource {
    match (flag, env.filter(|e| !e.trim().is_empty()), file) {
        (Some(l), _, _) => LevelSource::Flag(l),
        (None, Some(e), _) => LevelSource::Env(e),
        (None, None, Some(l)) => LevelSource::File(l),
        (None, None, None) => LevelSource::Default,
    }
}

/// One record as a JSON line.
#[derive(Serialize)]
struct JsonRecord<'a> {
    ts: String,
    level: &'a str,
    target: &'a str,
    msg: String,
}

/// Starts the log (once per process: later calls change nothing) at `level`, in `format`.
pub fn init(level: &LevelSource, format: LogFormat) {
    let mut b = env_logger::Builder::new();
    b.target(env_logger::Target::Stderr);
    match level {
        LevelSource::Flag(l) | LevelSource::File(l) => {
            b.filter_level(l.to_level_filter());
        }
        LevelSource::Env(spec) => {
            b.parse_filters(spec);
        }
        LevelSource::Default => {
            b.filter_level(log::LevelFilter::Info);
        }
    }
    match format {
        LogFormat::Text => {
            b.format_timestamp_millis();
        }
        LogFormat::Json => {
            b.format(|buf, r| {
                let line = JsonRecord {
                    ts: buf.timestamp_millis().to_string(),
                    level: r.level().as_str(),
                    target: r.target(),
                    msg: r.args().to_string(),
                };
                let text = serde_json::to_string(&line).map_err(std::io::Error::other)?;
                writeln!(buf, "{text}")
            });
        }
    }
    let _ = b.try_init();
}

/// The target of the node's own lines.
const NODE: &str = "luxsim::bridge::node";

/// The log line of an event: decisions at info, ledger items at debug.
pub(super) fn event(e: &Event) {
    match e {
        Event::Decided {
            node,
            choice,
            block,
            at_ms,
            polls,
        } => log::info!(
            target: NODE,
            "node {node} decided choice {choice} (block {block}) after {polls} polls, at {at_ms:.1} ms"
        ),
        Event::Proposed { id, height, .. } => {
            log::debug!(target: NODE, "proposed {id} at height {height}")
        }
        Event::Accepted { id, height, .. } => {
            log::debug!(target: NODE, "accepted {id} at height {height}")
        }
        Event::Rejected { id, height, .. } => {
            log::debug!(target: NODE, "rejected {id} at height {height}")
        }
        Event::Ready { .. } | Event::Summary(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_beats_rust_log_which_beats_the_file() {
        let env = || Some("debug".to_string());
        assert_eq!(
            level_source(Some(Level::Warn), env(), Some(Level::Trace)),
            LevelSource::Flag(Level::Warn)
        );
        assert_eq!(
            level_source(None, env(), Some(Level::Trace)),
            LevelSource::Env("debug".into())
        );
        assert_eq!(
            level_source(None, Some(" ".into()), Some(Level::Trace)),
            LevelSource::File(Level::Trace),
            "an empty RUST_LOG says nothing"
        );
        assert_eq!(level_source(None, None, None), LevelSource::Default);
    }
}
