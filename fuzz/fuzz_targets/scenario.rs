//! Scenario files and `--set` overrides: loading never panics; errors are located.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line, when it looks like KEY=VALUE, is also tried as a --set override.
    let (first, _) = text.split_once('\n').unwrap_or((text, ""));
    let sets: Vec<String> = if first.contains('=') && !first.contains(' ') {
        vec![first.to_string()]
    } else {
        Vec::new()
    };
    if let Err(e) = luxsim::sim::Scenario::parse(text, "f.toml", &sets) {
        let m = e.to_string();
        assert!(m.starts_with("f.toml:") || m.starts_with("bad --set"), "{m}");
    }
});
