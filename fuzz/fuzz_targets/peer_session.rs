//! The operations of `peer_inputs` (same input format) on one connected
//! pair kept across runs: the pair is built once and rebuilt only when a run
//! leaves it no longer connected, or every `REBUILD_EVERY` runs. No
//! handshake per run, so it runs many times faster and reaches states that
//! take many operations; the price is that a run depends on the runs before
//! it. A crash it finds is replayed with `peer_inputs` (which starts from a
//! fresh pair), or with the runs before it from libFuzzer's log.
#![no_main]

#[path = "common/peer_world.rs"]
mod peer_world;

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use peer_world::{Op, World};

/// Runs on one pair before it is rebuilt anyway (bounds how much history a
/// crash can depend on).
const REBUILD_EVERY: u32 = 1000;

static SESSION: Mutex<Option<(World, u32)>> = Mutex::new(None);

fuzz_target!(|ops: Vec<Op>| {
    let mut session = SESSION
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stale = session
        .as_ref()
        .is_none_or(|(world, runs)| !world.connected() || *runs >= REBUILD_EVERY);
    if stale {
        *session = World::new().map(|w| (w, 0));
    }
    let Some((world, runs)) = session.as_mut() else {
        return;
    };
    *runs += 1;
    for op in ops.into_iter().take(64) {
        world.apply(op);
    }
    // Let what the run started settle, so the next run meets a quiet pair.
    world.tick(50);
});
