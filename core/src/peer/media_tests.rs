//! The media path over the simulator's lossy links: NACK and RTX recover
//! the losses, receiver reports carry them when there is no RTX, and SR/RR
//! measure the link's round-trip time (issue 14's recovery scenario).

use std::net::SocketAddr;
use std::time::Duration;

use crate::sim::{Link, LinkConfig, Loss, NodeId, Sim};
use crate::{
    Configuration, Direction, DtlsTransportState, Event, MediaKind, PeerConnection, Protocol,
    RtpCodecCapability, RtpWrite, TransceiverId, TransceiverInit,
};

const PACKETS_PER_SECOND: u32 = 1_500;
const SECONDS: u32 = 30;
/// Each node's link adds this one way: 80 ms round trip.
const LINK_DELAY: Duration = Duration::from_millis(20);

/// These scenarios write 12 Mbit/s, far above what the estimate allows
/// over 5% loss: with `pacing` the pacer holds and drops what it cannot
/// send in 2 s; without it every packet leaves when written, and the
/// scenarios measure NACK, RTX and RTCP alone.
fn peer(sim: &mut Sim, addr: SocketAddr, pacing: bool) -> PeerConnection {
    let seed = sim.derive_seed();
    let mut config = Configuration::default().with_seed(seed);
    config.pacing = pacing;
    let mut pc = PeerConnection::new(config, sim.now()).unwrap();
    pc.add_local_candidate(addr, Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc
}

struct Call {
    sim: Sim,
    a: NodeId,
    b: NodeId,
    video: TransceiverId,
}

/// A sends video to B; `rtx`: whether RTX is offered.
fn call(seed: u64, rtx: bool) -> Call {
    call_with(seed, MediaKind::Video, rtx, false)
}

/// Two peers on a clean link in a new simulation, negotiated after
/// `setup` shaped A's offer (the nodes added, nothing run yet).
fn negotiated(
    seed: u64,
    pacing: bool,
    setup: impl FnOnce(&mut PeerConnection),
) -> (Sim, NodeId, NodeId) {
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(seed, crate::testutil::epoch());
    let internet = sim.internet();
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut a = peer(&mut sim, a_addr, pacing);
    let mut b = peer(&mut sim, b_addr, pacing);
    setup(&mut a);
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    b.set_remote_description(a.local_description().cloned().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    let clean = Link::symmetric(LinkConfig::with_delay(LINK_DELAY));
    let a = sim.add_node(internet, a_addr.ip(), a, clean);
    let b = sim.add_node(internet, b_addr.ip(), b, clean);
    (sim, a, b)
}

/// A sends `kind` to B over 5% loss; `rtx`: whether RTX is offered;
/// `pacing`: [`Configuration::pacing`].
fn call_with(seed: u64, kind: MediaKind, rtx: bool, pacing: bool) -> Call {
    let mut video = None;
    let (mut sim, a, b) = negotiated(seed, pacing, |a| {
        let t = a
            .add_transceiver(kind, TransceiverInit::with_direction(Direction::SendOnly))
            .unwrap();
        if !rtx {
            let vp8: Vec<RtpCodecCapability> = RtpCodecCapability::all(MediaKind::Video)
                .into_iter()
                .filter(|c| c.mime_type == "video/VP8")
                .collect();
            a.transceiver(t)
                .unwrap()
                .set_codec_preferences(&vp8)
                .unwrap();
        }
        video = Some(t);
    });
    let video = video.expect("the transceiver");
    let connected = |s: &Sim| {
        [a, b].iter().all(|&n| {
            s.events(n)
                .any(|(_, e)| *e == Event::DtlsStateChange(DtlsTransportState::Connected))
        })
    };
    sim.run_until(connected, Duration::from_secs(10));
    assert!(connected(&sim), "DTLS did not connect");
    sim.take_events(a);
    sim.take_events(b);
    // 5% random loss each way from now on: on A's link only (a packet
    // crosses A's link and B's, so lossy links at both would lose 9.75%).
    let lossy = Link::symmetric(LinkConfig {
        loss: Loss::Random(0.05),
        ..LinkConfig::with_delay(LINK_DELAY)
    });
    sim.set_link(a, lossy);
    Call { sim, a, b, video }
}

fn pc(sim: &mut Sim, n: NodeId) -> &mut PeerConnection {
    sim.node_mut::<PeerConnection>(n).unwrap()
}

/// A connection that carries no media never derives its DTLS-SRTP keys
/// (dimpl EDDY-PATCH 28): DTLS negotiates a profile, as browsers offer
/// one, and the contexts wait; media builds them on its first packet.
#[test]
fn srtp_keys_are_derived_only_for_media() {
    let (mut sim, a, b) = negotiated(41, false, |a| {
        a.create_data_channel("chat", &crate::DataChannelInit::default())
            .unwrap();
    });
    let open = |s: &Sim| {
        [a, b]
            .iter()
            .all(|&n| s.events(n).any(|(_, e)| matches!(e, Event::ChannelOpen(_))))
    };
    sim.run_until(open, Duration::from_secs(10));
    assert!(open(&sim), "the channel did not open");
    // A minute of consent checks and heartbeats.
    let until = sim.now() + Duration::from_secs(60);
    sim.run_until(|s| s.now() >= until, Duration::from_secs(61));
    for n in [a, b] {
        let stack = &pc(&mut sim, n).stack;
        assert!(stack.srtp_profile().is_some(), "DTLS negotiated a profile");
        assert!(!stack.srtp_built(), "no media, no SRTP keys");
    }
    // The first media packet builds them.
    assert!(pc(&mut sim, a).stack.srtp_mut().is_some());
    assert!(pc(&mut sim, a).stack.srtp_built());
}

/// Sends 30 s of video at 1,500 packets/s; returns (sent, distinct
/// sequence numbers B received, how many came by RTX).
fn stream(c: &mut Call) -> (u32, usize, usize) {
    let pt = pc(&mut c.sim, c.a)
        .sender(c.video)
        .unwrap()
        .get_parameters()
        .codecs[0]
        .payload_type;
    let mut got = vec![false; (PACKETS_PER_SECOND * SECONDS) as usize];
    let mut repaired = 0;
    let tick = Duration::from_millis(20);
    let per_tick = PACKETS_PER_SECOND / 50;
    let payload = [0x5Au8; 1000];
    let mut seq: u32 = 0;
    for _ in 0..SECONDS * 50 {
        let mut s = pc(&mut c.sim, c.a).sender(c.video).unwrap();
        for _ in 0..per_tick {
            let w = RtpWrite::new(pt, seq as u16, seq * 3000 / per_tick, &payload);
            s.write_rtp(w).unwrap();
            seq += 1;
        }
        c.sim.run_for(tick);
        for (_, e) in c.sim.take_events(c.b) {
            if let Event::RtpPacket { packet, .. } = e {
                note(&mut got, &mut repaired, seq, &packet);
            }
        }
        c.sim.take_events(c.a);
    }
    c.sim.run_for(Duration::from_secs(1));
    for (_, e) in c.sim.take_events(c.b) {
        if let Event::RtpPacket { packet, .. } = e {
            note(&mut got, &mut repaired, seq, &packet);
        }
    }
    (seq, got.iter().filter(|g| **g).count(), repaired)
}

/// Marks `packet` received in `got`. Sequence numbers wrap at 65,536: it
/// is the latest packet written (of the `written` so far) with that
/// number.
fn note(got: &mut [bool], repaired: &mut usize, written: u32, packet: &crate::RtpPacketReceived) {
    let last = written - 1;
    let index = last - u32::from((last as u16).wrapping_sub(packet.sequence_number));
    if let Some(slot) = got.get_mut(index as usize) {
        if !*slot && packet.repaired {
            *repaired += 1;
        }
        *slot = true;
    }
}

#[test]
fn the_pacer_bounds_an_application_writing_far_above_the_estimate() {
    // 12 Mbit/s written where the estimate starts at 300 kbit/s and 5%
    // loss holds it back: the pacer's queue stays within its bounds (its
    // rate rises to send what waits within 2 s), nothing is lost but
    // what still waits at the end, and RTX repairs from a history whose
    // age counts from the send (a packet that waited in the pacer is
    // still there when its NACK comes).
    let mut c = call_with(41, MediaKind::Video, true, true);
    let (sent, received, repaired) = stream(&mut c);
    let stats = pc(&mut c.sim, c.a).connection_stats().pacer;
    println!("paced: {received} of {sent} packets arrived, {repaired} by RTX; {stats:?}");
    assert!(stats.queued_packets <= 2_048, "{stats:?}");
    assert!(stats.packets_sent > u64::from(sent) / 2, "{stats:?}");
    let accounted = received as u64 + stats.queued_packets + stats.packets_dropped;
    assert!(
        accounted as f64 >= f64::from(sent) * 0.995,
        "{received} arrived, {} waiting, {} dropped of {sent}",
        stats.queued_packets,
        stats.packets_dropped
    );
    assert!(repaired > sent as usize / 50, "{repaired} repaired");
}

#[test]
fn nack_and_rtx_recover_five_percent_loss_and_rtcp_measures_the_round_trip() {
    let mut c = call(41, true);
    let (sent, received, repaired) = stream(&mut c);
    let share = received as f64 / f64::from(sent);
    println!(
        "RTX: {received} of {sent} packets ({:.3}%), {repaired} by RTX",
        share * 100.0
    );
    assert!(share >= 0.995, "only {:.3}% recovered", share * 100.0);
    assert!(
        repaired > sent as usize / 50,
        "{repaired} repaired: RTX did the work"
    );
    // SR/RR: A's RTT from B's report blocks is the links' 80 ms.
    let rtt = pc(&mut c.sim, c.a).media.rtt.expect("an RTT sample");
    println!("RTT from SR/RR: {rtt:?}");
    let link_rtt = LINK_DELAY * 4;
    assert!(
        rtt.abs_diff(link_rtt) <= Duration::from_millis(5),
        "{rtt:?}"
    );
}

#[test]
fn without_rtx_the_loss_shows_in_the_receiver_reports() {
    let mut c = call(42, false);
    let params = pc(&mut c.sim, c.a)
        .sender(c.video)
        .unwrap()
        .get_parameters();
    assert!(params.codecs.iter().all(|c| c.rtx_payload_type.is_none()));
    let (sent, received, repaired) = stream(&mut c);
    assert_eq!(repaired, 0);
    let lost = f64::from(sent) - received as f64;
    println!("no RTX: {received} of {sent} packets");
    assert!(lost / f64::from(sent) > 0.03, "{lost} lost");
    // A learns the loss from B's report blocks.
    let a = pc(&mut c.sim, c.a);
    let report = a.media.senders[0]
        .stats
        .as_ref()
        .and_then(|s| s.last_report())
        .expect("a report block about A's stream");
    println!("B reported {} lost", report.cumulative_lost);
    let reported = f64::from(report.cumulative_lost);
    assert!(
        (reported - lost).abs() / lost < 0.1,
        "reported {reported}, lost {lost}"
    );
}

/// RTP and RTCP that lie about their lengths, straight into the media
/// layer (as if SRTP had accepted them): each dropped and counted, none
/// delivered, nothing panics.
#[test]
fn hostile_rtp_and_rtcp_are_dropped_and_counted() {
    let mut c = call(43, true);
    let b = pc(&mut c.sim, c.b);
    let before = b.counters().dropped_media_malformed;
    let mut hostile: Vec<Vec<u8>> = vec![
        // 15 CSRCs announced, none there.
        vec![0x8F, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7],
        // X bit, extension block of 0x100 words in a short packet.
        vec![
            0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0xBE, 0xDE, 0x01, 0x00, 1, 2,
        ],
        // P bit with a padding count past the packet.
        vec![0xA0, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 1, 2, 3, 200],
        // Version 1.
        vec![0x40, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7],
        Vec::new(),
    ];
    let rtp_count = hostile.len() as u64;
    for p in hostile.drain(..) {
        b.on_rtp(p);
    }
    let rtcp: Vec<Vec<u8>> = vec![
        // An RR whose length says 100 words.
        vec![0x81, 201, 0, 100, 0, 0, 0, 1],
        // A NACK with no FCI.
        vec![0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2],
        // A compound whose second packet runs past the end.
        vec![0x80, 201, 0, 1, 0, 0, 0, 1, 0x81, 206, 0, 9, 1, 2],
    ];
    let rtcp_count = rtcp.len() as u64;
    for p in rtcp {
        b.on_rtcp(p);
    }
    let after = b.counters().dropped_media_malformed;
    assert_eq!(after - before, rtp_count + rtcp_count);
    assert!(b
        .poll_event()
        .is_none_or(|e| !matches!(e, Event::RtpPacket { .. })));
}

/// A peer NACKing every packet 100 times a second gets each packet again
/// at most once per 10 ms (its half RTT here is less) and within the
/// byte budget: the history bounds what a storm makes us send.
#[test]
fn a_nack_storm_does_not_amplify() {
    use crate::rtp::feedback::Nack;
    let mut c = call(44, true);
    c.sim
        .set_link(c.a, Link::symmetric(LinkConfig::with_delay(LINK_DELAY)));
    let pt = pc(&mut c.sim, c.a)
        .sender(c.video)
        .unwrap()
        .get_parameters()
        .codecs[0]
        .payload_type;
    let ssrc = pc(&mut c.sim, c.a).jsep.transceiver(c.video).unwrap().ssrc;
    let payload = [1u8; 1000];
    let mut seq = 0u16;
    let mut nacked = 0u64;
    // Two seconds: 30 packets per 20 ms, and every 10 ms a NACK of the
    // last 300 packets (a 100×/s storm over everything in flight).
    for tick in 0..200 {
        let a = pc(&mut c.sim, c.a);
        if tick % 2 == 0 {
            for _ in 0..30 {
                let w = RtpWrite::new(pt, seq, u32::from(seq) * 100, &payload);
                a.sender(c.video).unwrap().write_rtp(w).unwrap();
                seq = seq.wrapping_add(1);
            }
        }
        let lost: Vec<u16> = (0..300u16).map(|i| seq.wrapping_sub(300 - i)).collect();
        for chunk in lost.chunks(100) {
            let mut buf = [0u8; 1200];
            let len = Nack::write(7, ssrc, chunk, &mut buf).unwrap();
            a.on_rtcp(buf[..len].to_vec());
            nacked += chunk.len() as u64;
        }
        c.sim.run_for(Duration::from_millis(10));
    }
    let a = pc(&mut c.sim, c.a);
    let h = a.media.senders[0].history.as_ref().unwrap().counters();
    println!(
        "{nacked} NACKed, {} resent ({} bytes), {} rate-limited, {} over budget",
        h.resent, h.resent_bytes, h.rate_limited, h.over_budget
    );
    // At most one resend per packet per 10 ms, and 1 MB/s over the 2 s
    // plus the full bucket it started with (1% for the refill's rounding
    // and the packet that may overdraw it).
    assert!(
        h.resent_bytes <= 3_030_000,
        "{} bytes resent",
        h.resent_bytes
    );
    assert!(
        h.resent <= nacked / 2,
        "{} resent of {nacked} requests",
        h.resent
    );
    assert!(h.rate_limited + h.over_budget > 0);
}

/// DTMF from one eddy to another over 5% loss: every tone arrives once,
/// with its duration; the sender fires `tonechange` per tone and an empty
/// one at the end; the audio's sequence numbers stay continuous around
/// the inserted events.
#[test]
fn dtmf_tones_arrive_once_each_under_loss() {
    let mut c = call_with(45, MediaKind::Audio, true, false);
    let opus = pc(&mut c.sim, c.a)
        .sender(c.video)
        .unwrap()
        .get_parameters()
        .codecs
        .iter()
        .find(|c| c.mime_type.eq_ignore_ascii_case("audio/opus"))
        .expect("Opus negotiated")
        .payload_type;
    let tones = "1234567890*#ABCD";
    {
        let a = pc(&mut c.sim, c.a);
        let mut s = a.sender(c.video).unwrap();
        let mut dtmf = s.dtmf().expect("an audio sender has DTMF");
        assert!(dtmf.can_insert_dtmf());
        assert_eq!(
            dtmf.insert_dtmf("12x", Duration::from_millis(100), Duration::ZERO),
            Err(crate::DtmfError::InvalidCharacter('X'))
        );
        dtmf.insert_dtmf(
            &tones.to_lowercase(),
            Duration::from_millis(100),
            Duration::from_millis(70),
        )
        .unwrap();
        assert_eq!(dtmf.tone_buffer(), tones);
    }
    // Audio every 20 ms alongside, for 16 × 170 ms and some.
    let mut tone_changes = Vec::new();
    let mut received = Vec::new();
    let mut audio_seqs = Vec::new();
    for i in 0..200u32 {
        let w = RtpWrite::new(opus, i as u16, i * 960, &[0xF8, 0xFF, 0xFE]);
        pc(&mut c.sim, c.a)
            .sender(c.video)
            .unwrap()
            .write_rtp(w)
            .unwrap();
        c.sim.run_for(Duration::from_millis(20));
        for (_, e) in c.sim.take_events(c.a) {
            if let Event::ToneChange { tone, .. } = e {
                tone_changes.push(tone);
            }
        }
        for (_, e) in c.sim.take_events(c.b) {
            match e {
                Event::DtmfReceived { tone, duration, .. } => received.push((tone, duration)),
                Event::RtpPacket { packet, .. } if packet.payload_type == opus => {
                    audio_seqs.push(packet.sequence_number)
                }
                _ => {}
            }
        }
    }
    let expected: Vec<String> = tones
        .chars()
        .map(String::from)
        .chain([String::new()])
        .collect();
    assert_eq!(tone_changes, expected);
    let got: String = received.iter().map(|(t, _)| *t).collect();
    assert_eq!(got, tones, "every tone once, in order");
    for (tone, d) in &received {
        assert!(
            d.abs_diff(Duration::from_millis(100)) <= Duration::from_millis(10),
            "{tone}: {d:?}"
        );
    }
    // The audio packets around the events: no sequence number twice.
    let mut sorted = audio_seqs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), audio_seqs.len());
}

