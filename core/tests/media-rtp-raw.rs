//! Raw-mode RTP between two eddys: the `track` event on both sides, packets
//! written by one sender arriving intact at the other side's receiver
//! (routed by mid, SRTP both ways), keyframe requests crossing as PLI, and
//! the W3C source lists.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, NodeId, Sim};
use eddy::{
    AudioLevel, Configuration, Direction, DtlsTransportState, Event, KeyframeRequestKind,
    MediaKind, PeerConnection, Protocol, RtpWrite, TransceiverId, TransceiverInit,
};

fn peer(sim: &mut Sim, addr: SocketAddr) -> PeerConnection {
    let seed = sim.derive_seed();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(seed), sim.now()).unwrap();
    pc.add_local_candidate(addr, Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc
}

struct World {
    sim: Sim,
    a: NodeId,
    b: NodeId,
    /// A's audio and video transceivers.
    a_audio: TransceiverId,
    a_video: TransceiverId,
}

fn tracks(events: &[(Duration, Event)]) -> Vec<(TransceiverId, MediaKind)> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Track { transceiver, track } => Some((*transceiver, track.kind)),
            _ => None,
        })
        .collect()
}

fn connected_pair() -> World {
    connected_pair_with(TransceiverInit::default())
}

/// A and B connected, A's video transceiver made with `video`.
fn connected_pair_with(video: TransceiverInit) -> World {
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(7, Instant::now());
    let internet = sim.internet();
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut a = peer(&mut sim, a_addr);
    let mut b = peer(&mut sim, b_addr);
    let a_audio = a
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    let a_video = a.add_transceiver(MediaKind::Video, video).unwrap();
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    b.set_remote_description(a.local_description().cloned().unwrap())
        .unwrap();
    // The answerer sends back on the transceivers the offer created.
    for t in b.transceivers() {
        b.transceiver(t)
            .unwrap()
            .set_direction(Direction::SendRecv)
            .unwrap();
    }
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    let link = Link::symmetric(LinkConfig {
        delay: Duration::from_millis(10),
        ..LinkConfig::default()
    });
    let a = sim.add_node(internet, a_addr.ip(), a, link);
    let b = sim.add_node(internet, b_addr.ip(), b, link);
    let connected = |s: &Sim| {
        [a, b].iter().all(|&n| {
            s.events(n)
                .any(|(_, e)| *e == Event::DtlsStateChange(DtlsTransportState::Connected))
        })
    };
    sim.run_until(connected, Duration::from_secs(10));
    assert!(connected(&sim), "DTLS did not connect");
    World {
        sim,
        a,
        b,
        a_audio,
        a_video,
    }
}

fn pc(sim: &mut Sim, n: NodeId) -> &mut PeerConnection {
    sim.node_mut::<PeerConnection>(n).unwrap()
}

/// The frames node `n`'s receiver `t` gave (frame mode), taking its events.
fn frames_of(sim: &mut Sim, n: NodeId, t: TransceiverId) -> Vec<eddy::MediaFrame> {
    sim.take_events(n)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::MediaFrame { transceiver, frame } if transceiver == t => Some(frame),
            _ => None,
        })
        .collect()
}

