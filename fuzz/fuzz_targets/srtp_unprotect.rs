//! SRTP/SRTCP unprotect never panics on arbitrary packets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eddy::fuzzing::srtp_unprotect(data));
