//! Chaos: the peer's process restarts and a fresh `PeerConnection` on the
//! same address sends a new DTLS ClientHello into a live association (B,
//! the answerer, is the DTLS client; A the server). The live side must not
//! crash. The ClientHello is a real one, taken from a fresh answerer
//! driven by hand against a fresh offerer.
//!
//! Expected and checked: A ignores it. Its DTLS layer (dimpl) discards a
//! ClientHello once the handshake is over (RFC 6347 §4.2.8 lets a server
//! take a new handshake from a known address only "if it is able"; the
//! new peer would also need a new fingerprint, i.e. new signaling). A
//! truly restarted peer then needs renegotiation, and until then the old
//! association dies by consent (`chaos-blackout-45s-fails`). Here the
//! association keeps going: the
//! transfer completes in order and byte-exact, every state stays
//! `connected`/`open`, heap bounded.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::{
    Configuration, DataChannelInit, DtlsTransportState, Input, Output, PeerConnection,
    PeerConnectionState, Protocol, Receive,
};

/// The first DTLS datagram a fresh answerer on B's address sends.
fn fresh_client_hello() -> Vec<u8> {
    let t0 = start();
    let mut a = PeerConnection::new(Configuration::default().with_seed(71), t0).unwrap();
    let mut b = PeerConnection::new(Configuration::default().with_seed(72), t0).unwrap();
    a.add_local_candidate(addr(A), Protocol::Udp).unwrap();
    a.end_of_local_candidates();
    b.add_local_candidate(addr(B), Protocol::Udp).unwrap();
    b.end_of_local_candidates();
    a.create_data_channel("x", &DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    b.set_remote_description(a.local_description().unwrap().clone())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().unwrap().clone())
        .unwrap();
    let mut now = t0;
    for _ in 0..1000 {
        for from_b in [false, true] {
            let (from, to) = if from_b {
                (&mut b, &mut a)
            } else {
                (&mut a, &mut b)
            };
            loop {
                match from.poll_output() {
                    Output::Transmit(t) => {
                        // RFC 7983: 20..=63 is DTLS.
                        if from_b && (20..=63).contains(&t.contents[0]) {
                            return t.contents;
                        }
                        let r = Receive {
                            proto: t.proto,
                            source: t.source,
                            destination: t.destination,
                            contents: &t.contents,
                        };
                        to.handle_input(Input::Receive(now, r)).unwrap();
                    }
                    Output::Event(_) => {}
                    Output::Timeout(_) => break,
                }
            }
        }
        now += Duration::from_millis(10);
        a.handle_input(Input::Timeout(now)).unwrap();
        b.handle_input(Input::Timeout(now)).unwrap();
    }
    panic!("the fresh answerer never sent a ClientHello");
}

#[test]
fn chaos_a_restarted_peer_s_client_hello_is_ignored() {
    let hello = fresh_client_hello();
    assert_eq!(hello[0], 22, "a handshake record");
    let mut c = Chaos::connect(&Setup::new(107), Duration::from_secs(10));
    let mut up = c.transfer(c.a, 600);
    let mut down = c.transfer(c.b, 300);
    c.run_for(Duration::from_millis(500), &mut [&mut up, &mut down]);
    let baseline = reset_peak();
    let dtls_in = c.pc_ref(c.a).counters().dtls;
    // The new ClientHello and its retransmissions, from B's address, and a
    // few mangled copies for good measure.
    for i in 0..8u8 {
        let now = c.sim.now();
        let mut copy = hello.clone();
        if i >= 5 {
            let k = usize::from(i) * 7 % copy.len();
            copy[k] ^= 0x5a;
        }
        let r = Receive {
            proto: Protocol::Udp,
            source: addr(B),
            destination: addr(A),
            contents: &copy,
        };
        c.pc(c.a).handle_input(Input::Receive(now, r)).unwrap();
        c.run_for(Duration::from_millis(250), &mut [&mut up, &mut down]);
    }
    // They reached A's DTLS layer (B's address is a validated one).
    assert!(c.pc_ref(c.a).counters().dtls >= dtls_in + 8);
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 2 << 20, "restarted peer");
    c.assert_states(PeerConnectionState::Connected);
    for n in [c.a, c.b] {
        let pc = c.pc_ref(n);
        assert_eq!(pc.dtls_state(), DtlsTransportState::Connected, "{n:?}");
        assert!(pc.dtls_failure().is_none(), "{:?}", pc.dtls_failure());
        assert_eq!(
            c.log(n).pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected
            ]
        );
    }
    c.assert_healthy();
    assert!(c.stray.is_empty());
}
