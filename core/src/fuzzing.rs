//! Entry points for the fuzz targets (`cargo +nightly fuzz`, which builds
//! with `--cfg fuzzing`): each drives an internal state machine with
//! arbitrary bytes. Not part of the API.

use std::time::{Duration, Instant, SystemTime};

use crate::dtls::{
    dtls_config, Certificate, DtlsRole, DtlsTransport, DtlsVersion, KeyAlgorithm,
    DEFAULT_CERTIFICATE_LIFETIME,
};
use crate::rng::Rng;
use crate::sctp::{DataChannelInit, SctpConfig, SctpTransport};
use crate::srtp::{SrtpContext, SrtpProfile};

/// Splits fuzz input into datagrams: a length byte, then that many bytes.
fn datagrams(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (&len, rest) = data.split_first()?;
        let n = usize::from(len).min(rest.len());
        let (d, rest) = rest.split_at(n);
        data = rest;
        Some(d)
    })
}

/// Unprotects arbitrary packets as SRTP and SRTCP under every profile.
pub fn srtp_unprotect(data: &[u8]) {
    for profile in SrtpProfile::ALL {
        let material = vec![7u8; profile.keying_material_len()];
        let Ok((_, mut rx)) = SrtpContext::pair_from_dtls(profile, &material, true) else {
            return;
        };
        for d in datagrams(data) {
            let mut p = d.to_vec();
            let _ = rx.unprotect_rtp(&mut p);
            let mut p = d.to_vec();
            let _ = rx.unprotect_rtcp(&mut p);
        }
    }
}

/// Feeds arbitrary datagrams to a DTLS server (auto version) and to a DTLS
/// client that has sent its ClientHello, interleaved with time passing.
pub fn dtls_records(data: &[u8], now: Instant) {
    type Setup = Option<(Certificate, std::sync::Arc<dimpl::Config>)>;
    static SETUP: std::sync::OnceLock<Setup> = std::sync::OnceLock::new();
    let setup = SETUP.get_or_init(|| {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let cert = Certificate::generate_seeded(
            KeyAlgorithm::EcdsaP256,
            wall,
            DEFAULT_CERTIFICATE_LIFETIME,
            &mut Rng::from_seed(1),
        )
        .ok()?;
        Some((cert, dtls_config(1200, Some(1)).ok()?))
    });
    let Some((cert, config)) = setup else {
        return;
    };
    let mut rng = Rng::from_seed(1);
    for (role, version) in [
        (DtlsRole::Server, DtlsVersion::Auto),
        (DtlsRole::Client, DtlsVersion::Dtls12),
        (DtlsRole::Client, DtlsVersion::Dtls13),
    ] {
        let mut t = DtlsTransport::new(config.clone(), cert, role, version, Some(rng.fork()), now);
        t.set_remote_fingerprints(vec![crate::sdp::Fingerprint {
            hash: "sha-256".into(),
            bytes: vec![0; 32],
        }]);
        t.start(now);
        let mut at = now;
        for d in datagrams(data) {
            t.handle_receive(at, d);
            at += Duration::from_millis(100);
            t.handle_timeout(at);
            while t.poll_transmit().is_some() {}
            while t.poll_event().is_some() {}
        }
    }
}

/// Establishes an association between two transports in memory, then
/// feeds arbitrary packets (the DCEP parser included, since zero checksums
/// are negotiated between two eddys) to one of them.
pub fn sctp_association(data: &[u8], now: Instant) {
    let mut rng = Rng::from_seed(2);
    let mut a = SctpTransport::new(SctpConfig::default(), rng.fork(), now);
    let mut b = SctpTransport::new(SctpConfig::default(), rng.fork(), now);
    a.start(now, DtlsRole::Client);
    b.start(now, DtlsRole::Server);
    let _ = a.create_data_channel("fuzz", &DataChannelInit::default());
    for _ in 0..20 {
        while let Some(p) = a.poll_transmit() {
            b.handle_packet(now, &p);
        }
        while let Some(p) = b.poll_transmit() {
            a.handle_packet(now, &p);
        }
    }
    let mut at = now;
    for d in datagrams(data) {
        b.handle_packet(at, d);
        at += Duration::from_millis(50);
        b.handle_timeout(at);
        while b.poll_transmit().is_some() {}
        while b.poll_event().is_some() {}
    }
}

/// A certificate whose bytes follow `seed` (for fuzz targets that give
/// their peers certificates made once per process: generating one is the
/// costliest part of a seeded `PeerConnection::new`).
pub fn seeded_certificate(seed: u64) -> Option<Certificate> {
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    Certificate::generate_seeded(
        KeyAlgorithm::EcdsaP256,
        wall,
        DEFAULT_CERTIFICATE_LIFETIME,
        &mut Rng::from_seed(seed),
    )
    .ok()
}

