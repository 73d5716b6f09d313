//! Reception statistics of one remote SSRC (RFC 3550 Appendix A.1, A.3,
//! A.8): sequence validation, extended sequence numbers, loss, jitter,
//! duplicates, and the last SR for LSR/DLSR; builds a report block.

use std::time::{Duration, Instant};

use super::{duration_to_1_65536, duration_to_rtp, ntp_middle};
use crate::rtp::rtcp::ReportBlock;
use crate::rtp::RtpPacket;

/// RFC 3550 A.1: "MAX_DROPOUT = 3000".
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: "MAX_MISORDER = 100".
const MAX_MISORDER: u16 = 100;
/// RFC 3550 A.1: "MIN_SEQUENTIAL = 2".
const MIN_SEQUENTIAL: u8 = 2;
/// RFC 3550 A.1: "RTP_SEQ_MOD (1<<16)".
const RTP_SEQ_MOD: u64 = 1 << 16;

/// How many sequence numbers below the highest one the duplicate detector
/// remembers (a bitmap of `DUP_WINDOW / 64` words, fixed size). Older
/// packets are not checked for duplication.
const DUP_WINDOW: u64 = 1024;
const DUP_WORDS: usize = (DUP_WINDOW / 64) as usize;

/// RFC 3550 §6.4.1: cumulative lost is "a 24-bit signed integer"; A.3:
/// "clamp it since a negative number is valid".
const LOST_MAX: i64 = 0x7F_FFFF;
const LOST_MIN: i64 = -0x80_0000;

/// What [`ReceiveStats::on_rtp`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// A valid packet with its extended sequence number (the cycles count
    /// in the high bits, not limited to 32 bits).
    Valid {
        /// The extended sequence number.
        extended: u64,
        /// Whether this sequence number was received before.
        duplicate: bool,
    },
    /// The source is on probation (RFC 3550 A.1): not yet counted.
    Probation,
    /// A very large jump waiting for a second sequential packet to re-sync
    /// (RFC 3550 A.1 `bad_seq`): not counted.
    BadJump,
}

/// Reception statistics of one remote SSRC.
#[derive(Debug, Clone)]
pub(crate) struct ReceiveStats {
    ssrc: u32,
    clock_rate: u32,
    /// Set once the first packet arrived.
    started: bool,
    // RFC 3550 A.1 `source` fields.
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: u32,
    probation: u8,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    // A.8, integer form: the jitter estimate scaled by 16.
    transit: Option<i32>,
    /// (u64: `16 * |D|` of a 31-bit `|D|` does not fit 32 bits.)
    jitter_x16: u64,
    /// The instant arrival times in RTP units count from.
    anchor: Option<Instant>,
    /// Bit `i` of the window: extended sequence `highest - i` was received.
    dup_bits: [u64; DUP_WORDS],
    payload_bytes: u64,
    header_bytes: u64,
    duplicates: u64,
    last_sr: Option<(u32, Instant)>,
    last_arrival: Option<Instant>,
}

impl ReceiveStats {
    /// Statistics for `ssrc`, whose payload format has `clock_rate` Hz.
    ///
    /// With `probation` the source becomes valid only after
    /// `MIN_SEQUENTIAL` sequential packets (RFC 3550 A.1); without, the
    /// first packet is valid (for a signaled SSRC whose packets SRTP has
    /// authenticated, the probation guards against nothing and would only
    /// leave the first packet uncounted).
    pub(crate) fn new(ssrc: u32, clock_rate: u32, probation: bool) -> Self {
        Self {
            ssrc,
            clock_rate,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: RTP_SEQ_MOD as u32 + 1,
            probation: if probation { MIN_SEQUENTIAL } else { 0 },
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_x16: 0,
            anchor: None,
            dup_bits: [0; DUP_WORDS],
            payload_bytes: 0,
            header_bytes: 0,
            duplicates: 0,
            last_sr: None,
            last_arrival: None,
        }
    }

