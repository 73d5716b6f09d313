//! RTP payloads of any shape into the VP8, VP9, H.264, H.265, AV1 and Opus
//! depacketizers, and as AV1 Dependency Descriptors:
//! never a panic, frames bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eddy::fuzzing::depacketize(data));
