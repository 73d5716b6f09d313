//! DTLS transport tests: eddy against eddy in the simulator.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::event::Output;
use crate::io::{Input, Protocol, Transmit};
use crate::rng::Rng;
use crate::sim::{Link, LinkConfig, Loss, Node, RunOutcome, Sim};
use crate::srtp::SrtpContext;
use crate::testutil::epoch;

/// A sim node that runs one DTLS transport towards one peer.
struct DtlsNode {
    t: DtlsTransport,
    local: SocketAddr,
    remote: SocketAddr,
    now: Instant,
    started: bool,
    keys: Option<(crate::srtp::SrtpProfile, Vec<u8>)>,
    data: Vec<Vec<u8>>,
    states: Vec<DtlsTransportState>,
    to_send: Vec<Vec<u8>>,
}

impl DtlsNode {
    fn new(t: DtlsTransport, local: &str, remote: &str) -> Self {
        Self {
            t,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            now: epoch(),
            started: false,
            keys: None,
            data: Vec::new(),
            states: Vec::new(),
            to_send: Vec::new(),
        }
    }
}

impl Node for DtlsNode {
    fn handle_input(&mut self, input: Input<'_>) {
        self.now = input.time();
        match input {
            Input::Receive(now, r) => self.t.handle_receive(now, r.contents),
            Input::Timeout(now) => {
                if !self.started {
                    self.started = true;
                    self.t.start(now);
                } else {
                    self.t.handle_timeout(now);
                }
            }
        }
        while let Some(e) = self.t.poll_event() {
            match e {
                DtlsEvent::State(s) => self.states.push(s),
                DtlsEvent::SrtpReady(p) => {
                    let material = self.t.srtp_keying_material().expect("keys once ready");
                    self.keys = Some((p, material.to_vec()));
                }
                DtlsEvent::Data(d) => self.data.push(d),
                DtlsEvent::FalseStart => {}
            }
        }
        if self.t.state() == DtlsTransportState::Connected {
            for d in std::mem::take(&mut self.to_send) {
                self.t.send(&d).unwrap();
            }
        }
    }

    fn poll_output(&mut self) -> Output {
        if let Some(contents) = self.t.poll_transmit() {
            return Output::Transmit(Transmit {
                proto: Protocol::Udp,
                source: self.local,
                destination: self.remote,
                contents,
            });
        }
        if !self.started {
            return Output::Timeout(Some(self.now));
        }
        Output::Timeout(self.t.poll_timeout())
    }
}

const CLIENT: &str = "10.0.0.1:5000";
const SERVER: &str = "10.0.0.2:5000";

fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

struct Setup {
    client_version: DtlsVersion,
    server_version: DtlsVersion,
    link: LinkConfig,
    seed: u64,
    /// Give each side the other's true fingerprint (else a wrong one).
    honest: bool,
}

fn fingerprints(cert: &Certificate) -> Vec<crate::sdp::Fingerprint> {
    vec![cert.fingerprint()]
}

/// Runs a handshake; returns the simulator and the two nodes.
fn handshake(s: &Setup) -> (Sim, crate::sim::NodeId, crate::sim::NodeId) {
    let mut rng = Rng::from_seed(s.seed);
    let cc = Certificate::generate_seeded(
        KeyAlgorithm::EcdsaP256,
        wall(),
        DEFAULT_CERTIFICATE_LIFETIME,
        &mut rng,
    )
    .unwrap();
    let sc = Certificate::generate_seeded(
        KeyAlgorithm::EcdsaP256,
        wall(),
        DEFAULT_CERTIFICATE_LIFETIME,
        &mut rng,
    )
    .unwrap();
    let mut client = DtlsTransport::new(
        dtls_config(1200, Some(s.seed)).unwrap(),
        &cc,
        DtlsRole::Client,
        s.client_version,
        Some(rng.fork()),
        epoch(),
    );
    let mut server = DtlsTransport::new(
        dtls_config(1200, Some(s.seed + 1)).unwrap(),
        &sc,
        DtlsRole::Server,
        s.server_version,
        Some(rng.fork()),
        epoch(),
    );
    if s.honest {
        client.set_remote_fingerprints(fingerprints(&sc));
        server.set_remote_fingerprints(fingerprints(&cc));
    } else {
        let fake = |b| crate::sdp::Fingerprint {
            hash: "sha-256".into(),
            bytes: vec![b; 32],
        };
        client.set_remote_fingerprints(vec![fake(0xab)]);
        server.set_remote_fingerprints(vec![fake(0xcd)]);
    }
    let mut sim = Sim::new(s.seed, epoch());
    let net = sim.internet();
    let mut cn = DtlsNode::new(client, CLIENT, SERVER);
    cn.to_send.push(b"hello from the client".to_vec());
    let mut sn = DtlsNode::new(server, SERVER, CLIENT);
    sn.to_send.push(b"hello from the server".to_vec());
    let link = Link::symmetric(s.link);
    let c = sim.add_node(net, CLIENT.parse::<SocketAddr>().unwrap().ip(), cn, link);
    let sv = sim.add_node(net, SERVER.parse::<SocketAddr>().unwrap().ip(), sn, link);
    let done = |sim: &Sim| {
        [c, sv].iter().all(|&n| {
            let node = sim.node::<DtlsNode>(n).unwrap();
            matches!(node.t.state(), DtlsTransportState::Failed)
                || node.t.state() == DtlsTransportState::Connected
        })
    };
    let outcome = sim.run_until(done, Duration::from_secs(120));
    assert_ne!(outcome, RunOutcome::Livelock);
    (sim, c, sv)
}

