//! ICE-TCP (RFC 6544): a server with a passive TCP host candidate only.
//! Browsers offer active TCP candidates (port 9, never checked: they connect
//! out); the server pairs with the connection's source as a peer-reflexive
//! candidate when the first check arrives over it, and answers and checks
//! back over that connection with RFC 4571 framing.
#![cfg(feature = "sim")]

mod ice_common;

use std::net::SocketAddr;
use std::time::Duration;

use eddy::ice::{Candidate, CandidateKind, IceAgent, IceConfig, IceRole, TcpType};
use eddy::sim::ice_node::{exchange_credentials, run_signaling, IceNode};
use eddy::sim::Sim;
use eddy::Protocol;
use ice_common::*;

#[test]
fn passive_tcp_candidate_connects() {
    let mut sim = Sim::new(60, start());
    let net = sim.internet();
    let server_addr: SocketAddr = "198.51.100.10:443".parse().unwrap();
    let mut server =
        IceAgent::with_seed(IceConfig::default(), IceRole::Controlled, 1, sim.now()).unwrap();
    server
        .add_local_candidate(server_addr, Protocol::Tcp)
        .unwrap();
    server.end_of_local_candidates();
    let server = sim.add_node(net, server_addr.ip(), IceNode::new(server), link());

    // The client stands in for a browser: its "candidate" is the local end
    // of the TCP connection it opened to the server's passive candidate,
    // and it checks the server over it. What it signals is an active
    // candidate (port 9), which the server keeps but never checks.
    let conn: SocketAddr = "192.0.2.2:50123".parse().unwrap();
    let mut client =
        IceAgent::with_seed(IceConfig::default(), IceRole::Controlling, 2, sim.now()).unwrap();
    client.add_local_candidate(conn, Protocol::Tcp).unwrap();
    client.end_of_local_candidates();
    let client = sim.add_node(net, conn.ip(), IceNode::new(client), link());
    // Instead of the trickled candidates: the browser-side view.
    sim.node_mut::<IceNode>(server).unwrap().take_signals();
    sim.node_mut::<IceNode>(client).unwrap().take_signals();
    exchange_credentials(&mut sim, server, client);
    let mut active = Candidate::host("192.0.2.2:9".parse().unwrap(), Protocol::Tcp);
    active.tcp_type = Some(TcpType::Active);
    {
        let s = sim.node_mut::<IceNode>(server).unwrap();
        s.agent.add_remote_candidate(active);
        s.agent.remote_end_of_candidates();
        assert_eq!(
            s.agent.pair_stats().count(),
            0,
            "active candidates are not checked"
        );
    }
    let mut passive = Candidate::host(server_addr, Protocol::Tcp);
    passive.kind = CandidateKind::PeerReflexive; // reachable over the open connection
    sim.node_mut::<IceNode>(client)
        .unwrap()
        .agent
        .add_remote_candidate(passive);

    let took = run_signaling(
        &mut sim,
        server,
        client,
        Duration::from_millis(10),
        Duration::from_secs(5),
        |s| both_connected(s, server, client),
    )
    .expect("connects over TCP");
    assert!(took < Duration::from_secs(1));
    let (local, remote, proto) = node(&sim, server).agent.selected_pair().unwrap();
    assert_eq!((local, remote, proto), (server_addr, conn, Protocol::Tcp));
    // Everything went over TCP (framed: the receivers parse RFC 4571).
    for e in sim.trace() {
        assert_eq!(e.proto, Protocol::Tcp);
    }
    // Application data flows both ways over the framed stream.
    for id in [server, client] {
        sim.node_mut::<IceNode>(id).unwrap().send_every = Some(Duration::from_millis(50));
    }
    sim.run_for(Duration::from_secs(2));
    for id in [server, client] {
        let n = node(&sim, id);
        assert!(n.data_received.len() >= 35, "{}", n.data_received.len());
        assert_eq!(n.data_rejected, 0);
    }
}
