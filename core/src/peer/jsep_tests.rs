//! JSEP tests: answering real offers, every W3C signaling transition,
//! glare with perfect negotiation, renegotiation, ICE restart, trickle.

use super::jsep::DtlsRole;
use super::*;
use crate::error::JsepError;
use crate::event::Event;
use crate::sdp::tests::CAPTURES;
use crate::sdp::{
    Direction, IceCandidate, MediaKind, MediaType, RtpCodecCapability, Sdp, SdpType,
    SessionDescription, Setup,
};
use crate::state::SignalingState as S;
use crate::testutil::epoch;
use crate::{Configuration, TransceiverInit};

fn pc(seed: u64) -> PeerConnection {
    PeerConnection::new(Configuration::default().with_seed(seed), epoch()).unwrap()
}

fn events(pc: &mut PeerConnection) -> Vec<Event> {
    let mut out = Vec::new();
    while let Output::Event(e) = pc.poll_output() {
        out.push(e);
    }
    out
}

fn negotiation_needed(pc: &mut PeerConnection) -> usize {
    events(pc)
        .iter()
        .filter(|e| matches!(e, Event::NegotiationNeeded))
        .count()
}

fn parse(d: &SessionDescription) -> Sdp {
    Sdp::parse(&d.sdp).unwrap()
}

/// `a` offers, `b` answers, both apply.
fn exchange(a: &mut PeerConnection, b: &mut PeerConnection) -> (Sdp, Sdp) {
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer.clone()).unwrap();
    b.set_remote_description(offer.clone()).unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer.clone()).unwrap();
    a.set_remote_description(answer.clone()).unwrap();
    assert_eq!(
        (a.signaling_state(), b.signaling_state()),
        (S::Stable, S::Stable)
    );
    (parse(&offer), parse(&answer))
}

fn mids(sdp: &Sdp) -> Vec<Option<String>> {
    sdp.media.iter().map(|m| m.mid.clone()).collect()
}

fn audio(pc: &mut PeerConnection) -> TransceiverId {
    pc.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap()
}

fn video(pc: &mut PeerConnection) -> TransceiverId {
    pc.add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap()
}

#[test]
fn jsep_answers_every_capture() {
    // Every captured offer is answered; the captured answers replayed as
    // offers carry a=setup:active, which RFC 5763 §5 forbids an offerer:
    // they are refused, naming the line, and change nothing.
    for (name, text) in CAPTURES {
        let offer = Sdp::parse(text).unwrap();
        let mut pc = pc(1);
        if offer.media[0].setup == Some(Setup::Active) {
            let err = pc
                .set_remote_description(SessionDescription::offer(*text))
                .unwrap_err();
            let JsepError::InvalidAccess(msg) = &err else {
                panic!("{name}: {err}");
            };
            assert!(
                msg.starts_with("line ") && msg.contains("a=setup:active"),
                "{name}: {msg}"
            );
            assert_eq!(pc.signaling_state(), S::Stable);
            assert!(pc.remote_description().is_none());
            continue;
        }
        pc.set_remote_description(SessionDescription::offer(*text))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pc.signaling_state(), S::HaveRemoteOffer);
        let answer_desc = pc.create_answer().unwrap();
        let answer = Sdp::parse(&answer_desc.sdp).unwrap_or_else(|e| panic!("{name}: {e}"));
        // RFC 3264 §6: same m-lines, same order, same mids.
        assert_eq!(mids(&answer), mids(&offer), "{name}");
        let theirs = offer.media[0].setup;
        let (ours, role) = match theirs {
            // RFC 8842: browsers answer actpass with active.
            Some(Setup::ActPass) => (Setup::Active, DtlsRole::Client),
            Some(Setup::Passive) => (Setup::Active, DtlsRole::Client),
            other => panic!("{name}: offer setup {other:?}"),
        };
        for (a, o) in answer.media.iter().zip(&offer.media) {
            assert_eq!(a.media_type, o.media_type, "{name}");
            assert_ne!(a.port, 0, "{name}: eddy supports every offered section");
            assert_eq!(a.setup, Some(ours), "{name}");
            assert!(a.ice.ufrag.is_some() && !a.fingerprints.is_empty());
            for pt in a.payload_types() {
                assert!(
                    o.payload_types().any(|p| p == pt),
                    "{name}: pt {pt} not offered"
                );
            }
        }
        assert_eq!(
            answer.bundle_groups().next().unwrap().mids,
            offer.bundle_groups().next().unwrap().mids
        );
        pc.set_local_description(answer_desc).unwrap();
        assert_eq!(pc.signaling_state(), S::Stable);
        let t = pc.negotiated_transport();
        assert_eq!(t.dtls_role, Some(role), "{name}");
        assert_eq!(
            Some(t.remote_ufrag.as_str()),
            offer.media[0].ice.ufrag.as_deref()
        );
        assert_eq!(t.remote_fingerprints, offer.media[0].fingerprints);
        assert_eq!(
            t.remote_trickle,
            offer.media[0].ice.options.iter().any(|o| o == "trickle"),
            "{name}"
        );
        assert_eq!(t.remote_end_of_candidates, offer.media[0].end_of_candidates);
        assert_eq!(pc.can_trickle_ice_candidates(), Some(t.remote_trickle));
        assert!(!t.remote_ice_lite);
        let sdp_candidates: usize = offer.media.iter().map(|m| m.candidates.len()).sum();
        assert_eq!(pc.remote_candidates().len(), sdp_candidates);
        if offer
            .media
            .iter()
            .any(|m| m.media_type == MediaType::Application)
        {
            assert_eq!(t.remote_sctp_port, Some(5000));
            assert_eq!(t.remote_max_message_size, Some(262_144));
        }
    }
}

