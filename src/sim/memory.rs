//! How much memory a run will need, estimated before anything is allocated, so that a
//! scenario too large for the machine is refused with a message instead of aborting (or
//! being killed) halfway through.
//!
//! The estimates are per node and mode, fitted to peak resident sizes measured on runs of
//! the shipped scenarios (`/usr/bin/time -f %M`); they aim to be within a factor of two.

use super::scenario::{Mode, Scenario};
use crate::engine::Shape;

/// Bytes a run of `scenario` is expected to hold at its peak.
pub fn estimate(s: &Scenario) -> u64 {
    let nodes = s.network.nodes as u64;
    let p = &s.params;
    // Poll slots: concurrent polls of k peers each, with their answers.
    let polls = (p.concurrent_polls.max(1) * p.k.max(1)) as u64;
    let per_node = if s.engine.is_ledger() {
        // Every node holds every item it has seen: blocks or vertices over the run.
        let spec = s.ledger();
        let interval = spec.block_interval.as_nanos().max(1);
        let slots = (s.max_time.as_nanos() / interval).min(u128::from(u32::MAX)) as u64;
        let items = match spec.heights {
            0 => slots,
            h => h.min(slots.max(h)),
        };
        16 * 1024 + polls * 64 + items * 320
    } else {
        match s.mode {
            // Node state, poll slots, answer batches (12 bytes an answer) and the preference
            // history the world keeps: 303 MB peak at 10^5 nodes (baseline.toml, 2026-12-08).
            Mode::Event => 1536 + polls * 24,
            // Preferences (two rounds), the decision (a tree of four 40-byte nodes: 309 MB
            // peak at 10^6 nodes, 3.01 GB at 10^7, 2026-12-08), the sampler's alias table
            // and the outcomes.
            Mode::Lockstep | Mode::Harness if s.shape() == Shape::Tree => 320,
            // A flat decision lives inline.
            Mode::Lockstep | Mode::Harness => 192,
        }
    };
    // The binary, the runtime and small fixed tables.
    const BASE: u64 = 24 << 20;
    BASE.saturating_add(nodes.saturating_mul(per_node))
}

/// Refuses a run whose memory estimate (times `runs` at once) exceeds what is available,
/// unless `skip`.
pub fn check(scenario: &Scenario, runs: usize, skip: bool) -> Result<(), super::SimError> {
    let need = estimate(scenario).saturating_mul(runs.max(1) as u64);
    match available() {
        Some(have) if need > have && !skip => Err(super::SimError::Memory {
            need,
            have,
            nodes: scenario.network.nodes,
            mode: if scenario.engine.is_ledger() {
                scenario.engine.name()
            } else {
                scenario.mode.name()
            },
            runs,
        }),
        _ => Ok(()),
    }
}

/// The memory available to a new process now (`MemAvailable` in `/proc/meminfo`), if known.
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `1.5 GiB`, `640 MiB`, `12 KiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let text = format!("name = \"m\"\n{extra}\n[network]\nnodes = 10000\n");
        Scenario::parse(&text, "m.toml", &[]).unwrap()
    }

    #[test]
    fn estimates_scale_with_nodes_and_mode() {
        let event = estimate(&scenario(""));
        let lockstep = estimate(&scenario("mode = \"lockstep\""));
        // Measured: 36 MB peak at 10,000 nodes in event mode, 309 MB at 10^6 in lockstep.
        assert!((40 << 20..140 << 20).contains(&event), "{}", human(event));
        assert!(lockstep < event);
        let big = Scenario::parse(
            "name = \"m\"\n[network]\nnodes = 1000000000\n",
            "m.toml",
            &[],
        )
        .unwrap();
        assert!(estimate(&big) > 1 << 40, "a billion nodes need terabytes");
        assert_eq!(human(1536 << 20), "1.5 GiB");
        assert_eq!(human(12), "12 B");
    }
}
