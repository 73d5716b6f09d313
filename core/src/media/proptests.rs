//! Property tests across the media blocks: arbitrary inputs never panic,
//! the bounds hold, and what is written parses back.

use std::collections::BTreeSet;
use std::time::Duration;

use proptest::prelude::*;

use super::history::{build_rtx, unwrap_rtx, PacketHistory};
use super::nack::{NackGenerator, MAX_MISSING};
use super::receive_stats::{Arrival, ReceiveStats};
use super::router::{RouteExtensions, Router, MAX_SSRCS};
use super::rtcp_interval::{RtcpIntervalConfig, RtcpScheduler};
use crate::rng::Rng;
use crate::rtp::rtcp::{ReceiverReport, RtcpPacket};
use crate::rtp::{RtcpCompound, RtpHeader, RtpPacket};
use crate::testutil::{epoch, proptest_config};

fn rtp(seq: u16, ts: u32, ssrc: u32, pt: u8, ext: &[(u8, &[u8])], padding: u8) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let n = RtpHeader {
        marker: seq.is_multiple_of(3),
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc,
        csrc: &[],
        extensions: ext,
    }
    .write(&seq.to_be_bytes(), padding, &mut buf)
    .unwrap_or(0);
    buf.truncate(n);
    buf
}

proptest! {
    #![proptest_config(proptest_config!("media"))]

    /// Any arrival order and timing: no panic, and every report block is
    /// encodable (24-bit cumulative loss).
    #[test]
    fn receive_stats_take_anything(
        probation in any::<bool>(),
        ops in proptest::collection::vec((any::<u16>(), any::<u32>(), 0u64..5_000, any::<bool>()), 1..300),
    ) {
        let mut s = ReceiveStats::new(1, 90_000, probation);
        let mut now = epoch();
        for (seq, ts, dt, report) in ops {
            now += Duration::from_micros(dt);
            let p = rtp(seq, ts, 1, 96, &[], 0);
            let p = RtpPacket::parse(&p).unwrap();
            let _ = s.on_rtp(now, &p);
            if report {
                if let Some(rb) = s.report_block(now) {
                    let mut buf = [0u8; 64];
                    prop_assert!(ReceiverReport::write(2, &[rb], &mut buf).is_ok());
                }
            }
            let c = s.counters();
            prop_assert!(c.duplicates <= c.packets);
        }
    }

    /// A stream reordered by up to 50 places but complete loses nothing
    /// and has no duplicates.
    #[test]
    fn reordering_is_not_loss(
        start in any::<u16>(),
        n in 2u32..600,
        offsets in proptest::collection::vec(0u32..50, 600),
    ) {
        let mut order: Vec<(u32, u32)> = (1..n).map(|i| (i + offsets[i as usize], i)).collect();
        order.sort_unstable();
        let mut s = ReceiveStats::new(1, 90_000, false);
        let now = epoch();
        let first = rtp(start, 0, 1, 96, &[], 0);
        let _ = s.on_rtp(now, &RtpPacket::parse(&first).unwrap());
        for (_, i) in order {
            let p = rtp(start.wrapping_add(i as u16), 0, 1, 96, &[], 0);
            let a = s.on_rtp(now, &RtpPacket::parse(&p).unwrap());
            prop_assert_eq!(a, Arrival::Valid { extended: u64::from(start) + u64::from(i), duplicate: false });
        }
        let c = s.counters();
        prop_assert_eq!(c.cumulative_lost, 0);
        prop_assert_eq!(c.duplicates, 0);
        prop_assert_eq!(c.extended_highest, u64::from(start) + u64::from(n) - 1);
    }

    /// NACKs ask only for packets never received, and the missing list
    /// stays bounded.
    #[test]
    fn nacks_ask_only_for_missing(
        steps in proptest::collection::vec((0u64..40, any::<bool>(), 0u64..30), 1..400),
    ) {
        let mut g = NackGenerator::new(super::nack::NackConfig::default());
        g.set_rtt(Duration::from_millis(20));
        let mut received = BTreeSet::new();
        let mut highest = 1_000u64;
        let mut now = epoch();
        g.on_packet(now, highest);
        received.insert(highest);
        let mut buf = [0u8; 1500];
        for (gap, late, dt) in steps {
            now += Duration::from_millis(dt);
            let ext = if late && highest > gap { highest - gap } else { highest + gap + 1 };
            highest = highest.max(ext);
            received.insert(ext);
            g.on_packet(now, ext);
            prop_assert!(g.missing_count() <= MAX_MISSING);
            if let Some(written) = g.poll(now, 1, 2, &mut buf) {
                let n = written.unwrap();
                let c = RtcpCompound::parse(&buf[..n], true).unwrap();
                let Some(RtcpPacket::Nack(nack)) = c.packets().next() else {
                    return Err(TestCaseError::fail("not a NACK"));
                };
                for seq in nack.sequences() {
                    // Never one we have (compared on the wire's 16 bits,
                    // within the 3,000 tracked).
                    let back = u64::from((highest as u16).wrapping_sub(seq));
                    let have = back <= 3_000 && received.contains(&(highest - back.min(highest)));
                    prop_assert!(!have, "asked for {seq}, received");
                }
            }
            if let Some(at) = g.next_timeout() {
                prop_assert!(at <= now + Duration::from_secs(1));
            }
        }
    }

    /// RTX wrapping round-trips any packet; arbitrary bytes never panic.
    #[test]
    fn rtx_round_trip_and_garbage(
        seq in any::<u16>(),
        ts in any::<u32>(),
        pt in 0u8..128,
        rtx_pt in 0u8..128,
        padding in 0u8..8,
        ext in proptest::collection::vec(any::<u8>(), 1..16),
        garbage in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let original = rtp(seq, ts, 5, pt, &[(3, &ext)], padding);
        let mut wrapped = Vec::new();
        build_rtx(&original, 6, rtx_pt, seq.wrapping_mul(3), &mut wrapped).unwrap();
        let mut back = Vec::new();
        prop_assert_eq!(unwrap_rtx(&wrapped, &[(rtx_pt, pt)], 5, &mut back), Ok(seq));
        prop_assert_eq!(back, rtp(seq, ts, 5, pt, &[(3, &ext)], 0));
        let _ = unwrap_rtx(&garbage, &[(rtx_pt, pt)], 5, &mut wrapped);
        let _ = build_rtx(&garbage, 6, rtx_pt, 1, &mut wrapped);
        let mut h = PacketHistory::new(super::history::HistoryConfig::default());
        let _ = h.insert(epoch(), &garbage);
        let _ = h.resend(epoch(), seq, Duration::ZERO);
    }

    /// The router takes any packet and its SSRC table stays bounded.
    #[test]
    fn router_is_bounded(
        packets in proptest::collection::vec((any::<u32>(), 0u8..128, 0u8..4), 1..300),
    ) {
        let mut r = Router::new(RouteExtensions { mid: Some(1), rid: Some(2), repaired_rid: None });
        r.add_receiver("a", None, &[96, 97]);
        r.add_receiver("b", Some("x"), &[98]);
        r.add_receiver("b", Some("y"), &[98]);
        for (ssrc, pt, which) in packets {
            let ext: &[(u8, &[u8])] = match which {
                0 => &[],
                1 => &[(1, b"a")],
                2 => &[(1, b"b"), (2, b"y")],
                _ => &[(1, b"zz")],
            };
            let p = rtp(1, 0, ssrc, pt, ext, 0);
            let p = RtpPacket::parse(&p).unwrap();
            let _ = r.route(&p);
            prop_assert!(r.ssrc_count() <= MAX_SSRCS);
        }
    }

    /// The RTCP schedule always moves forward, within its bounds.
    #[test]
    fn rtcp_schedule_moves_forward(
        seed in any::<u64>(),
        bandwidth in any::<u64>(),
        reduced in any::<bool>(),
        steps in proptest::collection::vec((0usize..70_000, any::<u32>(), any::<u32>(), any::<bool>()), 1..50),
    ) {
        let mut rng = Rng::from_seed(seed);
        let config = RtcpIntervalConfig { session_bandwidth_bps: bandwidth, reduced_minimum: reduced };
        let mut now = epoch();
        let mut s = RtcpScheduler::new(now, config, 100, &mut rng);
        for (size, members, senders, we_sent) in steps {
            s.set_members(members, senders, we_sent);
            now = now.max(s.next_due());
            if s.poll(now, &mut rng) {
                s.on_sent(now, size, &mut rng);
                prop_assert!(s.next_due() > now);
                prop_assert!(s.next_due() <= now + Duration::from_secs(75));
            } else {
                prop_assert!(s.next_due() > now);
            }
        }
    }
}