    /// The clock rate of its payload format, Hz.
    pub(crate) fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// The remote SSRC.
    pub(crate) fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// RFC 3550 A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        // "so seq == bad_seq is false"
        self.bad_seq = RTP_SEQ_MOD as u32 + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.dup_bits = [0; DUP_WORDS];
    }

    fn extended_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// RFC 3550 A.1 `update_seq`: true when the packet is valid.
    fn update_seq(&mut self, seq: u16) -> Result<(), Arrival> {
        let udelta = seq.wrapping_sub(self.max_seq);
        // "Source is not valid until MIN_SEQUENTIAL packets with sequential
        // sequence numbers have been received."
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    return Ok(());
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return Err(Arrival::Probation);
        }
        if udelta < MAX_DROPOUT {
            // "in order, with permissible gap"
            if seq < self.max_seq {
                // "Sequence number wrapped - count another 64K cycle."
                self.cycles += RTP_SEQ_MOD;
            }
            self.max_seq = seq;
        } else if u64::from(udelta) <= RTP_SEQ_MOD - u64::from(MAX_MISORDER) {
            // "the sequence number made a very large jump"
            if u32::from(seq) == self.bad_seq {
                // "Two sequential packets -- assume that the other side
                // restarted without telling us so just re-sync (i.e.,
                // pretend this was the first packet)."
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD as u32 - 1);
                return Err(Arrival::BadJump);
            }
        }
        // else "duplicate or reordered packet"
        Ok(())
    }

    /// The extended sequence number of a valid `seq` relative to the
    /// highest (after `update_seq`): behind it for reordered packets.
    fn extend(&self, seq: u16) -> u64 {
        let max = self.extended_max();
        let back = self.max_seq.wrapping_sub(seq);
        if back < 0x8000 {
            max.saturating_sub(u64::from(back))
        } else {
            max + u64::from(seq.wrapping_sub(self.max_seq))
        }
    }

    /// Marks `ext` received in the duplicate window; true if it already was.
    /// Call after the highest moved (the window slides with it).
    fn mark(&mut self, ext: u64, previous_max: u64) -> bool {
        let max = self.extended_max();
        let shift = max.saturating_sub(previous_max);
        if shift >= DUP_WINDOW {
            self.dup_bits = [0; DUP_WORDS];
        } else if shift > 0 {
            shift_window(&mut self.dup_bits, shift as usize);
        }
        let Some(behind) = max.checked_sub(ext).filter(|&b| b < DUP_WINDOW) else {
            return false;
        };
        let (word, bit) = ((behind / 64) as usize, behind % 64);
        let Some(w) = self.dup_bits.get_mut(word) else {
            return false;
        };
        let seen = *w & (1 << bit) != 0;
        *w |= 1 << bit;
        seen
    }

    /// Accounts a received packet (after SRTP), arrived at `now`.
    pub(crate) fn on_rtp(&mut self, now: Instant, packet: &RtpPacket<'_>) -> Arrival {
        self.on_rtp_inner(now, packet, true)
    }

    /// Accounts a packet rebuilt from a retransmission (RFC 4588 RTX): it
    /// counts as received, but its late arrival says nothing of the
    /// network's jitter, so it does not enter the A.8 estimate.
    pub(crate) fn on_repaired_rtp(&mut self, now: Instant, packet: &RtpPacket<'_>) -> Arrival {
        self.on_rtp_inner(now, packet, false)
    }

    fn on_rtp_inner(&mut self, now: Instant, packet: &RtpPacket<'_>, jitter: bool) -> Arrival {
        self.last_arrival = Some(now);
        if !self.started {
            self.started = true;
            // RFC 3550 A.1: "When a new source is heard for the first time
            // ... init_seq(s, seq); s->max_seq = seq - 1; s->probation =
            // MIN_SEQUENTIAL;"
            self.init_seq(packet.sequence);
            if self.probation > 0 {
                self.max_seq = packet.sequence.wrapping_sub(1);
            } else {
                // No probation: this first packet is valid, highest = seq.
                self.account(now, packet, false, jitter);
                self.mark(self.extended_max(), self.extended_max());
                return Arrival::Valid {
                    extended: self.extended_max(),
                    duplicate: false,
                };
            }
        }
        // A packet rebuilt from RTX is late by design (a round trip or
        // more): RFC 3550 A.1's jump detection would take one more than
        // MAX_MISORDER behind for a restarted source and, with a second,
        // re-sync and lose the counts. It is placed behind the highest
        // instead.
        if !jitter && self.probation == 0 {
            let extended = self.extend(packet.sequence);
            let max = self.extended_max();
            if extended <= max {
                let duplicate = self.mark(extended, max);
                self.account(now, packet, duplicate, false);
                return Arrival::Valid {
                    extended,
                    duplicate,
                };
            }
        }
        let previous_max = self.extended_max();
        let probation_before = self.probation;
        if let Err(a) = self.update_seq(packet.sequence) {
            return a;
        }
        let extended = self.extend(packet.sequence);
        // After a re-sync or the end of probation the window restarts.
        let previous_max = if probation_before > 0 || self.received == 0 {
            self.extended_max()
        } else {
            previous_max.min(self.extended_max())
        };
        let duplicate = self.mark(extended, previous_max);
        self.account(now, packet, duplicate, jitter);
        Arrival::Valid {
            extended,
            duplicate,
        }
    }

    fn account(&mut self, now: Instant, packet: &RtpPacket<'_>, duplicate: bool, jitter: bool) {
        // RFC 3550 A.1 counts every valid packet, duplicates included ("the
        // number of packets lost ... may be negative if there are
        // duplicates", §6.4.1); the duplicates are counted apart too.
        self.received += 1;
        self.payload_bytes += packet.payload.len() as u64;
        self.header_bytes += (packet.header_len + usize::from(packet.padding)) as u64;
        if duplicate {
            self.duplicates += 1;
        } else if jitter {
            self.update_jitter(now, packet.timestamp);
        }
    }

    /// RFC 3550 A.8: "int transit = arrival - r->ts; int d = transit -
    /// s->transit; s->transit = transit; if (d < 0) d = -d; s->jitter +=
    /// d - ((s->jitter + 8) >> 4);" with arrival in RTP timestamp units.
    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let anchor = *self.anchor.get_or_insert(now);
        let arrival = duration_to_rtp(now.saturating_duration_since(anchor), self.clock_rate);
        // Timestamps wrap: the difference is taken modulo 2^32.
        let transit = arrival.wrapping_sub(timestamp) as i32;
        if let Some(prev) = self.transit {
            let d = transit.wrapping_sub(prev).unsigned_abs();
            // J stays below 16 * 2^32, so neither step overflows.
            self.jitter_x16 = self.jitter_x16 + u64::from(d) - ((self.jitter_x16 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// Records a sender report from this SSRC: its NTP timestamp, and the
    /// instant it arrived (for LSR and DLSR).
    pub(crate) fn on_sender_report(&mut self, now: Instant, ntp_time: u64) {
        self.last_sr = Some((ntp_middle(ntp_time), now));
    }

    /// The interarrival jitter in RTP timestamp units (RFC 3550 A.8:
    /// "s->jitter >> 4").
    pub(crate) fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_x16 >> 4).unwrap_or(u32::MAX)
    }

    /// The interarrival jitter as a duration.
    pub(crate) fn jitter_duration(&self) -> Duration {
        if self.clock_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(u64::from(self.jitter()) * 1_000_000_000 / u64::from(self.clock_rate))
    }

    /// RFC 3550 A.3: "expected = extended_max - s->base_seq + 1".
    fn expected(&self) -> u64 {
        (self.extended_max() + 1).saturating_sub(self.base_seq)
    }

    /// Cumulative packets lost, clamped to 24 bits signed (RFC 3550 A.3).
    pub(crate) fn cumulative_lost(&self) -> i32 {
        let lost = self.expected() as i64 - self.received as i64;
        lost.clamp(LOST_MIN, LOST_MAX) as i32
    }

    /// Counters of this stream.
    pub(crate) fn counters(&self) -> ReceiveCounters {
        ReceiveCounters {
            packets: self.received,
            payload_bytes: self.payload_bytes,
            header_bytes: self.header_bytes,
            duplicates: self.duplicates,
            cumulative_lost: self.cumulative_lost(),
            extended_highest: self.extended_max(),
            last_arrival: self.last_arrival,
        }
    }

    /// A report block for an RR or SR sent at `now`, or `None` while the
    /// source has no valid packet. Starts a new loss interval (RFC 3550
    /// A.3: the `_prior` values move).
    pub(crate) fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        if !self.started || self.probation > 0 {
            return None;
        }
        let expected = self.expected();
        // RFC 3550 A.3: "expected_interval = expected - s->expected_prior;
        // ... received_interval = s->received - s->received_prior; ...
        // lost_interval = expected_interval - received_interval; if
        // (expected_interval == 0 || lost_interval <= 0) fraction = 0; else
        // fraction = (lost_interval << 8) / expected_interval;"
        let expected_interval = expected.saturating_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            // lost_interval <= expected_interval, so the quotient is < 256.
            ((lost_interval as u64) << 8)
                .checked_div(expected_interval)
                .map_or(0, |f| f.min(255) as u8)
        };
        // RFC 3550 §6.4.1 LSR: "If no SR has been received yet, the field
        // is set to zero." DLSR: "If no SR packet has been received yet
        // from SSRC_n, the DLSR field is set to zero."
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (lsr, duration_to_1_65536(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            // RFC 3550 §6.4.1: "the low 16 bits contain the highest sequence
            // number received ... and the most significant 16 bits extend
            // that sequence number with the corresponding count of sequence
            // number cycles" (32 bits on the wire: wraps).
            highest_sequence: self.extended_max() as u32,
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

/// Shifts the duplicate window by `shift` (< `DUP_WINDOW`) bits towards
/// older sequence numbers.
fn shift_window(bits: &mut [u64; DUP_WORDS], shift: usize) {
    let (words, rem) = (shift / 64, shift % 64);
    for i in (0..DUP_WORDS).rev() {
        let src = i.checked_sub(words);
        let hi = src.and_then(|s| bits.get(s)).copied().unwrap_or(0);
        let lo = src
            .and_then(|s| s.checked_sub(1))
            .and_then(|s| bits.get(s))
            .copied()
            .unwrap_or(0);
        bits[i] = if rem == 0 {
            hi
        } else {
            hi << rem | lo >> (64 - rem)
        };
    }
}

/// What [`ReceiveStats::counters`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReceiveCounters {
    /// Valid packets received, duplicates included.
    pub(crate) packets: u64,
    /// Payload bytes of those packets.
    pub(crate) payload_bytes: u64,
    /// Header and padding bytes of those packets.
    pub(crate) header_bytes: u64,
    /// Packets whose sequence number was received before.
    pub(crate) duplicates: u64,
    /// RFC 3550 A.3 cumulative lost (24-bit signed).
    pub(crate) cumulative_lost: i32,
    /// The extended highest sequence number.
    pub(crate) extended_highest: u64,
    /// When the last packet arrived.
    pub(crate) last_arrival: Option<Instant>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpHeader;

    fn packet(seq: u16, ts: u32, buf: &mut [u8]) -> RtpPacket<'_> {
        let n = RtpHeader {
            sequence: seq,
            timestamp: ts,
            ssrc: 7,
            payload_type: 96,
            ..RtpHeader::default()
        }
        .write(&[0u8; 100], 0, buf)
        .unwrap();
        RtpPacket::parse(&buf[..n]).unwrap()
    }

    fn feed(s: &mut ReceiveStats, now: Instant, seq: u16, ts: u32) -> Arrival {
        let mut buf = [0u8; 200];
        let p = packet(seq, ts, &mut buf);
        s.on_rtp(now, &p)
    }

    #[test]
    fn probation_needs_two_sequential_packets() {
        let now = crate::testutil::epoch();
        let mut s = ReceiveStats::new(7, 90_000, true);
        assert_eq!(feed(&mut s, now, 100, 0), Arrival::Probation);
        assert!(s.report_block(now).is_none());
        // Not sequential: probation restarts.
        assert_eq!(feed(&mut s, now, 300, 0), Arrival::Probation);
        assert_eq!(
            feed(&mut s, now, 301, 0),
            Arrival::Valid {
                extended: 301,
                duplicate: false
            }
        );
        let rb = s.report_block(now).unwrap();
        assert_eq!(rb.highest_sequence, 301);
        assert_eq!(rb.cumulative_lost, 0);
        assert_eq!(rb.fraction_lost, 0);
    }

    #[test]
    fn wrap_counts_cycles_and_reorder_extends_backwards() {
        let now = crate::testutil::epoch();
        let mut s = ReceiveStats::new(7, 90_000, false);
        feed(&mut s, now, 65_534, 0);
        feed(&mut s, now, 65_535, 0);
        assert_eq!(
            feed(&mut s, now, 1, 0),
            Arrival::Valid {
                extended: 65_537,
                duplicate: false
            }
        );
        // 0 arrives late: behind the highest, in the new cycle.
        assert_eq!(
            feed(&mut s, now, 0, 0),
            Arrival::Valid {
                extended: 65_536,
                duplicate: false
            }
        );
        assert_eq!(
            feed(&mut s, now, 0, 0),
            Arrival::Valid {
                extended: 65_536,
                duplicate: true
            }
        );
        let c = s.counters();
        assert_eq!(c.duplicates, 1);
        assert_eq!(c.packets, 5);
        // Four distinct of four expected, one duplicate: lost is -1.
        assert_eq!(c.cumulative_lost, -1);
        assert_eq!(s.report_block(now).unwrap().highest_sequence, 65_537);
    }

    #[test]
    fn large_jump_resyncs_on_second_sequential_packet() {
        let now = crate::testutil::epoch();
        let mut s = ReceiveStats::new(7, 90_000, false);
        for seq in 10..20 {
            feed(&mut s, now, seq, 0);
        }
        assert_eq!(feed(&mut s, now, 40_000, 0), Arrival::BadJump);
        assert_eq!(
            feed(&mut s, now, 40_001, 0),
            Arrival::Valid {
                extended: 40_001,
                duplicate: false
            }
        );
        let c = s.counters();
        assert_eq!(c.packets, 1);
        assert_eq!(c.cumulative_lost, 0);
    }

    #[test]
    fn fraction_and_cumulative_loss_per_interval() {
        let now = crate::testutil::epoch();
        let mut s = ReceiveStats::new(7, 90_000, false);
        // 0..100 with every fourth lost.
        for seq in (0u16..100).filter(|s| s % 4 != 3) {
            feed(&mut s, now, seq, 0);
        }
        let rb = s.report_block(now).unwrap();
        // expected 99 (0..=98), received 75, lost 24: 24*256/99 = 62.
        assert_eq!(rb.cumulative_lost, 24);
        assert_eq!(rb.fraction_lost, 62);
        // A second interval without loss: fraction 0, cumulative unchanged.
        for seq in 100..200 {
            feed(&mut s, now, seq, 0);
        }
        // (99, lost in the first, was only expected in this interval: 1 of
        // 101 is 2/256.)
        let rb = s.report_block(now).unwrap();
        assert_eq!(rb.fraction_lost, 2);
        assert_eq!(rb.cumulative_lost, 25);
        // An interval without any packet: fraction 0.
        let rb = s.report_block(now).unwrap();
        assert_eq!((rb.fraction_lost, rb.cumulative_lost), (0, 25));
    }

    #[test]
    fn jitter_follows_a_8() {
        let t0 = crate::testutil::epoch();
        let mut s = ReceiveStats::new(7, 8_000, false);
        // Packets every 20 ms (160 ticks) arriving alternately 0 and 10 ms
        // late: |D| is 80 ticks each time; J converges towards 80.
        for i in 0..2_000u32 {
            let late = if i % 2 == 0 { 0 } else { 10 };
            let at = t0 + Duration::from_millis(u64::from(i) * 20 + late);
            feed(&mut s, at, i as u16, i * 160);
        }
        let j = s.jitter();
        assert!((75..=80).contains(&j), "jitter {j}");
        assert_eq!(s.jitter_duration().as_millis(), u128::from(j) / 8);
        // Perfectly paced packets decay it.
        let mut s = ReceiveStats::new(7, 8_000, false);
        for i in 0..100u32 {
            feed(
                &mut s,
                t0 + Duration::from_millis(u64::from(i) * 20),
                i as u16,
                i * 160,
            );
        }
        assert_eq!(s.jitter(), 0);
        // A packet rebuilt from RTX half a second late counts, but leaves
        // the jitter alone; the same packet arriving late directly does not.
        let mut buf = [0u8; 200];
        let late = t0 + Duration::from_millis(2_500);
        assert!(matches!(
            s.on_repaired_rtp(late, &packet(100, 100 * 160, &mut buf)),
            Arrival::Valid { .. }
        ));
        assert_eq!((s.jitter(), s.counters().packets), (0, 101));
        feed(&mut s, late, 101, 101 * 160);
        assert!(s.jitter() > 0);
    }

    #[test]
    fn lsr_and_dlsr_from_the_last_sender_report() {
        let t0 = crate::testutil::epoch();
        let mut s = ReceiveStats::new(7, 90_000, false);
        feed(&mut s, t0, 1, 0);
        let rb = s.report_block(t0).unwrap();
        assert_eq!((rb.last_sr, rb.delay_since_last_sr), (0, 0));
        s.on_sender_report(t0, 0xAAAA_BBBB_CCCC_DDDD);
        let rb = s.report_block(t0 + Duration::from_millis(250)).unwrap();
        assert_eq!(rb.last_sr, 0xBBBB_CCCC);
        assert_eq!(rb.delay_since_last_sr, 16_384);
    }

    #[test]
    fn cumulative_loss_clamps_to_24_bits() {
        let now = crate::testutil::epoch();
        let mut s = ReceiveStats::new(7, 90_000, false);
        // Advance by 2999 each step: in order with a permissible gap.
        let mut seq = 0u16;
        for _ in 0..4_000 {
            feed(&mut s, now, seq, 0);
            seq = seq.wrapping_add(2_999);
        }
        assert_eq!(s.cumulative_lost(), 0x7F_FFFF);
        let rb = s.report_block(now).unwrap();
        assert_eq!(rb.cumulative_lost, 0x7F_FFFF);
        assert_eq!(rb.fraction_lost, 255);
    }

    #[test]
    fn duplicate_window_slides() {
        let mut bits = [0u64; DUP_WORDS];
        bits[0] = 1;
        shift_window(&mut bits, 65);
        assert_eq!(bits[1], 2);
        assert_eq!(bits[0], 0);
        shift_window(&mut bits, 64 * (DUP_WORDS - 2) + 62);
        assert_eq!(bits[DUP_WORDS - 1], 1 << 63);
    }
}
