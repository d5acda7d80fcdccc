//! The block encoding: deserialize never panics; what decodes encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = luxsim::Block::deserialize(data) {
        assert_eq!(b.serialize(), data);
    }
});
