//! Active ICE-TCP (RFC 6544) between two eddys: A has only an active TCP
//! candidate (signaled with port 9), B only a passive one. A connects to
//! B's passive candidate, the checks and then DTLS and SCTP run over the
//! connection in RFC 4571 frames, and the data channel works.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, Sim};
use eddy::{Configuration, DataChannelInit, Event, PeerConnection, Protocol};

#[test]
fn an_active_candidate_connects_to_a_passive_one() {
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(12, Instant::now());
    let internet = sim.internet();
    let a_base: SocketAddr = "198.51.100.1:5000".parse().unwrap();
    let b_listen: SocketAddr = "198.51.100.2:443".parse().unwrap();
    let mut a = PeerConnection::new(Configuration::default().with_seed(1), sim.now()).unwrap();
    let mut b = PeerConnection::new(Configuration::default().with_seed(2), sim.now()).unwrap();
    a.add_local_active_tcp_candidate(a_base).unwrap();
    a.end_of_local_candidates();
    b.add_local_candidate(b_listen, Protocol::Tcp).unwrap();
    b.end_of_local_candidates();
    a.create_data_channel("chat", &DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    let offer = a.local_description().cloned().unwrap();
    assert!(
        offer
            .sdp
            .contains(" 198.51.100.1 9 typ host tcptype active"),
        "{}",
        offer.sdp
    );
    b.set_remote_description(offer).unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    let link = Link::symmetric(LinkConfig {
        delay: Duration::from_millis(10),
        ..LinkConfig::default()
    });
    let na = sim.add_node(internet, a_base.ip(), a, link);
    let nb = sim.add_node(internet, b_listen.ip(), b, link);
    let open = |s: &Sim| {
        s.events(na)
            .any(|(_, e)| matches!(e, Event::ChannelOpen(_)))
    };
    sim.run_until(open, Duration::from_secs(10));
    assert!(open(&sim), "the channel opened over TCP");
    let a_pc = sim.node::<PeerConnection>(na).unwrap();
    let (local, remote, proto) = a_pc.selected_candidate_pair().unwrap();
    assert_eq!((local, remote, proto), (a_base, b_listen, Protocol::Tcp));
    let b_pc = sim.node::<PeerConnection>(nb).unwrap();
    let (local, _, proto) = b_pc.selected_candidate_pair().unwrap();
    assert_eq!((local, proto), (b_listen, Protocol::Tcp));
}