/// The inbound-rtp stats of node `n`'s receiver `t`.
fn inbound_of(sim: &mut Sim, n: NodeId, t: TransceiverId) -> eddy::stats_report::InboundRtpStats {
    pc(sim, n)
        .receiver(t)
        .unwrap()
        .get_stats()
        .of_type("inbound-rtp")
        .find_map(|s| match s {
            eddy::stats_report::RtcStats::InboundRtp(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn packets_cross_intact_with_tracks_keyframe_requests_and_sources() {
    let mut w = connected_pair();
    let (a, b) = (w.a, w.b);
    // Track events: B's on the offer, A's on the answer, one per m-line.
    let b_tracks = tracks(&w.sim.take_events(b));
    let a_tracks = tracks(&w.sim.take_events(a));
    assert_eq!(
        a_tracks,
        vec![(w.a_audio, MediaKind::Audio), (w.a_video, MediaKind::Video)]
    );
    assert_eq!(
        b_tracks.iter().map(|t| t.1).collect::<Vec<_>>(),
        vec![MediaKind::Audio, MediaKind::Video]
    );
    let b_video = b_tracks[1].0;

    let params = pc(&mut w.sim, a)
        .sender(w.a_video)
        .unwrap()
        .get_parameters();
    let vp8 = params
        .codecs
        .iter()
        .find(|c| c.mime_type == "video/VP8")
        .expect("VP8 negotiated");
    assert!(vp8.rtx_payload_type.is_some(), "RTX negotiated with VP8");
    let a_ssrc = params.encodings[0].ssrc;
    let (pt, opus) = {
        let audio = pc(&mut w.sim, a)
            .sender(w.a_audio)
            .unwrap()
            .get_parameters();
        (vp8.payload_type, audio.codecs[0].payload_type)
    };
    for i in 0..50u16 {
        let payload = vec![i as u8; 1000];
        let mut s = pc(&mut w.sim, a).sender(w.a_video).unwrap();
        s.write_rtp(
            RtpWrite::new(pt, 1000 + i, 90 * u32::from(i), &payload).with_marker(i % 5 == 4),
        )
        .unwrap();
        let level = AudioLevel {
            voice: true,
            level: 30,
        };
        let mut s = pc(&mut w.sim, a).sender(w.a_audio).unwrap();
        s.write_rtp(
            RtpWrite::new(opus, i, 960 * u32::from(i), &[0xAB; 80])
                .with_audio_level(level)
                .with_csrcs(&[77]),
        )
        .unwrap();
        w.sim.run_for(Duration::from_millis(20));
    }
    w.sim.run_for(Duration::from_millis(100));
    let got: Vec<_> = w
        .sim
        .take_events(b)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::RtpPacket {
                transceiver,
                packet,
            } => Some((transceiver, packet)),
            _ => None,
        })
        .collect();
    let video: Vec<_> = got.iter().filter(|(t, _)| *t == b_video).collect();
    assert_eq!(video.len(), 50, "every video packet arrived");
    for (i, (_, p)) in video.iter().enumerate() {
        assert_eq!(p.sequence_number, 1000 + i as u16);
        assert_eq!(p.ssrc, a_ssrc);
        assert_eq!(p.payload_type, pt);
        assert_eq!(p.marker, i % 5 == 4);
        assert_eq!(p.payload(), &vec![i as u8; 1000][..]);
        assert!(!p.repaired);
    }
    let audio: Vec<_> = got.iter().filter(|(t, _)| *t != b_video).collect();
    assert_eq!(audio.len(), 50, "every audio packet arrived");
    assert_eq!(
        audio[0].1.audio_level,
        Some(AudioLevel {
            voice: true,
            level: 30
        })
    );
    assert_eq!(audio[0].1.csrcs().collect::<Vec<_>>(), vec![77]);

    // The sources of the last 10 s, with the W3C linear audio level.
    let b_audio = audio[0].0;
    let r = pc(&mut w.sim, b).receiver(b_audio).unwrap();
    let ssrcs = r.get_synchronization_sources();
    assert_eq!(ssrcs.len(), 1);
    let level = ssrcs[0].audio_level.unwrap();
    assert!((level - 10f64.powf(-1.5)).abs() < 1e-9, "{level}");
    assert_eq!(r.get_contributing_sources()[0].source, 77);

    // B asks A's video sender for a keyframe.
    let kind = pc(&mut w.sim, b)
        .receiver(b_video)
        .unwrap()
        .request_keyframe()
        .unwrap();
    assert_eq!(kind, KeyframeRequestKind::Pli);
    w.sim.run_for(Duration::from_millis(50));
    let requests: Vec<_> = w
        .sim
        .take_events(a)
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::KeyframeRequest { .. }))
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        requests,
        vec![Event::KeyframeRequest {
            transceiver: w.a_video,
            kind: KeyframeRequestKind::Pli,
            rid: None,
        }]
    );
    // The 100 written, and the padding-only packets of A's pacer probes.
    let padding = pc(&mut w.sim, a)
        .connection_stats()
        .pacer
        .padding_packets_sent;
    let stats = pc(&mut w.sim, b).connection_stats();
    assert_eq!(stats.srtp_receive.rtp_packets, 100 + padding);
    assert_eq!(stats.srtp_receive.auth_failures, 0);
}

