use proptest::prelude::*;

use super::*;

/// Packetizes `frames` at `mtu`, then feeds the payloads back (sequence
/// numbers from `seq0`, one timestamp per frame, the marker on each
/// frame's last), skipping the packets `lost` names.
fn round_trip(
    kind: CodecKind,
    frames: &[Vec<u8>],
    mtu: usize,
    lost: &[usize],
) -> (Vec<Frame>, DepacketizerStats) {
    let mut p = Packetizer::new(kind);
    let mut d = Depacketizer::new(kind);
    let mut seq: u16 = 65_530;
    let mut n = 0;
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let payloads = p.packetize(f, mtu).unwrap();
        for (k, payload) in payloads.iter().enumerate() {
            assert!(payload.len() <= mtu, "{} > {mtu}", payload.len());
            let marker = k + 1 == payloads.len();
            if !lost.contains(&n) {
                if let Some(frame) = d.push(seq, 3000 * i as u32, marker, payload) {
                    out.push(frame);
                }
            }
            seq = seq.wrapping_add(1);
            n += 1;
        }
    }
    (out, d.stats())
}

fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for n in nals {
        v.extend_from_slice(&[0, 0, 0, 1]);
        v.extend_from_slice(n);
    }
    v
}

#[test]
fn vp8_frames_cross_with_their_keyframe_flag() {
    // RFC 7741 §4.3: P = 0 is a key frame.
    let key = [vec![0x10; 1], vec![0xab; 3000]].concat();
    let delta = [vec![0x11; 1], vec![0xcd; 700]].concat();
    let (frames, stats) = round_trip(CodecKind::Vp8, &[key.clone(), delta.clone()], 1200, &[]);
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0].data.clone(), frames[0].keyframe), (key, true));
    assert_eq!((frames[1].data.clone(), frames[1].keyframe), (delta, false));
    assert_eq!(stats.frames, 2);
}

#[test]
fn a_lost_packet_drops_its_frame_only() {
    let frames: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i * 2; 2500]).collect();
    // Frame 1 has packets 3, 4, 5 at this MTU: lose its middle one.
    let (out, stats) = round_trip(CodecKind::Vp8, &frames, 1000, &[4]);
    assert_eq!(
        out.iter().map(|f| f.timestamp).collect::<Vec<_>>(),
        vec![0, 6000]
    );
    assert_eq!(stats.frames_dropped, 1);
    // Its first packet lost: the rest cannot start a frame.
    let (out, stats) = round_trip(CodecKind::Vp8, &frames, 1000, &[3]);
    assert_eq!(out.len(), 2);
    assert_eq!(stats.frames_dropped, 1);
    // Its last (marker) lost: dropped when the next frame begins.
    let (out, stats) = round_trip(CodecKind::Vp8, &frames, 1000, &[5]);
    assert_eq!(out.len(), 2);
    assert_eq!(stats.frames_dropped, 1);
    // The frame after the loss says so; the others do not.
    assert_eq!(
        out.iter().map(|f| f.after_loss).collect::<Vec<_>>(),
        vec![false, true]
    );
    let (out, _) = round_trip(CodecKind::Vp8, &frames, 1000, &[]);
    assert!(out.iter().all(|f| !f.after_loss));
}

/// Audio: a lost packet is a lost frame; the next frame is marked so that
/// the decoder conceals the gap.
#[test]
fn audio_after_a_lost_frame_is_marked() {
    let frames: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 80]).collect();
    let (out, stats) = round_trip(CodecKind::Opus, &frames, 1200, &[1]);
    assert_eq!(
        out.iter()
            .map(|f| (f.data[0], f.after_loss))
            .collect::<Vec<_>>(),
        vec![(0, false), (2, true), (3, false)]
    );
    assert_eq!(stats.frames_dropped, 0);
}

