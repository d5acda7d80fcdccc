//! The trace readers of `luxsim plot` (CSV and JSONL): never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let jsonl = data.first().is_some_and(|b| b & 1 == 1);
    let _ = luxsim::plot::read_run(data, jsonl, None, Path::new("trace"));
    let _ = luxsim::plot::read_sweep(data, Path::new("points.csv"));
});
