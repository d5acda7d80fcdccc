//! What `luxsim merge` reads: sweep manifests and runs.csv rows; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luxsim::experiment::{runs_header, RunRecord};
use luxsim::experiment::Manifest;
use luxsim::sim::scenario::Mode;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        let _ = (m.grid(), m.keys());
    }
    let keys = vec!["params.k".to_string()];
    let header = runs_header(&keys, Mode::Event);
    let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    for row in rd.records().take(64).flatten() {
        let _ = RunRecord::parse(&row, 1, &header);
    }
});