#[test]
fn h264_small_units_are_aggregated_and_large_ones_fragmented() {
    // SPS, PPS, an IDR slice of 4000 bytes.
    let sps = vec![0x67, 0x42, 0xe0, 0x1f, 0x8c];
    let pps = vec![0x68, 0xce, 0x3c, 0x80];
    let mut idr = vec![0x65];
    idr.extend((0..4000u32).map(|i| (i * 7 % 251) as u8 | 1));
    let frame = annex_b(&[sps.clone(), pps.clone(), idr.clone()]);
    let mut p = Packetizer::new(CodecKind::H264);
    let payloads = p.packetize(&frame, 1200).unwrap();
    // STAP-A of SPS+PPS, then the IDR in four FU-As.
    assert_eq!(payloads[0][0] & 0x1f, 24);
    assert!(payloads[1..].iter().all(|p| p[0] & 0x1f == 28));
    assert_eq!(payloads.len(), 1 + 4);
    let (frames, _) = round_trip(CodecKind::H264, std::slice::from_ref(&frame), 1200, &[]);
    assert_eq!(frames[0].data, frame);
    assert!(frames[0].keyframe);
    // A 3-byte start code in, 4-byte ones out.
    let three = [&[0, 0, 1][..], &sps, &[0, 0, 1], &pps].concat();
    let (frames, _) = round_trip(CodecKind::H264, &[three], 1200, &[]);
    assert_eq!(frames[0].data, annex_b(&[sps, pps]));
    assert!(!frames[0].keyframe);
}

#[test]
fn audio_is_one_frame_per_packet() {
    let (frames, _) = round_trip(
        CodecKind::Opus,
        &[vec![0xf8, 0xff, 0xfe], vec![1; 160]],
        1200,
        &[],
    );
    assert_eq!(frames.len(), 2);
    assert!(frames.iter().all(|f| f.keyframe));
    assert_eq!(
        Packetizer::new(CodecKind::Pcmu).packetize(&[0; 2000], 1200),
        Err(CodecError::TooLarge(2000))
    );
    assert_eq!(CodecKind::from_mime("AUDIO/OPUS"), Some(CodecKind::Opus));
    assert_eq!(CodecKind::from_mime("audio/red"), None);
}

#[test]
fn hostile_payloads_are_counted_not_delivered() {
    let mut d = Depacketizer::new(CodecKind::H264);
    // FU-A middle without a start, STAP-A with a length past the end, F set,
    // a reserved type.
    for (i, p) in [
        &[0x7c, 0x05, 1, 2][..],
        &[0x78, 0x00, 0x09, 0x67],
        &[0x85, 1],
        &[0x1e, 1],
        &[],
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(d.push(i as u16, i as u32, true, p), None);
    }
    assert!(d.stats().malformed >= 4);
    let mut v = Depacketizer::new(CodecKind::Vp8);
    assert_eq!(v.push(0, 0, true, &[0x90, 0x80]), None);
    assert_eq!(v.stats().malformed, 1);
}

