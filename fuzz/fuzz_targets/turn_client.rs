//! A TURN client mid-allocation takes arbitrary datagrams from its
//! server (responses, indications, ChannelData) without panicking.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| eddy::fuzzing::turn_client(data, start()));