fn lossy() -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(25),
        jitter: Duration::from_millis(20),
        loss: Loss::Random(0.20),
        reorder: 0.2,
        reorder_delay: Duration::from_millis(30),
        ..LinkConfig::default()
    }
}

#[test]
fn handshake_completes_in_both_versions_under_loss_and_reordering() {
    let mut retransmissions = 0;
    for (i, (cv, sv)) in [
        (DtlsVersion::Dtls12, DtlsVersion::Auto),
        (DtlsVersion::Dtls13, DtlsVersion::Auto),
        (DtlsVersion::Dtls12, DtlsVersion::Dtls12),
        (DtlsVersion::Dtls13, DtlsVersion::Dtls13),
        (DtlsVersion::Auto, DtlsVersion::Auto),
    ]
    .into_iter()
    .enumerate()
    {
        let (sim, c, s) = handshake(&Setup {
            client_version: cv,
            server_version: sv,
            link: lossy(),
            seed: 100 + i as u64,
            honest: true,
        });
        let (mut sim, c, s) = (sim, c, s);
        // Application data is not reliable: send it again over a clean link.
        for n in [c, s] {
            sim.set_link(n, Link::default());
            let node = sim.node_mut::<DtlsNode>(n).unwrap();
            let msg = if n == c {
                "hello from the client"
            } else {
                "hello from the server"
            };
            node.data.clear();
            node.t.send(msg.as_bytes()).unwrap();
        }
        sim.run_for(Duration::from_secs(1));
        let client = sim.node::<DtlsNode>(c).unwrap();
        let server = sim.node::<DtlsNode>(s).unwrap();
        assert_eq!(
            client.t.state(),
            DtlsTransportState::Connected,
            "{cv:?}/{sv:?}"
        );
        assert_eq!(
            server.t.state(),
            DtlsTransportState::Connected,
            "{cv:?}/{sv:?}"
        );
        assert_eq!(client.t.role(), DtlsRole::Client);
        assert!(server.data.contains(&b"hello from the client".to_vec()));
        assert!(client.data.contains(&b"hello from the server".to_vec()));
        assert_eq!(
            client.states,
            vec![
                DtlsTransportState::Connecting,
                DtlsTransportState::Connected
            ]
        );
        // Both sides exported the same SRTP keys: the client's sending
        // context is the server's receiving one.
        let (profile, ck) = client
            .keys
            .clone()
            .unwrap_or_else(|| panic!("no keys {cv:?}/{sv:?} {:?}", server.keys.is_some()));
        let (sprofile, sk) = server.keys.clone().unwrap();
        assert_eq!((profile, &ck), (sprofile, &sk));
        let (mut tx, _) = SrtpContext::pair_from_dtls(profile, &ck, true).unwrap();
        let (_, mut rx) = SrtpContext::pair_from_dtls(profile, &sk, false).unwrap();
        let mut p = vec![0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3];
        tx.protect_rtp(&mut p).unwrap();
        rx.unprotect_rtp(&mut p).unwrap();
        assert!(server.t.remote_certificate().is_some() && client.t.remote_certificate().is_some());
        retransmissions += client.t.retransmissions() + server.t.retransmissions();
    }
    // 20% loss on every handshake: some flights had to be resent.
    assert!(retransmissions > 0);
}

