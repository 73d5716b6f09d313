//! Shared setup of the ICE simulator scenarios.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use eddy::ice::{CandidateKind, IceAgent, IceConfig, IceConnectionState, IceRole};
use eddy::sim::ice_node::{exchange_credentials, run_signaling, IceNode};
use eddy::sim::stun_server::StunServer;
use eddy::sim::{Link, LinkConfig, NatConfig, NetworkId, NodeId, Sim};
use eddy::Protocol;

/// The start of virtual time (tests may read the clock; the core never does).
#[allow(clippy::disallowed_methods)]
pub fn start() -> Instant {
    Instant::now()
}

/// A 20 ms link each way.
pub fn link() -> Link {
    Link::symmetric(LinkConfig::with_delay(Duration::from_millis(20)))
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// An agent with one UDP host candidate on `ip:port`, in `net`.
pub fn add_agent(
    sim: &mut Sim,
    net: NetworkId,
    ip_s: &str,
    port: u16,
    role: IceRole,
    config: IceConfig,
    stun: Option<SocketAddr>,
) -> NodeId {
    let seed = sim.derive_seed();
    let mut agent = IceAgent::with_seed(config, role, seed, sim.now()).unwrap();
    if let Some(s) = stun {
        agent.add_stun_server(s).unwrap();
    }
    agent
        .add_local_candidate(SocketAddr::new(ip(ip_s), port), Protocol::Udp)
        .unwrap();
    agent.end_of_local_candidates();
    sim.add_node(net, ip(ip_s), IceNode::new(agent), link())
}

/// Two agents in `net`: a controlling one on 192.0.2.1:5000 and a
/// controlled one on 192.0.2.2:6000, no STUN server.
pub fn open_pair(sim: &mut Sim, net: NetworkId, a: IceConfig, b: IceConfig) -> (NodeId, NodeId) {
    (
        add_agent(sim, net, "192.0.2.1", 5000, IceRole::Controlling, a, None),
        add_agent(sim, net, "192.0.2.2", 6000, IceRole::Controlled, b, None),
    )
}

/// The NAT scenarios' world: a STUN server on 198.51.100.1:3478 and two
/// agents behind NATs whose public addresses are 203.0.113.1 and .2 — a
/// controlling one on 10.0.1.2:5000 behind `nat_a`, a controlled one on
/// 10.0.2.2:5000 behind `nat_b` — with credentials exchanged. Returns the
/// agents and the STUN server.
pub fn behind_nats(sim: &mut Sim, nat_a: NatConfig, nat_b: NatConfig) -> (NodeId, NodeId, NodeId) {
    let internet = sim.internet();
    let server = sim.add_node(internet, ip("198.51.100.1"), StunServer::new(), link());
    let stun = Some(SocketAddr::new(ip("198.51.100.1"), 3478));
    let lan_a = sim.add_nat(internet, ip("203.0.113.1"), nat_a, link());
    let lan_b = sim.add_nat(internet, ip("203.0.113.2"), nat_b, link());
    let config = IceConfig::default();
    let a = add_agent(
        sim,
        lan_a,
        "10.0.1.2",
        5000,
        IceRole::Controlling,
        config.clone(),
        stun,
    );
    let b = add_agent(
        sim,
        lan_b,
        "10.0.2.2",
        5000,
        IceRole::Controlled,
        config,
        stun,
    );
    exchange_credentials(sim, a, b);
    (a, b, server)
}

/// Signals candidates every 10 ms until both agents connect (10 s at most).
pub fn connect(sim: &mut Sim, a: NodeId, b: NodeId) {
    run_signaling(
        sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(10),
        |s| both_connected(s, a, b),
    )
    .expect("connects");
}

/// The agent's one server-reflexive candidate is on `public`, its NAT.
pub fn assert_srflx_on(sim: &Sim, id: NodeId, public: &str) {
    let srflx: Vec<_> = node(sim, id)
        .agent
        .local_candidates()
        .iter()
        .filter(|c| c.kind == CandidateKind::ServerReflexive)
        .cloned()
        .collect();
    assert_eq!(srflx.len(), 1, "{srflx:?}");
    assert_eq!(srflx[0].addr.ip(), ip(public));
}

pub fn node(sim: &Sim, id: NodeId) -> &IceNode {
    sim.node::<IceNode>(id).unwrap()
}

pub fn state(sim: &Sim, id: NodeId) -> IceConnectionState {
    node(sim, id).agent.connection_state()
}

pub fn both_connected(sim: &Sim, a: NodeId, b: NodeId) -> bool {
    node(sim, a).is_connected() && node(sim, b).is_connected()
}

/// Both agents selected the same pair, seen from either end.
pub fn agree(sim: &Sim, a: NodeId, b: NodeId) -> bool {
    let (Some(pa), Some(pb)) = (
        node(sim, a).agent.selected_pair(),
        node(sim, b).agent.selected_pair(),
    ) else {
        return false;
    };
    // Behind NATs the addresses differ by translation: the transports agree.
    pa.2 == pb.2
}
