//! Two agents, each behind a port-restricted-cone NAT (the common home router), learn server-reflexive
//! candidates from a STUN server and connect through them.
#![cfg(feature = "sim")]

mod ice_common;

use eddy::sim::stun_server::StunServer;
use eddy::sim::{NatConfig, Sim};
use ice_common::*;

#[test]
fn agents_behind_port_restricted_nats_connect_via_server_reflexive_candidates() {
    let mut sim = Sim::new(3, start());
    let (a, b, server) = behind_nats(
        &mut sim,
        NatConfig::port_restricted_cone(),
        NatConfig::port_restricted_cone(),
    );
    connect(&mut sim, a, b);
    assert_srflx_on(&sim, a, "203.0.113.1");
    assert_srflx_on(&sim, b, "203.0.113.2");
    // The private host addresses cannot reach each other: the selected pair
    // goes to the peer's public (NAT) address.
    let (_, remote, _) = node(&sim, a).agent.selected_pair().unwrap();
    assert_eq!(remote.ip(), ip("203.0.113.2"));
    let (_, remote, _) = node(&sim, b).agent.selected_pair().unwrap();
    assert_eq!(remote.ip(), ip("203.0.113.1"));
    assert!(sim.node::<StunServer>(server).unwrap().answered >= 2);
}