#[test]
fn a_fingerprint_mismatch_fails_both_sides() {
    let (sim, c, s) = handshake(&Setup {
        client_version: DtlsVersion::Dtls12,
        server_version: DtlsVersion::Auto,
        link: LinkConfig::with_delay(Duration::from_millis(10)),
        seed: 7,
        honest: false,
    });
    for n in [c, s] {
        let node = sim.node::<DtlsNode>(n).unwrap();
        assert_eq!(node.t.state(), DtlsTransportState::Failed);
        assert!(node.keys.is_none(), "no key is exported on a mismatch");
        assert!(node.data.is_empty());
    }
    assert!(sim
        .node::<DtlsNode>(c)
        .unwrap()
        .t
        .failure()
        .is_some_and(
            |f| *f == DtlsFailure::FingerprintMismatch && f.to_string().contains("fingerprint")
        ));
}

#[test]
fn the_same_seed_gives_a_byte_identical_handshake() {
    let run = |seed| {
        handshake(&Setup {
            client_version: DtlsVersion::Auto,
            server_version: DtlsVersion::Auto,
            link: lossy(),
            seed,
            honest: true,
        })
        .0
        .trace_digest()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn close_notify_closes_the_peer() {
    let (mut sim, c, s) = handshake(&Setup {
        client_version: DtlsVersion::Dtls12,
        server_version: DtlsVersion::Auto,
        link: LinkConfig::with_delay(Duration::from_millis(10)),
        seed: 9,
        honest: true,
    });
    sim.node_mut::<DtlsNode>(c).unwrap().t.close();
    sim.run_for(Duration::from_secs(1));
    assert_eq!(
        sim.node::<DtlsNode>(c).unwrap().t.state(),
        DtlsTransportState::Closed
    );
    assert_eq!(
        sim.node::<DtlsNode>(s).unwrap().t.state(),
        DtlsTransportState::Closed
    );
}

#[test]
fn garbage_records_do_not_break_the_transport() {
    let mut rng = Rng::from_seed(1);
    let cert = Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        wall(),
        DEFAULT_CERTIFICATE_LIFETIME,
    )
    .unwrap();
    let mut t = DtlsTransport::new(
        dtls_config(1200, None).unwrap(),
        &cert,
        DtlsRole::Server,
        DtlsVersion::Auto,
        None,
        epoch(),
    );
    for len in 0..200usize {
        let mut junk = vec![0u8; len];
        rng.fill(&mut junk);
        if let Some(b) = junk.first_mut() {
            *b = 20 + (*b % 44);
        }
        t.handle_receive(epoch(), &junk);
    }
    assert!(matches!(
        t.state(),
        DtlsTransportState::Connecting | DtlsTransportState::Failed
    ));
}

/// Once both sides are past the handshake, an application-data record is
/// opened straight into its event (dimpl's EDDY-PATCH 19): delivered once,
/// its replay and a tampered or truncated copy dropped without harm, and
/// data still flowing after them; DTLS 1.3 takes the ordinary path alike.
#[test]
fn application_records_after_the_handshake_are_delivered_once_and_checked() {
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let (mut sim, c, s) = handshake(&Setup {
            client_version: version,
            server_version: version,
            link: LinkConfig::with_delay(Duration::from_millis(10)),
            seed: 21,
            honest: true,
        });
        // The greetings go both ways: the server has seen authenticated
        // data from the client, so both know the handshake is done.
        sim.run_for(Duration::from_secs(1));
        for n in [c, s] {
            assert_eq!(
                sim.node::<DtlsNode>(n).unwrap().data.len(),
                1,
                "{version:?}"
            );
        }
        let now = sim.now();
        let client = &mut sim.node_mut::<DtlsNode>(c).unwrap().t;
        let mut records = Vec::new();
        for i in 0..3u8 {
            client.send(&[i; 300]).unwrap();
            records.push(client.poll_transmit().unwrap());
        }
        assert!(client.poll_transmit().is_none());
        let server = &mut sim.node_mut::<DtlsNode>(s).unwrap().t;
        let received = |server: &mut DtlsTransport, datagram: &[u8]| {
            server.handle_receive(now, datagram);
            let mut data = Vec::new();
            while let Some(e) = server.poll_event() {
                if let DtlsEvent::Data(d) = e {
                    data.push(d);
                }
            }
            data
        };
        assert_eq!(received(server, &records[0]), vec![vec![0u8; 300]]);
        assert!(received(server, &records[0]).is_empty(), "a replay");
        let mut tampered = records[1].clone();
        *tampered.last_mut().unwrap() ^= 0x80;
        assert!(received(server, &tampered).is_empty(), "a bad tag");
        let truncated = &records[1][..records[1].len() - 1];
        assert!(received(server, truncated).is_empty(), "a short record");
        // Out of order, then the one the forgeries imitated.
        assert_eq!(received(server, &records[2]), vec![vec![2u8; 300]]);
        assert_eq!(received(server, &records[1]), vec![vec![1u8; 300]]);
        assert_eq!(server.state(), DtlsTransportState::Connected, "{version:?}");
    }
}

