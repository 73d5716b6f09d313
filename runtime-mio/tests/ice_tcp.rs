//! Passive ICE-TCP through the mio driver: a client opens a TCP connection
//! to the peer's passive candidate, sends an RFC 4571-framed, authenticated
//! binding request, and gets a framed success response back.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use eddy::{Configuration, DataChannelInit, PeerConnection, Protocol};
use eddy_mio::Builder;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

fn attr(out: &mut Vec<u8>, typ: u16, value: &[u8]) {
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// A binding request (RFC 8489) with USERNAME, PRIORITY, ICE-CONTROLLING
/// and MESSAGE-INTEGRITY keyed with `pwd`.
fn binding_request(username: &str, pwd: &str) -> Vec<u8> {
    let mut m = vec![0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&[9; 12]);
    attr(&mut m, 0x0006, username.as_bytes());
    attr(&mut m, 0x0024, &0x6e00_01ffu32.to_be_bytes());
    attr(&mut m, 0x802a, &7u64.to_be_bytes());
    // RFC 8489 §14.5: the length covers MESSAGE-INTEGRITY when hashing.
    let len = (m.len() - 20 + 24) as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    let key = PKey::hmac(pwd.as_bytes()).expect("key");
    let mut signer = Signer::new(MessageDigest::sha1(), &key).expect("signer");
    signer.update(&m).expect("hmac");
    let mac = signer.sign_to_vec().expect("hmac");
    attr(&mut m, 0x0008, &mac);
    m
}

fn sdp_value(sdp: &str, key: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix(key))
        .expect("attribute")
        .trim()
        .to_owned()
}

#[test]
fn a_framed_check_on_a_passive_tcp_candidate_is_answered() {
    let mut driver = Builder::default()
        .ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .ice_tcp(true)
        .build()
        .expect("bind");
    let tcp: SocketAddr = driver
        .host_candidates()
        .iter()
        .find(|(_, p)| *p == Protocol::Tcp)
        .map(|(a, _)| *a)
        .expect("a passive TCP candidate");
    // The remote side only has to produce an offer.
    let mut offerer = PeerConnection::new(Configuration::default(), Instant::now()).expect("pc");
    offerer
        .create_data_channel("x", &DataChannelInit::default())
        .expect("channel");
    let offer = offerer.create_offer().expect("offer");
    offerer.set_local_description(offer.clone()).expect("sld");
    let mut pc = PeerConnection::new(Configuration::default(), Instant::now()).expect("pc");
    pc.set_remote_description(offer.clone()).expect("srd");
    let answer = pc.create_answer().expect("answer");
    pc.set_local_description(answer.clone()).expect("sld");
    driver.add_peer(pc).expect("peer");
    let local = pc_ufrag_pwd(&answer.sdp);
    let remote_ufrag = sdp_value(&offer.sdp, "a=ice-ufrag:");
    assert!(
        driver
            .endpoint()
            .peer_ids()
            .filter_map(|id| driver.endpoint().peer(id))
            .any(|p| p
                .local_description()
                .is_some_and(|d| d.sdp.contains("tcptype passive"))),
        "the answer offers the passive TCP candidate"
    );

    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(tcp).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let request = binding_request(&format!("{}:{remote_ufrag}", local.0), &local.1);
        let mut framed = (request.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&request);
        // Split the frame across two writes: the driver must reassemble.
        stream.write_all(&framed[..7]).expect("write");
        std::thread::sleep(Duration::from_millis(50));
        stream.write_all(&framed[7..]).expect("write");
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).expect("framed response");
        let mut response = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut response).expect("response");
        response
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !client.is_finished() && Instant::now() < deadline {
        driver.poll(Some(Duration::from_millis(20))).expect("poll");
    }
    let response = client.join().expect("client");
    // A Binding success response, same transaction.
    assert_eq!(&response[..2], &[0x01, 0x01]);
    assert_eq!(&response[8..20], &[9; 12]);
}

fn pc_ufrag_pwd(sdp: &str) -> (String, String) {
    (sdp_value(sdp, "a=ice-ufrag:"), sdp_value(sdp, "a=ice-pwd:"))
}
