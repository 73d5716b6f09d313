//! Shared setup of the TURN scenarios (`turn-*.rs`): a TURN server node on
//! the internet, two `PeerConnection`s (behind NATs or not) that gather
//! relay candidates from it, signaling once gathering completed, a data
//! channel and an echo.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use eddy::sim::turn_server::{TurnServer, TurnServerConfig};
use eddy::sim::{Link, LinkConfig, NatConfig, NetworkId, NodeId, Sim};
use eddy::{
    CandidateKind, ChannelId, Configuration, DataChannelInit, Event, IceGatheringState, IceServer,
    IceTransportPolicy, Input, PeerConnection, Protocol,
};

pub const TURN_IP: &str = "198.51.100.1";
pub const TURN_URL: &str = "turn:198.51.100.1:3478?transport=udp";

#[allow(clippy::disallowed_methods)]
pub fn start() -> Instant {
    Instant::now()
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn link() -> Link {
    Link::symmetric(LinkConfig::with_delay(Duration::from_millis(15)))
}

/// A peer's configuration: the TURN server with these credentials, and
/// the candidate policy.
pub fn config(seed: u64, url: &str, password: &str, relay_only: bool) -> Configuration {
    let mut c = Configuration::default()
        .with_seed(seed)
        .with_ice_server(IceServer {
            urls: vec![url.into()],
            username: Some("eddy".into()),
            credential: Some(password.into()),
        });
    if relay_only {
        c.ice_transport_policy = IceTransportPolicy::Relay;
    }
    c
}

/// A peer with one UDP socket at `addr`.
pub fn peer(config: Configuration, addr: SocketAddr, sim: &Sim) -> PeerConnection {
    let mut pc = PeerConnection::new(config, sim.now()).unwrap();
    pc.add_local_candidate(addr, Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc
}

pub struct Run {
    pub sim: Sim,
    pub a: NodeId,
    pub b: NodeId,
    pub server: NodeId,
}

/// Where the peers sit.
pub enum Topology {
    /// Each behind its own symmetric NAT.
    SymmetricNats,
    /// Both on the internet.
    Open,
}

/// The TURN server, and two peers configured by `ca` and `cb`.
pub fn setup(
    seed: u64,
    server: TurnServer,
    topology: Topology,
    ca: impl FnOnce(u64) -> Configuration,
    cb: impl FnOnce(u64) -> Configuration,
) -> Run {
    let mut sim = Sim::new(seed, start());
    let internet = sim.internet();
    let server = sim.add_node(internet, ip(TURN_IP), server, link());
    let (net_a, net_b, addr_a, addr_b): (NetworkId, NetworkId, SocketAddr, SocketAddr) =
        match topology {
            Topology::SymmetricNats => {
                let na = sim.add_nat(internet, ip("203.0.113.1"), NatConfig::symmetric(), link());
                let nb = sim.add_nat(internet, ip("203.0.113.2"), NatConfig::symmetric(), link());
                (
                    na,
                    nb,
                    "192.168.1.10:5000".parse().unwrap(),
                    "10.0.0.20:6000".parse().unwrap(),
                )
            }
            Topology::Open => (
                internet,
                internet,
                "192.0.2.10:5000".parse().unwrap(),
                "192.0.2.20:6000".parse().unwrap(),
            ),
        };
    let seed_a = sim.derive_seed();
    let seed_b = sim.derive_seed();
    let pa = peer(ca(seed_a), addr_a, &sim);
    let pb = peer(cb(seed_b), addr_b, &sim);
    let a = sim.add_node(net_a, addr_a.ip(), pa, link());
    let b = sim.add_node(net_b, addr_b.ip(), pb, link());
    Run { sim, a, b, server }
}

pub fn pc(run: &Run, n: NodeId) -> &PeerConnection {
    run.sim.node::<PeerConnection>(n).unwrap()
}

/// The peer, its clock brought to the simulator's first (as a runtime
/// gives the time before an API call).
pub fn pc_mut(run: &mut Run, n: NodeId) -> &mut PeerConnection {
    let now = run.sim.now();
    let pc = run.sim.node_mut::<PeerConnection>(n).unwrap();
    pc.handle_input(Input::Timeout(now)).unwrap();
    pc
}

fn gathered(n: NodeId) -> impl Fn(&Sim) -> bool {
    move |s: &Sim| {
        s.node::<PeerConnection>(n).unwrap().ice_gathering_state() == IceGatheringState::Complete
    }
}

/// Offer from `a` (with a data channel) and answer from `b`, each sent once
/// its gathering completed (the descriptions carry the candidates).
pub fn signal(run: &mut Run) {
    negotiate(run, |pa| {
        pa.create_data_channel("relay", &DataChannelInit::default())
            .unwrap();
    });
}

/// An offer from `a` after `prepare` (a channel, an ICE restart...), the
/// answer from `b`, each sent once its gathering completed.
pub fn negotiate(run: &mut Run, prepare: impl FnOnce(&mut PeerConnection)) {
    let (a, b) = (run.a, run.b);
    let pa = pc_mut(run, a);
    prepare(pa);
    let offer = pa.create_offer().unwrap();
    pa.set_local_description(offer).unwrap();
    let until = run.sim.elapsed() + Duration::from_secs(60);
    run.sim.run_until(gathered(a), until);
    let offer = pc(run, a).local_description().unwrap().clone();
    let pb = pc_mut(run, b);
    pb.set_remote_description(offer).unwrap();
    let answer = pb.create_answer().unwrap();
    pb.set_local_description(answer).unwrap();
    let until = run.sim.elapsed() + Duration::from_secs(60);
    run.sim.run_until(gathered(b), until);
    let answer = pc(run, b).local_description().unwrap().clone();
    pc_mut(run, a).set_remote_description(answer).unwrap();
}

/// Runs until both ends of the channel are open; returns (a's, b's).
pub fn open_channel(run: &mut Run, within: Duration) -> Option<(ChannelId, ChannelId)> {
    let (a, b) = (run.a, run.b);
    let find = |s: &Sim| {
        let ha = s.events(a).find_map(|(_, e)| match e {
            Event::ChannelOpen(h) => Some(*h),
            _ => None,
        })?;
        let hb = s.events(b).find_map(|(_, e)| match e {
            Event::DataChannel(h) => Some(*h),
            _ => None,
        })?;
        s.events(b)
            .any(|(_, e)| matches!(e, Event::ChannelOpen(h) if *h == hb))
            .then_some((ha, hb))
    };
    let until = run.sim.elapsed() + within;
    run.sim.run_until(|s| find(s).is_some(), until);
    find(&run.sim)
}

/// Sends `text` from a to b and waits for it; true when it arrived.
pub fn deliver(run: &mut Run, ha: ChannelId, text: &str) -> bool {
    let (a, b) = (run.a, run.b);
    let before = run.sim.events(b).count();
    pc_mut(run, a)
        .data_channel(ha)
        .unwrap()
        .send_text(text)
        .unwrap();
    let want = text.as_bytes().to_vec();
    let got = move |s: &Sim| {
        s.events(b)
            .skip(before)
            .any(|(_, e)| matches!(e, Event::ChannelMessage(_, m) if m.data == want))
    };
    let until = run.sim.elapsed() + Duration::from_secs(10);
    run.sim.run_until(got, until);
    let want = text.as_bytes();
    run.sim
        .events(b)
        .skip(before)
        .any(|(_, e)| matches!(e, Event::ChannelMessage(_, m) if m.data == want))
}

/// The kind of the local candidate of `n`'s selected pair.
pub fn selected_local_kind(run: &Run, n: NodeId) -> Option<CandidateKind> {
    let (local, _, _) = pc(run, n).selected_candidate_pair()?;
    let sdp = &pc(run, n).local_description()?.sdp;
    // The local candidates as signaled: find the one at `local`.
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .find(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.len() > 7 && f[4] == local.ip().to_string() && f[5] == local.port().to_string()
        })
        .and_then(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            match f.get(7).copied() {
                Some("host") => Some(CandidateKind::Host),
                Some("srflx") => Some(CandidateKind::ServerReflexive),
                Some("prflx") => Some(CandidateKind::PeerReflexive),
                Some("relay") => Some(CandidateKind::Relayed),
                _ => None,
            }
        })
}

/// The `IceCandidateError` events of `n`: (url, code, address).
pub fn candidate_errors(run: &Run, n: NodeId) -> Vec<(String, u16, Option<SocketAddr>)> {
    run.sim
        .events(n)
        .filter_map(|(_, e)| match e {
            Event::IceCandidateError {
                url, code, address, ..
            } => Some((url.clone(), *code, *address)),
            _ => None,
        })
        .collect()
}

pub fn server(run: &Run) -> &TurnServer {
    run.sim.node::<TurnServer>(run.server).unwrap()
}

pub fn turn(user: &str, pass: &str) -> TurnServer {
    TurnServer::with_user(user, pass)
}

pub fn turn_with(config: TurnServerConfig) -> TurnServer {
    TurnServer::new(config)
}
