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
                EndpointOutput::Event(..) => moved = true,
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
        ids.push(server.add_peer(s));
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
        assert_eq!(c.connection_state(), crate::PeerConnectionState::Connected);
    }
    for id in &ids {
        assert_eq!(
            server.peer(*id).unwrap().connection_state(),
            crate::PeerConnectionState::Connected
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
    assert_eq!(
        removed.connection_state(),
        crate::PeerConnectionState::Connected
    );
    assert!(server.peer(ids[0]).is_none());
}
