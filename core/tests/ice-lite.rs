//! An ICE-lite server on a public address and a full client behind a NAT:
//! the lite side sends no checks, the full side controls and nominates.
#![cfg(feature = "sim")]

mod ice_common;

use std::time::Duration;

use eddy::ice::{CandidateKind, IceConfig, IceConnectionState, IceRole};
use eddy::sim::ice_node::{exchange_credentials, run_signaling};
use eddy::sim::{NatConfig, Sim};
use ice_common::*;

#[test]
fn lite_server_and_full_client_behind_nat() {
    let mut sim = Sim::new(5, start());
    let internet = sim.internet();
    let mut lite = IceConfig::default();
    lite.lite = true;
    let server = add_agent(
        &mut sim,
        internet,
        "198.51.100.7",
        443,
        IceRole::Controlling,
        lite,
        None,
    );
    let home = sim.add_nat(
        internet,
        ip("203.0.113.9"),
        NatConfig::port_restricted_cone(),
        link(),
    );
    // The client answers an offer from a lite server: it would be
    // controlled, but RFC 8445 §6.1.1 makes the full agent control.
    let client = add_agent(
        &mut sim,
        home,
        "10.0.0.2",
        5000,
        IceRole::Controlled,
        IceConfig::default(),
        None,
    );
    sim.node_mut::<eddy::sim::ice_node::IceNode>(client)
        .unwrap()
        .agent
        .set_remote_ice_lite(true);
    assert_eq!(node(&sim, server).agent.role(), IceRole::Controlled);
    assert_eq!(node(&sim, client).agent.role(), IceRole::Controlling);
    exchange_credentials(&mut sim, server, client);
    run_signaling(
        &mut sim,
        server,
        client,
        Duration::from_millis(10),
        Duration::from_secs(5),
        |s| both_connected(s, server, client),
    )
    .expect("connects");
    // The server learned the client's NAT address as peer-reflexive.
    let (_, remote, _) = node(&sim, server).agent.selected_pair().unwrap();
    assert_eq!(remote.ip(), ip("203.0.113.9"));
    assert!(node(&sim, server)
        .agent
        .remote_candidates()
        .iter()
        .any(|c| c.kind == CandidateKind::PeerReflexive));
    // Two minutes later both are still up on the client's consent checks,
    // and the lite server never sent a request.
    sim.run_for(Duration::from_secs(120));
    assert!(both_connected(&sim, server, client));
    assert_eq!(node(&sim, server).agent.stats().requests_sent, 0);
    assert!(node(&sim, server).agent.stats().requests_received >= 20);

    // The client goes away: the lite server notices from the silence.
    sim.set_link(
        client,
        eddy::sim::Link::symmetric(eddy::sim::LinkConfig {
            loss: eddy::sim::Loss::Random(1.0),
            ..eddy::sim::LinkConfig::default()
        }),
    );
    sim.run_for(Duration::from_secs(31));
    assert_eq!(state(&sim, server), IceConnectionState::Failed);
    assert!(node(&sim, server)
        .entered(IceConnectionState::Disconnected)
        .is_some());
}
