use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::io::{Protocol, Receive};
use crate::stats::Dropped;
use crate::testutil::epoch;

fn receive(contents: &[u8]) -> Receive<'_> {
    let source: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let destination: SocketAddr = "127.0.0.1:6000".parse().unwrap();
    Receive {
        proto: Protocol::Udp,
        source,
        destination,
        contents,
    }
}

#[test]
fn demux_counts_every_kind_and_drops_the_unknown() {
    let now = epoch();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(1), now).unwrap();
    for packet in [
        &[0x00, 0x01][..],
        &[22, 254, 253],
        &[0x80, 111],
        &[0x80, 200],
        &[0x40, 0x00],
        &[17, 0],
        &[250, 1],
        &[],
    ] {
        pc.handle_input(Input::Receive(now, receive(packet)))
            .unwrap();
    }
    let c = pc.counters();
    assert_eq!(
        (c.stun, c.dtls, c.rtp, c.rtcp, c.turn_channel_data),
        (1, 1, 1, 1, 1)
    );
    assert_eq!((c.dropped_zrtp, c.dropped_unknown), (1, 2));
    assert_eq!(
        (
            c.dropped(Dropped::Zrtp),
            c.dropped(Dropped::UnknownProtocol),
            c.dropped(Dropped::MediaUnvalidated),
            // No DTLS role yet: the record waits for the answer.
            c.dropped(Dropped::DtlsEarly),
        ),
        (1, 2, 2, 0)
    );
    let stats = pc.connection_stats();
    assert_eq!(stats.input, c);
    assert_eq!(stats.event_queue, pc.event_queue_usage());
    assert_eq!(stats.ice, pc.stack.ice.stats());
    assert_eq!(stats.dtls, crate::dtls::DtlsStats::default());
}

#[test]
fn closed_connection_refuses_input_and_counts_it() {
    let now = epoch();
    let mut pc = PeerConnection::new(Configuration::default(), now).unwrap();
    pc.close();
    assert_eq!(pc.connection_state(), PeerConnectionState::Closed);
    assert_eq!(
        pc.handle_input(Input::Receive(now, receive(&[0, 1]))),
        Err(InputError::Closed)
    );
    assert_eq!(pc.counters().dropped_closed, 1);
    assert!(matches!(pc.poll_output(), Output::Timeout(None)));
}

#[test]
fn a_wakeup_gives_the_queues_room_back_only_after_a_quiet_second() {
    // Issue 13: the room is given back at an idle connection's wakeup, not
    // at the timers of a setup still exchanging datagrams, whose queues
    // would fill again at once.
    let now = epoch();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(2), now).unwrap();
    pc.create_data_channel("a", &crate::sctp::DataChannelInit::default())
        .unwrap();
    pc.add_local_candidate("127.0.0.1:6000".parse().unwrap(), Protocol::Udp)
        .unwrap();
    while !matches!(pc.poll_output(), Output::Timeout(_)) {}
    assert!(pc.events.capacity() > 0, "the events left their room");
    // A datagram (a stray one: dropped and counted) at `now`.
    pc.handle_input(Input::Receive(now, receive(&[250, 1])))
        .unwrap();
    pc.handle_input(Input::Timeout(now + TRIM_AFTER / 2))
        .unwrap();
    assert!(
        pc.events.capacity() > 0,
        "trimmed half a second after a datagram"
    );
    pc.handle_input(Input::Timeout(now + TRIM_AFTER)).unwrap();
    assert_eq!(pc.events.capacity(), 0, "not trimmed after a quiet second");
}

#[test]
fn invalid_configuration_is_refused() {
    let err = PeerConnection::new(Configuration::default().with_mtu(10), epoch()).unwrap_err();
    assert_eq!(err, ConfigError::Mtu(10));
}

#[test]
fn wall_clock_follows_the_anchor() {
    let now = epoch();
    let mut config = Configuration::default().with_seed(3);
    let w0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    config.wall_clock = Some(w0);
    let pc = PeerConnection::new(config, now).unwrap();
    assert_eq!(
        pc.wall_clock_at(now + Duration::from_secs(5)),
        w0 + Duration::from_secs(5)
    );
}

#[test]
fn seeded_connections_draw_the_same_numbers() {
    let now = epoch();
    let mut a = PeerConnection::new(Configuration::default().with_seed(9), now).unwrap();
    let mut b = PeerConnection::new(Configuration::default().with_seed(9), now).unwrap();
    assert_eq!(a.rng_mut().u64(), b.rng_mut().u64());
}

#[test]
fn relay_policy_uses_no_host_candidate() {
    let now = epoch();
    let mut config = Configuration::default().with_seed(4);
    config.ice_transport_policy = crate::config::IceTransportPolicy::Relay;
    let mut pc = PeerConnection::new(config, now).unwrap();
    pc.add_local_candidate("127.0.0.1:5000".parse().unwrap(), Protocol::Udp)
        .unwrap();
    pc.end_of_local_candidates();
    pc.create_data_channel("x", &crate::DataChannelInit::default())
        .unwrap();
    let offer = pc.create_offer().unwrap();
    pc.set_local_description(offer).unwrap();
    let sdp = &pc.local_description().unwrap().sdp;
    assert!(!sdp.contains("a=candidate"), "{sdp}");
    assert!(pc.stack.ice.local_candidates().is_empty());
}