/// Feeds arbitrary RTP and RTCP (as if SRTP had accepted them) to the media
/// layer of a connection that negotiated audio and video with every codec,
/// RTX and feedback, interleaved with time passing (RTCP reports and NACKs
/// on the media timer). The first byte of each datagram picks RTP (even),
/// RTCP (odd) or, when 0xFF, a 50 ms step of time.
pub fn media_path(data: &[u8], now: Instant) {
    use crate::{Configuration, MediaKind, PeerConnection, TransceiverInit};
    let config = || Configuration::default().with_seed(3);
    let (Ok(mut a), Ok(mut b)) = (
        PeerConnection::new(config(), now),
        PeerConnection::new(config(), now),
    ) else {
        return;
    };
    for kind in [MediaKind::Audio, MediaKind::Video] {
        if a.add_transceiver(kind, TransceiverInit::default()).is_err() {
            return;
        }
    }
    let negotiated = (|| {
        let offer = a.create_offer().ok()?;
        a.set_local_description(offer.clone()).ok()?;
        b.set_remote_description(offer).ok()?;
        let answer = b.create_answer().ok()?;
        b.set_local_description(answer).ok()
    })();
    if negotiated.is_none() {
        return;
    }
    let mut t = now;
    for d in datagrams(data) {
        match d.split_first() {
            Some((0xFF, _)) => {
                t += Duration::from_millis(50);
                let _ = b.handle_input(crate::Input::Timeout(t));
            }
            Some((kind, rest)) if kind % 2 == 0 => b.on_rtp(rest.to_vec()),
            Some((_, rest)) => b.on_rtcp(rest.to_vec()),
            None => {}
        }
        while b.poll_event().is_some() {}
        while b.poll_transmit().is_some() {}
    }
}

/// Feeds arbitrary datagrams from the TURN server's address to a TURN
/// client mid-allocation, interleaved with time passing and sends to
/// peers. The first byte chooses: bit 0, first walk the client through the
/// 401 dance to an allocation (so the fuzzer reaches permissions, channels
/// and refreshes); bit 1, stamp each datagram that looks like STUN with the
/// transaction id of the client's latest request (so it is taken as the
/// response); bit 2, reach the server over TCP (each datagram a chunk of
/// the stream). A datagram starting with 0xff 0xff advances the clock by
/// its third byte x 500 ms instead.
pub fn turn_client(data: &[u8], now: Instant) {
    use crate::turn::TurnClient;

    let (&mode, data) = data.split_first().unwrap_or((&0, &[]));
    // Bit 2: TCP to the server, each datagram a chunk of the stream.
    let tcp = mode & 4 == 4;
    let proto = if tcp {
        crate::io::Protocol::Tcp
    } else {
        crate::io::Protocol::Udp
    };
    let mut f = TurnFuzz {
        c: TurnClient::with_transport(
            TURN_SERVER,
            TURN_LOCAL,
            proto,
            "user",
            "pass",
            Rng::from_seed(1),
            now,
        ),
        tcp,
        last_request: None,
    };
    f.drain();
    if mode & 1 == 1 {
        f.allocate(now);
    }
    let mut t = now;
    for d in datagrams(data) {
        if let [0xff, 0xff, step, ..] = d {
            t += Duration::from_millis(u64::from(*step) * 500);
            f.c.handle_timeout(t);
        } else {
            let mut d = d.to_vec();
            if mode & 2 == 2 && d.len() >= 20 {
                if let Some(tid) = f.last_request.as_ref().and_then(|r| r.get(8..20)) {
                    d[8..20].copy_from_slice(tid);
                }
            }
            if let Some((from, echo)) = f.feed(t, &d) {
                f.c.send(from, &echo);
            } else {
                f.c.send(TURN_PEER, &d);
            }
        }
        f.drain();
        // A finished client has no deadline; a pending one is fired.
        if let Some(at) = f.c.poll_timeout() {
            assert!(!f.c.is_done());
            f.c.handle_timeout(at.max(t));
            f.drain();
        }
    }
}

const TURN_SERVER: std::net::SocketAddr = std::net::SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1)),
    3478,
);
const TURN_LOCAL: std::net::SocketAddr = std::net::SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)),
    5000,
);
const TURN_PEER: std::net::SocketAddr = std::net::SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7)),
    7000,
);

/// [`turn_client`]'s client, how it reaches the server, and its latest
/// request (what a response answers).
struct TurnFuzz {
    c: crate::turn::TurnClient,
    tcp: bool,
    last_request: Option<Vec<u8>>,
}

impl TurnFuzz {
    /// Gives `d` to the client as from the server; the first relayed
    /// datagram it yields, if any.
    fn feed(&mut self, at: Instant, d: &[u8]) -> Option<(std::net::SocketAddr, Vec<u8>)> {
        if self.tcp {
            let mut first = None;
            self.c.handle_stream(at, d, |p, data| {
                first.get_or_insert((p, data.to_vec()));
            });
            first
        } else {
            self.c
                .handle_receive(at, d)
                .map(|(p, data)| (p, data.to_vec()))
        }
    }

    /// Takes the client's transmits (keeping the latest STUN request) and
    /// events.
    fn drain(&mut self) {
        while let Some(t) = self.c.poll_transmit() {
            assert_eq!((t.source, t.destination), (TURN_LOCAL, TURN_SERVER));
            if t.contents.first().is_some_and(|b| b & 0xc0 == 0) {
                self.last_request = Some(t.contents);
            }
        }
        while self.c.poll_event().is_some() {}
    }

