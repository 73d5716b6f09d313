//! eddy against OpenSSL's own DTLS 1.2 (a test-only peer over an in-memory
//! datagram pipe), in both roles.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use openssl::pkey::PKey;
use openssl::srtp::SrtpProfileId;
use openssl::ssl::{
    ErrorCode, HandshakeError, MidHandshakeSslStream, Ssl, SslContextBuilder, SslMethod,
    SslOptions, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;

use super::*;
use crate::testutil::epoch;

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

/// One end of a datagram pipe: each write is one datagram, each read takes
/// one (or would block).
#[derive(Debug)]
struct Pipe {
    inbox: Queue,
    outbox: Queue,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inbox.borrow_mut().pop_front() {
            Some(d) => {
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                Ok(n)
            }
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbox.borrow_mut().push_back(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Peer {
    Mid(MidHandshakeSslStream<Pipe>),
    Done(SslStream<Pipe>),
    Empty,
}

fn openssl_peer(cert: &Certificate, server: bool, to_eddy: Queue, from_eddy: Queue) -> Peer {
    let mut ctx = SslContextBuilder::new(SslMethod::dtls()).unwrap();
    ctx.set_max_proto_version(Some(SslVersion::DTLS1_2))
        .unwrap();
    ctx.set_certificate(&X509::from_der(cert.der()).unwrap())
        .unwrap();
    ctx.set_private_key(
        &PKey::from_ec_key(openssl::ec::EcKey::private_key_from_der(&cert.key_der()).unwrap())
            .unwrap(),
    )
    .unwrap();
    ctx.set_cipher_list("ECDHE-ECDSA-AES128-GCM-SHA256")
        .unwrap();
    ctx.set_tlsext_use_srtp("SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80")
        .unwrap();
    // WebRTC authenticates by fingerprint, not by a CA: accept any
    // certificate here and compare fingerprints in the test.
    ctx.set_verify_callback(
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        |_, _| true,
    );
    ctx.set_options(SslOptions::NO_QUERY_MTU);
    let mut ssl = Ssl::new(&ctx.build()).unwrap();
    ssl.set_mtu(1200).unwrap();
    let pipe = Pipe {
        inbox: from_eddy,
        outbox: to_eddy,
    };
    let r = if server {
        ssl.accept(pipe)
    } else {
        ssl.connect(pipe)
    };
    match r {
        Ok(s) => Peer::Done(s),
        Err(HandshakeError::WouldBlock(m)) => Peer::Mid(m),
        Err(e) => panic!("openssl handshake: {e}"),
    }
}

/// An eddy DTLS 1.2 transport in `role`, not started yet, with its
/// certificate and the one it expects (the OpenSSL peer's), and the queues
/// towards and from it.
fn eddy_transport(role: DtlsRole) -> (DtlsTransport, Certificate, Certificate, Queue, Queue) {
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let ours =
        Certificate::generate(KeyAlgorithm::EcdsaP256, wall, DEFAULT_CERTIFICATE_LIFETIME).unwrap();
    let theirs =
        Certificate::generate(KeyAlgorithm::EcdsaP256, wall, DEFAULT_CERTIFICATE_LIFETIME).unwrap();
    let mut eddy = DtlsTransport::new(
        dtls_config(1200, None).unwrap(),
        &ours,
        role,
        DtlsVersion::Dtls12,
        None,
        epoch(),
    );
    eddy.set_remote_fingerprints(vec![theirs.fingerprint()]);
    (eddy, ours, theirs, Rc::default(), Rc::default())
}

/// What eddy has to send, into `q`.
fn flush(eddy: &mut DtlsTransport, q: &Queue) {
    while let Some(d) = eddy.poll_transmit() {
        q.borrow_mut().push_back(d);
    }
}

fn run(eddy_role: DtlsRole) {
    let (mut eddy, ours, theirs, to_eddy, from_eddy) = eddy_transport(eddy_role);
    eddy.start(epoch());
    flush(&mut eddy, &from_eddy);
    let mut peer = openssl_peer(
        &theirs,
        eddy_role == DtlsRole::Client,
        to_eddy.clone(),
        from_eddy.clone(),
    );
    let mut keys = None;
    for _ in 0..50 {
        peer = match peer {
            Peer::Mid(m) => match m.handshake() {
                Ok(s) => Peer::Done(s),
                Err(HandshakeError::WouldBlock(m)) => Peer::Mid(m),
                Err(e) => panic!("openssl handshake: {e}"),
            },
            other => other,
        };
        let incoming: Vec<Vec<u8>> = to_eddy.borrow_mut().drain(..).collect();
        for d in incoming {
            eddy.handle_receive(epoch(), &d);
        }
        flush(&mut eddy, &from_eddy);
        while let Some(e) = eddy.poll_event() {
            if let DtlsEvent::SrtpReady(p) = e {
                let material = eddy.srtp_keying_material().expect("keys once ready");
                keys = Some((p, material.to_vec()));
            }
        }
        if matches!(peer, Peer::Done(_)) && eddy.state() == DtlsTransportState::Connected {
            break;
        }
    }
    assert_eq!(eddy.state(), DtlsTransportState::Connected, "{eddy_role:?}");
    let Peer::Done(mut stream) = std::mem::replace(&mut peer, Peer::Empty) else {
        panic!("OpenSSL did not finish the handshake");
    };
    // Both sides export the same DTLS-SRTP keys (RFC 5764 §4.2).
    let (profile, key) = keys.expect("keys exported");
    assert_eq!(
        stream.ssl().selected_srtp_profile().map(|p| p.id()),
        Some(match profile {
            crate::srtp::SrtpProfile::AeadAes128Gcm => SrtpProfileId::SRTP_AEAD_AES_128_GCM,
            _ => SrtpProfileId::SRTP_AES128_CM_SHA1_80,
        })
    );
    let mut theirs_km = vec![0u8; key.len()];
    stream
        .ssl()
        .export_keying_material(&mut theirs_km, "EXTRACTOR-dtls_srtp", None)
        .unwrap();
    assert_eq!(theirs_km, key);
    // The peer's certificate is the one eddy pinned, and vice versa.
    assert_eq!(eddy.remote_certificate(), Some(theirs.der()));
    assert_eq!(
        stream.ssl().peer_certificate().unwrap().to_der().unwrap(),
        ours.der()
    );
    // Application data both ways.
    eddy.send(b"from eddy").unwrap();
    flush(&mut eddy, &from_eddy);
    let mut buf = [0u8; 100];
    let n = stream.ssl_read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"from eddy");
    stream.ssl_write(b"from openssl").unwrap();
    for d in to_eddy.borrow_mut().drain(..) {
        eddy.handle_receive(epoch(), &d);
    }
    let mut got = Vec::new();
    while let Some(e) = eddy.poll_event() {
        if let DtlsEvent::Data(d) = e {
            got.push(d);
        }
    }
    assert_eq!(got, vec![b"from openssl".to_vec()]);
    // eddy's close_notify reaches OpenSSL.
    eddy.close();
    flush(&mut eddy, &from_eddy);
    let r = stream.ssl_read(&mut buf);
    assert!(
        matches!(r, Err(ref e) if e.code() == ErrorCode::ZERO_RETURN) || matches!(r, Ok(0)),
        "{r:?}"
    );
}

#[test]
fn eddy_client_against_openssl_server() {
    run(DtlsRole::Client);
}

#[test]
fn eddy_server_against_openssl_client() {
    run(DtlsRole::Server);
}

/// DTLS False Start (third_party/dimpl/EDDY-PATCH.md 20): eddy's client
/// sends application data with its Finished, before OpenSSL's Finished
/// arrived; OpenSSL, which implements no False Start itself, reads it once
/// its handshake completes.
#[test]
fn openssl_server_reads_eddys_false_start_data() {
    let (mut eddy, _, theirs, to_eddy, from_eddy) = eddy_transport(DtlsRole::Client);
    // Refused before the client's Finished.
    assert_eq!(
        eddy.send(b"too early"),
        Err(transport::DtlsSendError::NotConnected)
    );
    eddy.start(epoch());
    flush(&mut eddy, &from_eddy);
    let mut peer = openssl_peer(&theirs, true, to_eddy.clone(), from_eddy.clone());
    // OpenSSL answered the ClientHello; eddy answers with its Finished.
    let Peer::Mid(m) = std::mem::replace(&mut peer, Peer::Empty) else {
        panic!("OpenSSL finished without the client's flight");
    };
    for d in to_eddy.borrow_mut().drain(..) {
        eddy.handle_receive(epoch(), &d);
    }
    let events: Vec<DtlsEvent> = std::iter::from_fn(|| eddy.poll_event()).collect();
    assert!(events.contains(&DtlsEvent::FalseStart), "{events:?}");
    assert_eq!(eddy.state(), DtlsTransportState::Connecting);
    eddy.send(b"with the Finished").unwrap();
    flush(&mut eddy, &from_eddy);
    let mut stream = m.handshake().expect("OpenSSL completes on the Finished");
    let mut buf = [0u8; 100];
    let n = stream.ssl_read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"with the Finished");
    // OpenSSL's Finished completes eddy's side.
    for d in to_eddy.borrow_mut().drain(..) {
        eddy.handle_receive(epoch(), &d);
    }
    assert_eq!(eddy.state(), DtlsTransportState::Connected);
    eddy.send(b"after").unwrap();
    flush(&mut eddy, &from_eddy);
    let n = stream.ssl_read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"after");
}

/// No False Start towards a server whose certificate does not match the
/// remote fingerprint (RFC 7918 §4 leaves authenticating the server to the
/// caller): eddy fails at the server's flight, raises no
/// `DtlsEvent::FalseStart`, refuses to send, and sends no record of
/// application data.
#[test]
fn no_false_start_to_a_server_that_does_not_match() {
    let (mut eddy, _, theirs, to_eddy, from_eddy) = eddy_transport(DtlsRole::Client);
    let mut wrong = theirs.fingerprint();
    wrong.bytes.iter_mut().for_each(|b| *b ^= 0xff);
    eddy.set_remote_fingerprints(vec![wrong]);
    eddy.start(epoch());
    flush(&mut eddy, &from_eddy);
    let _peer = openssl_peer(&theirs, true, to_eddy.clone(), from_eddy.clone());
    for d in to_eddy.borrow_mut().drain(..) {
        eddy.handle_receive(epoch(), &d);
    }
    let events: Vec<DtlsEvent> = std::iter::from_fn(|| eddy.poll_event()).collect();
    assert!(!events.contains(&DtlsEvent::FalseStart), "{events:?}");
    assert_eq!(eddy.state(), DtlsTransportState::Failed);
    assert!(eddy.send(b"secret").is_err());
    from_eddy.borrow_mut().clear();
    flush(&mut eddy, &from_eddy);
    // RFC 6347 §4.1: content type 23 is application data.
    assert!(from_eddy.borrow().iter().all(|d| d.first() != Some(&23)));
}