/// An SCTP packet written after [`SctpConfig::DTLS_HEADROOM`] free bytes
/// leaves as the datagram in the buffer it was written in, sealed there
/// (dimpl's EDDY-PATCH 24, ARCHITECTURE.md §5.6): no copy between SCTP and
/// the `Transmit`. The peer opens it like any record. Fails if DTLS copies
/// the packet into a buffer of its own again. DTLS 1.3 takes the copying
/// path and gives the buffer back.
///
/// [`SctpConfig::DTLS_HEADROOM`]: crate::sctp::SctpConfig::DTLS_HEADROOM
#[test]
fn a_packet_with_headroom_is_sealed_in_its_own_buffer() {
    use crate::sctp::SctpConfig;
    const H: usize = SctpConfig::DTLS_HEADROOM;
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let (mut sim, c, s) = handshake(&Setup {
            client_version: version,
            server_version: version,
            link: LinkConfig::with_delay(Duration::from_millis(10)),
            seed: 22,
            honest: true,
        });
        sim.run_for(Duration::from_secs(1));
        let now = sim.now();
        let client = &mut sim.node_mut::<DtlsNode>(c).unwrap().t;
        let mut sent = Vec::new();
        // A datagram's room, or a small one (an SCTP heartbeat's, dcSCTP's
        // EDDY-PATCH 19, dimpl's 26): sealed in place. A small packet in a
        // datagram's room is copied out at its size, the buffer given back.
        let full = H + 1152 + SctpConfig::DTLS_TAILROOM;
        let small = H + dcsctp::api::SMALL_PACKET_SIZE + SctpConfig::DTLS_TAILROOM;
        let cases = [
            (full, 1000, true),
            (small, 24, true),
            (small, 88, true),
            (full, 24, false),
        ];
        for (i, &(room, len, in_place)) in cases.iter().enumerate() {
            let mut packet = Vec::with_capacity(room);
            packet.resize(H, 0);
            packet.extend_from_slice(&vec![i as u8; len]);
            let at = packet.as_ptr();
            let back = client.send_packet(packet, H).unwrap();
            let datagram = client.poll_transmit().unwrap();
            if version == DtlsVersion::Dtls12 {
                assert_eq!(datagram.len(), 13 + 8 + len + 16);
            }
            match version {
                DtlsVersion::Dtls12 if in_place => {
                    assert!(back.is_none());
                    assert_eq!(datagram.as_ptr(), at, "sealed where it was written");
                    assert_eq!(datagram.capacity(), room);
                }
                _ => {
                    assert_eq!(back.map(|b| b.as_ptr()), Some(at), "given back");
                    assert_ne!(datagram.as_ptr(), at);
                }
            }
            sent.push(datagram);
        }
        let server = &mut sim.node_mut::<DtlsNode>(s).unwrap().t;
        for (i, datagram) in sent.iter().enumerate() {
            server.handle_receive(now, datagram);
            let mut data = Vec::new();
            while let Some(e) = server.poll_event() {
                if let DtlsEvent::Data(d) = e {
                    data.push(d);
                }
            }
            assert_eq!(data, vec![vec![i as u8; cases[i].1]], "{version:?}");
        }
    }
}

