//! Sending statistics of one local SSRC: the counts and RTP clock an SR's
//! sender info carries (RFC 3550 §6.4.1), and the round-trip time from the
//! report blocks the remote sends back.

use std::time::{Duration, Instant};

use super::{duration_from_1_65536, duration_to_rtp, ntp_middle};
use crate::rtp::rtcp::{ReportBlock, SenderInfo};

/// How many of our last SRs are remembered to check a report block's LSR
/// against (a fixed array): an LSR we never sent gives no RTT sample.
const SENT_SR_MEMORY: usize = 8;

/// Sending statistics of one local SSRC.
#[derive(Debug, Clone)]
pub(crate) struct SendStats {
    ssrc: u32,
    clock_rate: u32,
    packets: u64,
    payload_bytes: u64,
    /// The last RTP timestamp sent and the instant it corresponds to.
    last: Option<(u32, Instant)>,
    /// Middle 32 bits of the NTP time of our last SRs (ring).
    sent_srs: [u32; SENT_SR_MEMORY],
    sent_sr_next: usize,
    rtt: Option<Duration>,
    smoothed_rtt: Option<Duration>,
    rtt_samples: u64,
    /// The sum of the RTT samples (W3C `totalRoundTripTime`).
    total_rtt: Duration,
    /// The latest report block about this stream.
    last_report: Option<ReportBlock>,
}

impl SendStats {
    /// Statistics for local `ssrc`, whose payload format has `clock_rate` Hz.
    pub(crate) fn new(ssrc: u32, clock_rate: u32) -> Self {
        Self {
            ssrc,
            clock_rate,
            packets: 0,
            payload_bytes: 0,
            last: None,
            sent_srs: [0; SENT_SR_MEMORY],
            sent_sr_next: 0,
            rtt: None,
            smoothed_rtt: None,
            rtt_samples: 0,
            total_rtt: Duration::ZERO,
            last_report: None,
        }
    }

    /// The local SSRC.
    pub(crate) fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Accounts a packet sent at `now`: its RTP timestamp is the media
    /// clock's reading for the instant `capture` (often `now`).
    pub(crate) fn on_sent(&mut self, capture: Instant, timestamp: u32, payload_len: usize) {
        self.packets += 1;
        self.payload_bytes += payload_len as u64;
        self.last = Some((timestamp, capture));
    }

    /// The RTP timestamp of the last packet sent and the instant it
    /// corresponds to.
    pub(crate) fn last_sent(&self) -> Option<(u32, Instant)> {
        self.last
    }