proptest! {
    #[test]
    fn every_frame_crosses_at_every_mtu(
        kind in prop_oneof![
            Just(CodecKind::Vp8),
            Just(CodecKind::Vp9),
            Just(CodecKind::H264),
            Just(CodecKind::H265),
            Just(CodecKind::Av1)
        ],
        mtu in 300usize..=1500,
        sizes in proptest::collection::vec(1usize..20_000, 1..6),
        seed in any::<u8>(),
    ) {
        let frames: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let body: Vec<u8> = (0..n).map(|k| ((k * 31 + i * 7) as u8 ^ seed) | 1).collect();
                match kind {
                    // An H.264 or H.265 frame: a few NAL units of the
                    // body's bytes.
                    CodecKind::H264 | CodecKind::H265 => {
                        let cuts = [n / 3, n / 2, n];
                        let mut nals = Vec::new();
                        let mut at = 0;
                        for c in cuts {
                            if c > at {
                                // H.264 type 1; H.265 type 0 (0x01 as the
                                // second header byte: TID 1).
                                let mut nal = if kind == CodecKind::H264 { vec![0x41] } else { vec![0x02, 0x01] };
                                nal.extend_from_slice(&body[at..c]);
                                nals.push(nal);
                                at = c;
                            }
                        }
                        annex_b(&nals)
                    }
                    // An AV1 frame: a frame header OBU and a tile group
                    // OBU, each with its size field.
                    CodecKind::Av1 => {
                        let mut f = Vec::new();
                        for (obu, part) in [(3u8, &body[..n / 4]), (4, &body[n / 4..])] {
                            f.push(obu << 3 | 0x02);
                            av1_leb128(part.len(), &mut f);
                            f.extend_from_slice(part);
                        }
                        f
                    }
                    _ => body,
                }
            })
            .collect();
        let (out, stats) = round_trip(kind, &frames, mtu, &[]);
        prop_assert_eq!(stats.frames_dropped, 0);
        prop_assert_eq!(out.len(), frames.len());
        for (got, want) in out.iter().zip(&frames) {
            prop_assert_eq!(&got.data, want);
        }
    }

    #[test]
    fn arbitrary_payloads_never_panic(
        kind in prop_oneof![
            Just(CodecKind::Vp8),
            Just(CodecKind::Vp9),
            Just(CodecKind::H264),
            Just(CodecKind::H265),
            Just(CodecKind::Av1),
            Just(CodecKind::Opus)
        ],
        packets in proptest::collection::vec(
            (any::<u16>(), any::<u32>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)),
            0..40,
        ),
    ) {
        let mut d = Depacketizer::new(kind);
        for (seq, ts, marker, payload) in packets {
            let _ = d.push(seq, ts % 4, marker, &payload);
        }
    }
}

fn packet(seq: u16, at: std::time::Instant) -> RtpPacketReceived {
    let f = crate::peer::rtp_types_fixed(seq);
    RtpPacketReceived::new(vec![0; 13], f, None, None, false, at).unwrap()
}

#[test]
fn the_jitter_buffer_reorders_waits_for_a_gap_then_skips_it() {
    use std::time::Duration;
    let t0 = crate::testutil::epoch();
    let ms = |n| t0 + Duration::from_millis(n);
    let mut j = JitterBuffer::new(Duration::from_millis(100));
    // 65534, 65535 then 1 (0 missing), across the wrap.
    j.push(packet(65_534, ms(0)));
    j.push(packet(65_535, ms(1)));
    j.push(packet(1, ms(2)));
    let seqs = |j: &mut JitterBuffer, now| {
        std::iter::from_fn(|| j.poll(now))
            .map(|p| p.sequence_number)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(&mut j, ms(2)), vec![65_534, 65_535]);
    assert_eq!(j.poll_timeout(), Some(ms(102)));
    // 0 arrives (an RTX repair) in time: everything in order.
    j.push(packet(0, ms(50)));
    assert_eq!(seqs(&mut j, ms(50)), vec![0, 1]);
    // 3 missing: 4 waits 100 ms, then 3 is skipped.
    j.push(packet(2, ms(60)));
    j.push(packet(4, ms(61)));
    assert_eq!(seqs(&mut j, ms(100)), vec![2]);
    assert!(seqs(&mut j, ms(160)).is_empty());
    assert_eq!(seqs(&mut j, ms(161)), vec![4]);
    // 3 after its turn, and a duplicate of 4: dropped.
    j.push(packet(3, ms(170)));
    j.push(packet(4, ms(170)));
    let s = j.stats();
    assert_eq!((s.emitted, s.skipped, s.late), (6, 1, 2));
    assert!(j.is_empty());
}

