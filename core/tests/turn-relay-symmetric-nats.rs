//! Two peers, each behind a symmetric NAT (no direct path: the mapping
//! towards the peer differs from any the peer could learn), connect only
//! through a TURN server: relay candidates are gathered from it, the
//! selected pair is relayed on both sides, the data channel opens and
//! carries data. With `iceTransportPolicy: relay` only relay candidates
//! are signaled.
#![cfg(feature = "sim")]

mod turn_common;

use std::time::Duration;

use eddy::{CandidateKind, PeerConnectionState};
use turn_common::*;

#[test]
fn symmetric_nats_connect_through_the_relay() {
    let mut run = setup(
        11,
        turn("eddy", "secret"),
        Topology::SymmetricNats,
        |s| config(s, TURN_URL, "secret", false),
        |s| config(s, TURN_URL, "secret", false),
    );
    signal(&mut run);
    let offer = pc(&run, run.a).local_description().unwrap().sdp.clone();
    assert!(offer.contains(" typ relay raddr 203.0.113.1 "), "{offer}");
    assert!(
        offer.contains(" typ host"),
        "policy all: host candidates too"
    );
    let (ha, _) = open_channel(&mut run, Duration::from_secs(60)).expect("the channel opened");
    for n in [run.a, run.b] {
        assert_eq!(
            pc(&run, n).connection_state(),
            PeerConnectionState::Connected
        );
        let (local, _, _) = pc(&run, n).selected_candidate_pair().unwrap();
        assert_eq!(
            local.ip(),
            ip(TURN_IP),
            "the local candidate is the relayed address"
        );
        assert_eq!(selected_local_kind(&run, n), Some(CandidateKind::Relayed));
        assert!(candidate_errors(&run, n).is_empty());
    }
    assert!(deliver(&mut run, ha, "through the relay"));
    let stats = server(&run).stats;
    eprintln!(
        "server: {stats:?}; selected a: {:?}",
        pc(&run, run.a).selected_candidate_pair()
    );
    assert_eq!(stats.allocations, 2);
    assert!(stats.channel_binds >= 2, "{stats:?}");
    assert!(
        stats.channel_data > 0 && stats.sent_from_channel > 0,
        "{stats:?}"
    );
    // Closing deallocates.
    let a = run.a;
    pc_mut(&mut run, a).close();
    run.sim.run_for(Duration::from_secs(1));
    assert_eq!(server(&run).stats.deallocations, 1);
    assert_eq!(server(&run).allocations(), 1);
}

#[test]
fn relay_policy_signals_relay_candidates_only() {
    let mut run = setup(
        12,
        turn("eddy", "secret"),
        Topology::SymmetricNats,
        |s| config(s, TURN_URL, "secret", true),
        |s| config(s, TURN_URL, "secret", true),
    );
    signal(&mut run);
    for n in [run.a, run.b] {
        let sdp = pc(&run, n).local_description().unwrap().sdp.clone();
        let kinds: Vec<&str> = sdp
            .lines()
            .filter(|l| l.starts_with("a=candidate:"))
            .filter_map(|l| l.split(' ').nth(7))
            .collect();
        assert_eq!(kinds, vec!["relay"], "{sdp}");
    }
    let (ha, _) = open_channel(&mut run, Duration::from_secs(60)).expect("the channel opened");
    assert_eq!(
        selected_local_kind(&run, run.a),
        Some(CandidateKind::Relayed)
    );
    assert!(deliver(&mut run, ha, "relay only"));
}

#[test]
fn without_turn_the_symmetric_nats_do_not_connect() {
    // The control: the same network with TURN credentials that do not
    // work gives no relay candidate, and nothing connects.
    let mut run = setup(
        13,
        turn("eddy", "secret"),
        Topology::SymmetricNats,
        |s| config(s, TURN_URL, "wrong", false),
        |s| config(s, TURN_URL, "wrong", false),
    );
    signal(&mut run);
    assert!(open_channel(&mut run, Duration::from_secs(40)).is_none());
    assert_eq!(candidate_errors(&run, run.a).len(), 1);
}
