//! A server endpoint answers 2,000 offers whose peers never show up (and
//! gets a forged check for each): ICE gives up, the endpoint removes every
//! peer, and what it holds returns to its baseline, all in virtual time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::endpoint::{Endpoint, EndpointOutput, EndpointUsage, DEFAULT_PEER_EXPIRY};
use eddy::{
    Certificate, Configuration, DataChannelInit, Input, KeyAlgorithm, PeerConnection, Protocol,
    Receive, DEFAULT_CERTIFICATE_LIFETIME,
};

const OFFERS: usize = 2_000;

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

/// A binding request naming `ufrag` as the server's, with a key that is
/// not its password.
fn forged_check(ufrag: &str, tid: u32) -> Vec<u8> {
    // STUN header: Binding request, length patched below, magic cookie.
    let mut m = vec![0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&tid.to_be_bytes());
    let username = format!("{ufrag}:attacker");
    let mut attr = vec![0x00, 0x06];
    attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attr.extend_from_slice(username.as_bytes());
    while attr.len() % 4 != 0 {
        attr.push(0);
    }
    m.extend_from_slice(&attr);
    // MESSAGE-INTEGRITY of 20 bytes that cannot be right.
    m.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
    m.extend_from_slice(&[0xab; 20]);
    let len = (m.len() - 20) as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m
}

fn ice_ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .expect("the answer has a ufrag")
        .trim()
        .to_owned()
}

#[test]
fn two_thousand_offers_that_never_connect_leave_nothing_behind() {
    let t0 = start();
    let server_addr: SocketAddr = "10.0.0.1:3478".parse().unwrap();
    // One offer, as thousands of clients that vanish would send it.
    let mut client = PeerConnection::new(Configuration::default().with_seed(1), t0).unwrap();
    client
        .add_local_candidate("10.0.0.2:6000".parse().unwrap(), Protocol::Udp)
        .unwrap();
    client.end_of_local_candidates();
    client
        .create_data_channel("x", &DataChannelInit::default())
        .unwrap();
    let offer = client.create_offer().unwrap();
    client.set_local_description(offer).unwrap();
    let offer = client.local_description().unwrap().clone();

    // The server's identity is made once, as a real server's is.
    let cert = Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        std::time::SystemTime::UNIX_EPOCH,
        DEFAULT_CERTIFICATE_LIFETIME,
    )
    .unwrap();
    let mut config = Configuration::default();
    config.certificates = vec![cert];

    let mut endpoint = Endpoint::new();
    let baseline = endpoint.usage();
    assert_eq!(baseline, EndpointUsage::default());
    let mut ufrags = Vec::new();
    for _ in 0..OFFERS {
        let mut pc = PeerConnection::new(config.clone(), t0).unwrap();
        pc.add_local_candidate(server_addr, Protocol::Udp).unwrap();
        pc.end_of_local_candidates();
        pc.set_remote_description(offer.clone()).unwrap();
        let answer = pc.create_answer().unwrap();
        pc.set_local_description(answer).unwrap();
        ufrags.push(ice_ufrag(&pc.local_description().unwrap().sdp));
        endpoint.add_peer(pc).unwrap();
    }
    assert_eq!(endpoint.usage().peers, OFFERS);

    let mut now = t0;
    let mut removed = 0;
    let mut peak = endpoint.usage();
    let mut forged_sent = false;
    for _ in 0..10_000_000 {
        match endpoint.poll_output() {
            EndpointOutput::Transmit(_) | EndpointOutput::Event(..) => {}
            EndpointOutput::PeerRemoved(_) => removed += 1,
            EndpointOutput::Timeout(at) => {
                let u = endpoint.usage();
                peak.tuple_routes = peak.tuple_routes.max(u.tuple_routes);
                peak.timers = peak.timers.max(u.timers);
                if !forged_sent && now >= t0 + Duration::from_secs(1) {
                    // A forged check per peer, each from its own address.
                    forged_sent = true;
                    for (i, ufrag) in ufrags.iter().enumerate() {
                        let source =
                            SocketAddr::from(([192, 0, 2, (i % 250) as u8], 1000 + i as u16));
                        let check = forged_check(ufrag, i as u32);
                        endpoint.handle_input(Input::Receive(
                            now,
                            Receive {
                                proto: Protocol::Udp,
                                source,
                                destination: server_addr,
                                contents: &check,
                            },
                        ));
                    }
                    continue;
                }
                let Some(at) = at else { break };
                now = now.max(at);
                endpoint.handle_input(Input::Timeout(now));
            }
        }
    }
    let counters = endpoint.counters();
    assert!(forged_sent);
    assert_eq!(counters.unauthenticated_requests, OFFERS as u64);
    // Every peer checks the one client address, so their own sending makes
    // one route; the 2,000 forged checks, from 2,000 addresses, make none.
    assert_eq!(peak.tuple_routes, 1);
    assert_eq!(removed, OFFERS);
    assert_eq!(counters.expired_peers, OFFERS as u64);
    // Back to the baseline: no peer, route, timer or expiry left, and
    // nothing armed, well before twice the give-up time.
    assert_eq!(endpoint.usage(), baseline);
    assert!(
        now - t0 <= DEFAULT_PEER_EXPIRY + Duration::from_secs(1),
        "{:?}",
        now - t0
    );
}
