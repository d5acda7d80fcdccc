//! The node-to-node poll frames of the bridge: decode never panics; round trips are exact.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luxsim::bridge::Frame;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = Frame::decode(data) {
        assert_eq!(f.encode(), data);
    }
});
