//! Chaos: ICE restarts during a heavy two-way transfer over a lossy (1%)
//! path — one offered by A, then one offered by B, then two back to back
//! from A (the second before the first finished checking). The selected
//! pair keeps carrying data meanwhile (RFC 8445 §9: "the agent MUST
//! continue to use the previously selected pair" until new checks
//! succeed), so no reliable message is lost, duplicated or reordered;
//! neither side ever leaves `connected`; ICE credentials really changed;
//! heap bounded.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::{Link, LinkConfig, Loss};
use eddy::{IceConnectionState, PeerConnectionState};

fn ufrag(c: &Chaos, n: eddy::sim::NodeId) -> String {
    c.pc_ref(n)
        .local_description()
        .unwrap()
        .sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn chaos_ice_restarts_during_a_heavy_transfer_lose_nothing() {
    let lossy = LinkConfig {
        loss: Loss::Random(0.01),
        ..wire()
    };
    let mut setup = Setup::new(109);
    setup.link_a = Link::symmetric(lossy);
    let mut c = Chaos::connect(&setup, Duration::from_secs(10));
    let mut up = c.transfer(c.a, 800);
    let mut down = c.transfer(c.b, 500);
    c.run_for(Duration::from_secs(1), &mut [&mut up, &mut down]);
    let baseline = reset_peak();
    let first = (ufrag(&c, c.a), ufrag(&c, c.b));

    c.renegotiate(c.a, true);
    c.run_for(Duration::from_millis(1500), &mut [&mut up, &mut down]);
    c.renegotiate(c.b, true);
    c.run_for(Duration::from_millis(1500), &mut [&mut up, &mut down]);
    c.renegotiate(c.a, true);
    c.run_for(Duration::from_millis(30), &mut [&mut up, &mut down]);
    c.renegotiate(c.a, true);
    assert!(
        up.received < up.total && down.received < down.total,
        "the restarts happened mid-transfer"
    );
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 2 << 20, "ICE restarts");

    let last = (ufrag(&c, c.a), ufrag(&c, c.b));
    assert_ne!(first.0, last.0);
    assert_ne!(first.1, last.1);
    c.assert_states(PeerConnectionState::Connected);
    for n in [c.a, c.b] {
        assert_eq!(
            c.log(n).pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected
            ],
            "{n:?}"
        );
        let ice = c.log(n).ice_states();
        assert!(!ice.contains(&IceConnectionState::Failed), "{n:?}: {ice:?}");
        assert!(
            !ice.contains(&IceConnectionState::Disconnected),
            "{n:?}: {ice:?}"
        );
        assert!(c.pc_ref(n).selected_candidate_pair().is_some());
    }
    c.assert_healthy();
    assert!(c.stray.is_empty());
    // Consent keeps being answered in the last session: still connected
    // well past consent's 30 s.
    c.run_for(Duration::from_secs(40), &mut [&mut up, &mut down]);
    c.assert_states(PeerConnectionState::Connected);
}
