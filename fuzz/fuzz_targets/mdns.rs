//! mDNS answers and queries (RFC 6762) of any shape: the resolver and the
//! responder never panic, and their memory stays bounded.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| eddy::fuzzing::mdns(data, start()));
