//! `nodes.csv`: who each node of a run is, the truth an analysis is scored against.
//!
//! Columns: `id`; `stake` (its share of the total stake, the weights summing to 1);
//! `byzantine` (`true` or `false`); `strategy` (the Byzantine strategy, empty for honest
//! nodes); `region` (its region's name, empty without regions; node i is in region
//! i mod R); `initial` (an honest node's initial preference, empty for Byzantine ones);
//! `crashes` (each crash window holding the node, `AT-RECOVER` in nanoseconds of virtual
//! time, `RECOVER` empty when it never comes back, `;`-separated, empty for none). It is
//! written beside the trace, atomically, before the run starts, so an interrupted run
//! keeps it too.

use super::population::Population;
use super::scenario::Scenario;
use super::scheduler::nanos;
use crate::util::atomic::AtomicFile;
use std::io;
use std::path::Path;

/// The file's name.
pub const FILE: &str = "nodes.csv";

/// The columns, in order (the CSV header).
pub const HEADER: [&str; 7] = [
    "id",
    "stake",
    "byzantine",
    "strategy",
    "region",
    "initial",
    "crashes",
];

/// Writes `nodes.csv` for the population `pop` of `s` into `dir`.
pub fn write(dir: &Path, s: &Scenario, pop: &Population) -> io::Result<()> {
    let file = AtomicFile::create(&dir.join(FILE))?;
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(file);
    w.write_record(HEADER).map_err(io::Error::other)?;
    let strategy = s.byzantine.as_ref().map_or("", |b| b.strategy.name());
    let names = s.network.regions.as_ref().map(|r| &r.names[..]);
    let mut crashes = String::new();
    let mut stake = String::new();
    for id in 0..pop.byzantine.len() {
        let byzantine = pop.byzantine[id];
        crashes.clear();
        for c in s
            .network
            .crashes
            .iter()
            .filter(|c| (c.nodes[0]..=c.nodes[1]).contains(&id))
        {
            if !crashes.is_empty() {
                crashes.push(';');
            }
            crashes.push_str(&nanos(c.at).to_string());
            crashes.push('-');
            if let Some(r) = c.recover {
                crashes.push_str(&nanos(r).to_string());
            }
        }
        stake.clear();
        stake.push_str(&pop.sampler.weight(id as u32).to_string());
        let region = names.map_or("", |n| n[id % n.len()].as_str());
        let initial = if byzantine {
            String::new()
        } else {
            pop.initial[id].to_string()
        };
        w.write_record([
            id.to_string().as_str(),
            &stake,
            if byzantine { "true" } else { "false" },
            if byzantine { strategy } else { "" },
            region,
            &initial,
            &crashes,
        ])
        .map_err(io::Error::other)?;
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}