/// The frame API (issue 16): A writes VP8 and Opus frames with
/// `write_frame` (packetized at the MTU, numbered, the marker on each
/// frame's last packet); B's `Depacketizer` on `Event::RtpPacket` gives
/// back every frame byte for byte, with the key frame flagged.
#[test]
fn frames_written_whole_arrive_whole() {
    use eddy::codec::{CodecKind, Depacketizer};
    let mut w = connected_pair();
    let (a, b) = (w.a, w.b);
    let b_tracks = tracks(&w.sim.take_events(b));
    let (b_audio, b_video) = (b_tracks[0].0, b_tracks[1].0);
    let codec = |sim: &mut Sim, t, mime: &str| {
        pc(sim, a)
            .sender(t)
            .unwrap()
            .get_parameters()
            .codecs
            .iter()
            .find(|c| c.mime_type.eq_ignore_ascii_case(mime))
            .map(|c| c.payload_type)
            .unwrap()
    };
    let vp8 = codec(&mut w.sim, w.a_video, "video/VP8");
    let opus = codec(&mut w.sim, w.a_audio, "audio/opus");
    // A key frame (P bit 0) of 6,000 bytes, then deltas of 300 to 2,400.
    let frames: Vec<Vec<u8>> = (0..30u32)
        .map(|i| {
            let size = if i == 0 {
                6000
            } else {
                300 + (i as usize * 97) % 2100
            };
            let mut f: Vec<u8> = (0..size).map(|k| (k as u32 * 13 + i) as u8).collect();
            f[0] = if i == 0 { 0x10 } else { 0x11 };
            f
        })
        .collect();
    for (i, f) in frames.iter().enumerate() {
        let ts = 3000 * i as u32;
        let p = pc(&mut w.sim, a);
        p.sender(w.a_video)
            .unwrap()
            .write_frame(vp8, ts, f)
            .unwrap();
        p.sender(w.a_audio)
            .unwrap()
            .write_frame(opus, 960 * i as u32, &[0xF8, 0xFF, 0xFE])
            .unwrap();
        w.sim.run_for(Duration::from_millis(33));
    }
    // An unknown payload type and an oversized audio frame are refused.
    let p = pc(&mut w.sim, a);
    assert!(p
        .sender(w.a_video)
        .unwrap()
        .write_frame(1, 0, &[1])
        .is_err());
    assert!(p
        .sender(w.a_audio)
        .unwrap()
        .write_frame(opus, 0, &[0; 5000])
        .is_err());
    w.sim.run_for(Duration::from_millis(200));
    let mut video = Depacketizer::new(CodecKind::Vp8);
    let mut audio = Depacketizer::new(CodecKind::Opus);
    let (mut got_video, mut got_audio) = (Vec::new(), 0);
    for (_, e) in w.sim.take_events(b) {
        if let Event::RtpPacket {
            transceiver,
            packet,
        } = e
        {
            if transceiver == b_video {
                got_video.extend(video.push_packet(&packet));
            } else if transceiver == b_audio && audio.push_packet(&packet).is_some() {
                got_audio += 1;
            }
        }
    }
    assert_eq!(got_video.len(), frames.len(), "{:?}", video.stats());
    for (i, (got, want)) in got_video.iter().zip(&frames).enumerate() {
        assert_eq!(&got.data, want, "frame {i}");
        assert_eq!(got.keyframe, i == 0);
        assert_eq!(got.timestamp, 3000 * i as u32);
    }
    assert_eq!(got_audio, frames.len());
}

/// A's VP8 payload type, after A's link starts losing 5% of packets (10 ms
/// each way).
fn vp8_over_lossy_link(w: &mut World) -> u8 {
    let vp8 = pc(&mut w.sim, w.a)
        .sender(w.a_video)
        .unwrap()
        .get_parameters()
        .codecs
        .iter()
        .find(|c| c.mime_type == "video/VP8")
        .map(|c| c.payload_type)
        .unwrap();
    w.sim.set_link(
        w.a,
        Link::symmetric(LinkConfig {
            delay: Duration::from_millis(10),
            loss: eddy::sim::Loss::Random(0.05),
            ..LinkConfig::default()
        }),
    );
    vp8
}

