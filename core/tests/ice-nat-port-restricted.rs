//! Two agents, each behind a port-restricted-cone NAT (the common home router), learn server-reflexive
//! candidates from a STUN server and connect through them.
#![cfg(feature = "sim")]

mod ice_common;

use std::net::SocketAddr;
use std::time::Duration;

use eddy::ice::sim_node::{exchange_credentials, run_signaling};
use eddy::ice::stun_server::StunServer;
use eddy::ice::{CandidateKind, IceConfig, IceRole};
use eddy::sim::{NatConfig, Sim};
use ice_common::*;

#[test]
fn agents_behind_port_restricted_nats_connect_via_server_reflexive_candidates() {
    let mut sim = Sim::new(3, start());
    let internet = sim.internet();
    let stun_ip = "198.51.100.1";
    let server = sim.add_node(internet, ip(stun_ip), StunServer::new(), link());
    let stun: SocketAddr = (ip(stun_ip), 3478).into();
    let nat_a = sim.add_nat(
        internet,
        ip("203.0.113.1"),
        NatConfig::port_restricted_cone(),
        link(),
    );
    let nat_b = sim.add_nat(
        internet,
        ip("203.0.113.2"),
        NatConfig::port_restricted_cone(),
        link(),
    );
    let a = add_agent(
        &mut sim,
        nat_a,
        "10.0.1.2",
        5000,
        IceRole::Controlling,
        IceConfig::default(),
        Some(stun),
    );
    let b = add_agent(
        &mut sim,
        nat_b,
        "10.0.2.2",
        5000,
        IceRole::Controlled,
        IceConfig::default(),
        Some(stun),
    );
    exchange_credentials(&mut sim, a, b);
    run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(10),
        |s| both_connected(s, a, b),
    )
    .expect("connects");
    for (id, public) in [(a, "203.0.113.1"), (b, "203.0.113.2")] {
        let srflx: Vec<_> = node(&sim, id)
            .agent
            .local_candidates()
            .iter()
            .filter(|c| c.kind == CandidateKind::ServerReflexive)
            .cloned()
            .collect();
        assert_eq!(srflx.len(), 1, "{srflx:?}");
        assert_eq!(srflx[0].addr.ip(), ip(public));
    }
    // The private host addresses cannot reach each other: the selected pair
    // goes to the peer's public (NAT) address.
    let (_, remote, _) = node(&sim, a).agent.selected_pair().unwrap();
    assert_eq!(remote.ip(), ip("203.0.113.2"));
    let (_, remote, _) = node(&sim, b).agent.selected_pair().unwrap();
    assert_eq!(remote.ip(), ip("203.0.113.1"));
    assert!(sim.node::<StunServer>(server).unwrap().answered >= 2);
}