/// The remote fingerprints may come after the handshake (a description
/// applied late): the peer's certificate is checked against them then,
/// not against what an earlier check (with none known) found.
#[test]
fn fingerprints_that_arrive_after_the_handshake_decide_it() {
    let mut rng = Rng::from_seed(11);
    let mut cert = || {
        Certificate::generate_seeded(
            KeyAlgorithm::EcdsaP256,
            wall(),
            DEFAULT_CERTIFICATE_LIFETIME,
            &mut rng,
        )
        .unwrap()
    };
    let (cc, sc) = (cert(), cert());
    let mut client = DtlsTransport::new(
        dtls_config(1200, Some(11)).unwrap(),
        &cc,
        DtlsRole::Client,
        DtlsVersion::Dtls12,
        Some(Rng::from_seed(12)),
        epoch(),
    );
    let mut server = DtlsTransport::new(
        dtls_config(1200, Some(13)).unwrap(),
        &sc,
        DtlsRole::Server,
        DtlsVersion::Auto,
        Some(Rng::from_seed(14)),
        epoch(),
    );
    let now = epoch();
    client.start(now);
    server.start(now);
    for _ in 0..20 {
        let mut moved = false;
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, &d);
            moved = true;
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, &d);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    // Both saw the other's certificate; with no fingerprint to check it
    // against, neither is connected.
    // Nor are SRTP keys derived for a peer not yet checked, though the
    // handshake negotiated a profile.
    for t in [&mut client, &mut server] {
        assert!(t.remote_certificate().is_some());
        assert_eq!(t.state(), DtlsTransportState::Connecting);
        assert!(t.srtp_keying_material().is_none());
    }
    client.set_remote_fingerprints(fingerprints(&sc));
    assert_eq!(client.state(), DtlsTransportState::Connected);
    let events: Vec<DtlsEvent> = std::iter::from_fn(|| client.poll_event()).collect();
    assert!(events.iter().any(|e| matches!(e, DtlsEvent::SrtpReady(_))));
    assert!(client.srtp_keying_material().is_some());
    server.set_remote_fingerprints(fingerprints(&sc));
    assert_eq!(server.state(), DtlsTransportState::Failed);
    assert_eq!(server.failure(), Some(&DtlsFailure::FingerprintMismatch));
    assert!(server.srtp_keying_material().is_none());
}

/// The first datagram of a client speaking `version`.
fn first_client_hello(version: DtlsVersion) -> Vec<u8> {
    let mut rng = Rng::from_seed(77);
    let cert = Certificate::generate_seeded(
        KeyAlgorithm::EcdsaP256,
        wall(),
        DEFAULT_CERTIFICATE_LIFETIME,
        &mut rng,
    )
    .unwrap();
    let mut t = DtlsTransport::new(
        dtls_config(1200, Some(77)).unwrap(),
        &cert,
        DtlsRole::Client,
        version,
        Some(rng.fork()),
        epoch(),
    );
    t.start(epoch());
    t.poll_transmit().unwrap()
}

/// dimpl's EDDY-PATCH 27: an auto-sensing server hands a whole DTLS 1.2
/// ClientHello to its DTLS 1.2 server at once, and leaves everything else
/// to its DTLS 1.3 engine (the handshakes themselves:
/// `handshake_completes_in_both_versions_under_loss_and_reordering`).
#[test]
fn only_a_whole_plain_dtls12_client_hello_skips_the_dtls13_engine() {
    let hello = first_client_hello(DtlsVersion::Dtls12);
    assert!(dimpl::is_whole_dtls12_only_client_hello(&hello));
    // An auto client offers DTLS 1.3 too (supported_versions).
    let hybrid = first_client_hello(DtlsVersion::Auto);
    assert!(!dimpl::is_whole_dtls12_only_client_hello(&hybrid));
    // Record header 13 bytes, then the handshake header 12, then the body.
    let changed = |at: usize, bytes: &[u8]| {
        let mut p = hello.clone();
        p[at..at + bytes.len()].copy_from_slice(bytes);
        p
    };
    let twice = [hello.clone(), hello.clone()].concat();
    let bad: [(&str, Vec<u8>); 6] = [
        ("a fragment", changed(13 + 6, &[0, 0, 1])),
        ("epoch 1", changed(4, &[1])),
        ("DTLS 1.0", changed(13 + 12, &[0xfe, 0xff])),
        ("cut short", hello[..hello.len() - 1].to_vec()),
        ("two records", twice),
        ("a ServerHello", changed(13, &[2])),
    ];
    for (what, p) in bad {
        assert!(!dimpl::is_whole_dtls12_only_client_hello(&p), "{what}");
    }
}
