//! Symmetric NATs (address- and port-dependent mapping): against a
//! full-cone peer the connection comes through peer-reflexive candidates
//! learned from the checks themselves; with symmetric NATs on both sides,
//! and no TURN, ICE ends `failed`.
#![cfg(feature = "sim")]

mod ice_common;

use std::time::Duration;

use eddy::ice::CandidateKind;
use eddy::sim::ice_node::run_signaling;
use eddy::sim::{NatConfig, Sim};
use ice_common::*;

#[test]
fn symmetric_nat_against_full_cone_connects_through_peer_reflexive() {
    let mut sim = Sim::new(6, start());
    let (a, b, _) = behind_nats(&mut sim, NatConfig::symmetric(), NatConfig::full_cone());
    connect(&mut sim, a, b);
    // b reaches a at the mapping a's NAT made towards b, which is not a's
    // signaled server-reflexive address: b learned it from a's check.
    let (_, remote, _) = node(&sim, b).agent.selected_pair().unwrap();
    assert_eq!(remote.ip(), ip("203.0.113.1"));
    let learned = node(&sim, b)
        .agent
        .remote_candidates()
        .iter()
        .find(|c| c.addr == remote)
        .unwrap()
        .clone();
    assert_eq!(learned.kind, CandidateKind::PeerReflexive);
    let srflx_a = node(&sim, a)
        .agent
        .local_candidates()
        .iter()
        .find(|c| c.kind == CandidateKind::ServerReflexive)
        .unwrap()
        .addr;
    assert_ne!(
        srflx_a, remote,
        "symmetric NAT: a new mapping per destination"
    );
}

/// Symmetric NATs on both sides defeat server-reflexive candidates (the
/// mapping towards the peer differs from the one the STUN server saw): with
/// no TURN, ICE must end `failed` once both sides are out of candidates.
#[test]
fn symmetric_nats_on_both_sides_fail_without_relay() {
    let mut sim = Sim::new(4, start());
    let (a, b, _) = behind_nats(&mut sim, NatConfig::symmetric(), NatConfig::symmetric());
    use eddy::ice::IceConnectionState::Failed;
    run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(50),
        Duration::from_secs(60),
        |s| state(s, a) == Failed && state(s, b) == Failed,
    )
    .expect("both fail");
    assert!(node(&sim, a).agent.selected_pair().is_none());
}