    /// Packets and payload octets sent.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.packets, self.payload_bytes)
    }

    /// The sender info of an SR sent at `now`, whose wall-clock time is
    /// `ntp_now` (NTP 32.32), or `None` before the first packet (RFC 3550
    /// §6.4: a participant that has sent no data sends an RR).
    ///
    /// RFC 3550 §6.4.1: "RTP timestamp: 32 bits. Corresponds to the same
    /// time as the NTP timestamp (above), but in the same units and with
    /// the same random offset as the RTP timestamps in data packets." It is
    /// calculated from the last packet's timestamp and the media clock
    /// rate, not copied from a packet.
    pub(crate) fn sender_info(&mut self, now: Instant, ntp_now: u64) -> Option<SenderInfo> {
        let (ts, at) = self.last?;
        let rtp_time = match now.checked_duration_since(at) {
            Some(ahead) => ts.wrapping_add(duration_to_rtp(ahead, self.clock_rate)),
            None => ts.wrapping_sub(duration_to_rtp(at - now, self.clock_rate)),
        };
        self.sent_srs[self.sent_sr_next % SENT_SR_MEMORY] = ntp_middle(ntp_now);
        self.sent_sr_next = (self.sent_sr_next + 1) % SENT_SR_MEMORY;
        Some(SenderInfo {
            ntp_time: ntp_now,
            rtp_time,
            // RFC 3550 §6.4.1: "sender's packet count: 32 bits ... sender's
            // octet count: 32 bits ... the total number of payload octets
            // (i.e., not including header or padding)"; both wrap.
            packet_count: self.packets as u32,
            octet_count: self.payload_bytes as u32,
        })
    }

    /// Takes a report block about this stream that arrived when the wall
    /// clock read `ntp_arrival`; returns the RTT it measures, if any.
    ///
    /// RFC 3550 §6.4.1: "Source SSRC_n can compute the round-trip
    /// propagation delay to SSRC_r by recording the time A when this
    /// reception report block is received. It calculates the total round-trip time
    /// A-LSR using the last SR timestamp (LSR) field, and then subtracting
    /// this field [DLSR] to leave the round-trip propagation delay as (A -
    /// LSR - DLSR)."
    pub(crate) fn on_report_block(
        &mut self,
        block: &ReportBlock,
        ntp_arrival: u64,
    ) -> Option<Duration> {
        self.last_report = Some(*block);
        // LSR: "If no SR has been received yet, the field is set to zero":
        // no sample. Nor for an LSR we did not send.
        if block.last_sr == 0 || !self.sent_srs.contains(&block.last_sr) {
            return None;
        }
        let a = ntp_middle(ntp_arrival);
        let rtt = a
            .wrapping_sub(block.last_sr)
            .wrapping_sub(block.delay_since_last_sr);
        // A negative result (clock steps, a lying DLSR) is no sample.
        if rtt >= 0x8000_0000 {
            return None;
        }
        let rtt = duration_from_1_65536(rtt);
        self.rtt = Some(rtt);
        self.rtt_samples += 1;
        self.total_rtt += rtt;
        // Smoothed like TCP's SRTT (RFC 6298 §2.3: "SRTT <- (1 - alpha) *
        // SRTT + alpha * R'" with alpha = 1/8).
        self.smoothed_rtt = Some(match self.smoothed_rtt {
            None => rtt,
            Some(s) => (s * 7 + rtt) / 8,
        });
        Some(rtt)
    }

    /// The latest RTT sample.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The smoothed RTT.
    pub(crate) fn smoothed_rtt(&self) -> Option<Duration> {
        self.smoothed_rtt
    }

    /// The sum of every RTT sample.
    pub(crate) fn total_rtt(&self) -> Duration {
        self.total_rtt
    }

    /// How many RTT samples were taken.
    pub(crate) fn rtt_samples(&self) -> u64 {
        self.rtt_samples
    }

    /// The latest report block about this stream (loss, jitter).
    pub(crate) fn last_report(&self) -> Option<ReportBlock> {
        self.last_report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NTP 32.32 for `secs` seconds after an arbitrary epoch offset.
    fn ntp(secs: f64) -> u64 {
        ((3_900_000_000.0 + secs) * 4_294_967_296.0) as u64
    }

    #[test]
    fn sender_info_extrapolates_the_rtp_clock() {
        let t0 = crate::testutil::epoch();
        let mut s = SendStats::new(1, 90_000);
        assert!(s.sender_info(t0, ntp(0.0)).is_none());
        s.on_sent(t0, u32::MAX - 899, 1000);
        s.on_sent(t0, u32::MAX - 899, 500);
        let info = s
            .sender_info(t0 + Duration::from_millis(20), ntp(0.02))
            .unwrap();
        // 20 ms at 90 kHz is 1800 ticks, wrapping past 2^32.
        assert_eq!(info.rtp_time, 900);
        assert_eq!((info.packet_count, info.octet_count), (2, 1500));
        assert_eq!(info.ntp_time, ntp(0.02));
        // An SR for an instant before the last packet's capture.
        let info = s
            .sender_info(t0 - Duration::from_millis(10), ntp(-0.01))
            .unwrap();
        assert_eq!(info.rtp_time, u32::MAX - 899 - 900);
    }

    #[test]
    fn rtt_is_arrival_minus_lsr_minus_dlsr() {
        let t0 = crate::testutil::epoch();
        let mut s = SendStats::new(1, 48_000);
        s.on_sent(t0, 0, 100);
        let info = s.sender_info(t0, ntp(10.0)).unwrap();
        let block = ReportBlock {
            ssrc: 1,
            last_sr: ntp_middle(info.ntp_time),
            // The receiver held it 0.5 s.
            delay_since_last_sr: 32_768,
            ..ReportBlock::default()
        };
        // The block arrives 0.6 s after the SR: RTT 100 ms.
        let rtt = s.on_report_block(&block, ntp(10.6)).unwrap();
        assert!(rtt.abs_diff(Duration::from_millis(100)) < Duration::from_micros(100));
        assert_eq!(s.smoothed_rtt(), Some(rtt));
        // A second sample of 300 ms: smoothed moves 1/8 of the way.
        let rtt2 = s.on_report_block(&block, ntp(10.8)).unwrap();
        let smoothed = s.smoothed_rtt().unwrap();
        assert!(smoothed.abs_diff((rtt * 7 + rtt2) / 8) < Duration::from_micros(1));
        assert_eq!(s.rtt(), Some(rtt2));
        assert_eq!(s.rtt_samples(), 2);
    }

    #[test]
    fn no_rtt_without_a_matching_sr_or_when_negative() {
        let t0 = crate::testutil::epoch();
        let mut s = SendStats::new(1, 48_000);
        s.on_sent(t0, 0, 100);
        let info = s.sender_info(t0, ntp(10.0)).unwrap();
        let mut block = ReportBlock {
            ssrc: 1,
            ..ReportBlock::default()
        };
        assert_eq!(s.on_report_block(&block, ntp(11.0)), None);
        block.last_sr = 0x1234_5678;
        assert_eq!(s.on_report_block(&block, ntp(11.0)), None);
        block.last_sr = ntp_middle(info.ntp_time);
        block.delay_since_last_sr = 65_536 * 2;
        assert_eq!(s.on_report_block(&block, ntp(11.0)), None);
        assert_eq!(s.rtt_samples(), 0);
        assert_eq!(s.last_report(), Some(block));
    }
}
