//! `results/baseline.json` as `luxsim check` reads it: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = luxsim::experiment::Baseline::parse(data, "baseline.json");
});
