//! The bridge's node files: loading never panics; errors are located.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = luxsim::bridge::NodeFile::parse(text, "n.toml") {
        assert!(e.to_string().starts_with("n.toml:"), "{e}");
    }
});
