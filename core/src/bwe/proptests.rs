//! Property tests: arbitrary inputs to the estimator, the receiver and the
//! pacer never panic, and their bounds hold.

use std::time::Duration;

use proptest::prelude::*;

use super::feedback::{FEEDBACK_BUFFER_LEN, MAX_HISTORY, MAX_PENDING, MAX_STATUSES_PER_FEEDBACK};
use super::pacer::QueuedPacket;
use super::*;
use crate::rtp::twcc::TransportCc;
use crate::rtp::{RtcpCompound, RtcpPacket};
use crate::testutil::{epoch, proptest_config};

#[derive(Debug, Clone)]
enum Op {
    Sent {
        skip: u16,
        size: u16,
        kind: u8,
    },
    Feedback {
        back: u16,
        reference: i32,
        statuses: Vec<Option<i16>>,
    },
    Remb(u32),
    Wait(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..4, 1u16..1500, 0u8..4).prop_map(|(skip, size, kind)| Op::Sent { skip, size, kind }),
        2 => (0u16..400, -(1i32 << 23)..(1 << 23), proptest::collection::vec(
                proptest::option::of(any::<i16>()), 0..300))
            .prop_map(|(back, reference, statuses)| Op::Feedback { back, reference, statuses }),
        1 => any::<u32>().prop_map(Op::Remb),
        2 => (0u16..2000).prop_map(Op::Wait),
    ]
}

fn kind(k: u8) -> PacketKind {
    match k {
        0 => PacketKind::Audio,
        1 => PacketKind::Retransmission,
        2 => PacketKind::Video,
        _ => PacketKind::Padding,
    }
}

proptest! {
    #![proptest_config(proptest_config!("bwe"))]

    /// Any interleaving of sends, feedback (including garbage arrival
    /// times and sequence numbers), REMB and time: no panic, the target
    /// stays within its bounds, the history within its size.
    #[test]
    fn estimator_survives_arbitrary_feedback(ops in proptest::collection::vec(op(), 0..200)) {
        let config = BweConfig::default();
        let mut bwe = BandwidthEstimator::new(config);
        let mut now = epoch();
        let mut seq = 0u16;
        let mut buf = vec![0u8; 4096];
        for op in ops {
            match op {
                Op::Sent { skip, size, kind: k } => {
                    seq = seq.wrapping_add(skip);
                    bwe.on_packet_sent(now, seq, usize::from(size), kind(k));
                    seq = seq.wrapping_add(1);
                }
                Op::Feedback { back, reference, statuses } => {
                    let base = seq.wrapping_sub(back);
                    if let Ok(n) = TransportCc::write(1, 2, base, reference, 0, &statuses, &mut buf) {
                        let compound = RtcpCompound::parse(&buf[..n], true).expect("parses");
                        for packet in compound.packets() {
                            if let RtcpPacket::TransportCc(cc) = packet {
                                bwe.on_feedback(now, &cc);
                            }
                        }
                    }
                }
                Op::Remb(bps) => bwe.on_remb(u64::from(bps)),
                Op::Wait(ms) => now += Duration::from_millis(u64::from(ms)),
            }
            let target = bwe.target_bitrate();
            prop_assert!((config.min_bps..=config.max_bps).contains(&target));
            prop_assert!(bwe.history_len() <= MAX_HISTORY);
            let _ = bwe.poll_estimate();
            let _ = bwe.poll_probe();
        }
    }

    /// Any arrival pattern: the window stays bounded, every message
    /// written parses and reports at most its share of packets.
    #[test]
    fn receiver_feedback_always_parses(
        arrivals in proptest::collection::vec((any::<u16>(), 0u32..300_000, any::<bool>()), 0..300),
    ) {
        let mut receiver = TwccReceiver::new(1, 2);
        let mut now = epoch();
        let mut buf = [0u8; FEEDBACK_BUFFER_LEN];
        for (seq, gap_us, poll) in arrivals {
            now += Duration::from_micros(u64::from(gap_us));
            receiver.on_packet(now, seq, 1000);
            prop_assert!(receiver.pending() <= MAX_PENDING);
            if poll {
                while let Some(n) = receiver.poll_feedback(now, &mut buf) {
                    let compound = RtcpCompound::parse(&buf[..n], true).expect("parses");
                    for packet in compound.packets() {
                        if let RtcpPacket::TransportCc(cc) = packet {
                            prop_assert!(usize::from(cc.status_count) <= MAX_STATUSES_PER_FEEDBACK);
                        }
                    }
                }
            }
        }
        prop_assert_eq!(receiver.counters().write_errors, 0);
    }

    /// Any enqueue, data and probe sequence: the queue stays bounded and
    /// the pacer's next wake-up is never before its last input.
    #[test]
    fn pacer_stays_bounded(
        ops in proptest::collection::vec((0u8..6, 1u16..1500, 0u16..50), 0..400),
    ) {
        let mut now = epoch();
        let config = PacerConfig { max_queue_packets: 64, ..PacerConfig::default() };
        let mut pacer = Pacer::new(config, now, 300_000);
        for (i, (what, size, wait)) in ops.into_iter().enumerate() {
            now += Duration::from_millis(u64::from(wait));
            let size = usize::from(size);
            match what {
                0..=3 => {
                    let _ = pacer.enqueue(now, QueuedPacket { id: i as u64, kind: kind(what), size });
                }
                4 => pacer.on_data_sent(now, size * 100),
                _ => pacer.request_probe(now, size as u64 * 1000),
            }
            prop_assert!(pacer.queued() <= 64);
            while pacer.poll_send(now).is_some() {}
            if let Some(at) = pacer.poll_timeout() {
                prop_assert!(at >= now);
            }
        }
    }
}
