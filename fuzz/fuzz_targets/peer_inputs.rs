//! Two connected `PeerConnection`s driven by a structured sequence of
//! operations (`arbitrary`): datagrams up to MTU size from the peer's
//! address or a stranger's, over UDP or ICE-TCP, mangled copies of real
//! traffic (every layer: STUN, DTLS records, SCTP inside them), time
//! passing (forwards, not at all, or "backwards"), channel calls, sends of
//! every size, renegotiation, ICE restarts and close. Nothing may panic,
//! and a reliable channel delivers what it took, in order.
//!
//! Each run builds and connects a fresh pair, so a crash replays from its
//! input alone: the clock starts at the same `Instant` every run and the
//! peers are seeded. To keep that cheap, the certificates are made once per
//! process and the DTLS configuration is validated once; what remains is
//! the handshake's public-key work. `peer_session` trades that
//! reproducibility for speed.
#![no_main]

#[path = "common/peer_world.rs"]
mod peer_world;

use libfuzzer_sys::fuzz_target;
use peer_world::{Op, World};

fuzz_target!(|ops: Vec<Op>| {
    let Some(mut world) = World::new() else {
        return;
    };
    for op in ops.into_iter().take(64) {
        world.apply(op);
    }
});