/// `get_stats()` after a lossy call: every id a stat names exists, the
/// counts agree across the two sides and with what was sent, the RTT is
/// the link's; with `serde` the JSON reads like Chromium's.
#[test]
fn stats_reports_link_their_objects_and_agree_across_the_call() {
    use crate::stats_report::RtcStats;
    let mut c = call(46, true);
    let (sent, _, _) = stream(&mut c);
    let a = pc(&mut c.sim, c.a).get_stats();
    let b = pc(&mut c.sim, c.b).get_stats();
    for report in [&a, &b] {
        for s in report.stats.values() {
            let links: Vec<&String> = match s {
                RtcStats::Transport(t) => t
                    .selected_candidate_pair_id
                    .iter()
                    .chain([&t.local_certificate_id])
                    .chain(t.remote_certificate_id.iter())
                    .collect(),
                RtcStats::CandidatePair(p) => vec![
                    &p.transport_id,
                    &p.local_candidate_id,
                    &p.remote_candidate_id,
                ],
                RtcStats::InboundRtp(r) => [&r.transport_id, &r.codec_id]
                    .into_iter()
                    .chain(r.remote_id.iter())
                    .collect(),
                RtcStats::OutboundRtp(r) => [&r.transport_id, &r.codec_id]
                    .into_iter()
                    .chain(r.remote_id.iter())
                    .collect(),
                RtcStats::RemoteInboundRtp(r) => vec![&r.transport_id, &r.codec_id, &r.local_id],
                RtcStats::RemoteOutboundRtp(r) => vec![&r.transport_id, &r.codec_id, &r.local_id],
                _ => Vec::new(),
            };
            for id in links {
                assert!(
                    report.get(id).is_some(),
                    "{} names {id}, which is not in the report",
                    s.type_name()
                );
            }
        }
        for kind in [
            "peer-connection",
            "transport",
            "candidate-pair",
            "local-candidate",
            "remote-candidate",
            "certificate",
            "codec",
        ] {
            assert!(report.of_type(kind).next().is_some(), "no {kind}");
        }
    }
    let Some(RtcStats::OutboundRtp(out)) = a.of_type("outbound-rtp").next() else {
        panic!("A has no outbound-rtp");
    };
    assert_eq!(out.packets_sent, u64::from(sent));
    assert!(out.retransmitted_packets_sent > 0 && out.nack_count > 0);
    let Some(RtcStats::InboundRtp(inb)) = b.of_type("inbound-rtp").next() else {
        panic!("B has no inbound-rtp");
    };
    assert_eq!(inb.ssrc, out.ssrc);
    // Every packet arrived, once directly or once by RTX.
    assert_eq!(inb.packets_received, u64::from(sent));
    // Retransmissions are lost at 5% too.
    let (rx, tx) = (
        inb.retransmitted_packets_received,
        out.retransmitted_packets_sent,
    );
    assert!(
        rx <= tx && rx * 10 >= tx * 9,
        "{rx} of {tx} retransmissions"
    );
    // Each a 1,000-byte payload.
    assert_eq!(inb.retransmitted_bytes_received, rx * 1000);
    let Some(RtcStats::RemoteInboundRtp(ri)) = a.of_type("remote-inbound-rtp").next() else {
        panic!("A has no remote-inbound-rtp");
    };
    let rtt = ri.round_trip_time.unwrap();
    assert!((rtt - 0.080).abs() < 0.005, "{rtt}");
    let Some(RtcStats::RemoteOutboundRtp(ro)) = b.of_type("remote-outbound-rtp").next() else {
        panic!("B has no remote-outbound-rtp");
    };
    assert!(ro.packets_sent > 0 && ro.packets_sent <= out.packets_sent);
    #[cfg(feature = "serde")]
    {
        let json = serde_json::to_value(&a).unwrap();
        let out = &json[&out.id];
        assert_eq!(out["type"], "outbound-rtp");
        assert_eq!(out["packetsSent"], u64::from(sent));
        assert_eq!(json["T01"]["type"], "transport");
        assert!(json["T01"]["selectedCandidatePairId"].is_string());
    }
}
