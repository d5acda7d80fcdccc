//! The 8-byte compact vote: unpack never panics; what unpacks packs back (bytes 6-7 zero).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = luxsim::Vote::unpack(data) {
        let packed = v.pack().expect("an unpacked vote packs");
        assert_eq!(&packed[..6], &data[..6]);
    }
});
