//! Chaos: a remote that renegotiates every 100 ms while data flows both
//! ways over a 1% lossy path. B sends an offer every 100 ms (A answers 30
//! ms later, the answer lands 30 ms after that, so signaling is mid-offer
//! most of the time); every fifth round A offers instead. Nothing of the
//! transport may move: no reliable message lost or reordered, never out
//! of `connected`, the ICE credentials and DTLS association unchanged,
//! signaling back to `stable` after each round, the descriptions do not
//! grow, heap bounded.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::{Link, LinkConfig, Loss};
use eddy::{DtlsTransportState, Event, PeerConnectionState, SignalingState};

#[test]
fn chaos_renegotiating_every_100_ms_while_data_flows() {
    let lossy = LinkConfig {
        loss: Loss::Random(0.01),
        ..wire()
    };
    let mut setup = Setup::new(114);
    setup.link_b = Link::symmetric(lossy);
    let mut c = Chaos::connect(&setup, Duration::from_secs(10));
    let mut up = c.transfer(c.a, 500);
    let mut down = c.transfer(c.b, 500);
    let first_pair = c.pc_ref(c.a).selected_candidate_pair();
    let sdp_len = |c: &Chaos, n| c.pc_ref(n).local_description().unwrap().sdp.len();
    let (len_a, len_b) = (sdp_len(&c, c.a), sdp_len(&c, c.b));
    let baseline = reset_peak();
    let rounds = 60;
    for round in 0..rounds {
        let offerer = if round % 5 == 4 { c.a } else { c.b };
        let answerer = c.other(offerer);
        let p = c.pc(offerer);
        let offer = p.create_offer().unwrap();
        p.set_local_description(offer).unwrap();
        let offer = p.local_description().unwrap().clone();
        assert_eq!(
            c.pc_ref(offerer).signaling_state(),
            SignalingState::HaveLocalOffer
        );
        c.run_for(Duration::from_millis(30), &mut [&mut up, &mut down]);
        let q = c.pc(answerer);
        q.set_remote_description(offer).unwrap();
        let answer = q.create_answer().unwrap();
        q.set_local_description(answer).unwrap();
        let answer = q.local_description().unwrap().clone();
        c.run_for(Duration::from_millis(30), &mut [&mut up, &mut down]);
        c.pc(offerer).set_remote_description(answer).unwrap();
        for n in [c.a, c.b] {
            assert_eq!(c.pc_ref(n).signaling_state(), SignalingState::Stable);
        }
        c.run_for(Duration::from_millis(40), &mut [&mut up, &mut down]);
        c.assert_states(PeerConnectionState::Connected);
    }
    assert!(
        up.received < up.total || down.received < down.total,
        "the storm overlapped the transfers"
    );
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 2 << 20, "renegotiation storm");

    c.assert_states(PeerConnectionState::Connected);
    assert_eq!(c.pc_ref(c.a).selected_candidate_pair(), first_pair);
    for n in [c.a, c.b] {
        let log = c.log(n);
        assert_eq!(
            log.pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected
            ],
            "{n:?}"
        );
        // One DTLS handshake, one SCTP association, one channel.
        assert_eq!(
            log.count(|e| matches!(e, Event::DtlsStateChange(DtlsTransportState::Connected))),
            1
        );
        assert_eq!(log.count(|e| matches!(e, Event::SctpStateChange(_))), 1);
        assert_eq!(log.count(|e| matches!(e, Event::ChannelClose(_))), 0);
        // Each side went have-local-offer or have-remote-offer and back in
        // every round: two changes per round (plus the first negotiation).
        let changes = log.count(|e| matches!(e, Event::SignalingStateChange(_)));
        assert_eq!(changes, 2 * rounds + 2, "{n:?}");
    }
    // Nothing piles up in the descriptions (the o= version grows by a
    // digit at most).
    assert!(
        sdp_len(&c, c.a) <= len_a + 4,
        "{} -> {}",
        len_a,
        sdp_len(&c, c.a)
    );
    assert!(
        sdp_len(&c, c.b) <= len_b + 4,
        "{} -> {}",
        len_b,
        sdp_len(&c, c.b)
    );
    c.assert_healthy();
    assert!(c.stray.is_empty());
}
