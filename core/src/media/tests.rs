//! The blocks composed: a sender and a receiver over a lossy "network",
//! with NACK, RTX, reports and RTT; and the unit conversions.

use std::time::Duration;

use super::history::{unwrap_rtx, HistoryConfig, PacketHistory};
use super::nack::{NackConfig, NackGenerator};
use super::receive_stats::{Arrival, ReceiveStats};
use super::router::{RouteExtensions, Router};
use super::send_stats::SendStats;
use super::*;
use crate::rtp::rtcp::{ReceiverReport, RtcpPacket};
use crate::rtp::{RtcpCompound, RtpHeader, RtpPacket};
use crate::testutil::epoch;

#[test]
fn unit_conversions() {
    assert_eq!(duration_to_rtp(Duration::from_millis(20), 48_000), 960);
    assert_eq!(duration_to_rtp(Duration::from_secs(1), 90_000), 90_000);
    assert_eq!(duration_to_1_65536(Duration::from_millis(500)), 32_768);
    assert_eq!(duration_to_1_65536(Duration::from_secs(1 << 20)), u32::MAX);
    assert_eq!(duration_from_1_65536(65_536), Duration::from_secs(1));
    assert_eq!(ntp_middle(0x1122_3344_5566_7788), 0x3344_5566);
}

const MEDIA_SSRC: u32 = 0x1000;
const RTX_SSRC: u32 = 0x2000;
const RECEIVER_SSRC: u32 = 0x3000;
const MEDIA_PT: u8 = 96;
const RTX_PT: u8 = 97;
const MID_ID: u8 = 1;

/// The receiver's side of one video stream.
struct Receiver {
    router: Router,
    stats: ReceiveStats,
    nack: NackGenerator,
    rebuilt: Vec<u8>,
}

impl Receiver {
    fn receive(&mut self, now: std::time::Instant, datagram: &[u8]) {
        let p = RtpPacket::parse(datagram).unwrap();
        let routed = self.router.route(&p).unwrap();
        assert_eq!(routed.receiver, 0);
        let arrival = if routed.repair {
            unwrap_rtx(
                datagram,
                &[(RTX_PT, MEDIA_PT)],
                MEDIA_SSRC,
                &mut self.rebuilt,
            )
            .unwrap();
            let original = RtpPacket::parse(&self.rebuilt).unwrap();
            assert_eq!(original.ssrc, MEDIA_SSRC);
            self.stats.on_repaired_rtp(now, &original)
        } else {
            self.stats.on_rtp(now, &p)
        };
        if let Arrival::Valid { extended, .. } = arrival {
            self.nack.on_packet(now, extended);
        }
    }
}

