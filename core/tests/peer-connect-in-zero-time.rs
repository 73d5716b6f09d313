//! At zero link delay, a data channel opens in zero virtual time: the
//! controlling agent's nominating check does not wait for a pacing slot,
//! and DTLS, SCTP and DCEP follow in the same instant.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, Sim};
use eddy::{Configuration, DataChannelInit, Event, PeerConnection, Protocol};

fn peer(sim: &mut Sim, addr: SocketAddr) -> PeerConnection {
    let seed = sim.derive_seed();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(seed), sim.now()).unwrap();
    pc.add_local_candidate(addr, Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc
}

/// Virtual time from the answer being applied to the channel open on both
/// sides, over links of `delay` each way.
fn time_to_open(delay: Duration) -> Duration {
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(3, Instant::now());
    let internet = sim.internet();
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut a = peer(&mut sim, a_addr);
    let mut b = peer(&mut sim, b_addr);
    let channel = a
        .create_data_channel("now", &DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    b.set_remote_description(a.local_description().cloned().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    let link = Link::symmetric(LinkConfig {
        delay,
        ..LinkConfig::default()
    });
    let a = sim.add_node(internet, a_addr.ip(), a, link);
    let b = sim.add_node(internet, b_addr.ip(), b, link);
    let open = |s: &Sim| {
        s.events(a).any(|(_, e)| *e == Event::ChannelOpen(channel))
            && s.events(b).any(|(_, e)| matches!(e, Event::ChannelOpen(_)))
    };
    sim.run_until(open, Duration::from_secs(30));
    assert!(open(&sim), "the channel did not open");
    sim.elapsed()
}

#[test]
fn a_channel_opens_in_zero_virtual_time_at_zero_delay() {
    assert_eq!(time_to_open(Duration::ZERO), Duration::ZERO);
}

#[test]
fn with_100_ms_round_trips_a_channel_opens_in_five() {
    // Each node's link adds its delay, so 25 ms links make 50 ms one way.
    // Round trips: ICE's check and then the nomination (1.5, the DTLS
    // client starting on the nomination), DTLS 1.2 without a cookie
    // exchange (1.5 more for its server), SCTP's INIT and COOKIE (2); the
    // channel opens on the association (DCEP needs no round trip first).
    let rtt = Duration::from_millis(100);
    let took = time_to_open(Duration::from_millis(25));
    assert!(took <= rtt * 5 + rtt / 2, "{took:?}");
}
