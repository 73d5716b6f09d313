//! Trickle ICE between two `PeerConnection`s (candidates as events, fed
//! with `add_ice_candidate`), then an ICE restart that keeps the data
//! channel working.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, NodeId, Sim};
use eddy::{
    Configuration, DataChannelInit, Event, IceCandidate, PeerConnection, PeerConnectionState,
    Protocol,
};

const A: &str = "10.0.0.1:5000";
const B: &str = "10.0.0.2:6000";

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

/// Moves trickled candidates from each side's events to the other.
fn trickle(sim: &mut Sim, from: NodeId, to: NodeId, seen: &mut usize) {
    let candidates: Vec<IceCandidate> = sim
        .events(from)
        .skip(*seen)
        .filter_map(|(_, e)| match e {
            Event::IceCandidate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    *seen = sim.events(from).count();
    let pc = sim.node_mut::<PeerConnection>(to).unwrap();
    for c in candidates {
        pc.add_ice_candidate(c).unwrap();
    }
}

fn ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn trickled_candidates_connect_and_an_ice_restart_keeps_the_channel() {
    let mut sim = Sim::new(3, start());
    let net = sim.internet();
    let link = Link::symmetric(LinkConfig::with_delay(Duration::from_millis(15)));
    let mut a = PeerConnection::new(Configuration::default().with_seed(1), sim.now()).unwrap();
    let mut b = PeerConnection::new(Configuration::default().with_seed(2), sim.now()).unwrap();
    let channel = a
        .create_data_channel("t", &DataChannelInit::default())
        .unwrap();
    // Descriptions first, without candidates: everything else trickles.
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer.clone()).unwrap();
    assert!(!offer.sdp.contains("a=candidate"));
    b.set_remote_description(offer).unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer.clone()).unwrap();
    a.set_remote_description(answer).unwrap();
    a.add_local_candidate(A.parse::<SocketAddr>().unwrap(), Protocol::Udp)
        .unwrap();
    a.end_of_local_candidates();
    b.add_local_candidate(B.parse::<SocketAddr>().unwrap(), Protocol::Udp)
        .unwrap();
    b.end_of_local_candidates();
    let a = sim.add_node(net, A.parse::<SocketAddr>().unwrap().ip(), a, link);
    let b = sim.add_node(net, B.parse::<SocketAddr>().unwrap().ip(), b, link);
    sim.run_for(Duration::from_millis(1));
    let (mut seen_a, mut seen_b) = (0, 0);
    trickle(&mut sim, a, b, &mut seen_a);
    trickle(&mut sim, b, a, &mut seen_b);
    let connected = |s: &Sim| {
        [a, b].iter().all(|&n| {
            s.node::<PeerConnection>(n).unwrap().connection_state()
                == PeerConnectionState::Connected
        })
    };
    sim.run_until(connected, Duration::from_secs(10));
    assert!(connected(&sim), "trickle ICE connected both peers");
    // One end-of-candidates (a null candidate) was trickled each way.
    assert_eq!(
        sim.events(a)
            .filter(|(_, e)| matches!(e, Event::IceCandidate(c) if c.candidate.is_none()))
            .count(),
        1
    );

    // ICE restart: new credentials in a new offer; the selected pair keeps
    // carrying data meanwhile.
    let old_ufrag = ufrag(
        &sim.node::<PeerConnection>(a)
            .unwrap()
            .local_description()
            .unwrap()
            .sdp,
    );
    let pa = sim.node_mut::<PeerConnection>(a).unwrap();
    pa.restart_ice();
    let offer = pa.create_offer().unwrap();
    pa.set_local_description(offer.clone()).unwrap();
    assert_ne!(ufrag(&offer.sdp), old_ufrag);
    pa.data_channel(channel)
        .unwrap()
        .send_text("during the restart")
        .unwrap();
    let old_b_ufrag = ufrag(
        &sim.node::<PeerConnection>(b)
            .unwrap()
            .local_description()
            .unwrap()
            .sdp,
    );
    let pb = sim.node_mut::<PeerConnection>(b).unwrap();
    pb.set_remote_description(offer).unwrap();
    let answer = pb.create_answer().unwrap();
    // RFC 8445 §9: the answerer restarts too.
    assert_ne!(ufrag(&answer.sdp), old_b_ufrag);
    pb.set_local_description(answer.clone()).unwrap();
    sim.node_mut::<PeerConnection>(a)
        .unwrap()
        .set_remote_description(answer)
        .unwrap();
    for _ in 0..20 {
        sim.run_for(Duration::from_millis(100));
        trickle(&mut sim, a, b, &mut seen_a);
        trickle(&mut sim, b, a, &mut seen_b);
    }
    sim.node_mut::<PeerConnection>(a)
        .unwrap()
        .data_channel(channel)
        .unwrap()
        .send_text("after the restart")
        .unwrap();
    sim.run_for(Duration::from_secs(2));
    let got: Vec<Vec<u8>> = sim
        .events(b)
        .filter_map(|(_, e)| match e {
            Event::ChannelMessage(_, m) => Some(m.data.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![
            b"during the restart".to_vec(),
            b"after the restart".to_vec()
        ]
    );
    assert!(connected(&sim), "still connected after the restart");
}
