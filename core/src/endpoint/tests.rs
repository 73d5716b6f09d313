use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::config::Configuration;
use crate::sctp::DataChannelInit;
use crate::testutil::epoch;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Delivers every transmit of `ep` to whichever side owns its destination.
fn pump(server: &mut Endpoint, clients: &mut [(SocketAddr, PeerConnection)], now: Instant) {
    for _ in 0..200 {
        let mut moved = false;
        loop {
            match server.poll_output() {
                EndpointOutput::Transmit(t) => {
                    moved = true;
                    if let Some((_, c)) = clients.iter_mut().find(|(a, _)| *a == t.destination) {
                        let _ = c.handle_input(Input::Receive(
                            now,
                            Receive {
                                proto: t.proto,
                                source: t.source,
                                destination: t.destination,
                                contents: &t.contents,
                            },
                        ));
                    }
                }
                EndpointOutput::Event(..) | EndpointOutput::PeerRemoved(_) => moved = true,
                EndpointOutput::Timeout(_) => break,
            }
        }
        for (_, c) in clients.iter_mut() {
            loop {
                match c.poll_output() {
                    Output::Transmit(t) => {
                        moved = true;
                        server.handle_input(Input::Receive(
                            now,
                            Receive {
                                proto: t.proto,
                                source: t.source,
                                destination: t.destination,
                                contents: &t.contents,
                            },
                        ));
                    }
                    Output::Event(_) => moved = true,
                    Output::Timeout(_) => break,
                }
            }
        }
        if !moved {
            break;
        }
    }
}

#[test]
fn many_peers_share_one_port_and_strangers_are_dropped() {
    let mut now = epoch();
    let server_addr = addr("127.0.0.1:4000");
    let mut server = Endpoint::new();
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for i in 0..3u16 {
        let caddr = addr(&format!("127.0.0.1:{}", 5000 + i));
        let mut c =
            PeerConnection::new(Configuration::default().with_seed(u64::from(i)), now).unwrap();
        c.add_local_candidate(caddr, Protocol::Udp).unwrap();
        c.end_of_local_candidates();
        c.create_data_channel("x", &DataChannelInit::default())
            .unwrap();
        let offer = c.create_offer().unwrap();
        c.set_local_description(offer).unwrap();
        let mut s =
            PeerConnection::new(Configuration::default().with_seed(100 + u64::from(i)), now)
                .unwrap();
        s.add_local_candidate(server_addr, Protocol::Udp).unwrap();
        s.end_of_local_candidates();
        s.set_remote_description(c.local_description().unwrap().clone())
            .unwrap();
        let answer = s.create_answer().unwrap();
        s.set_local_description(answer).unwrap();
        c.set_remote_description(s.local_description().unwrap().clone())
            .unwrap();
        ids.push(server.add_peer(s).unwrap());
        clients.push((caddr, c));
    }
    for _ in 0..100 {
        pump(&mut server, &mut clients, now);
        now += Duration::from_millis(50);
        server.handle_input(Input::Timeout(now));
        for (_, c) in clients.iter_mut() {
            let _ = c.handle_input(Input::Timeout(now));
        }
    }
    for (_, c) in &clients {
        assert_eq!(c.connection_state(), PeerConnectionState::Connected);
    }
    for id in &ids {
        assert_eq!(
            server.peer(*id).unwrap().connection_state(),
            PeerConnectionState::Connected
        );
    }
    let before = server.counters().dropped_unroutable;
    server.handle_input(Input::Receive(
        now,
        Receive {
            proto: Protocol::Udp,
            source: addr("127.0.0.9:9"),
            destination: server_addr,
            contents: &[22, 254, 253, 0],
        },
    ));
    assert_eq!(server.counters().dropped_unroutable, before + 1);
    // An idle endpoint has nothing to do until its next timer.
    assert!(matches!(
        server.poll_output(),
        EndpointOutput::Timeout(Some(_))
    ));
    let removed = server.remove_peer(ids[0]).unwrap();
    assert_eq!(removed.connection_state(), PeerConnectionState::Connected);
    assert!(server.peer(ids[0]).is_none());
}