/// A connected pair (A's video made with `video`), B's video receiver in
/// frame mode, the link at 5% loss; B's video transceiver and VP8's
/// payload type.
fn frame_mode_pair(video: TransceiverInit) -> (World, TransceiverId, u8) {
    let mut w = connected_pair_with(video);
    let b = w.b;
    let b_video = tracks(&w.sim.take_events(b))[1].0;
    pc(&mut w.sim, b)
        .receiver(b_video)
        .unwrap()
        .set_frame_mode(true);
    let vp8 = vp8_over_lossy_link(&mut w);
    (w, b_video, vp8)
}

/// Frames over 5% loss: NACK and RTX repair the stream a round trip late,
/// and a `JitterBuffer` in front of the `Depacketizer` waits for them, so
/// almost every frame arrives whole; fed straight in, the depacketizer
/// drops each frame that lost a packet.
#[test]
fn a_jitter_buffer_waits_for_the_repairs() {
    use eddy::codec::{CodecKind, Depacketizer, JitterBuffer};
    let mut w = connected_pair();
    let (a, b) = (w.a, w.b);
    let b_video = tracks(&w.sim.take_events(b))[1].0;
    let vp8 = vp8_over_lossy_link(&mut w);
    let frames = 300u32;
    for i in 0..frames {
        let mut f = vec![(i % 251) as u8; 2500];
        f[0] = if i.is_multiple_of(60) { 0x10 } else { 0x11 };
        pc(&mut w.sim, a)
            .sender(w.a_video)
            .unwrap()
            .write_frame(vp8, 3000 * i, &f)
            .unwrap();
        w.sim.run_for(Duration::from_millis(33));
    }
    w.sim.run_for(Duration::from_millis(500));
    let mut jitter = JitterBuffer::new(Duration::from_millis(150));
    let (mut buffered, mut direct) = (
        Depacketizer::new(CodecKind::Vp8),
        Depacketizer::new(CodecKind::Vp8),
    );
    let (mut whole, mut whole_direct) = (0u32, 0u32);
    let mut last = None;
    let twcc = pc(&mut w.sim, b)
        .receiver(b_video)
        .unwrap()
        .get_parameters()
        .header_extensions
        .iter()
        .find(|e| e.uri.contains("transport-wide-cc"))
        .map(|e| e.id)
        .expect("transport-wide cc negotiated");
    let mut transport = Vec::new();
    for (_, e) in w.sim.take_events(b) {
        let Event::RtpPacket {
            transceiver,
            packet,
        } = e
        else {
            continue;
        };
        if transceiver != b_video {
            continue;
        }
        let now = packet.arrival;
        last = Some(now);
        whole_direct += u32::from(direct.push_packet(&packet).is_some());
        if let Some(v) = packet.extension(twcc).and_then(|v| v.get(..2)) {
            let t = u16::from_be_bytes([v[0], v[1]]);
            transport.push((packet.sequence_number, packet.repaired, t));
        }
        jitter.push(packet);
        while let Some(p) = jitter.poll(now) {
            whole += u32::from(buffered.push_packet(&p).is_some());
        }
    }
    let end = last.unwrap() + Duration::from_secs(1);
    while let Some(p) = jitter.poll(end) {
        whole += u32::from(buffered.push_packet(&p).is_some());
    }
    let js = jitter.stats();
    eprintln!(
        "{frames} frames: {whole} whole through the jitter buffer ({js:?}), {whole_direct} without"
    );
    // Each retransmission has a transport-wide sequence number of its own,
    // later than that of the packet sent after its original.
    let repairs: Vec<_> = transport.iter().filter(|x| x.1).collect();
    assert!(!repairs.is_empty());
    for &&(seq, _, t) in &repairs {
        if let Some(&(_, _, next)) = transport
            .iter()
            .find(|x| !x.1 && x.0 == seq.wrapping_add(1))
        {
            assert!(
                (t.wrapping_sub(next) as i16) > 0,
                "RTX of {seq}: {t} vs {next}"
            );
        }
    }
    assert!(whole * 100 >= frames * 98, "{whole} of {frames}");
    assert!(
        whole > whole_direct + frames / 20,
        "{whole} vs {whole_direct}"
    );
}

