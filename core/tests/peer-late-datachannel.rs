//! Two peers connect with audio only (ICE and DTLS up, no SCTP); a data
//! channel created afterwards renegotiates an application m-line and SCTP
//! starts over the DTLS transport that is already connected.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, Sim};
use eddy::{
    Configuration, DataChannelInit, DtlsTransportState, Event, MediaKind, PeerConnection, Protocol,
    TransceiverInit,
};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

fn negotiate(sim: &mut Sim, a: eddy::sim::NodeId, b: eddy::sim::NodeId) {
    let pa = sim.node_mut::<PeerConnection>(a).unwrap();
    let offer = pa.create_offer().unwrap();
    pa.set_local_description(offer).unwrap();
    let offer = pa.local_description().unwrap().clone();
    let pb = sim.node_mut::<PeerConnection>(b).unwrap();
    pb.set_remote_description(offer).unwrap();
    let answer = pb.create_answer().unwrap();
    pb.set_local_description(answer).unwrap();
    let answer = pb.local_description().unwrap().clone();
    sim.node_mut::<PeerConnection>(a)
        .unwrap()
        .set_remote_description(answer)
        .unwrap();
}

#[test]
fn a_data_channel_added_after_connecting_opens() {
    let mut sim = Sim::new(4, start());
    let net = sim.internet();
    let link = Link::symmetric(LinkConfig::with_delay(Duration::from_millis(10)));
    let mut peers = Vec::new();
    for (i, addr) in ["10.0.0.1:5000", "10.0.0.2:5000"].into_iter().enumerate() {
        let addr: SocketAddr = addr.parse().unwrap();
        let mut pc =
            PeerConnection::new(Configuration::default().with_seed(i as u64), sim.now()).unwrap();
        pc.add_local_candidate(addr, Protocol::Udp).unwrap();
        pc.end_of_local_candidates();
        peers.push((addr, pc));
    }
    let (b_addr, pb) = peers.pop().unwrap();
    let (a_addr, mut pa) = peers.pop().unwrap();
    pa.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let a = sim.add_node(net, a_addr.ip(), pa, link);
    let b = sim.add_node(net, b_addr.ip(), pb, link);
    negotiate(&mut sim, a, b);
    let dtls_up = |s: &Sim| {
        s.node::<PeerConnection>(b).unwrap().dtls_state() == DtlsTransportState::Connected
    };
    sim.run_until(dtls_up, Duration::from_secs(10));
    assert!(dtls_up(&sim), "audio-only connection is up");
    assert_eq!(sim.node::<PeerConnection>(a).unwrap().sctp_state(), None);

    let ch = sim
        .node_mut::<PeerConnection>(a)
        .unwrap()
        .create_data_channel("late", &DataChannelInit::default())
        .unwrap();
    sim.run_for(Duration::from_millis(10));
    assert!(sim
        .events(a)
        .any(|(_, e)| matches!(e, Event::NegotiationNeeded)));
    negotiate(&mut sim, a, b);
    sim.node_mut::<PeerConnection>(a)
        .unwrap()
        .data_channel(ch)
        .unwrap()
        .send_text("late but here")
        .unwrap();
    let got = |s: &Sim| {
        s.events(b)
            .any(|(_, e)| matches!(e, Event::ChannelMessage(_, m) if m.data == b"late but here"))
    };
    sim.run_until(got, Duration::from_secs(20));
    assert!(got(&sim), "the late channel carried a message");
}
