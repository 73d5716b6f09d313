//! Chaos: a 10 s blackout (100% loss both ways) in the middle of a
//! two-way reliable transfer. ICE may report `disconnected`, must come back
//! `connected` once the link returns (consent resumes), never `failed`
//! (RFC 7675: consent lasts 30 s), and both transfers complete in order
//! and byte-exact with bounded buffering and heap.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::Link;
use eddy::{IceConnectionState, PeerConnectionState};

#[test]
fn chaos_ten_second_blackout_then_recovery() {
    let mut c = Chaos::connect(&Setup::new(101), Duration::from_secs(10));
    let mut up = c.transfer(c.a, 1500);
    let mut down = c.transfer(c.b, 600);
    c.run_for(Duration::from_secs(2), &mut [&mut up, &mut down]);
    assert!(up.received > 0 && down.received > 0, "data flowed before");
    let baseline = reset_peak();

    c.sim.set_link(c.b, Link::symmetric(cut()));
    c.run_for(Duration::from_secs(10), &mut [&mut up, &mut down]);
    let during = (up.received, down.received);
    // Nothing crosses a dead link; the senders stop at their high-water
    // mark instead of piling up.
    assert!(up.max_buffered <= up.high_water + 16 * 1024);
    assert!(down.max_buffered <= down.high_water + 16 * 1024);
    for n in [c.a, c.b] {
        assert_ne!(
            c.pc_ref(n).connection_state(),
            PeerConnectionState::Failed,
            "10 s is within consent's 30 s"
        );
    }
    assert_eq!(
        c.pc_ref(c.a).ice_connection_state(),
        IceConnectionState::Disconnected,
        "consent checks went unanswered for more than 3 s"
    );

    c.sim.set_link(c.b, Link::symmetric(wire()));
    c.finish(Duration::from_secs(90), &mut [&mut up, &mut down]);
    assert!(up.received > during.0 && down.received > during.1);
    assert_peak_within(baseline, 2 << 20, "blackout");

    c.assert_states(PeerConnectionState::Connected);
    for n in [c.a, c.b] {
        let log = c.log(n);
        assert_eq!(
            log.pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected,
                PeerConnectionState::Disconnected,
                PeerConnectionState::Connected
            ],
            "node {n:?}"
        );
        assert!(!log.ice_states().contains(&IceConnectionState::Failed));
    }
    c.assert_healthy();
    assert!(c.stray.is_empty());
}
