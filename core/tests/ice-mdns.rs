//! mDNS host candidates (draft-ietf-mmusic-mdns-ice-candidates) between two
//! eddys: A signals `<uuid>.local` names instead of its addresses; B's
//! resolver asks, A's responder answers (the datagrams carried by hand, as
//! a runtime carries them over the mDNS group), B learns the address and
//! ICE pairs the host candidates, with nothing of A's address in its SDP.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::mdns::{MdnsResolution, MdnsResolver, MdnsResponder};
use eddy::sim::{Link, LinkConfig, Sim};
use eddy::stats_report::RtcStats;
use eddy::{Configuration, DtlsTransportState, Event, PeerConnection, Protocol};

#[test]
fn names_resolved_over_mdns_connect_host_to_host_and_hide_the_address() {
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(5, Instant::now());
    let internet = sim.internet();
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "192.168.1.10:5000".parse().unwrap(),
        "192.168.1.20:5000".parse().unwrap(),
    );
    let mut config = Configuration::default().with_seed(1);
    config.mdns_host_candidates = true;
    let mut a = PeerConnection::new(config, sim.now()).unwrap();
    let mut b = PeerConnection::new(Configuration::default().with_seed(2), sim.now()).unwrap();
    for (pc, addr) in [(&mut a, a_addr), (&mut b, b_addr)] {
        pc.add_local_candidate(addr, Protocol::Udp).unwrap();
        pc.end_of_local_candidates();
    }
    a.create_data_channel("chat", &Default::default()).unwrap();
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    let offer = a.local_description().cloned().unwrap();
    assert!(!offer.sdp.contains("192.168.1.10"), "{}", offer.sdp);
    let names: Vec<(String, std::net::IpAddr)> = a
        .mdns_host_names()
        .map(|(n, ip)| (n.to_owned(), ip))
        .collect();
    assert_eq!(names.len(), 1);
    let (name, ip) = names[0].clone();
    assert_eq!(ip, a_addr.ip());
    assert!(
        offer.sdp.contains(&format!("{name} 5000 typ host")),
        "{}",
        offer.sdp
    );

    b.set_remote_description(offer).unwrap();
    assert_eq!(b.pending_mdns_names(), vec![name.clone()]);
    // B's runtime resolves; A's answers.
    let mut resolver = MdnsResolver::new();
    let mut responder = MdnsResponder::new();
    for (n, ip) in a.mdns_host_names() {
        assert!(responder.publish(n, ip));
    }
    for n in b.pending_mdns_names() {
        assert!(resolver.resolve(sim.now(), &n));
    }
    let querier: SocketAddr = "192.168.1.20:41000".parse().unwrap();
    while let Some(q) = resolver.poll_transmit() {
        if let Some((reply, to)) = responder.handle_query(&q, querier) {
            assert_eq!(to, querier);
            resolver.handle_receive(&reply);
        }
    }
    match resolver.poll_result() {
        Some(MdnsResolution::Resolved { name: n, ip }) => b.resolve_remote_candidate(&n, ip),
        other => panic!("not resolved: {other:?}"),
    }
    assert!(b.pending_mdns_names().is_empty());

    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    let link = Link::symmetric(LinkConfig {
        delay: Duration::from_millis(5),
        ..LinkConfig::default()
    });
    let (na, nb) = (
        sim.add_node(internet, a_addr.ip(), a, link),
        sim.add_node(internet, b_addr.ip(), b, link),
    );
    let connected = |s: &Sim| {
        [na, nb].iter().all(|&n| {
            s.events(n)
                .any(|(_, e)| *e == Event::DtlsStateChange(DtlsTransportState::Connected))
        })
    };
    sim.run_until(connected, Duration::from_secs(10));
    assert!(connected(&sim));
    // B checked A's host candidate: its selected remote is A's address,
    // learned from the name.
    let b_pc = sim.node::<PeerConnection>(nb).unwrap();
    assert_eq!(b_pc.selected_candidate_pair().map(|p| p.1), Some(a_addr));
    // ... as a host candidate (unresolved, it would be peer-reflexive).
    let report = b_pc.get_stats();
    let kinds: Vec<(String, String)> = report
        .of_type("remote-candidate")
        .filter_map(|s| match s {
            RtcStats::RemoteCandidate(c) => Some((c.address.clone(), c.candidate_type.clone())),
            _ => None,
        })
        .collect();
    assert!(
        kinds.contains(&("192.168.1.10".to_owned(), "host".to_owned())),
        "{kinds:?}"
    );
}