#[test]
fn jsep_answer_to_chromium_picks_codecs_like_a_browser() {
    let (_, text) = CAPTURES
        .iter()
        .find(|(n, _)| *n == "chromium-offer")
        .unwrap();
    let mut pc = pc(2);
    pc.set_remote_description(SessionDescription::offer(*text))
        .unwrap();
    let answer = parse(&pc.create_answer().unwrap());
    let pts = |i: usize| -> Vec<u8> { answer.media[i].payload_types().collect() };
    // Audio: opus, G722, PCMU, PCMA, telephone-event x2; not red (63) or CN (13).
    assert_eq!(pts(0), vec![111, 9, 0, 8, 110, 126]);
    // Video: VP8+rtx, H.264 baseline (102 pm=1, 104 pm=0) and constrained
    // baseline (108 pm=1, 114 pm=0) with rtx, AV1+rtx, VP9 profile 0+rtx.
    // Not Main, VP9 profile 2, red, ulpfec.
    assert_eq!(
        pts(1),
        vec![96, 97, 102, 103, 104, 107, 108, 109, 114, 115, 45, 46, 98, 99]
    );
    let video = &answer.media[1];
    assert_eq!(video.rtcp_fbs_for(96).count(), 5);
    assert!(video
        .extmaps
        .iter()
        .any(|e| e.id == 10 && e.uri.ends_with("rtp-stream-id")));
    assert!(!video
        .extmaps
        .iter()
        .any(|e| e.uri.contains("video-orientation")));
    // A recvonly transceiver was created per offered media section: the
    // answer receives, and says so.
    assert_eq!(video.direction, Some(Direction::RecvOnly));
    assert_eq!(pc.transceivers().len(), 2);
    assert_eq!(answer.media[2].sctp_port, Some(5000));
}

/// Drives `pc` into `state` (with `peer` as the other side).
fn into_state(state: S, pc: &mut PeerConnection, peer: &mut PeerConnection) {
    audio(pc);
    audio(peer);
    match state {
        S::Stable => {}
        S::HaveLocalOffer => {
            pc.set_local_description_implicit().unwrap();
        }
        S::HaveRemoteOffer => {
            let o = peer.create_offer().unwrap();
            peer.set_local_description(o.clone()).unwrap();
            pc.set_remote_description(o).unwrap();
        }
        S::HaveLocalPranswer => {
            let o = peer.create_offer().unwrap();
            peer.set_local_description(o.clone()).unwrap();
            pc.set_remote_description(o).unwrap();
            let a = pc.create_answer().unwrap();
            pc.set_local_description(SessionDescription::pranswer(a.sdp))
                .unwrap();
        }
        S::HaveRemotePranswer => {
            let o = pc.set_local_description_implicit().unwrap();
            peer.set_remote_description(o).unwrap();
            let a = peer.create_answer().unwrap();
            pc.set_remote_description(SessionDescription::pranswer(a.sdp))
                .unwrap();
        }
        S::Closed => pc.close(),
    }
    assert_eq!(pc.signaling_state(), state);
}

#[derive(Debug, Clone, Copy)]
enum Op {
    LocalOffer,
    LocalAnswer,
    LocalPranswer,
    LocalRollback,
    RemoteOffer,
    RemoteAnswer,
    RemotePranswer,
    RemoteRollback,
    CreateOffer,
    CreateAnswer,
}

/// Runs `op` on `me`; remote descriptions come from fresh peers.
fn run(op: Op, me: &mut PeerConnection) -> Result<(), JsepError> {
    let local = |t| SessionDescription::new(t, "");
    match op {
        Op::LocalOffer => me.set_local_description(local(SdpType::Offer)),
        Op::LocalAnswer => me.set_local_description(local(SdpType::Answer)),
        Op::LocalPranswer => me.set_local_description(local(SdpType::Pranswer)),
        Op::LocalRollback => me.set_local_description(SessionDescription::rollback()),
        Op::RemoteRollback => me.set_remote_description(SessionDescription::rollback()),
        Op::CreateOffer => me.create_offer().map(drop),
        Op::CreateAnswer => me.create_answer().map(drop),
        Op::RemoteOffer => {
            // A fresh offer from a third peer (first negotiation for it).
            let mut third = pc(99);
            audio(&mut third);
            let o = third.create_offer().unwrap();
            me.set_remote_description(o)
        }
        Op::RemoteAnswer | Op::RemotePranswer => {
            // The peer's answer to our pending offer if there is one, else to
            // a stand-in offer (only the state check matters then).
            let offer = match me.pending_local_description() {
                Some(o) if o.sdp_type == SdpType::Offer => o.clone(),
                _ => {
                    let mut third = pc(98);
                    audio(&mut third);
                    third.create_offer().unwrap()
                }
            };
            let mut answerer = pc(97);
            answerer.set_remote_description(offer).unwrap();
            let a = answerer.create_answer().unwrap();
            let t = if matches!(op, Op::RemoteAnswer) {
                SdpType::Answer
            } else {
                SdpType::Pranswer
            };
            me.set_remote_description(SessionDescription::new(t, a.sdp))
        }
    }
}

