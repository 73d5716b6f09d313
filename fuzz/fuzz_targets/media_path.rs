//! Fuzzes the connection's media layer: arbitrary RTP and RTCP after SRTP
//! (routing, RTX, statistics, NACK, reports, keyframe requests) never
//! panics, with the media timer running between packets.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static START: OnceLock<Instant> = OnceLock::new();
    eddy::fuzzing::media_path(data, *START.get_or_init(Instant::now));
});
