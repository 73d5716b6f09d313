//! Two `PeerConnection`s — offer/answer, ICE, DTLS, SCTP, a data channel
//! echo — through a port-restricted NAT with 5% loss, in virtual time; a
//! seeded run is reproducible.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, Loss, NatConfig, NodeId, Sim};
use eddy::{
    Configuration, DataChannelInit, DataChannelState, Event, IceGatheringState, PeerConnection,
    PeerConnectionState, Protocol, SessionDescription,
};

const A: &str = "192.168.1.10:5000";
const B: &str = "198.51.100.20:5000";

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

fn peer(sim: &mut Sim, addr: &str) -> PeerConnection {
    let seed = sim.derive_seed();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(seed), sim.now()).unwrap();
    pc.add_local_candidate(addr.parse::<SocketAddr>().unwrap(), Protocol::Udp)
        .unwrap();
    pc.end_of_local_candidates();
    pc
}

struct Run {
    sim: Sim,
    a: NodeId,
    b: NodeId,
}

/// Signals offer and answer (non-trickle: the descriptions carry the
/// candidates) and returns the simulation.
fn connect(seed: u64) -> Run {
    connect_at(seed, start())
}

/// As [`connect`], with the virtual clock starting at `start`.
fn connect_at(seed: u64, start: Instant) -> Run {
    let mut sim = Sim::new(seed, start);
    let internet = sim.internet();
    let lan = sim.add_nat(
        internet,
        "203.0.113.1".parse().unwrap(),
        NatConfig::port_restricted_cone(),
        Link::default(),
    );
    let lossy = Link::symmetric(LinkConfig {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        loss: Loss::Random(0.05),
        ..LinkConfig::default()
    });
    let mut pa = peer(&mut sim, A);
    let mut pb = peer(&mut sim, B);
    pa.create_data_channel("chat", &DataChannelInit::default())
        .unwrap();
    let offer = pa.create_offer().unwrap();
    pa.set_local_description(offer).unwrap();
    assert_eq!(pa.ice_gathering_state(), IceGatheringState::Complete);
    let offer: SessionDescription = pa.local_description().unwrap().clone();
    assert!(offer.sdp.contains("a=candidate:"), "{}", offer.sdp);
    pb.set_remote_description(offer).unwrap();
    let answer = pb.create_answer().unwrap();
    pb.set_local_description(answer).unwrap();
    let answer = pb.local_description().unwrap().clone();
    pa.set_remote_description(answer).unwrap();
    let a = sim.add_node(lan, A.parse::<SocketAddr>().unwrap().ip(), pa, lossy);
    let b = sim.add_node(internet, B.parse::<SocketAddr>().unwrap().ip(), pb, lossy);
    Run { sim, a, b }
}

fn events(sim: &Sim, n: NodeId) -> Vec<Event> {
    sim.events(n).map(|(_, e)| e.clone()).collect()
}

fn echo_once(run: &mut Run) -> Vec<u8> {
    let Run { sim, a, b } = run;
    let (a, b) = (*a, *b);
    let up = |s: &Sim| {
        s.events(b).any(|(_, e)| matches!(e, Event::ChannelOpen(_)))
            && s.events(a).any(|(_, e)| matches!(e, Event::ChannelOpen(_)))
    };
    sim.run_until(up, Duration::from_secs(60));
    let ha = events(sim, a)
        .iter()
        .find_map(|e| match e {
            Event::ChannelOpen(h) => Some(*h),
            _ => None,
        })
        .expect("the offerer's channel opened");
    let hb = events(sim, b)
        .iter()
        .find_map(|e| match e {
            Event::DataChannel(h) => Some(*h),
            _ => None,
        })
        .expect("the answerer saw the channel");
    {
        let pb = sim.node_mut::<PeerConnection>(b).unwrap();
        let ch = pb.data_channel(hb).unwrap();
        assert_eq!(ch.label(), "chat");
        assert_eq!(ch.ready_state(), DataChannelState::Open);
        assert!(ch.ordered());
        assert_eq!(
            (ch.max_retransmits(), ch.max_packet_life_time()),
            (None, None)
        );
        assert_eq!(
            ch.id().map(|id| id % 2),
            Some(1),
            "the offerer is the DTLS server: odd ids"
        );
    }
    sim.node_mut::<PeerConnection>(a)
        .unwrap()
        .data_channel(ha)
        .unwrap()
        .send_text("ping through the NAT")
        .unwrap();
    // B echoes what it receives.
    let got = |s: &Sim| {
        s.events(b)
            .any(|(_, e)| matches!(e, Event::ChannelMessage(..)))
    };
    sim.run_until(got, sim.elapsed() + Duration::from_secs(30));
    let msg = events(sim, b)
        .into_iter()
        .find_map(|e| match e {
            Event::ChannelMessage(_, m) => Some(m),
            _ => None,
        })
        .expect("B received the message");
    assert!(msg.is_text);
    sim.node_mut::<PeerConnection>(b)
        .unwrap()
        .data_channel(hb)
        .unwrap()
        .send(&msg.data)
        .unwrap();
    let back = |s: &Sim| {
        s.events(a)
            .any(|(_, e)| matches!(e, Event::ChannelMessage(..)))
    };
    sim.run_until(back, sim.elapsed() + Duration::from_secs(30));
    events(sim, a)
        .into_iter()
        .find_map(|e| match e {
            Event::ChannelMessage(_, m) => Some(m.data),
            _ => None,
        })
        .expect("A got the echo")
}

#[test]
fn two_peers_echo_over_a_data_channel_through_a_port_restricted_nat_with_loss() {
    let mut run = connect(5);
    let echo = echo_once(&mut run);
    assert_eq!(echo, b"ping through the NAT");
    for n in [run.a, run.b] {
        let pc = run.sim.node::<PeerConnection>(n).unwrap();
        assert_eq!(pc.connection_state(), PeerConnectionState::Connected);
    }
    let states: Vec<PeerConnectionState> = events(&run.sim, run.a)
        .into_iter()
        .filter_map(|e| match e {
            Event::ConnectionStateChange(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            PeerConnectionState::Connecting,
            PeerConnectionState::Connected
        ]
    );
}

#[test]
fn a_seeded_run_is_reproducible() {
    // Same seed, virtual clocks an hour apart: byte for byte the same run
    // (nothing may depend on the absolute time, the wall clock included).
    let digest = |seed, at| {
        let mut run = connect_at(seed, at);
        echo_once(&mut run);
        run.sim.trace_digest()
    };
    let t0 = start();
    let later = t0 + Duration::from_secs(3600);
    assert_eq!(digest(21, t0), digest(21, later));
    assert_ne!(digest(21, t0), digest(22, t0));
}

#[test]
fn close_tears_down_both_sides() {
    let mut run = connect(8);
    echo_once(&mut run);
    run.sim.node_mut::<PeerConnection>(run.a).unwrap().close();
    run.sim.run_for(Duration::from_secs(2));
    let a = run.sim.node::<PeerConnection>(run.a).unwrap();
    assert_eq!(a.connection_state(), PeerConnectionState::Closed);
    let b_events = events(&run.sim, run.b);
    assert!(
        b_events.iter().any(|e| matches!(e, Event::ChannelClose(_))),
        "B's channel closed"
    );
    let b = run.sim.node::<PeerConnection>(run.b).unwrap();
    assert_eq!(b.dtls_state(), eddy::DtlsTransportState::Closed);
    // W3C: a closed transport counts as connected for the aggregate state.
    assert_eq!(b.connection_state(), PeerConnectionState::Connected);
}