#[test]
fn vp9_keyframes_are_read_from_the_frame_header_and_flagged() {
    // Profile 0: 10 0 0 show_existing=0 frame_type=0 (key) ..., then a
    // non-key frame (frame_type 1).
    let key = [vec![0x80], vec![7; 2000]].concat();
    let inter = [vec![0x84], vec![9; 900]].concat();
    let (frames, _) = round_trip(CodecKind::Vp9, &[key.clone(), inter.clone()], 1000, &[]);
    assert_eq!(frames.len(), 2);
    assert!(frames[0].keyframe && !frames[1].keyframe);
    assert_eq!((&frames[0].data, &frames[1].data), (&key, &inter));
    // A flexible-mode descriptor with layer indices and a scalability
    // structure (2 layers, resolutions, one group) reads.
    let mut d = Depacketizer::new(CodecKind::Vp9);
    let ss = [
        0b1011_1110u8, // I, P clear, L, F, B, E, V
        0x85,
        0x01,        // picture id
        0x00,        // layer indices (flexible: one byte)
        0b0011_1000, // SS: N_S=1 (2 layers), Y, G
        0,
        160,
        0,
        120,
        1,
        64,
        0,
        240,         // two widths and heights
        1,           // N_G = 1
        0b0001_0100, // TID 0, U 1, R 1
        1,           // its P_DIFF
        0x80,        // the frame's first byte (a key frame)
    ];
    let got = d.push(1, 9, true, &ss).expect("a frame");
    assert_eq!(got.data, vec![0x80]);
    assert!(got.keyframe);
    assert_eq!(got.layer, Some((0, 0)));
    // Non-flexible, layer indices TID 2, SID 1 (then TL0PICIDX): the
    // frame says so; a descriptor without L says nothing.
    let mut d = Depacketizer::new(CodecKind::Vp9);
    let layered = d
        .push(1, 9, true, &[0xAC, 0x05, 0x42, 0x00, 0x84, 1, 2])
        .unwrap();
    assert_eq!(layered.layer, Some((1, 2)));
    assert_eq!(frames[1].layer, None);
    // A scalability structure cut short is malformed.
    assert_eq!(d.push(2, 10, true, &ss[..8]), None);
    assert_eq!(d.stats().malformed, 1);
}

#[test]
fn h265_aggregates_fragments_and_flags_irap() {
    // VPS (32), SPS (33), PPS (34), an IDR_W_RADL (19) slice of 3,000 bytes.
    let vps = vec![0x40, 0x01, 0x0c];
    let sps = vec![0x42, 0x01, 0x01];
    let pps = vec![0x44, 0x01, 0xc1];
    let mut idr = vec![0x26, 0x01];
    idr.extend((0..3000u32).map(|i| (i % 250) as u8 | 1));
    let frame = annex_b(&[vps, sps, pps, idr]);
    let payloads = Packetizer::new(CodecKind::H265)
        .packetize(&frame, 1200)
        .unwrap();
    assert_eq!((payloads[0][0] >> 1) & 0x3f, 48, "an AP first");
    assert!(payloads[1..].iter().all(|p| (p[0] >> 1) & 0x3f == 49));
    let (frames, _) = round_trip(CodecKind::H265, std::slice::from_ref(&frame), 1200, &[]);
    assert_eq!(frames[0].data, frame);
    assert!(frames[0].keyframe);
}