#[test]
fn jsep_every_signaling_transition_valid_and_invalid() {
    use Op::*;
    let ops = [
        LocalOffer,
        LocalAnswer,
        LocalPranswer,
        LocalRollback,
        RemoteOffer,
        RemoteAnswer,
        RemotePranswer,
        RemoteRollback,
        CreateOffer,
        CreateAnswer,
    ];
    // W3C webrtc-pc §4.3.1 and RFC 9429 §3.2 / §5.5–5.7. `None` = InvalidStateError.
    // For the create* calls the state is unchanged when they succeed.
    let table: [(S, [Option<S>; 10]); 6] = [
        (
            S::Stable,
            [
                Some(S::HaveLocalOffer),
                None,
                None,
                None,
                Some(S::HaveRemoteOffer),
                None,
                None,
                None,
                Some(S::Stable),
                None,
            ],
        ),
        (
            S::HaveLocalOffer,
            [
                Some(S::HaveLocalOffer),
                None,
                None,
                Some(S::Stable),
                // Implicit rollback, then the remote offer.
                Some(S::HaveRemoteOffer),
                Some(S::Stable),
                Some(S::HaveRemotePranswer),
                Some(S::Stable),
                Some(S::HaveLocalOffer),
                None,
            ],
        ),
        (
            S::HaveRemoteOffer,
            [
                None,
                Some(S::Stable),
                Some(S::HaveLocalPranswer),
                Some(S::Stable),
                Some(S::HaveRemoteOffer),
                None,
                None,
                Some(S::Stable),
                None,
                Some(S::HaveRemoteOffer),
            ],
        ),
        (
            S::HaveLocalPranswer,
            [
                None,
                Some(S::Stable),
                Some(S::HaveLocalPranswer),
                None,
                None,
                None,
                None,
                None,
                None,
                Some(S::HaveLocalPranswer),
            ],
        ),
        (
            S::HaveRemotePranswer,
            [
                None,
                None,
                None,
                None,
                None,
                Some(S::Stable),
                Some(S::HaveRemotePranswer),
                None,
                None,
                None,
            ],
        ),
        (S::Closed, [None; 10]),
    ];
    let mut checked = 0;
    for (state, expected) in table {
        for (op, want) in ops.iter().zip(expected) {
            let mut a = pc(10);
            let mut b = pc(11);
            into_state(state, &mut a, &mut b);
            let before_local = a.local_description().cloned();
            let before_remote = a.remote_description().cloned();
            let result = run(*op, &mut a);
            match want {
                Some(next) => {
                    assert!(result.is_ok(), "{state:?} {op:?}: {result:?}");
                    assert_eq!(a.signaling_state(), next, "{state:?} {op:?}");
                }
                None => {
                    assert!(
                        matches!(result, Err(JsepError::InvalidState(_))),
                        "{state:?} {op:?}: {result:?}"
                    );
                    // A refused call changes nothing.
                    assert_eq!(a.signaling_state(), state, "{state:?} {op:?}");
                    assert_eq!(a.local_description(), before_local.as_ref());
                    assert_eq!(a.remote_description(), before_remote.as_ref());
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 60);
}

#[test]
fn jsep_signaling_events_follow_the_state() {
    let mut a = pc(3);
    let mut b = pc(4);
    audio(&mut a);
    assert_eq!(events(&mut a), vec![Event::NegotiationNeeded]);
    // A second change while the flag is set fires nothing more.
    video(&mut a);
    assert!(events(&mut a).is_empty());
    exchange(&mut a, &mut b);
    assert_eq!(
        events(&mut a),
        vec![
            Event::SignalingStateChange(S::HaveLocalOffer),
            Event::SignalingStateChange(S::Stable),
        ]
    );
    // W3C: the offer's two sending m-lines fire `track` after the state
    // change it caused.
    let b_events = events(&mut b);
    let kinds: Vec<_> = b_events
        .iter()
        .map(|e| match e {
            Event::Track { track, .. } => Some(track.kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![None, Some(MediaKind::Audio), Some(MediaKind::Video), None]
    );
    assert_eq!(b_events[0], Event::SignalingStateChange(S::HaveRemoteOffer));
    assert_eq!(b_events[3], Event::SignalingStateChange(S::Stable));
    // Nothing left to negotiate: no event, and changing nothing fires none.
    let t = a.transceivers()[0];
    a.transceiver(t)
        .unwrap()
        .set_direction(Direction::SendRecv)
        .unwrap();
    assert!(events(&mut a).is_empty());
    // A direction change needs negotiation.
    a.transceiver(t)
        .unwrap()
        .set_direction(Direction::RecvOnly)
        .unwrap();
    assert_eq!(events(&mut a), vec![Event::NegotiationNeeded]);
}

#[test]
fn jsep_negotiation_needed_waits_for_stable_and_refires() {
    let mut a = pc(5);
    let mut b = pc(6);
    audio(&mut a);
    let offer = a.set_local_description_implicit().unwrap();
    events(&mut a);
    // Not stable: no event now.
    video(&mut a);
    assert_eq!(negotiation_needed(&mut a), 0);
    b.set_remote_description(offer).unwrap();
    let answer = b.set_local_description_implicit().unwrap();
    a.set_remote_description(answer).unwrap();
    // W3C: the flag was set before and after reaching stable: fire.
    assert_eq!(negotiation_needed(&mut a), 1);
    let (offer, _) = exchange(&mut a, &mut b);
    assert_eq!(offer.media.len(), 2);
    assert_eq!(negotiation_needed(&mut a), 0);
}

/// One turn of the W3C "perfect negotiation" pattern for peer `me`: handle
/// the inbox, then offer if negotiation is needed. Returns what to send.
fn perfect_step(
    me: &mut PeerConnection,
    inbox: Vec<SessionDescription>,
    polite: bool,
) -> Vec<SessionDescription> {
    let mut out = Vec::new();
    for desc in inbox {
        let collision = desc.sdp_type == SdpType::Offer && me.signaling_state() != S::Stable;
        if collision && !polite {
            continue; // the impolite peer ignores the colliding offer
        }
        me.set_remote_description(desc.clone()).unwrap();
        if desc.sdp_type == SdpType::Offer {
            out.push(me.set_local_description_implicit().unwrap());
        }
    }
    if negotiation_needed(me) > 0 && me.signaling_state() == S::Stable {
        out.push(me.set_local_description_implicit().unwrap());
    }
    out
}

#[test]
fn jsep_glare_resolved_by_perfect_negotiation() {
    // Two peers add media at once and both offer (glare). The polite peer
    // rolls back implicitly; the impolite one ignores the colliding offer.
    let mut polite = pc(20);
    let mut impolite = pc(21);
    audio(&mut polite);
    video(&mut impolite);
    let mut to_impolite = vec![polite.set_local_description_implicit().unwrap()];
    let mut to_polite = vec![impolite.set_local_description_implicit().unwrap()];
    events(&mut polite);
    events(&mut impolite);
    for _round in 0..10 {
        if to_polite.is_empty() && to_impolite.is_empty() {
            break;
        }
        let inbox = std::mem::take(&mut to_polite);
        to_impolite.extend(perfect_step(&mut polite, inbox, true));
        let inbox = std::mem::take(&mut to_impolite);
        to_polite.extend(perfect_step(&mut impolite, inbox, false));
    }
    assert_eq!(polite.signaling_state(), S::Stable);
    assert_eq!(impolite.signaling_state(), S::Stable);
    let pl = parse(polite.local_description().unwrap());
    let im = parse(impolite.local_description().unwrap());
    assert_eq!(pl.media.len(), 2);
    assert_eq!(mids(&pl), mids(&im));
    // Both sides' media got negotiated, each sending one way and receiving
    // the other.
    for p in [&mut polite, &mut impolite] {
        let ids = p.transceivers();
        assert_eq!(ids.len(), 2);
        for id in ids {
            assert!(p.transceiver(id).unwrap().current_direction().is_some());
        }
    }
}

#[test]
fn jsep_explicit_rollback_restores_the_stable_state() {
    let mut a = pc(7);
    let mut b = pc(8);
    let t = audio(&mut a);
    exchange(&mut a, &mut b);
    let current = a.current_local_description().cloned();
    let v = video(&mut a);
    a.set_local_description_implicit().unwrap();
    assert_eq!(a.transceiver(v).unwrap().mid(), Some("1"));
    a.set_local_description(SessionDescription::rollback())
        .unwrap();
    assert_eq!(a.signaling_state(), S::Stable);
    assert!(a.pending_local_description().is_none());
    assert_eq!(a.local_description().cloned(), current);
    assert_eq!(a.transceiver(v).unwrap().mid(), None);
    assert_eq!(a.transceiver(t).unwrap().mid(), Some("0"));
    // Remote rollback removes transceivers the remote offer created.
    let offer = a.create_offer().unwrap();
    b.set_remote_description(offer).unwrap();
    assert_eq!(b.transceivers().len(), 2);
    b.set_remote_description(SessionDescription::rollback())
        .unwrap();
    assert_eq!(b.transceivers().len(), 1);
    assert!(b.pending_remote_description().is_none());
}

#[test]
fn jsep_renegotiation_adds_stops_and_recycles_m_lines() {
    let mut a = pc(30);
    let mut b = pc(31);
    let first = audio(&mut a);
    let (offer, _) = exchange(&mut a, &mut b);
    assert_eq!(mids(&offer), vec![Some("0".into())]);
    // Add video and a data channel later.
    video(&mut a);
    a.ensure_data_m_line().unwrap();
    let (offer, answer) = exchange(&mut a, &mut b);
    assert_eq!(
        mids(&offer),
        vec![Some("0".into()), Some("1".into()), Some("2".into())]
    );
    assert_eq!(offer.media[2].media_type, MediaType::Application);
    assert_eq!(offer.media[2].protocol, "UDP/DTLS/SCTP");
    assert_eq!(
        offer.media[2].formats,
        vec!["webrtc-datachannel".to_owned()]
    );
    assert_eq!(answer.media.len(), 3);
    assert!(answer.media.iter().all(|m| m.port != 0));
    assert_eq!(b.negotiated_transport().remote_sctp_port, Some(5000));
    assert_eq!(b.transceivers().len(), 2);
    events(&mut a);
    // Stop the audio transceiver: the next offer rejects its m-line.
    a.transceiver(first).unwrap().stop();
    assert_eq!(negotiation_needed(&mut a), 1);
    assert!(a.transceiver(first).unwrap().is_stopping());
    let (offer, answer) = exchange(&mut a, &mut b);
    assert_eq!(offer.media[0].port, 0);
    assert_eq!(answer.media[0].port, 0);
    assert!(!offer
        .bundle_groups()
        .next()
        .unwrap()
        .mids
        .contains(&"0".to_owned()));
    // Stopped transceivers leave the connection once negotiated.
    assert!(a.transceiver(first).is_none());
    assert_eq!(a.transceivers().len(), 1);
    assert_eq!(b.transceivers().len(), 1);
    assert_eq!(negotiation_needed(&mut a), 0);
    // A new transceiver recycles the rejected m-line, with a new mid.
    let again = audio(&mut a);
    let (offer, answer) = exchange(&mut a, &mut b);
    assert_eq!(offer.media.len(), 3);
    assert_eq!(offer.media[0].mid.as_deref(), Some("3"));
    assert_ne!(offer.media[0].port, 0);
    assert_ne!(answer.media[0].port, 0);
    assert_eq!(a.transceiver(again).unwrap().mid(), Some("3"));
    // The answerer made a recvonly transceiver for it: we only send.
    assert_eq!(
        a.transceiver(again).unwrap().current_direction(),
        Some(Direction::SendOnly)
    );
}

#[test]
fn jsep_ice_restart_changes_credentials() {
    let mut a = pc(40);
    let mut b = pc(41);
    audio(&mut a);
    let (offer1, answer1) = exchange(&mut a, &mut b);
    events(&mut a);
    a.restart_ice();
    assert_eq!(negotiation_needed(&mut a), 1);
    let (offer2, answer2) = exchange(&mut a, &mut b);
    let creds = |s: &Sdp| (s.media[0].ice.ufrag.clone(), s.media[0].ice.pwd.clone());
    assert_ne!(creds(&offer1), creds(&offer2));
    // RFC 8839 §4.4.1.1.1: the answerer restarts too.
    assert_ne!(creds(&answer1), creds(&answer2));
    assert_eq!(
        Some(b.negotiated_transport().remote_ufrag.clone()),
        offer2.media[0].ice.ufrag
    );
    assert_eq!(
        Some(a.negotiated_transport().remote_ufrag.clone()),
        answer2.media[0].ice.ufrag
    );
    // The restart is done: no more negotiation needed, and the next offer
    // keeps the new credentials.
    assert_eq!(negotiation_needed(&mut a), 0);
    let offer3 = parse(&a.create_offer().unwrap());
    assert_eq!(creds(&offer3), creds(&offer2));
}

#[test]
fn jsep_dtls_roles_come_from_setup() {
    let mut a = pc(50);
    let mut b = pc(51);
    audio(&mut a);
    let (offer, answer) = exchange(&mut a, &mut b);
    assert_eq!(offer.media[0].setup, Some(Setup::ActPass));
    assert_eq!(answer.media[0].setup, Some(Setup::Active));
    assert_eq!(a.negotiated_transport().dtls_role, Some(DtlsRole::Server));
    assert_eq!(b.negotiated_transport().dtls_role, Some(DtlsRole::Client));
    // A re-negotiation keeps the roles.
    video(&mut a);
    let (_, answer) = exchange(&mut a, &mut b);
    assert_eq!(answer.media[1].setup, Some(Setup::Active));
    assert_eq!(b.negotiated_transport().dtls_role, Some(DtlsRole::Client));
    // An answer that says actpass is refused, and changes nothing.
    let mut c = pc(52);
    audio(&mut c);
    let offer = c.set_local_description_implicit().unwrap();
    let mut d = pc(53);
    d.set_remote_description(offer).unwrap();
    let bad = d
        .create_answer()
        .unwrap()
        .sdp
        .replace("a=setup:active", "a=setup:actpass");
    assert!(matches!(
        c.set_remote_description(SessionDescription::answer(bad)),
        Err(JsepError::InvalidAccess(_))
    ));
    assert_eq!(c.signaling_state(), S::HaveLocalOffer);
}

#[test]
fn jsep_bad_descriptions_are_refused_and_change_nothing() {
    let mut a = pc(60);
    audio(&mut a);
    let offer = a.create_offer().unwrap();
    // A modified offer cannot be set locally.
    let modified = SessionDescription::offer(offer.sdp.replace("a=rtcp-rsize\r\n", ""));
    assert!(matches!(
        a.set_local_description(modified),
        Err(JsepError::InvalidModification(_))
    ));
    assert_eq!(a.signaling_state(), S::Stable);
    let mut b = pc(61);
    // Syntax errors carry the line number.
    match b.set_remote_description(SessionDescription::offer("v=0\r\nbogus\r\n")) {
        Err(JsepError::Syntax(e)) => assert_eq!(e.line, 2),
        other => panic!("{other:?}"),
    }
    for (what, from, to) in [
        ("no fingerprint", "a=fingerprint:", "a=x-fingerprint:"),
        ("no ufrag", "a=ice-ufrag:", "a=x-ice-ufrag:"),
        ("no mid", "a=mid:0", "a=x-mid:0"),
    ] {
        let bad = SessionDescription::offer(offer.sdp.replace(from, to));
        assert!(
            matches!(
                b.set_remote_description(bad),
                Err(JsepError::InvalidAccess(_))
            ),
            "{what}"
        );
        assert_eq!(b.signaling_state(), S::Stable);
        assert!(b.remote_description().is_none());
        assert!(b.transceivers().is_empty());
    }
}

#[test]
fn jsep_add_ice_candidate_validates_like_the_browser() {
    let mut a = pc(70);
    let mut b = pc(71);
    audio(&mut a);
    let cand = |mid: Option<&str>, idx: Option<u16>| {
        IceCandidate::new(
            "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host",
            mid,
            idx,
        )
        .unwrap()
    };
    assert_eq!(b.can_trickle_ice_candidates(), None);
    // W3C: no remote description: InvalidStateError.
    assert!(matches!(
        b.add_ice_candidate(cand(Some("0"), None)),
        Err(JsepError::InvalidState(_))
    ));
    let offer = a.set_local_description_implicit().unwrap();
    let ufrag = parse(&offer).media[0].ice.ufrag.clone();
    b.set_remote_description(offer).unwrap();
    assert!(matches!(
        b.add_ice_candidate(cand(None, None)),
        Err(JsepError::Type(_))
    ));
    assert!(matches!(
        b.add_ice_candidate(cand(Some("7"), None)),
        Err(JsepError::Operation(_))
    ));
    assert!(matches!(
        b.add_ice_candidate(cand(None, Some(1))),
        Err(JsepError::Operation(_))
    ));
    let mut wrong_ufrag = cand(Some("0"), None);
    wrong_ufrag.username_fragment = Some("nope".into());
    assert!(matches!(
        b.add_ice_candidate(wrong_ufrag),
        Err(JsepError::Operation(_))
    ));
    assert!(b.remote_candidates().is_empty());
    let mut good = cand(None, Some(0));
    good.username_fragment = ufrag;
    b.add_ice_candidate(good.clone()).unwrap();
    b.add_ice_candidate(good).unwrap(); // a duplicate is kept once
    assert_eq!(b.remote_candidates().len(), 1);
    assert_eq!(b.remote_candidates()[0].mid.as_deref(), Some("0"));
    // It is part of the remote description now.
    let remote = parse(b.remote_description().unwrap());
    assert_eq!(remote.media[0].candidates.len(), 1);
    b.add_ice_candidate(IceCandidate::new("", Some("0"), None).unwrap())
        .unwrap();
    assert!(parse(b.remote_description().unwrap()).media[0].end_of_candidates);
    assert!(b.negotiated_transport().remote_end_of_candidates);
    // Bounded: at most MAX_REMOTE_CANDIDATES_PER_MLINE per m-line.
    for port in 0..(MAX_REMOTE_CANDIDATES_PER_MLINE as u16 + 5) {
        let c = IceCandidate::new(
            &format!("candidate:1 1 udp 1 192.0.2.2 {} typ host", 10_000 + port),
            Some("0"),
            None,
        )
        .unwrap();
        b.add_ice_candidate(c).unwrap();
    }
    assert_eq!(b.remote_candidates().len(), MAX_REMOTE_CANDIDATES_PER_MLINE);
    assert_eq!(b.jsep.dropped_remote_candidates, 6);
}

#[test]
fn jsep_codec_preferences_shape_offers_and_reject_the_unsupported() {
    let mut a = pc(80);
    let t = audio(&mut a);
    let pcmu = RtpCodecCapability {
        mime_type: "audio/PCMU".into(),
        clock_rate: 8000,
        channels: None,
        sdp_fmtp_line: None,
    };
    let bogus = RtpCodecCapability {
        mime_type: "audio/speex".into(),
        ..pcmu.clone()
    };
    let rtx = RtpCodecCapability::all(MediaKind::Video)
        .into_iter()
        .find(|c| c.mime_type == "video/rtx")
        .unwrap();
    let mut h = a.transceiver(t).unwrap();
    assert!(matches!(
        h.set_codec_preferences(&[bogus]),
        Err(JsepError::InvalidModification(_))
    ));
    assert!(matches!(
        h.set_codec_preferences(&[rtx]),
        Err(JsepError::InvalidModification(_))
    ));
    h.set_codec_preferences(&[pcmu]).unwrap();
    let offer = parse(&a.create_offer().unwrap());
    assert_eq!(offer.media[0].formats, vec!["0".to_owned()]);
    a.transceiver(t)
        .unwrap()
        .set_codec_preferences(&[])
        .unwrap();
    let offer = parse(&a.create_offer().unwrap());
    assert_eq!(offer.media[0].payload_types().next(), Some(111));
}

#[test]
fn jsep_offers_carry_what_browsers_expect_and_repeat_with_the_seed() {
    let mut a = pc(90);
    audio(&mut a);
    video(&mut a);
    a.ensure_data_m_line().unwrap();
    let text = a.create_offer().unwrap().sdp;
    let offer = Sdp::parse(&text).unwrap();
    assert_eq!(offer.bundle_groups().next().unwrap().mids, ["0", "1", "2"]);
    for m in &offer.media {
        assert_eq!(m.port, 9);
        assert_eq!(m.setup, Some(Setup::ActPass));
        assert_eq!(m.ice.options, vec!["trickle".to_owned()]);
        assert_eq!(m.fingerprints[0].hash, "sha-256");
        assert_eq!(m.fingerprints[0].bytes.len(), 32);
    }
    let v = &offer.media[1];
    assert!(v.rtcp_mux && v.rtcp_rsize);
    assert_eq!(v.ssrc_groups[0].semantics, "FID");
    assert_eq!(v.msids.len(), 1);
    assert_eq!(v.fmtp(102).unwrap().get("profile-level-id"), Some("42001f"));
    assert_eq!(offer.media[2].max_message_size, Some(262_144));
    // Same seed, same offer; another seed, other credentials.
    let mut again = pc(90);
    audio(&mut again);
    video(&mut again);
    again.ensure_data_m_line().unwrap();
    assert_eq!(again.create_offer().unwrap().sdp, text);
    let mut other = pc(91);
    audio(&mut other);
    assert_ne!(
        parse(&other.create_offer().unwrap()).media[0].ice.ufrag,
        offer.media[0].ice.ufrag
    );
}

#[test]
fn jsep_transceiver_limits_and_closed_connection() {
    let mut a = pc(95);
    for _ in 0..MAX_TRANSCEIVERS {
        audio(&mut a);
    }
    assert!(matches!(
        a.add_transceiver(MediaKind::Audio, TransceiverInit::default()),
        Err(JsepError::Operation(_))
    ));
    a.close();
    assert_eq!(a.signaling_state(), S::Closed);
    assert!(matches!(a.create_offer(), Err(JsepError::InvalidState(_))));
    let id = a.transceivers()[0];
    assert!(matches!(
        a.transceiver(id)
            .unwrap()
            .set_direction(Direction::Inactive),
        Err(JsepError::InvalidState(_))
    ));
}

#[test]
fn jsep_add_stop_cycles_stay_bounded() {
    // More cycles than MAX_TRANSCEIVERS: stopped transceivers leave and
    // their m-line is recycled, so nothing grows.
    let mut a = pc(100);
    let mut b = pc(101);
    for _ in 0..(MAX_TRANSCEIVERS + 4) {
        let t = audio(&mut a);
        exchange(&mut a, &mut b);
        a.transceiver(t).unwrap().stop();
        let (offer, _) = exchange(&mut a, &mut b);
        assert_eq!(offer.media.len(), 1);
    }
    assert!(a.transceivers().is_empty());
    assert!(b.transceivers().is_empty());
    assert_eq!(a.jsep.n.mlines.len(), 1);
}

#[test]
fn jsep_a_refused_data_m_line_is_not_renegotiated_forever() {
    let mut a = pc(110);
    let mut b = pc(111);
    a.ensure_data_m_line().unwrap();
    assert_eq!(negotiation_needed(&mut a), 1);
    let offer = a.set_local_description_implicit().unwrap();
    b.set_remote_description(offer).unwrap();
    let answer = b.create_answer().unwrap();
    let refused = answer.sdp.replace("m=application 9 ", "m=application 0 ");
    assert_ne!(refused, answer.sdp);
    a.set_remote_description(SessionDescription::answer(refused))
        .unwrap();
    assert_eq!(a.signaling_state(), S::Stable);
    assert_eq!(negotiation_needed(&mut a), 0);
    assert_eq!(a.negotiated_transport().remote_sctp_port, None);
    // Asking again offers data again, recycling the refused m-line.
    a.ensure_data_m_line().unwrap();
    assert_eq!(negotiation_needed(&mut a), 1);
    let offer = parse(&a.create_offer().unwrap());
    assert_eq!(offer.media.len(), 1);
    assert_eq!(offer.media[0].port, 9);
    assert_eq!(offer.media[0].mid.as_deref(), Some("1"));
}

#[test]
fn jsep_remote_ice_lite_and_session_level_transport_are_read() {
    // Some stacks put ICE credentials, fingerprint and setup at session
    // level (as Chromium's and aiortc's captures show); ice-lite is session-level by definition.
    let mut a = pc(120);
    audio(&mut a);
    let offer = parse(&a.create_offer().unwrap());
    let mut moved = offer.clone();
    let m0 = moved.media[0].clone();
    moved.attributes.ice_lite = true;
    moved.attributes.ice = m0.ice.clone();
    moved.attributes.fingerprints = m0.fingerprints.clone();
    moved.attributes.setup = m0.setup;
    for m in &mut moved.media {
        m.ice = Default::default();
        m.fingerprints.clear();
        m.setup = None;
    }
    let mut b = pc(121);
    b.set_remote_description(SessionDescription::offer(moved.to_string()))
        .unwrap();
    let t = b.negotiated_transport();
    assert!(t.remote_ice_lite);
    assert_eq!(Some(t.remote_ufrag.clone()), m0.ice.ufrag);
    assert_eq!(t.remote_fingerprints, m0.fingerprints);
    assert_eq!(t.remote_setup, Some(Setup::ActPass));
    let answer = parse(&b.create_answer().unwrap());
    assert_eq!(answer.media[0].setup, Some(Setup::Active));
}

mod random_operations {
    use proptest::prelude::*;

    use super::*;
    use crate::testutil::proptest_config;

    #[derive(Debug, Clone)]
    enum Action {
        Add(bool, MediaKind),
        Stop(bool, usize),
        Direction(bool, usize, Direction),
        RestartIce(bool),
        Data(bool),
        /// One side offers, the other answers.
        Negotiate(bool),
        /// Both offer at once; perfect negotiation sorts it out.
        Glare,
        /// One side offers, then rolls back.
        Rollback(bool),
    }

    fn action() -> impl Strategy<Value = Action> {
        let dir = prop_oneof![
            Just(Direction::SendRecv),
            Just(Direction::SendOnly),
            Just(Direction::RecvOnly),
            Just(Direction::Inactive)
        ];
        let kind = prop_oneof![Just(MediaKind::Audio), Just(MediaKind::Video)];
        prop_oneof![
            (any::<bool>(), kind).prop_map(|(s, k)| Action::Add(s, k)),
            (any::<bool>(), 0usize..6).prop_map(|(s, i)| Action::Stop(s, i)),
            (any::<bool>(), 0usize..6, dir).prop_map(|(s, i, d)| Action::Direction(s, i, d)),
            any::<bool>().prop_map(Action::RestartIce),
            any::<bool>().prop_map(Action::Data),
            any::<bool>().prop_map(Action::Negotiate),
            Just(Action::Glare),
            any::<bool>().prop_map(Action::Rollback),
        ]
    }

    /// Both stable, same m-lines and mids, and each accepted m-line is
    /// accepted on both sides with directions that mirror each other.
    fn check_consistent(a: &mut PeerConnection, b: &mut PeerConnection) {
        assert_eq!(
            (a.signaling_state(), b.signaling_state()),
            (S::Stable, S::Stable)
        );
        let (Some(la), Some(lb)) = (a.local_description(), b.local_description()) else {
            return;
        };
        let (la, lb) = (parse(la), parse(lb));
        assert_eq!(la.media.len(), lb.media.len());
        for (ma, mb) in la.media.iter().zip(&lb.media) {
            assert_eq!(ma.media_type, mb.media_type);
            if ma.port != 0 && mb.port != 0 {
                assert_eq!(ma.mid, mb.mid);
                if ma.media_type != MediaType::Application {
                    let (da, db) = (ma.direction_or_default(), mb.direction_or_default());
                    // The answer's direction is within the offer's, reversed.
                    assert!(
                        da.intersect(db.reverse()) == da || db.intersect(da.reverse()) == db,
                        "{da:?} vs {db:?}"
                    );
                }
            }
        }
    }

    fn negotiate(a: &mut PeerConnection, b: &mut PeerConnection) {
        exchange(a, b);
        events(a);
        events(b);
    }

    fn apply(action: &Action, a: &mut PeerConnection, b: &mut PeerConnection) {
        let pick = |side: bool| -> bool { side };
        match action.clone() {
            Action::Add(side, kind) => {
                let p = if pick(side) { &mut *a } else { &mut *b };
                if p.transceivers().len() < 8 {
                    p.add_transceiver(kind, TransceiverInit::default()).unwrap();
                }
            }
            Action::Stop(side, i) => {
                let p = if side { &mut *a } else { &mut *b };
                if let Some(id) = p.transceivers().get(i).copied() {
                    p.transceiver(id).unwrap().stop();
                }
            }
            Action::Direction(side, i, d) => {
                let p = if side { &mut *a } else { &mut *b };
                if let Some(id) = p.transceivers().get(i).copied() {
                    let mut t = p.transceiver(id).unwrap();
                    let stopping = t.is_stopping();
                    assert_eq!(t.set_direction(d).is_err(), stopping);
                }
            }
            Action::RestartIce(side) => {
                if side {
                    a.restart_ice()
                } else {
                    b.restart_ice()
                }
            }
            Action::Data(side) => {
                let p = if side { &mut *a } else { &mut *b };
                p.ensure_data_m_line().unwrap();
            }
            Action::Negotiate(side) => {
                if side {
                    negotiate(a, b)
                } else {
                    negotiate(b, a)
                }
            }
            Action::Glare => {
                let mut to_a = vec![b.set_local_description_implicit().unwrap()];
                let mut to_b = vec![a.set_local_description_implicit().unwrap()];
                for _ in 0..6 {
                    let inbox = std::mem::take(&mut to_a);
                    to_b.extend(perfect_step(a, inbox, true));
                    let inbox = std::mem::take(&mut to_b);
                    to_a.extend(perfect_step(b, inbox, false));
                }
                assert!(to_a.is_empty() && to_b.is_empty());
            }
            Action::Rollback(side) => {
                let p = if side { &mut *a } else { &mut *b };
                let before = p.local_description().cloned();
                p.set_local_description_implicit().unwrap();
                p.set_local_description(SessionDescription::rollback())
                    .unwrap();
                assert_eq!(p.local_description().cloned(), before);
            }
        }
        assert_eq!(
            (a.signaling_state(), b.signaling_state()),
            (S::Stable, S::Stable)
        );
    }

    proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 64,
            ..proptest_config!("jsep")
        })]

        #[test]
        fn jsep_random_operations_keep_both_sides_consistent(
            actions in proptest::collection::vec(action(), 1..24)
        ) {
            let mut a = pc(200);
            let mut b = pc(201);
            for action in &actions {
                apply(action, &mut a, &mut b);
            }
            // Settle: negotiate until neither side needs to.
            for _ in 0..4 {
                negotiate(&mut a, &mut b);
                negotiate(&mut b, &mut a);
            }
            check_consistent(&mut a, &mut b);
            prop_assert!(!a.is_negotiation_needed());
            prop_assert!(!b.is_negotiation_needed());
            // Every live transceiver is negotiated.
            for p in [&mut a, &mut b] {
                for id in p.transceivers() {
                    let t = p.transceiver(id).unwrap();
                    prop_assert!(t.mid().is_some());
                    prop_assert!(!t.is_stopping());
                    prop_assert!(t.current_direction().is_some());
                }
            }
        }
    }
}

#[test]
fn jsep_rolled_back_ice_restart_is_still_wanted() {
    let mut a = pc(130);
    let mut b = pc(131);
    audio(&mut a);
    let (offer1, _) = exchange(&mut a, &mut b);
    events(&mut a);
    a.restart_ice();
    assert_eq!(negotiation_needed(&mut a), 1);
    let restart = parse(&a.set_local_description_implicit().unwrap());
    assert_ne!(restart.media[0].ice.ufrag, offer1.media[0].ice.ufrag);
    a.set_local_description(SessionDescription::rollback())
        .unwrap();
    // Back to the old credentials, and the restart needs negotiating again,
    // with the credentials drawn for it.
    assert_eq!(
        a.jsep.local_ice.ufrag,
        offer1.media[0].ice.ufrag.clone().unwrap()
    );
    assert_eq!(negotiation_needed(&mut a), 1);
    let (offer2, _) = exchange(&mut a, &mut b);
    assert_eq!(offer2.media[0].ice.ufrag, restart.media[0].ice.ufrag);
    assert_eq!(negotiation_needed(&mut a), 0);
}

#[test]
fn jsep_an_idle_description_keeps_its_text_and_parses_its_model_again() {
    // Issue 13: a trim drops an unchanged description's model; the next
    // read parses the same one from the text kept, and a trickled
    // candidate still changes it.
    let mut a = pc(80);
    let mut b = pc(81);
    audio(&mut a);
    exchange(&mut a, &mut b);
    let remote = a.jsep.current_remote.as_ref().unwrap();
    let model = remote.sdp().clone();
    let text = remote.description().clone();
    a.jsep.trim();
    let remote = a.jsep.current_remote.as_ref().unwrap();
    assert!(!remote.has_model());
    assert_eq!(remote.description(), &text);
    assert_eq!(remote.sdp(), &model);
    assert!(remote.has_model());

    a.jsep.trim();
    let mid = model.media[0].mid.clone();
    let candidate = IceCandidate::new(
        "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host",
        mid.as_deref(),
        None,
    )
    .unwrap();
    a.add_ice_candidate(candidate).unwrap();
    let remote = a.jsep.current_remote.as_ref().unwrap();
    assert_eq!(
        remote.sdp().media[0].candidates.len(),
        model.media[0].candidates.len() + 1
    );
    assert!(remote.description().sdp.contains("192.0.2.1 5000 typ host"));
    // Changed: the trim keeps the model (the text is written from it).
    a.jsep.trim();
    assert!(a.jsep.current_remote.as_ref().unwrap().has_model());
}