/// A framed (RFC 4571) binding request naming `ufrag` as ours.
fn framed_request(ufrag: &str) -> Vec<u8> {
    use crate::stun::{Attribute, Class, MessageWriter, Method, TransactionId};
    let mut buf = vec![0u8; 256];
    let mut w = MessageWriter::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([7; 12]),
    )
    .unwrap();
    let username = format!("{ufrag}:remote");
    w.add(&Attribute::Username(&username)).unwrap();
    let n = w.finish(true).unwrap();
    let mut framed = (n as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&buf[..n]);
    framed
}

#[test]
fn a_new_ice_tcp_connection_is_routed_by_its_first_frame_even_when_split() {
    let now = epoch();
    let listener = addr("127.0.0.1:4443");
    let mut server = Endpoint::new();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(9), now).unwrap();
    pc.add_local_candidate(listener, Protocol::Tcp).unwrap();
    let ufrag = pc.local_ice_ufrags()[0].clone();
    let id = server.add_peer(pc).unwrap();
    while !matches!(server.poll_output(), EndpointOutput::Timeout(_)) {}
    let request = framed_request(&ufrag);
    let (first, rest) = request.split_at(10);
    let chunk = |contents| Receive {
        proto: Protocol::Tcp,
        source: addr("127.0.0.1:50000"),
        destination: listener,
        contents,
    };
    server.handle_input(Input::Receive(now, chunk(first)));
    assert_eq!(server.counters().routed, 0, "held until the frame is whole");
    server.handle_input(Input::Receive(now, chunk(rest)));
    assert_eq!(server.counters().routed, 1);
    // Later chunks of that connection follow the learned tuple.
    server.handle_input(Input::Receive(now, chunk(&[0, 1, 0x17])));
    assert_eq!(server.counters().routed, 2);
    assert!(server.peer(id).is_some());
    // A connection naming nobody is dropped once its frame is whole.
    let stranger = framed_request("nobody");
    server.handle_input(Input::Receive(
        now,
        Receive {
            proto: Protocol::Tcp,
            source: addr("127.0.0.1:50001"),
            destination: listener,
            contents: &stranger,
        },
    ));
    assert_eq!(server.counters().dropped_unroutable, 1);
    assert_eq!(server.counters().routed, 2);
}

/// A binding request naming `ufrag` as ours, with integrity under `pwd`.
fn request(ufrag: &str, pwd: &str) -> Vec<u8> {
    use crate::stun::{Attribute, Class, MessageWriter, Method, TransactionId};
    let mut buf = vec![0u8; 256];
    let mut w = MessageWriter::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([3; 12]),
    )
    .unwrap();
    let username = format!("{ufrag}:remote");
    w.add(&Attribute::Username(&username)).unwrap();
    w.add(&Attribute::Priority(1)).unwrap();
    w.add(&Attribute::IceControlled(1)).unwrap();
    w.add_integrity(pwd.as_bytes()).unwrap();
    let n = w.finish(true).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn only_an_authenticated_request_makes_a_route() {
    let now = epoch();
    let local = addr("10.0.0.1:4000");
    let mut server = Endpoint::new();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(5), now).unwrap();
    pc.add_local_candidate(local, Protocol::Udp).unwrap();
    let ufrag = pc.local_ice_ufrags()[0].clone();
    let pwd = pc.stack.ice.local_credentials().pwd.clone();
    let id = server.add_peer(pc).unwrap();
    let drain = |server: &mut Endpoint| {
        while !matches!(server.poll_output(), EndpointOutput::Timeout(_)) {}
    };
    drain(&mut server);
    fn from<'a>(now: Instant, local: SocketAddr, source: &str, contents: &'a [u8]) -> Input<'a> {
        Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: addr(source),
                destination: local,
                contents,
            },
        )
    }
    // A forged request (right ufrag, wrong key) reaches the peer, which
    // answers it with a 401, but makes no route, nor does that answer.
    let forged = request(&ufrag, "not-the-password-0123456789");
    server.handle_input(from(now, local, "192.0.2.66:1000", &forged));
    assert_eq!(server.counters().routed, 1);
    assert_eq!(server.counters().unauthenticated_requests, 1);
    drain(&mut server);
    assert_eq!(server.usage().tuple_routes, 0);
    // So DTLS from that address goes nowhere.
    server.handle_input(from(now, local, "192.0.2.66:1000", &[22, 254, 253, 0]));
    assert_eq!(server.counters().dropped_unroutable, 1);
    // The real peer's request makes the route.
    let genuine = request(&ufrag, &pwd);
    server.handle_input(from(now, local, "192.0.2.7:2000", &genuine));
    drain(&mut server);
    assert_eq!(server.counters().unauthenticated_requests, 1);
    assert_eq!(server.usage().tuple_routes, 1);
    server.handle_input(from(now, local, "192.0.2.7:2000", &[22, 254, 253, 0]));
    assert_eq!(server.counters().routed, 3);
    assert!(server.peer(id).is_some());
}