/// Frame mode: B's video receiver gives `Event::MediaFrame` instead of
/// packets, through its jitter buffer and depacketizer; over 5% loss with
/// NACK/RTX the frames A wrote arrive whole, in order, with the key frames
/// flagged.
#[test]
fn a_receiver_in_frame_mode_gives_whole_frames() {
    let (mut w, b_video, vp8) = frame_mode_pair(TransceiverInit::default());
    let (a, b) = (w.a, w.b);
    let sent: Vec<Vec<u8>> = (0..300u32)
        .map(|i| {
            let mut f: Vec<u8> = (0..1800 + (i as usize * 37) % 1500)
                .map(|k| (k as u32 ^ i) as u8)
                .collect();
            f[0] = if i.is_multiple_of(60) { 0x10 } else { 0x11 };
            f
        })
        .collect();
    for (i, f) in sent.iter().enumerate() {
        pc(&mut w.sim, a)
            .sender(w.a_video)
            .unwrap()
            .write_frame(vp8, 3000 * i as u32, f)
            .unwrap();
        // A frame every 1/30 s, as its 3,000-tick timestamps say.
        w.sim.run_for(Duration::from_nanos(33_333_333));
    }
    w.sim.run_for(Duration::from_secs(1));
    let mut got = Vec::new();
    let mut packets = 0;
    for (_, e) in w.sim.take_events(b) {
        match e {
            Event::MediaFrame { transceiver, frame } if transceiver == b_video => got.push(frame),
            Event::RtpPacket { transceiver, .. } if transceiver == b_video => packets += 1,
            _ => {}
        }
    }
    assert_eq!(packets, 0, "no packets in frame mode");
    assert!(
        got.len() * 100 >= sent.len() * 98,
        "{} of {}",
        got.len(),
        sent.len()
    );
    for f in &got {
        let i = (f.frame.timestamp / 3000) as usize;
        assert_eq!(f.frame.data, sent[i], "frame {i}");
        assert_eq!(f.frame.keyframe, i.is_multiple_of(60));
        assert_eq!(f.payload_type, vp8);
    }
    assert!(got
        .windows(2)
        .all(|p| p[0].frame.timestamp < p[1].frame.timestamp));
    // Capture times from A's sender reports, once one came: as far apart
    // as the RTP timestamps say (A wrote a frame every 1/30 s, 3,000 ticks
    // apart).
    let timed: Vec<_> = got
        .iter()
        .filter_map(|f| Some((f.frame.timestamp, f.capture_time?)))
        .collect();
    assert!(
        timed.len() * 10 >= got.len() * 9,
        "{} of {}",
        timed.len(),
        got.len()
    );
    let (first, last) = (timed[0], timed[timed.len() - 1]);
    let wall = last.1.duration_since(first.1).unwrap().as_secs_f64();
    let rtp = f64::from(last.0 - first.0) / 90_000.0;
    // Within 50 ms over the call's ~10 s: A's SR places its latest packet's
    // timestamp at the instant A last handled input (write_frame takes no
    // clock), up to a frame interval stale in the simulator.
    assert!(rtp > 8.0 && (wall - rtp).abs() < 0.05, "{wall} vs {rtp}");
    // The jitter buffer's and the frames' counts in inbound-rtp.
    let inbound = inbound_of(&mut w.sim, b, b_video);
    assert_eq!(inbound.frames_received, Some(got.len() as u64));
    assert!(inbound.jitter_buffer_emitted_count.unwrap() + 10 >= inbound.packets_received);
    assert!(inbound.jitter_buffer_delay.unwrap() > 0.0);
    eprintln!(
        "frame mode over 5% loss: {} of {} frames",
        got.len(),
        sent.len()
    );
}

