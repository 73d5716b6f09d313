//! Two connections negotiate through the public API only, driven by their
//! events, with the W3C "perfect negotiation" pattern: both add media at the
//! same moment, the offers collide, and the polite side rolls back.

use std::time::Instant;

use eddy::{
    Configuration, Direction, Event, MediaKind, Output, PeerConnection, SdpType,
    SessionDescription, SignalingState, TransceiverInit,
};

struct Peer {
    pc: PeerConnection,
    polite: bool,
    outbox: Vec<SessionDescription>,
}

impl Peer {
    fn new(seed: u64, polite: bool) -> Self {
        #[allow(clippy::disallowed_methods)] // tests may read the clock
        let now = Instant::now();
        let pc = PeerConnection::new(Configuration::default().with_seed(seed), now).unwrap();
        Self {
            pc,
            polite,
            outbox: Vec::new(),
        }
    }

    /// Reacts to events: on negotiationneeded, offer.
    fn poll(&mut self) {
        while let Output::Event(e) = self.pc.poll_output() {
            if e == Event::NegotiationNeeded && self.pc.signaling_state() == SignalingState::Stable
            {
                let offer = self.pc.set_local_description_implicit().unwrap();
                self.outbox.push(offer);
            }
        }
    }

    fn receive(&mut self, desc: SessionDescription) {
        let collision =
            desc.sdp_type == SdpType::Offer && self.pc.signaling_state() != SignalingState::Stable;
        if collision && !self.polite {
            return;
        }
        self.pc.set_remote_description(desc.clone()).unwrap();
        if desc.sdp_type == SdpType::Offer {
            let answer = self.pc.set_local_description_implicit().unwrap();
            self.outbox.push(answer);
        }
    }
}

fn run(a: &mut Peer, b: &mut Peer) {
    for _ in 0..20 {
        a.poll();
        b.poll();
        if a.outbox.is_empty() && b.outbox.is_empty() {
            return;
        }
        for d in std::mem::take(&mut a.outbox) {
            b.receive(d);
        }
        for d in std::mem::take(&mut b.outbox) {
            a.receive(d);
        }
    }
    panic!("negotiation did not settle");
}

#[test]
fn jsep_perfect_negotiation_through_the_public_api() {
    let mut a = Peer::new(1, true);
    let mut b = Peer::new(2, false);
    a.pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    b.pc.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    run(&mut a, &mut b);
    for p in [&mut a, &mut b] {
        assert_eq!(p.pc.signaling_state(), SignalingState::Stable);
        let ids = p.pc.transceivers();
        assert_eq!(ids.len(), 2);
        for id in ids {
            let t = p.pc.transceiver(id).unwrap();
            assert!(t.mid().is_some());
            assert!(t.current_direction().is_some());
        }
    }
    // Renegotiate a direction change: the other side follows.
    let id = a.pc.transceivers()[0];
    a.pc.transceiver(id)
        .unwrap()
        .set_direction(Direction::SendOnly)
        .unwrap();
    run(&mut a, &mut b);
    let mid = a.pc.transceiver(id).unwrap().mid().unwrap().to_owned();
    let other =
        b.pc.transceivers()
            .into_iter()
            .find(|&t| b.pc.transceiver(t).unwrap().mid() == Some(mid.as_str()))
            .unwrap();
    assert_eq!(
        b.pc.transceiver(other).unwrap().current_direction(),
        Some(Direction::RecvOnly)
    );
}

#[cfg(feature = "serde")]
#[test]
fn jsep_descriptions_and_candidates_travel_as_browser_json() {
    let mut a = Peer::new(3, false);
    a.pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let offer = a.pc.set_local_description_implicit().unwrap();
    let json = serde_json::to_string(&offer).unwrap();
    assert!(json.starts_with(r#"{"type":"offer","sdp":"v=0\r\n"#));
    let mut b = Peer::new(4, true);
    b.pc.set_remote_description(serde_json::from_str(&json).unwrap())
        .unwrap();
    let c: eddy::IceCandidate = serde_json::from_str(
        r#"{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}"#,
    )
    .unwrap();
    b.pc.add_ice_candidate(c).unwrap();
    assert!(b
        .pc
        .remote_description()
        .unwrap()
        .sdp
        .contains("a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"));
}