/// 300 packets at 20 ms, every tenth lost on its first trip (the MID
/// header extension only on the first five, as senders do), a 40 ms
/// one-way delay for feedback and retransmissions: every loss is repaired
/// through NACK and RTX, and the reports give the sender its RTT.
#[test]
fn nack_rtx_and_reports_end_to_end() {
    let t0 = epoch();
    let mut history = PacketHistory::new(HistoryConfig::default());
    let mut send_stats = SendStats::new(MEDIA_SSRC, 90_000);
    let mut router = Router::new(RouteExtensions {
        mid: Some(MID_ID),
        ..RouteExtensions::default()
    });
    router.add_receiver("v", None, &[MEDIA_PT, RTX_PT]);
    // The RTX stream is signaled (a=ssrc-group:FID).
    assert!(router.add_ssrc(RTX_SSRC, 0, true));
    let mut rx = Receiver {
        router,
        stats: ReceiveStats::new(MEDIA_SSRC, 90_000, false),
        nack: NackGenerator::new(NackConfig::default()),
        rebuilt: Vec::new(),
    };
    rx.nack.set_rtt(Duration::from_millis(80));
    let one_way = Duration::from_millis(40);
    // (arrival, datagram) on the way to the receiver; NACKs to the sender.
    let mut to_receiver: Vec<(std::time::Instant, Vec<u8>)> = Vec::new();
    let mut to_sender: Vec<(std::time::Instant, Vec<u8>)> = Vec::new();
    let mut rtx_seq = 0u16;
    let mut buf = [0u8; 1500];
    let mut rtx = Vec::new();
    let mut now = t0;
    for step in 0..400u32 {
        now = t0 + Duration::from_millis(u64::from(step) * 20);
        if step < 300 {
            let seq = 65_500u16.wrapping_add(step as u16);
            let mid: &[(u8, &[u8])] = &[(MID_ID, b"v")];
            let n = RtpHeader {
                payload_type: MEDIA_PT,
                sequence: seq,
                timestamp: step * 1_800,
                ssrc: MEDIA_SSRC,
                extensions: if step < 5 { mid } else { &[] },
                ..RtpHeader::default()
            }
            .write(&[step as u8; 200], 0, &mut buf)
            .unwrap();
            assert!(history.insert(now, &buf[..n]));
            send_stats.on_sent(now, step * 1_800, 200);
            if step % 10 != 3 {
                to_receiver.push((now + one_way, buf[..n].to_vec()));
            }
        }
        // Deliver what has arrived, in order.
        to_receiver.sort_by_key(|(at, _)| *at);
        while to_receiver.first().is_some_and(|(at, _)| *at <= now) {
            let (at, d) = to_receiver.remove(0);
            rx.receive(at, &d);
        }
        if let Some(Ok(n)) = rx.nack.poll(now, RECEIVER_SSRC, MEDIA_SSRC, &mut buf) {
            to_sender.push((now + one_way, buf[..n].to_vec()));
        }
        while to_sender.first().is_some_and(|(at, _)| *at <= now) {
            let (at, nack) = to_sender.remove(0);
            let compound = RtcpCompound::parse(&nack, true).unwrap();
            for packet in compound.packets() {
                let RtcpPacket::Nack(nack) = packet else {
                    continue;
                };
                assert_eq!(nack.media_ssrc, MEDIA_SSRC);
                for seq in nack.sequences() {
                    let rtt = Duration::from_millis(80);
                    if history
                        .resend_rtx(at, seq, rtt, RTX_SSRC, RTX_PT, rtx_seq, &mut rtx)
                        .is_ok()
                    {
                        rtx_seq = rtx_seq.wrapping_add(1);
                        to_receiver.push((at + one_way, rtx.clone()));
                    }
                }
            }
        }
    }
    let nack = rx.nack.counters();
    assert_eq!(nack.recovered, 30, "{nack:?}");
    assert_eq!(nack.given_up, 0);
    assert_eq!(rx.nack.missing_count(), 0);
    assert_eq!(history.counters().resent, 30);
    let received = rx.stats.counters();
    assert_eq!(received.cumulative_lost, 0);
    assert_eq!(received.duplicates, 0);
    assert_eq!(received.extended_highest, 65_500 + 299);
    assert_eq!(rx.router.counters().by_mid, 5);

    // Reports: the sender's SR, the receiver's RR back, the RTT.
    let ntp_at = |at: std::time::Instant| -> u64 {
        let secs = (at - t0).as_secs_f64() + 3_900_000_000.0;
        (secs * 4_294_967_296.0) as u64
    };
    let info = send_stats.sender_info(now, ntp_at(now)).unwrap();
    assert_eq!(info.packet_count, 300);
    assert_eq!(info.octet_count, 300 * 200);
    rx.stats.on_sender_report(now + one_way, info.ntp_time);
    let held = Duration::from_millis(15);
    let block = rx.stats.report_block(now + one_way + held).unwrap();
    let n = ReceiverReport::write(RECEIVER_SSRC, &[block], &mut buf).unwrap();
    let compound = RtcpCompound::parse(&buf[..n], false).unwrap();
    let Some(RtcpPacket::ReceiverReport(rr)) = compound.packets().next() else {
        panic!("not an RR");
    };
    let block = rr.report_blocks().next().unwrap();
    assert_eq!(block.highest_sequence, 65_500 + 299);
    assert_eq!(block.cumulative_lost, 0);
    let arrival = now + 2 * one_way + held;
    let rtt = send_stats.on_report_block(&block, ntp_at(arrival)).unwrap();
    assert!(
        rtt.abs_diff(2 * one_way) < Duration::from_millis(1),
        "{rtt:?}"
    );
}