/// Frame mode after a loss nothing can repair (a 1 s outage, longer than
/// the jitter buffer waits): the frames that follow refer to lost ones, so
/// none is delivered until a key frame; B asks A for one (PLI), A's
/// application answers with a key frame, and frames flow again from it,
/// the first flagged `after_loss`.
#[test]
fn frame_mode_waits_for_a_key_frame_after_an_outage() {
    let (mut w, b_video, vp8) = frame_mode_pair(TransceiverInit::default());
    let (a, b) = (w.a, w.b);
    let link = |loss| {
        Link::symmetric(LinkConfig {
            delay: Duration::from_millis(10),
            loss: eddy::sim::Loss::Random(loss),
            ..LinkConfig::default()
        })
    };
    w.sim.set_link(a, link(0.0));
    w.sim.take_events(a);
    let (mut key_next, mut requests, mut keys_sent) = (true, 0, Vec::new());
    for i in 0..150u32 {
        match i {
            50 => w.sim.set_link(a, link(1.0)),
            80 => w.sim.set_link(a, link(0.0)),
            _ => {}
        }
        let key = std::mem::take(&mut key_next);
        if key {
            keys_sent.push(i);
        }
        let mut f = vec![i as u8; 2000];
        f[0] = if key { 0x10 } else { 0x11 };
        pc(&mut w.sim, a)
            .sender(w.a_video)
            .unwrap()
            .write_frame(vp8, 3000 * i, &f)
            .unwrap();
        w.sim.run_for(Duration::from_millis(33));
        for (_, e) in w.sim.take_events(a) {
            if matches!(e, Event::KeyframeRequest { transceiver, .. } if transceiver == w.a_video) {
                requests += 1;
                key_next = true;
            }
        }
    }
    w.sim.run_for(Duration::from_secs(1));
    let got = frames_of(&mut w.sim, b, b_video);
    let index = |f: &eddy::MediaFrame| f.frame.timestamp / 3000;
    eprintln!(
        "{} frames delivered, key frames sent at {keys_sent:?}, {requests} requests",
        got.len()
    );
    assert!(requests >= 1, "no keyframe request after the outage");
    let after: Vec<_> = got.iter().filter(|f| index(f) >= 50).collect();
    let first = after.first().expect("frames after the outage");
    assert!(
        first.frame.keyframe && first.frame.after_loss,
        "first frame after the outage: {} key {} after_loss {}",
        index(first),
        first.frame.keyframe,
        first.frame.after_loss
    );
    assert!(keys_sent.contains(&index(first)), "{}", index(first));
    // From that key frame on, every frame arrives.
    let resumed = index(first);
    assert_eq!(after.len() as u32, 150 - resumed, "frames after {resumed}");
    assert!(got.iter().filter(|f| index(f) < 50).count() >= 48);
    let inbound = inbound_of(&mut w.sim, b, b_video);
    assert!(inbound.pli_count >= 1);
    assert!(inbound.frames_dropped.unwrap_or(0) >= 1);
}

/// Issue 16's simulator call: 30 s of 30 fps video over 3% loss and 40 ms
/// of jitter (2% reordered), B in frame mode. Every frame A wrote is either delivered
/// whole, in order, or reported lost (the next delivered frame is marked
/// `after_loss`); the jitter buffer's mean delay stays within its 400 ms
/// bound.
#[test]
fn a_30_s_call_over_loss_and_jitter_delivers_or_reports_every_frame() {
    let (mut w, b_video, vp8) = frame_mode_pair(TransceiverInit::default());
    let (a, b) = (w.a, w.b);
    w.sim.set_link(
        a,
        Link::symmetric(LinkConfig {
            delay: Duration::from_millis(25),
            jitter: Duration::from_millis(40),
            loss: eddy::sim::Loss::Random(0.03),
            reorder: 0.02,
            reorder_delay: Duration::from_millis(30),
            ..LinkConfig::default()
        }),
    );
    w.sim.take_events(a);
    let frames = 900u32;
    let mut sent = Vec::new();
    let mut key_next = true;
    for i in 0..frames {
        let key = std::mem::take(&mut key_next) || i.is_multiple_of(60);
        let mut f: Vec<u8> = (0..1500 + (i as usize * 53) % 2500)
            .map(|k| (k as u32 ^ i) as u8)
            .collect();
        f[0] = if key { 0x10 } else { 0x11 };
        pc(&mut w.sim, a)
            .sender(w.a_video)
            .unwrap()
            .write_frame(vp8, 3000 * i, &f)
            .unwrap();
        sent.push(f);
        w.sim.run_for(Duration::from_millis(33));
        key_next = w.sim.take_events(a).iter().any(
            |(_, e)| matches!(e, Event::KeyframeRequest { transceiver, .. } if *transceiver == w.a_video),
        );
    }
    w.sim.run_for(Duration::from_secs(1));
    let got = frames_of(&mut w.sim, b, b_video);
    let mut expected = 0usize;
    let mut unreported = Vec::new();
    for f in &got {
        let i = (f.frame.timestamp / 3000) as usize;
        assert!(i >= expected, "frame {i} out of order (after {expected})");
        assert_eq!(f.frame.data, sent[i], "frame {i} not whole");
        if i > expected && !f.frame.after_loss {
            unreported.push(i);
        }
        expected = i + 1;
    }
    assert!(
        unreported.is_empty(),
        "losses not reported before {unreported:?}"
    );
    let inbound = inbound_of(&mut w.sim, b, b_video);
    let mean = inbound.jitter_buffer_delay.unwrap()
        / inbound.jitter_buffer_emitted_count.unwrap().max(1) as f64;
    eprintln!(
        "30 s over 3% loss, 40 ms jitter: {} of {frames} frames delivered whole, mean jitter-buffer delay {:.1} ms, {} PLIs",
        got.len(),
        mean * 1000.0,
        inbound.pli_count
    );
    assert!(mean <= 0.4, "mean jitter-buffer delay {mean} s");
    assert!(
        got.len() * 100 >= frames as usize * 90,
        "{} of {frames}",
        got.len()
    );
}

