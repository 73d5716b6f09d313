//! The client against a scripted server: the long-term credential dance,
//! stale nonces, wrong passwords, timeouts, the send and receive paths,
//! refreshes and deallocation.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::rng::Rng;
use crate::stun::{long_term_key, Attribute, Class, ErrorCode, MessageWriter, Method, StunMessage};
use crate::testutil::epoch;

const SERVER: &str = "198.51.100.1:3478";
const LOCAL: &str = "192.168.1.2:5000";
const RELAYED: &str = "198.51.100.1:50000";
const MAPPED: &str = "203.0.113.9:6000";
const PEER: &str = "192.0.2.7:7000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn key() -> [u8; 16] {
    long_term_key("user", "realm", "pass")
}

fn client(password: &str) -> TurnClient {
    TurnClient::new(
        addr(SERVER),
        addr(LOCAL),
        "user",
        password,
        Rng::from_seed(3),
        epoch(),
    )
}

/// Every datagram the client queued, parsed as STUN where it is.
fn sent(c: &mut TurnClient) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| c.poll_transmit())
        .map(|t| {
            assert_eq!((t.source, t.destination), (addr(LOCAL), addr(SERVER)));
            t.contents
        })
        .collect()
}

fn respond(req: &[u8], class: Class, attrs: &[Attribute<'_>], key: Option<&[u8]>) -> Vec<u8> {
    let msg = StunMessage::parse(req).unwrap();
    let mut buf = [0u8; 512];
    let mut w = MessageWriter::new(&mut buf, class, msg.method(), msg.transaction_id()).unwrap();
    for a in attrs {
        w.add(a).unwrap();
    }
    if let Some(k) = key {
        w.add_integrity(k).unwrap();
    }
    let n = w.finish(true).unwrap();
    buf[..n].to_vec()
}

fn challenge(req: &[u8], code: u16) -> Vec<u8> {
    respond(
        req,
        Class::Error,
        &[
            Attribute::ErrorCode(ErrorCode {
                code,
                reason: "Unauthorized",
            }),
            Attribute::Realm("realm"),
            Attribute::Nonce("nonce-1"),
        ],
        None,
    )
}

/// Drives the client to an allocation; returns the time.
fn allocate(c: &mut TurnClient) -> Instant {
    let now = epoch();
    let first = sent(c).pop().unwrap();
    let m = StunMessage::parse(&first).unwrap();
    assert_eq!((m.class(), m.method()), (Class::Request, Method::ALLOCATE));
    assert!(
        !m.has_integrity(),
        "the first Allocate carries no credentials"
    );
    assert!(m
        .attributes()
        .any(|a| a == Attribute::RequestedTransport(17)));
    assert!(c.handle_receive(now, &challenge(&first, 401)).is_none());
    let second = sent(c).pop().unwrap();
    let m = StunMessage::parse(&second).unwrap();
    assert_eq!(m.username(), Some("user"));
    assert_eq!(m.check_integrity(&key()), crate::stun::Integrity::Valid);
    let ok = respond(
        &second,
        Class::Success,
        &[
            Attribute::XorRelayedAddress(addr(RELAYED)),
            Attribute::XorMappedAddress(addr(MAPPED)),
            Attribute::Lifetime(600),
        ],
        Some(&key()),
    );
    c.handle_receive(now, &ok);
    assert_eq!(
        c.poll_event(),
        Some(TurnEvent::Allocated {
            relayed: addr(RELAYED),
            mapped: Some(addr(MAPPED))
        })
    );
    assert_eq!(c.relayed(), Some(addr(RELAYED)));
    now
}

#[test]
fn allocate_with_the_401_dance() {
    let mut c = client("pass");
    allocate(&mut c);
    // Refresh is scheduled a minute before the 10 minutes end.
    assert_eq!(c.poll_timeout(), Some(epoch() + Duration::from_secs(540)));
}

#[test]
fn an_unauthenticated_success_is_dropped() {
    let mut c = client("pass");
    let first = sent(&mut c).pop().unwrap();
    c.handle_receive(epoch(), &challenge(&first, 401));
    let second = sent(&mut c).pop().unwrap();
    let forged = respond(
        &second,
        Class::Success,
        &[Attribute::XorRelayedAddress(addr(RELAYED))],
        Some(b"wrong"),
    );
    c.handle_receive(epoch(), &forged);
    assert_eq!(c.relayed(), None);
    assert_eq!(c.stats().dropped, 1);
    let unsigned = respond(
        &second,
        Class::Success,
        &[Attribute::XorRelayedAddress(addr(RELAYED))],
        None,
    );
    c.handle_receive(epoch(), &unsigned);
    assert_eq!(c.relayed(), None);
    assert_eq!(c.poll_event(), None);
}

#[test]
fn wrong_password_fails_once_and_stops() {
    let mut c = client("wrong");
    let first = sent(&mut c).pop().unwrap();
    c.handle_receive(epoch(), &challenge(&first, 401));
    let second = sent(&mut c).pop().unwrap();
    c.handle_receive(epoch(), &challenge(&second, 401));
    assert!(matches!(
        c.poll_event(),
        Some(TurnEvent::Failed { code: 401, .. })
    ));
    assert!(c.is_done());
    assert_eq!(c.poll_timeout(), None, "timers stop");
    assert!(sent(&mut c).is_empty());
}

#[test]
fn stale_nonce_is_retried_with_the_new_nonce_bounded() {
    let mut c = client("pass");
    let first = sent(&mut c).pop().unwrap();
    c.handle_receive(epoch(), &challenge(&first, 401));
    let mut req = sent(&mut c).pop().unwrap();
    for _ in 0..MAX_STALE_NONCE_RETRIES {
        let stale = respond(
            &req,
            Class::Error,
            &[
                Attribute::ErrorCode(ErrorCode {
                    code: 438,
                    reason: "Stale Nonce",
                }),
                Attribute::Realm("realm"),
                Attribute::Nonce("nonce-2"),
            ],
            None,
        );
        c.handle_receive(epoch(), &stale);
        req = sent(&mut c).pop().expect("retried");
        let m = StunMessage::parse(&req).unwrap();
        assert!(m.attributes().any(|a| a == Attribute::Nonce("nonce-2")));
    }
    c.handle_receive(epoch(), &challenge(&req, 438));
    assert!(matches!(
        c.poll_event(),
        Some(TurnEvent::Failed { code: 438, .. })
    ));
}

#[test]
fn an_unreachable_server_gives_up_after_rfc_8489_timeouts() {
    let mut c = client("pass");
    let mut now = epoch();
    let mut sends = sent(&mut c).len();
    while let Some(t) = c.poll_timeout() {
        now = t;
        c.handle_timeout(now);
        sends += sent(&mut c).len();
    }
    assert_eq!(sends, 7);
    assert_eq!(now - epoch(), Duration::from_millis(39_500));
    assert!(matches!(
        c.poll_event(),
        Some(TurnEvent::Failed {
            code: UNREACHABLE,
            ..
        })
    ));
}

#[test]
fn garbage_from_the_server_is_dropped() {
    let mut c = client("pass");
    for g in [
        &b""[..],
        &[0x40],
        &[0x40, 0, 0, 1, 9],
        &[0, 1, 0, 0],
        &[0xff; 40],
    ] {
        assert!(c.handle_receive(epoch(), g).is_none());
    }
    assert_eq!(c.relayed(), None);
    assert!(c.poll_event().is_none());
}

#[test]
fn data_waits_for_the_permission_then_goes_as_send_then_channel_data() {
    let mut c = client("pass");
    let now = allocate(&mut c);
    c.send(addr(PEER), b"early");
    let out = sent(&mut c);
    assert_eq!(out.len(), 1, "only the CreatePermission: the data waits");
    let perm = StunMessage::parse(&out[0]).unwrap();
    assert_eq!(perm.method(), Method::CREATE_PERMISSION);
    let ok = respond(&out[0], Class::Success, &[], Some(&key()));
    c.handle_receive(now, &ok);
    let out = sent(&mut c);
    // The waiting data as a Send indication, and a ChannelBind.
    let methods: Vec<(Class, Method)> = out
        .iter()
        .map(|d| {
            let m = StunMessage::parse(d).unwrap();
            (m.class(), m.method())
        })
        .collect();
    assert!(
        methods.contains(&(Class::Indication, Method::SEND)),
        "{methods:?}"
    );
    let bind = out
        .iter()
        .find(|d| StunMessage::parse(d).unwrap().method() == Method::CHANNEL_BIND)
        .unwrap();
    let bm = StunMessage::parse(bind).unwrap();
    assert!(bm
        .attributes()
        .any(|a| a == Attribute::ChannelNumber(0x4000)));
    c.handle_receive(now, &respond(bind, Class::Success, &[], Some(&key())));
    c.send(addr(PEER), b"fast");
    let out = sent(&mut c);
    assert_eq!(out, vec![channel_data::to_vec(0x4000, b"fast").unwrap()]);
    // Receive: ChannelData on the bound channel, a Data indication from a
    // permitted peer; not from others.
    let cd = channel_data::to_vec(0x4000, b"back").unwrap();
    assert_eq!(c.handle_receive(now, &cd), Some((addr(PEER), &b"back"[..])));
    assert!(c
        .handle_receive(now, &channel_data::to_vec(0x4001, b"x").unwrap())
        .is_none());
    let data_ind = |peer: &str| {
        let mut buf = [0u8; 128];
        let mut w = MessageWriter::new(
            &mut buf,
            Class::Indication,
            Method::DATA,
            crate::stun::TransactionId([5; 12]),
        )
        .unwrap();
        w.add(&Attribute::XorPeerAddress(addr(peer))).unwrap();
        w.add(&Attribute::Data(b"ind")).unwrap();
        let n = w.finish(false).unwrap();
        buf[..n].to_vec()
    };
    let d = data_ind("192.0.2.7:9999");
    assert_eq!(
        c.handle_receive(now, &d),
        Some((addr("192.0.2.7:9999"), &b"ind"[..]))
    );
    assert!(c.handle_receive(now, &data_ind("192.0.2.8:7000")).is_none());
}

#[test]
fn refreshes_keep_the_allocation_and_close_deallocates() {
    let mut c = client("pass");
    allocate(&mut c);
    let mut now = epoch();
    // Three refresh cycles, answered.
    for _ in 0..3 {
        let t = c.poll_timeout().unwrap();
        now = t;
        c.handle_timeout(now);
        let req = sent(&mut c).pop().expect("a Refresh");
        let m = StunMessage::parse(&req).unwrap();
        assert_eq!(m.method(), Method::REFRESH);
        c.handle_receive(
            now,
            &respond(
                &req,
                Class::Success,
                &[Attribute::Lifetime(600)],
                Some(&key()),
            ),
        );
    }
    assert_eq!(now - epoch(), Duration::from_secs(3 * 540));
    assert_eq!(c.stats().refreshes, 3);
    assert!(c.relayed().is_some());
    c.close();
    let out = sent(&mut c);
    assert_eq!(out.len(), 1);
    let m = StunMessage::parse(&out[0]).unwrap();
    assert_eq!(m.method(), Method::REFRESH);
    assert!(m.attributes().any(|a| a == Attribute::Lifetime(0)));
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn an_unanswered_refresh_loses_the_allocation() {
    let mut c = client("pass");
    allocate(&mut c);
    while let Some(t) = c.poll_timeout() {
        c.handle_timeout(t);
        let _ = sent(&mut c);
    }
    assert!(matches!(
        c.poll_event(),
        Some(TurnEvent::Failed {
            code: UNREACHABLE,
            ..
        })
    ));
    assert_eq!(c.relayed(), None);
}

/// Answers every request in `out` with a success signed with the key.
fn answer_all(c: &mut TurnClient, now: Instant, out: &[Vec<u8>]) {
    for d in out {
        if let Ok(m) = StunMessage::parse(d) {
            if m.class() == Class::Request {
                let ok = respond(d, Class::Success, &[Attribute::Lifetime(600)], Some(&key()));
                c.handle_receive(now, &ok);
            }
        }
    }
}

fn methods(out: &[Vec<u8>]) -> Vec<(Class, Method)> {
    out.iter()
        .filter_map(|d| StunMessage::parse(d).ok())
        .map(|m| (m.class(), m.method()))
        .collect()
}

#[test]
fn permissions_in_use_are_refreshed_and_idle_ones_lapse() {
    let mut c = client("pass");
    let mut now = allocate(&mut c);
    let idle: SocketAddr = addr("192.0.2.9:9000");
    for p in [addr(PEER), idle] {
        c.send(p, b"hi");
        let out = sent(&mut c);
        answer_all(&mut c, now, &out);
        let out = sent(&mut c);
        answer_all(&mut c, now, &out);
    }
    let _ = sent(&mut c);
    // Four minutes of sending to PEER only, a datagram every 30 s.
    let mut refreshed = Vec::new();
    while now - epoch() < Duration::from_secs(250) {
        now += Duration::from_secs(30);
        c.handle_timeout(now);
        c.send(addr(PEER), b"tick");
        let out = sent(&mut c);
        refreshed.extend(methods(&out));
        answer_all(&mut c, now, &out);
    }
    assert!(
        refreshed.contains(&(Class::Request, Method::CREATE_PERMISSION)),
        "{refreshed:?}"
    );
    let perms = refreshed
        .iter()
        .filter(|m| m.1 == Method::CREATE_PERMISSION)
        .count();
    assert_eq!(perms, 1, "only the peer in use: {refreshed:?}");
    // The idle peer's permission lapsed: its data is no longer accepted.
    let mut buf = [0u8; 128];
    let mut w = MessageWriter::new(
        &mut buf,
        Class::Indication,
        Method::DATA,
        crate::stun::TransactionId([1; 12]),
    )
    .unwrap();
    w.add(&Attribute::XorPeerAddress(idle)).unwrap();
    w.add(&Attribute::Data(b"late")).unwrap();
    let n = w.finish(false).unwrap();
    assert!(c.handle_receive(now, &buf[..n]).is_none());
}

#[test]
fn a_refused_channel_falls_back_to_send_indications() {
    let mut c = client("pass");
    let now = allocate(&mut c);
    c.send(addr(PEER), b"one");
    let out = sent(&mut c);
    answer_all(&mut c, now, &out);
    let out = sent(&mut c);
    let bind = out
        .iter()
        .find(|d| StunMessage::parse(d).is_ok_and(|m| m.method() == Method::CHANNEL_BIND))
        .unwrap();
    let refused = respond(
        bind,
        Class::Error,
        &[Attribute::ErrorCode(ErrorCode {
            code: 400,
            reason: "Bad Request",
        })],
        Some(&key()),
    );
    c.handle_receive(now, &refused);
    c.send(addr(PEER), b"two");
    let out = sent(&mut c);
    assert_eq!(methods(&out), vec![(Class::Indication, Method::SEND)]);
    assert!(
        c.relayed().is_some(),
        "a refused channel keeps the allocation"
    );
}

#[test]
fn data_waiting_for_a_permission_is_bounded() {
    let mut c = client("pass");
    let now = allocate(&mut c);
    for i in 0..MAX_QUEUED + 4 {
        c.send(addr(PEER), &[i as u8]);
    }
    let out = sent(&mut c);
    assert_eq!(out.len(), 1, "one CreatePermission");
    assert_eq!(c.stats().data_dropped, 4);
    answer_all(&mut c, now, &out);
    let out = sent(&mut c);
    let sends = methods(&out)
        .iter()
        .filter(|m| **m == (Class::Indication, Method::SEND))
        .count();
    assert_eq!(sends, MAX_QUEUED, "the newest ones went out");
    // Another family, or before an allocation: dropped.
    c.send(addr("[2001:db8::1]:5000"), b"v6");
    assert!(sent(&mut c).is_empty());
    let mut fresh = client("pass");
    let _ = sent(&mut fresh);
    fresh.send(addr(PEER), b"too early");
    assert!(sent(&mut fresh).is_empty());
    assert_eq!(fresh.stats().data_dropped, 1);
}

/// Over TCP (RFC 8656 §3.1): the 401 and the success come in pieces and
/// together in one chunk, requests are not retransmitted (RFC 8489
/// §6.2.2), ChannelData goes out padded to four bytes and comes back
/// unpadded after its padding is skipped (§12.5), and a stream that is
/// not TURN fails the allocation instead of growing.
#[test]
fn over_tcp_messages_are_framed_by_their_lengths_and_not_retransmitted() {
    use crate::io::Protocol;
    let now = epoch();
    let mut c = TurnClient::with_transport(
        addr(SERVER),
        addr(LOCAL),
        Protocol::Tcp,
        "user",
        "pass",
        Rng::from_seed(3),
        now,
    );
    let t = c.poll_transmit().unwrap();
    assert_eq!(t.proto, Protocol::Tcp);
    let first = t.contents;
    // No retransmission within 30 s (UDP would have sent six more).
    c.handle_timeout(now + Duration::from_secs(30));
    assert!(c.poll_transmit().is_none());
    // The 401 in three pieces.
    let ch = challenge(&first, 401);
    let mut delivered = Vec::new();
    for piece in [&ch[..3], &ch[3..25], &ch[25..]] {
        c.handle_stream(now, piece, |p, d| delivered.push((p, d.to_vec())));
    }
    let second = c.poll_transmit().unwrap().contents;
    assert!(StunMessage::parse(&second).unwrap().has_integrity());
    let ok = respond(
        &second,
        Class::Success,
        &[
            Attribute::XorRelayedAddress(addr(RELAYED)),
            Attribute::XorMappedAddress(addr(MAPPED)),
            Attribute::Lifetime(600),
        ],
        Some(&key()),
    );
    c.handle_stream(now, &ok, |p, d| delivered.push((p, d.to_vec())));
    assert_eq!(c.relayed(), Some(addr(RELAYED)));
    // Permission, then the channel (and the data as a Send indication
    // meanwhile), then a 5-byte send padded to 12.
    c.send(addr(PEER), b"hello");
    let find = |out: &[Vec<u8>], method| {
        out.iter()
            .find(|d| StunMessage::parse(d).is_ok_and(|m| m.method() == method))
            .cloned()
            .unwrap()
    };
    let out: Vec<Vec<u8>> = std::iter::from_fn(|| c.poll_transmit())
        .map(|t| t.contents)
        .collect();
    let perm = find(&out, Method::CREATE_PERMISSION);
    c.handle_stream(
        now,
        &respond(&perm, Class::Success, &[], Some(&key())),
        |p, d| delivered.push((p, d.to_vec())),
    );
    let out: Vec<Vec<u8>> = std::iter::from_fn(|| c.poll_transmit())
        .map(|t| t.contents)
        .collect();
    let bind = find(&out, Method::CHANNEL_BIND);
    // A response and garbage-free padding-less STUN back to back: the bind
    // success and a duplicate of it in one chunk.
    let mut both = respond(&bind, Class::Success, &[], Some(&key()));
    both.extend(respond(&bind, Class::Success, &[], Some(&key())));
    c.handle_stream(now, &both, |p, d| delivered.push((p, d.to_vec())));
    c.send(addr(PEER), b"hello");
    let cd = c.poll_transmit().unwrap().contents;
    assert_eq!(cd.len(), 12);
    assert_eq!(
        &cd[..9],
        &[0x40, 0x00, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o']
    );
    // Two ChannelData back to back, padded, split mid-message.
    let mut stream = vec![0u8; 12];
    channel_data::write(0x4000, b"back!", true, &mut stream).unwrap();
    let mut second_cd = vec![0u8; 8];
    channel_data::write(0x4000, b"ok", true, &mut second_cd).unwrap();
    stream.extend(second_cd);
    c.handle_stream(now, &stream[..14], |p, d| delivered.push((p, d.to_vec())));
    c.handle_stream(now, &stream[14..], |p, d| delivered.push((p, d.to_vec())));
    assert_eq!(
        delivered,
        vec![
            (addr(PEER), b"back!".to_vec()),
            (addr(PEER), b"ok".to_vec())
        ]
    );
    // One read may hold far more than the longest message: 100 whole
    // ChannelData messages of 1,000 bytes (100 KB) in one chunk, and the
    // start of one more, all taken.
    let mut burst = Vec::new();
    for i in 0..101u8 {
        let mut one = vec![0u8; 1004];
        channel_data::write(0x4000, &[i; 1000], true, &mut one).unwrap();
        burst.extend(one);
    }
    delivered.clear();
    c.handle_stream(now, &burst[..burst.len() - 500], |p, d| {
        delivered.push((p, d.to_vec()))
    });
    assert!(!c.is_done());
    assert_eq!(delivered.len(), 100);
    assert_eq!(delivered[99].1, vec![99u8; 1000]);
    c.handle_stream(now, &burst[burst.len() - 500..], |p, d| {
        delivered.push((p, d.to_vec()))
    });
    assert_eq!(delivered.len(), 101);
    // Not TURN: a first byte no TURN message has fails the allocation at
    // once, with nothing held.
    c.handle_stream(now, &[0xff; 1000], |_, _| panic!("not data"));
    assert!(c.is_done());
    assert!(c.stream.is_empty());
}

/// A self-signed certificate naming `ip`, and its key.
fn certificate_for(
    ip: std::net::IpAddr,
) -> (
    openssl::x509::X509,
    openssl::pkey::PKey<openssl::pkey::Private>,
) {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509NameBuilder, X509};
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "turn test").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .ip(&ip.to_string())
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (b.build(), key)
}

/// The server's end of an in-memory TLS connection.
#[derive(Default)]
struct Wire {
    input: Vec<u8>,
    output: Vec<u8>,
}

impl std::io::Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.input.is_empty() {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        Ok(n)
    }
}