    /// Walks the client through the 401 dance to an allocation, and sends
    /// to a peer (a permission follows).
    fn allocate(&mut self, now: Instant) {
        use crate::stun::{long_term_key, Attribute, Class, ErrorCode};
        let challenge = self.last_request.as_deref().and_then(|r| {
            let error = Attribute::ErrorCode(ErrorCode {
                code: 401,
                reason: "Unauthorized",
            });
            let attrs = [error, Attribute::Realm("realm"), Attribute::Nonce("nonce")];
            stun_reply(r, Class::Error, &attrs, None)
        });
        if let Some(m) = challenge {
            let _ = self.feed(now, &m);
        }
        self.drain();
        let key = long_term_key("user", "realm", "pass");
        let ok = self.last_request.as_deref().and_then(|r| {
            let attrs = [
                Attribute::XorRelayedAddress(std::net::SocketAddr::from((
                    [198, 51, 100, 1],
                    50000,
                ))),
                Attribute::XorMappedAddress(std::net::SocketAddr::from(([203, 0, 113, 1], 6000))),
                Attribute::Lifetime(600),
            ];
            stun_reply(r, Class::Success, &attrs, Some(&key))
        });
        if let Some(m) = ok {
            let _ = self.feed(now, &m);
        }
        self.c.send(TURN_PEER, b"hello");
        self.drain();
    }
}

/// A response of `class` to the STUN request `req`, with `attrs` and,
/// given a key, MESSAGE-INTEGRITY.
fn stun_reply(
    req: &[u8],
    class: crate::stun::Class,
    attrs: &[crate::stun::Attribute<'_>],
    key: Option<&[u8]>,
) -> Option<Vec<u8>> {
    use crate::stun::{MessageWriter, StunMessage};
    let msg = StunMessage::parse(req).ok()?;
    let mut buf = [0u8; 256];
    let mut w = MessageWriter::new(&mut buf, class, msg.method(), msg.transaction_id()).ok()?;
    for a in attrs {
        w.add(a).ok()?;
    }
    if let Some(k) = key {
        w.add_integrity(k).ok()?;
    }
    let n = w.finish(true).ok()?;
    Some(buf[..n].to_vec())
}

/// Feeds arbitrary datagrams to the mDNS machines: the resolver (waiting
/// for two names) takes each as an answer, the responder (publishing one
/// name) as a query from a one-shot querier and from port 5353, with time
/// passing between them.
pub fn mdns(data: &[u8], now: Instant) {
    use crate::mdns::{MdnsResolver, MdnsResponder};
    use std::net::SocketAddr;
    let mut resolver = MdnsResolver::new();
    resolver.resolve(now, "abc.local");
    resolver.resolve(now, "1f2e3d4c-aaaa-4bbb-8ccc-0123456789ab.local");
    let mut responder = MdnsResponder::new();
    responder.publish("abc.local", std::net::IpAddr::from([10, 0, 0, 1]));
    let one_shot = SocketAddr::from(([192, 168, 1, 2], 40000));
    let multicast = SocketAddr::from(([192, 168, 1, 2], 5353));
    let mut t = now;
    for d in datagrams(data) {
        resolver.handle_receive(d);
        for from in [one_shot, multicast] {
            if let Some((reply, _)) = responder.handle_query(d, from) {
                // Our answers read back as answers.
                resolver.handle_receive(&reply);
            }
        }
        t += Duration::from_millis(300);
        resolver.handle_timeout(t);
        while resolver.poll_transmit().is_some() {}
        while resolver.poll_result().is_some() {}
    }
}

/// Feeds arbitrary RTP payloads to a depacketizer of the codec the first
/// byte picks, with sequence numbers, timestamps and marker bits taken
/// from each datagram's first bytes.
pub fn depacketize(data: &[u8]) {
    use crate::codec::{CodecKind, Depacketizer};
    let (&pick, data) = data.split_first().unwrap_or((&0, &[]));
    let kind = match pick % 6 {
        0 => CodecKind::Vp8,
        1 => CodecKind::H264,
        2 => CodecKind::Vp9,
        3 => CodecKind::H265,
        4 => CodecKind::Av1,
        _ => CodecKind::Opus,
    };
    let mut d = Depacketizer::new(kind);
    // The AV1 Dependency Descriptor too: each datagram parsed with the
    // template structure the last one that carried one left.
    let mut structure = None;
    for p in datagrams(data) {
        if let Ok(dd) = crate::codec::DependencyDescriptor::parse(p, structure.as_ref()) {
            let _ = dd.frame_dependency(structure.as_ref());
            let _ = dd.write(structure.as_ref());
            if dd.structure.is_some() {
                structure = dd.structure;
            }
        }
        let [a, b, c, rest @ ..] = p else { continue };
        let seq = u16::from_be_bytes([*a, *b]);
        let _ = d.push(seq, u32::from(*c >> 1), c & 1 == 1, rest);
    }
}
