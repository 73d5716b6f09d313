//! Fuzzes the SDP parser: it must never panic, and whatever it accepts must
//! be written back to text that parses to the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sdp) = eddy::Sdp::parse(text) {
        let written = sdp.to_string();
        let back = eddy::Sdp::parse(&written).expect("written SDP must parse");
        assert_eq!(back, sdp, "model -> text -> model must be the identity");
    }
    for line in text.lines().take(64) {
        if let Ok(c) = eddy::SdpCandidate::parse(line) {
            let again =
                eddy::SdpCandidate::parse(&c.to_string()).expect("written candidate must parse");
            assert_eq!(again, c);
        }
    }
});