impl std::io::Write for Wire {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the TLS handshake between `c` and a server with `cert`; returns
/// the server's stream once the client's first plaintext arrived (or the
/// client failed).
fn tls_server(
    c: &mut TurnClient,
    cert: &openssl::x509::X509,
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
) -> openssl::ssl::SslStream<Wire> {
    use openssl::ssl::{Ssl, SslAcceptor, SslMethod};
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acceptor.set_certificate(cert).unwrap();
    acceptor.set_private_key(key).unwrap();
    let acceptor = acceptor.build();
    let mut ssl = Ssl::new(acceptor.context()).unwrap();
    ssl.set_accept_state();
    let mut server = openssl::ssl::SslStream::new(ssl, Wire::default()).unwrap();
    let now = epoch();
    for _ in 0..10 {
        while let Some(t) = c.poll_transmit() {
            assert_eq!(t.proto, crate::io::Protocol::Tcp);
            server.get_mut().input.extend(t.contents);
        }
        let _ = server.do_handshake();
        let out = std::mem::take(&mut server.get_mut().output);
        if !out.is_empty() {
            c.handle_stream(now, &out, |_, _| {});
        }
        if c.is_done() {
            break;
        }
    }
    server
}

/// `turns:` (RFC 8656 §3.1): the client checks the server's certificate
/// (trusted root, the server's IP named), sends its Allocate inside TLS
/// once the handshake is done, and takes the server's answer from TLS
/// records; an untrusted certificate fails the allocation with 701.
#[test]
fn over_tls_the_certificate_is_checked_and_turn_runs_inside() {
    let ip = addr(SERVER).ip();
    let (cert, pkey) = certificate_for(ip);
    let pem = cert.to_pem().unwrap();
    let now = epoch();
    let mut c = TurnClient::with_tls(
        addr(SERVER),
        addr(LOCAL),
        &[pem],
        "user",
        "pass",
        Rng::from_seed(3),
        now,
    );
    let mut server = tls_server(&mut c, &cert, &pkey);
    assert!(!c.is_done());
    let mut buf = [0u8; 2048];
    let n = server.ssl_read(&mut buf).expect("the Allocate, decrypted");
    let m = StunMessage::parse(&buf[..n]).unwrap();
    assert_eq!(m.method(), Method::ALLOCATE);
    // The 401 back inside TLS: the client answers with credentials.
    server.ssl_write(&challenge(&buf[..n], 401)).unwrap();
    let records = std::mem::take(&mut server.get_mut().output);
    c.handle_stream(now, &records, |_, _| {});
    let t = c.poll_transmit().expect("the authenticated Allocate");
    server.get_mut().input.extend(t.contents);
    let n = server.ssl_read(&mut buf).unwrap();
    let m = StunMessage::parse(&buf[..n]).unwrap();
    assert_eq!(m.check_integrity(&key()), crate::stun::Integrity::Valid);

    // A certificate nobody trusts (the same one, not given as a root).
    let mut untrusted = TurnClient::with_tls(
        addr(SERVER),
        addr(LOCAL),
        &[],
        "user",
        "pass",
        Rng::from_seed(4),
        now,
    );
    let _ = tls_server(&mut untrusted, &cert, &pkey);
    assert!(untrusted.is_done());
    match untrusted.poll_event() {
        Some(TurnEvent::Failed { code, reason }) => {
            assert_eq!(code, 701);
            assert!(reason.contains("certificate"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A trusted certificate that names another IP.
    let (other_cert, other_key) = certificate_for("192.0.2.99".parse().unwrap());
    let mut wrong_ip = TurnClient::with_tls(
        addr(SERVER),
        addr(LOCAL),
        &[other_cert.to_pem().unwrap()],
        "user",
        "pass",
        Rng::from_seed(5),
        now,
    );
    let _ = tls_server(&mut wrong_ip, &other_cert, &other_key);
    assert!(wrong_ip.is_done());
}