/// Drives `pc` on its own timers (dropping what it sends) until it arms
/// none; returns how long that took.
fn run_until_no_timer(pc: &mut PeerConnection, start: Instant, limit: Duration) -> Duration {
    let mut now = start;
    for _ in 0..100_000 {
        match pc.poll_output() {
            Output::Transmit(_) | Output::Event(_) => {}
            Output::Timeout(None) => return now - start,
            Output::Timeout(Some(at)) => {
                assert!(
                    at - start <= limit,
                    "timers still armed at {:?}",
                    at - start
                );
                now = now.max(at);
                pc.handle_input(Input::Timeout(now)).unwrap();
            }
        }
    }
    panic!("livelock");
}

#[test]
fn without_a_remote_description_every_timer_stops_in_bounded_time() {
    let start = epoch();
    let config = Configuration::default()
        .with_seed(3)
        .with_ice_server(crate::config::IceServer {
            urls: vec!["stun:192.0.2.1:3478".into()],
            username: None,
            credential: None,
        });
    let mut pc = PeerConnection::new(config, start).unwrap();
    let local: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    pc.add_local_candidate(local, Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc.create_data_channel("x", &crate::sctp::DataChannelInit::default())
        .unwrap();
    let offer = pc.create_offer().unwrap();
    pc.set_local_description(offer).unwrap();
    // The peer got the offer (we never get its answer) and sends a check:
    // ICE answers it and goes to `checking`, but cannot check back.
    let ufrag = pc.jsep.local_ice.ufrag.clone();
    let pwd = pc.jsep.local_ice.pwd.clone();
    let mut buf = [0u8; 256];
    let mut w = crate::stun::MessageWriter::new(
        &mut buf,
        crate::stun::Class::Request,
        crate::stun::Method::BINDING,
        crate::stun::TransactionId([4; 12]),
    )
    .unwrap();
    let username = format!("{ufrag}:peer");
    w.add(&crate::stun::Attribute::Username(&username)).unwrap();
    w.add(&crate::stun::Attribute::Priority(1)).unwrap();
    w.add(&crate::stun::Attribute::IceControlled(7)).unwrap();
    w.add_integrity(pwd.as_bytes()).unwrap();
    let n = w.finish(true).unwrap();
    pc.handle_input(Input::Receive(
        start,
        Receive {
            proto: Protocol::Udp,
            source: "10.0.0.2:6000".parse().unwrap(),
            destination: local,
            contents: &buf[..n],
        },
    ))
    .unwrap();
    assert_eq!(
        pc.ice_connection_state(),
        crate::ice::IceConnectionState::Checking
    );
    let limit = crate::ice::DEFAULT_ICE_CHECKING_TIMEOUT + Duration::from_secs(1);
    let took = run_until_no_timer(&mut pc, start, limit);
    assert!(took >= crate::ice::DEFAULT_ICE_CHECKING_TIMEOUT, "{took:?}");
    assert_eq!(
        pc.ice_connection_state(),
        crate::ice::IceConnectionState::Failed
    );
    assert_eq!(pc.connection_state(), PeerConnectionState::Failed);
}

#[test]
fn without_a_remote_description_or_checks_gathering_alone_ends_the_timers() {
    let start = epoch();
    let config = Configuration::default()
        .with_seed(4)
        .with_ice_server(crate::config::IceServer {
            urls: vec!["stun:192.0.2.1:3478".into()],
            username: None,
            credential: None,
        });
    let mut pc = PeerConnection::new(config, start).unwrap();
    pc.add_local_candidate("10.0.0.1:5000".parse().unwrap(), Protocol::Udp)
        .unwrap();
    pc.end_of_local_candidates();
    let offer = pc.create_offer().unwrap();
    pc.set_local_description(offer).unwrap();
    // An unanswered STUN server: gathering gives up after its transmits.
    let took = run_until_no_timer(&mut pc, start, Duration::from_secs(10));
    assert!(took > Duration::ZERO);
    assert_eq!(pc.connection_state(), PeerConnectionState::New);
}

#[test]
fn a_rendered_candidate_is_recognised_in_place_and_a_changed_one_is_not() {
    // `render_local_candidates` compares the description's candidates with
    // the agent's without rendering them: the comparison must agree with
    // the rendering for every kind of candidate.
    use super::stack::{is_sdp_candidate_of, to_sdp_candidate};
    use crate::ice::{Candidate, CandidateKind, TcpType};
    let base = Candidate {
        addr: "192.0.2.1:4000".parse().unwrap(),
        proto: Protocol::Udp,
        kind: CandidateKind::Host,
        priority: 2_130_706_431,
        foundation: "1".into(),
        related: None,
        tcp_type: None,
    };
    let srflx = Candidate {
        kind: CandidateKind::ServerReflexive,
        related: Some("10.0.0.1:4000".parse().unwrap()),
        foundation: "2".into(),
        ..base.clone()
    };
    let active = Candidate {
        proto: Protocol::Tcp,
        tcp_type: Some(TcpType::Active),
        ..base.clone()
    };
    for c in [&base, &srflx, &active] {
        let s = to_sdp_candidate(c);
        assert!(is_sdp_candidate_of(&s, c), "{c:?}");
        for changed in [
            Candidate {
                priority: c.priority - 1,
                ..c.clone()
            },
            Candidate {
                foundation: "9".into(),
                ..c.clone()
            },
            Candidate {
                addr: "192.0.2.1:4001".parse().unwrap(),
                ..c.clone()
            },
            Candidate {
                related: Some("10.0.0.2:1".parse().unwrap()),
                ..c.clone()
            },
        ] {
            // An active TCP candidate signals port 9 whatever its port.
            if c.tcp_type == Some(TcpType::Active) && changed.addr != c.addr {
                continue;
            }
            assert!(!is_sdp_candidate_of(&s, &changed), "{changed:?}");
        }
        let mut extended = s.clone();
        extended.extensions.push(("network-id".into(), "1".into()));
        assert!(!is_sdp_candidate_of(&extended, c));
    }
}