/// Simulcast sent by eddy (RFC 8853): A's video sender has three
/// encodings (q, h, f); the offer says `a=simulcast:send q;h;f`, B's answer
/// takes all three, and each encoding is a stream of its own — frames
/// written per RID arrive per RID at B (in frame mode, NACK/RTX repairing
/// each over 5% loss, the repairs carrying the repaired RID), with an
/// outbound-rtp per encoding at A and keyframe requests naming the RID.
#[test]
fn a_simulcast_sender_s_encodings_arrive_apart() {
    use eddy::SendEncoding;
    let rids = ["q", "h", "f"];
    let init = TransceiverInit::default()
        .with_send_encodings(rids.iter().map(|r| SendEncoding::new(*r)).collect());
    let (mut w, b_video, vp8) = frame_mode_pair(init);
    let (a, b) = (w.a, w.b);
    let offer = pc(&mut w.sim, a).local_description().unwrap().sdp.clone();
    let answer = pc(&mut w.sim, b).local_description().unwrap().sdp.clone();
    assert!(offer.contains("a=simulcast:send q;h;f"), "{offer}");
    assert!(offer.contains("a=rid:h send"));
    assert!(answer.contains("a=simulcast:recv q;h;f"), "{answer}");
    let frame = |i: u32, k: usize| -> Vec<u8> {
        let mut f: Vec<u8> = (0..700 * (k + 1) + (i as usize * 13) % 900)
            .map(|x| (x as u32 ^ i ^ (k as u32 * 77)) as u8)
            .collect();
        f[0] = if i.is_multiple_of(60) { 0x10 } else { 0x11 };
        f
    };
    let frames = 150u32;
    for i in 0..frames {
        for (k, rid) in rids.iter().enumerate() {
            pc(&mut w.sim, a)
                .sender(w.a_video)
                .unwrap()
                .write_layer_frame(rid, vp8, 3000 * i, &frame(i, k))
                .unwrap();
        }
        w.sim.run_for(Duration::from_millis(33));
    }
    w.sim.run_for(Duration::from_secs(1));
    let got = frames_of(&mut w.sim, b, b_video);
    let by_rid = got
        .iter()
        .fold(std::collections::BTreeMap::new(), |mut m, f| {
            *m.entry(f.rid.clone()).or_insert(0) += 1;
            m
        });
    eprintln!("simulcast over 5% loss, frames at B by rid: {by_rid:?}");
    for (k, rid) in rids.iter().enumerate() {
        let mine: Vec<_> = got
            .iter()
            .filter(|f| f.rid.as_deref() == Some(*rid))
            .collect();
        assert!(
            mine.len() * 100 >= frames as usize * 98,
            "{rid}: {} of {frames}",
            mine.len()
        );
        for f in &mine {
            assert_eq!(f.frame.data, frame(f.frame.timestamp / 3000, k), "{rid}");
        }
        let ssrcs: std::collections::BTreeSet<u32> = mine.iter().map(|f| f.ssrc).collect();
        assert_eq!(ssrcs.len(), 1, "{rid}: one stream");
    }
    assert_eq!(got.iter().filter(|f| f.rid.is_none()).count(), 0);
    // A: three encodings, an outbound-rtp each, repairs sent on each.
    let params = pc(&mut w.sim, a)
        .sender(w.a_video)
        .unwrap()
        .get_parameters();
    assert_eq!(
        params
            .encodings
            .iter()
            .map(|e| e.rid.as_deref())
            .collect::<Vec<_>>(),
        vec![Some("q"), Some("h"), Some("f")]
    );
    let report = pc(&mut w.sim, a).sender(w.a_video).unwrap().get_stats();
    let outbound: Vec<_> = report
        .of_type("outbound-rtp")
        .filter_map(|s| match s {
            eddy::stats_report::RtcStats::OutboundRtp(o) => Some(o.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(outbound.len(), 3);
    for o in &outbound {
        let i = o.encoding_index as usize;
        assert_eq!(o.rid.as_deref(), Some(rids[i]));
        assert!(o.packets_sent >= u64::from(frames), "{o:?}");
        assert!(o.retransmitted_packets_sent > 0, "{o:?}");
    }
    // B asks for key frames: A hears which encodings. A request is not
    // resent, and the link loses 5%: B asks again while one is missing.
    w.sim.take_events(a);
    let mut asked = std::collections::BTreeSet::new();
    for _ in 0..3 {
        pc(&mut w.sim, b)
            .receiver(b_video)
            .unwrap()
            .request_keyframe()
            .unwrap();
        w.sim.run_for(Duration::from_millis(100));
        asked.extend(
            w.sim
                .take_events(a)
                .into_iter()
                .filter_map(|(_, e)| match e {
                    Event::KeyframeRequest { rid, .. } => rid,
                    _ => None,
                }),
        );
        if asked.len() == rids.len() {
            break;
        }
    }
    assert_eq!(asked.into_iter().collect::<Vec<_>>(), ["f", "h", "q"]);
}

/// `sendEncodings` are checked as the W3C API does: RIDs by the RFC 8851
/// grammar and unique; simulcast is for video, at most four encodings.
#[test]
fn bad_send_encodings_are_refused() {
    use eddy::SendEncoding;
    #[allow(clippy::disallowed_methods)]
    let mut pc =
        PeerConnection::new(Configuration::default().with_seed(1), Instant::now()).unwrap();
    let enc = |rids: &[&str]| {
        TransceiverInit::default()
            .with_send_encodings(rids.iter().map(|r| SendEncoding::new(*r)).collect())
    };
    for (kind, rids) in [
        (MediaKind::Audio, &["a", "b"][..]),
        (MediaKind::Video, &["a", "a"]),
        (MediaKind::Video, &["a", "b c"]),
        (MediaKind::Video, &["a", ""]),
        (MediaKind::Video, &["a", "b", "c", "d", "e"]),
        (MediaKind::Video, &["a", "abcdefghijklmnopq"]),
    ] {
        assert!(
            pc.add_transceiver(kind, enc(rids)).is_err(),
            "{kind:?} {rids:?}"
        );
    }
    assert!(pc
        .add_transceiver(MediaKind::Video, enc(&["lo", "hi-1", "x_2"]))
        .is_ok());
    assert_eq!(pc.transceivers().len(), 1);
}

/// The pacer's probe padding on a simulcast encoding with a `MAX_RID_LEN`
/// RID, which every padding packet carries as its repaired RID: it is sent,
/// and nothing fails.
#[test]
fn probe_padding_fits_the_longest_rid() {
    use eddy::{SendEncoding, MAX_RID_LEN};
    let rids: Vec<String> = (0..2).map(|i| format!("{i}").repeat(MAX_RID_LEN)).collect();
    let init = TransceiverInit::default()
        .with_send_encodings(rids.iter().map(SendEncoding::new).collect());
    let (mut w, _, vp8) = frame_mode_pair(init);
    let a = w.a;
    for i in 0..30u32 {
        for rid in &rids {
            let mut f = vec![(i % 251) as u8; 1500];
            f[0] = if i == 0 { 0x10 } else { 0x11 };
            pc(&mut w.sim, a)
                .sender(w.a_video)
                .unwrap()
                .write_layer_frame(rid, vp8, 3000 * i, &f)
                .unwrap();
        }
        w.sim.run_for(Duration::from_millis(33));
    }
    let pacer = pc(&mut w.sim, a).connection_stats().pacer;
    assert!(pacer.padding_packets_sent > 0, "{pacer:?}");
    assert_eq!(pacer.send_failures, 0, "{pacer:?}");
}