fn av1_leb128(mut v: usize, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[test]
fn av1_drops_temporal_delimiters_and_restores_size_fields() {
    // A temporal delimiter, a sequence header, a frame OBU of 2,500 bytes
    // (with an extension byte), all with size fields.
    let mut frame = vec![2 << 3 | 0x02, 0];
    frame.extend([1 << 3 | 0x02, 3, 0xaa, 0xbb, 0xcc]);
    frame.extend([6 << 3 | 0x06, 0x28]);
    av1_leb128(2500, &mut frame);
    frame.extend((0..2500u32).map(|i| i as u8));
    let payloads = Packetizer::new(CodecKind::Av1)
        .packetize(&frame, 1000)
        .unwrap();
    assert_eq!(payloads[0][0] & 0x08, 0x08, "N: a new coded video sequence");
    assert_eq!(payloads[1][0] & 0xc0, 0xc0, "Z and Y in the middle");
    let (frames, stats) = round_trip(CodecKind::Av1, std::slice::from_ref(&frame), 1000, &[]);
    assert_eq!(stats.frames_dropped, 0);
    // The same minus the temporal delimiter.
    assert_eq!(frames[0].data, frame[2..]);
    assert!(frames[0].keyframe);
    // A continuation with nothing open is malformed.
    let mut d = Depacketizer::new(CodecKind::Av1);
    assert_eq!(d.push(0, 0, true, &payloads[1]), None);
    assert!(d.stats().malformed >= 1);
}

#[test]
fn red_blocks_round_trip_and_bad_ones_are_refused() {
    let old = RedBlock {
        payload_type: 111,
        timestamp_offset: 960,
        data: &[1, 2, 3],
    };
    let primary = RedBlock {
        payload_type: 111,
        timestamp_offset: 0,
        data: &[9; 40],
    };
    let payload = red_encode(&primary, std::slice::from_ref(&old)).unwrap();
    // RFC 2198 §3's layout: a 4-byte header, the 1-byte primary header.
    assert_eq!(payload.len(), 4 + 1 + 3 + 40);
    assert_eq!(red_decode(&payload).unwrap(), vec![old, primary.clone()]);
    for bad in [&[][..], &[0x80, 0, 0], &[0x80 | 111, 0, 0x04, 0x10, 111]] {
        assert!(red_decode(bad).is_err(), "{bad:?}");
    }
    let too_old = RedBlock {
        payload_type: 111,
        timestamp_offset: 1 << 14,
        data: &[1],
    };
    assert!(red_encode(&primary, &[too_old]).is_err());
}

#[test]
fn an_av1_element_that_never_ends_is_bounded() {
    let mut d = Depacketizer::new(CodecKind::Av1);
    // Y set on every packet, each continuing the last (Z), one timestamp.
    let mut first = vec![0x40u8];
    first.push(0x7f);
    first.extend([0x30; 0x7f]);
    let mut next = vec![0xc0u8, 0x7f];
    next.extend([0x30; 0x7f]);
    assert_eq!(d.push(0, 7, false, &first), None);
    let mut seq = 1u16;
    for _ in 0..(MAX_FRAME_SIZE / 0x7f + 10) {
        assert_eq!(d.push(seq, 7, false, &next), None);
        seq = seq.wrapping_add(1);
    }
    assert!(d.partial.len() <= MAX_FRAME_SIZE, "{}", d.partial.len());
}

/// H.264 packetization-mode 0 (RFC 6184 §6.2): single NAL unit packets
/// only, a unit over the payload size refused; the depacketizer takes them
/// as it takes mode 1's.
#[test]
fn h264_mode_0_sends_single_nal_units_only() {
    let sps = vec![0x67, 0x42, 0xe0, 0x1f, 0x8c];
    let pps = vec![0x68, 0xce, 0x3c, 0x80];
    let mut idr = vec![0x65];
    idr.extend((0..900u32).map(|i| (i * 7 % 251) as u8 | 1));
    let frame = annex_b(&[sps.clone(), pps.clone(), idr.clone()]);
    let mut p = Packetizer::h264_single_nal_unit();
    let payloads = p.packetize(&frame, 1200).unwrap();
    assert_eq!(payloads, vec![sps, pps, idr.clone()]);
    let mut d = Depacketizer::new(CodecKind::H264);
    let last = payloads.len() - 1;
    let got: Vec<_> = payloads
        .iter()
        .enumerate()
        .filter_map(|(i, pl)| d.push(i as u16, 0, i == last, pl))
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, frame);
    assert!(got[0].keyframe);
    // A unit larger than the payload size cannot be sent in this mode.
    assert_eq!(
        p.packetize(&frame, 500),
        Err(CodecError::TooLarge(idr.len()))
    );
}
