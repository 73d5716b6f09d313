//! DTLS transports (server, and clients mid-handshake) take arbitrary
//! records without panicking.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| eddy::fuzzing::dtls_records(data, start()));