#[test]
fn the_peer_cap_refuses_and_counts() {
    let now = epoch();
    let config = EndpointConfig {
        max_peers: 2,
        ..EndpointConfig::default()
    };
    let mut server = Endpoint::with_config(config).unwrap();
    for i in 0..2 {
        let pc = PeerConnection::new(Configuration::default().with_seed(i), now).unwrap();
        server.add_peer(pc).unwrap();
    }
    let pc = PeerConnection::new(Configuration::default().with_seed(9), now).unwrap();
    assert_eq!(
        server.add_peer(pc).unwrap_err(),
        EndpointError::TooManyPeers(2)
    );
    assert_eq!(server.counters().refused_peers, 1);
    assert_eq!(server.usage().peers, 2);
    let zero = EndpointConfig {
        max_peers: 0,
        ..EndpointConfig::default()
    };
    assert_eq!(
        Endpoint::with_config(zero).unwrap_err(),
        EndpointError::ZeroLimit("max_peers")
    );
}

#[test]
fn failed_and_closed_peers_expire_after_the_configured_time() {
    let start = epoch();
    let config = EndpointConfig {
        peer_expiry: Duration::from_secs(10),
        ..EndpointConfig::default()
    };
    let mut server = Endpoint::with_config(config).unwrap();
    let pc = PeerConnection::new(Configuration::default().with_seed(1), start).unwrap();
    let id = server.add_peer(pc).unwrap();
    let mut now = start;
    // Never connected: removed 10 s after it was added, and told.
    let mut removed = Vec::new();
    for _ in 0..1000 {
        match server.poll_output() {
            EndpointOutput::PeerRemoved(p) => removed.push((now - start, p)),
            EndpointOutput::Timeout(Some(at)) => {
                now = now.max(at);
                server.handle_input(Input::Timeout(now));
            }
            EndpointOutput::Timeout(None) => break,
            _ => {}
        }
    }
    assert_eq!(removed, vec![(Duration::from_secs(10), id)]);
    assert_eq!(server.counters().expired_peers, 1);
    assert_eq!(server.usage(), EndpointUsage::default());
    // A closed peer goes 10 s after it closed.
    let mut pc = PeerConnection::new(Configuration::default().with_seed(2), now).unwrap();
    pc.close();
    let id = server.add_peer(pc).unwrap();
    while !matches!(server.poll_output(), EndpointOutput::Timeout(_)) {}
    server.handle_input(Input::Timeout(now + Duration::from_secs(9)));
    assert!(server.peer(id).is_some());
    server.handle_input(Input::Timeout(now + Duration::from_secs(10)));
    assert!(server.peer(id).is_none());
    assert!(matches!(server.poll_output(), EndpointOutput::PeerRemoved(p) if p == id));
}
