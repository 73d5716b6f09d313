//! Transport-wide congestion control feedback, both ends
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01).
//!
//! The receiver ([`TwccReceiver`]) records the transport-wide sequence
//! number and arrival time of every packet and reports them back in
//! feedback messages written with [`TransportCc::write`]. The sender
//! ([`SendHistory`]) remembers what it sent under each sequence number and
//! turns a feedback message into one [`PacketResult`] per packet, ignoring
//! (and counting) what no well-behaved receiver sends: feedback for
//! packets never sent or already reported, arrival times that jump by
//! seconds, and more feedback messages per second than any receiver needs.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{PacketKind, ProbeId, SeqUnwrapper};
use crate::rtp::twcc::TransportCc;

/// The receiver's window: packets recorded but not yet reported. A packet
/// further than this ahead of the oldest unreported one pushes the oldest
/// out unreported (counted in [`ReceiverCounters::dropped`]). At the
/// longest feedback interval (250 ms) this holds 16 000 packets a second,
/// about 150 Mbit/s of 1200-byte packets.
pub(crate) const MAX_PENDING: usize = 4_096;
/// The most packets one feedback message reports. With at most 2 bytes of
/// delta and 2/7 byte of chunk per packet, plus the 20-byte header, a
/// message fits [`FEEDBACK_BUFFER_LEN`]; more pending packets go into the
/// next message, sent at once.
pub(crate) const MAX_STATUSES_PER_FEEDBACK: usize = 400;
/// The buffer [`TwccReceiver::poll_feedback`] needs at least.
pub(crate) const FEEDBACK_BUFFER_LEN: usize = 1_200;
/// The feedback interval before the receive rate is known (Chrome's default).
const DEFAULT_FEEDBACK_INTERVAL: Duration = Duration::from_millis(100);
/// The interval's bounds: Chrome sends feedback every 50 to 250 ms.
const MIN_FEEDBACK_INTERVAL: Duration = Duration::from_millis(50);
const MAX_FEEDBACK_INTERVAL: Duration = Duration::from_millis(250);
/// The size counted for one feedback message on the wire (RTCP, SRTCP
/// trailer, UDP and IP headers), as Chrome does, in bits.
const FEEDBACK_OVERHEAD_BITS: u64 = 68 * 8;
/// Feedback may spend this share of the receive rate (Chrome: 5%).
const FEEDBACK_RATE_SHARE: f64 = 0.05;
/// How long the receive rate is measured over.
const RATE_WINDOW: Duration = Duration::from_millis(500);
/// A receive delta is in units of 250 µs (§3.1.5: "The delta is
/// represented as multiple of 250us").
const TICK_US: i64 = 250;
/// The reference time is in 64 ms units (§3.1: "The value is to be
/// interpreted in multiples of 64ms"), 256 ticks.
const TICKS_PER_REFERENCE: i64 = 256;

/// What the receiver dropped or refused, and what it sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReceiverCounters {
    /// Packets recorded.
    pub(crate) received: u64,
    /// Packets whose sequence number was already recorded.
    pub(crate) duplicates: u64,
    /// Packets older than the window (already reported as lost, or before
    /// the first packet): not reported.
    pub(crate) late: u64,
    /// Packets pushed out of a full window unreported.
    pub(crate) dropped: u64,
    /// Feedback messages written.
    pub(crate) feedback_sent: u64,
    /// Feedback messages that did not fit the caller's buffer.
    pub(crate) write_errors: u64,
}

/// The receiving end of transport-wide congestion control: records
/// arrivals and writes feedback at the browser's cadence.
///
/// The interval follows Chrome: feedback may use 5% of the receive rate,
/// counting 68 bytes per message, bounded to 50–250 ms; 100 ms until the
/// rate is known. At 1 Mbit/s that is the 50 ms floor, below about
/// 110 kbit/s it lengthens towards 250 ms. A window holding more than one
/// message's worth is flushed at once, without waiting for the interval.
#[derive(Debug)]
pub(crate) struct TwccReceiver {
    sender_ssrc: u32,
    media_ssrc: u32,
    unwrap: SeqUnwrapper,
    /// Arrival times are counted from here (the first arrival).
    epoch: Option<Instant>,
    /// The unwrapped sequence number of `arrivals[0]`.
    base: i64,
    arrivals: VecDeque<Option<Instant>>,
    /// Reused for each message: no allocation once grown.
    statuses: Vec<Option<i16>>,
    feedback_count: u8,
    next_feedback: Option<Instant>,
    rate_start: Option<Instant>,
    rate_bytes: u64,
    rate_bps: Option<u64>,
    counters: ReceiverCounters,
}

impl TwccReceiver {
    /// A receiver that signs its feedback with `sender_ssrc` and names
    /// `media_ssrc` (feedback covers every stream of the transport).
    pub(crate) fn new(sender_ssrc: u32, media_ssrc: u32) -> Self {
        Self {
            sender_ssrc,
            media_ssrc,
            unwrap: SeqUnwrapper::default(),
            epoch: None,
            base: 0,
            arrivals: VecDeque::with_capacity(MAX_PENDING),
            statuses: Vec::with_capacity(MAX_STATUSES_PER_FEEDBACK),
            feedback_count: 0,
            next_feedback: None,
            rate_start: None,
            rate_bytes: 0,
            rate_bps: None,
            counters: ReceiverCounters::default(),
        }
    }

    /// Records a packet carrying transport-wide sequence number `seq` and
    /// `size` bytes, arrived at `now`.
    pub(crate) fn on_packet(&mut self, now: Instant, seq: u16, size: usize) {
        self.measure_rate(now, size);
        let seq = self.unwrap.unwrap(seq);
        if self.epoch.is_none() {
            self.epoch = Some(now);
            self.base = seq;
        }
        if self.next_feedback.is_none() {
            self.next_feedback = Some(now + self.interval());
        }
        if seq < self.base {
            self.counters.late += 1;
            return;
        }
        let mut index = (seq - self.base) as usize;
        if index >= MAX_PENDING {
            let excess = index - MAX_PENDING + 1;
            if excess >= self.arrivals.len() {
                // A jump past the whole window: what is recorded goes
                // unreported, and the gap is not reported as thousands of
                // losses either.
                self.counters.dropped += self.arrivals.iter().flatten().count() as u64;
                self.arrivals.clear();
                self.base = seq;
                index = 0;
            } else {
                for slot in self.arrivals.drain(..excess) {
                    self.counters.dropped += u64::from(slot.is_some());
                }
                self.base += excess as i64;
                index -= excess;
            }
        }
        if index >= self.arrivals.len() {
            self.arrivals.resize(index + 1, None);
        }
        match &mut self.arrivals[index] {
            Some(_) => self.counters.duplicates += 1,
            slot => {
                *slot = Some(now);
                self.counters.received += 1;
            }
        }
    }

    fn measure_rate(&mut self, now: Instant, size: usize) {
        let start = *self.rate_start.get_or_insert(now);
        self.rate_bytes += size as u64;
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            self.rate_bps = Some(self.rate_bytes * 8 * 1_000_000 / elapsed.as_micros() as u64);
            self.rate_start = Some(now);
            self.rate_bytes = 0;
        }
    }

    /// The time between feedback messages at the current receive rate.
    pub(crate) fn interval(&self) -> Duration {
        match self.rate_bps {
            Some(rate) if rate > 0 => {
                let secs = FEEDBACK_OVERHEAD_BITS as f64 / (FEEDBACK_RATE_SHARE * rate as f64);
                Duration::from_secs_f64(secs.min(1.0))
                    .clamp(MIN_FEEDBACK_INTERVAL, MAX_FEEDBACK_INTERVAL)
            }
            _ => DEFAULT_FEEDBACK_INTERVAL,
        }
    }

    /// When the next feedback message is due, if there is anything to
    /// report.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.arrivals.is_empty() {
            None
        } else {
            self.next_feedback
        }
    }

    /// Writes the next feedback message into `buf` if one is due at `now`,
    /// returning its length. Call until `None`.
    #[must_use]
    pub(crate) fn poll_feedback(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let due = self.next_feedback.is_some_and(|at| at <= now);
        if !due || self.arrivals.is_empty() {
            return None;
        }
        let epoch = self.epoch?;
        let ticks = |t: Instant| t.saturating_duration_since(epoch).as_micros() as i64 / TICK_US;
        let first_arrival = self
            .arrivals
            .iter()
            .take(MAX_STATUSES_PER_FEEDBACK)
            .flatten()
            .next();
        let reference = first_arrival.map_or(ticks(now), |&t| ticks(t)) / TICKS_PER_REFERENCE;
        let mut previous = reference * TICKS_PER_REFERENCE;
        self.statuses.clear();
        for slot in self.arrivals.iter().take(MAX_STATUSES_PER_FEEDBACK) {
            let status = match slot {
                None => None,
                Some(t) => {
                    // §3.1.5: deltas are "relative to the previous received
                    // packet" (the first to the reference time); one that
                    // does not fit 16 signed bits starts the next message.
                    let Ok(delta) = i16::try_from(ticks(*t) - previous) else {
                        break;
                    };
                    previous += i64::from(delta);
                    Some(delta)
                }
            };
            self.statuses.push(status);
        }
        let count = self.statuses.len();
        // The 24-bit field wraps (every 12 days); the writer takes it signed.
        let wrapped = (reference & 0xFF_FFFF) as i32;
        let reference_time = if wrapped >= 1 << 23 {
            wrapped - (1 << 24)
        } else {
            wrapped
        };
        let written = TransportCc::write(
            self.sender_ssrc,
            self.media_ssrc,
            self.base as u16,
            reference_time,
            self.feedback_count,
            &self.statuses,
            buf,
        );
        // Reported or not, the packets leave the window: a buffer too
        // small for one message would otherwise stall it for good.
        self.arrivals.drain(..count);
        self.base += count as i64;
        self.next_feedback = Some(if self.arrivals.len() >= MAX_STATUSES_PER_FEEDBACK {
            now
        } else {
            now + self.interval()
        });
        match written {
            Ok(len) => {
                self.feedback_count = self.feedback_count.wrapping_add(1);
                self.counters.feedback_sent += 1;
                Some(len)
            }
            Err(_) => {
                self.counters.write_errors += 1;
                None
            }
        }
    }

    /// Packets recorded and not yet reported (at most [`MAX_PENDING`]).
    pub(crate) fn pending(&self) -> usize {
        self.arrivals.len()
    }

    /// What was recorded, refused and sent.
    pub(crate) fn counters(&self) -> ReceiverCounters {
        self.counters
    }
}

/// Packets remembered by the sender for feedback. At 1200 bytes a packet
/// this is about 2 s at 40 Mbit/s, longer than any feedback takes to come
/// back; the oldest is forgotten first (counted in
/// [`SenderCounters::forgotten`]).
pub(crate) const MAX_HISTORY: usize = 8_192;
/// Feedback messages accepted per second at most (a token bucket holding
/// [`FEEDBACK_BURST`]). A receiver at the 50 ms floor sends 20 a second,
/// plus one per 400 packets at high rates.
const MAX_FEEDBACK_PER_SECOND: f64 = 100.0;
const FEEDBACK_BURST: f64 = 20.0;
/// An arrival whose offset from its send time differs from the last
/// message's by more than this is absurd: no queue worth estimating
/// holds 5 s. (One 16-bit delta spans ±8 s, so a single delta can be.)
const MAX_OFFSET_JUMP_US: i64 = 5_000_000;
/// After this many feedback messages in a row whose every arrival was
/// absurd, the receiver's clock is taken to have jumped for good.
const ABSURD_FEEDBACK_REBASE: u32 = 3;

/// One packet's fate, as feedback told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketResult {
    /// The unwrapped transport-wide sequence number.
    pub(crate) seq: i64,
    /// When it was sent (local clock).
    pub(crate) send_time: Instant,
    /// Its size in bytes.
    pub(crate) size: u32,
    /// What it carried.
    pub(crate) kind: PacketKind,
    /// The probe cluster it belonged to.
    pub(crate) probe: Option<ProbeId>,
    /// Its arrival time in µs of the receiver's clock, or `None` if lost.
    pub(crate) arrival: Option<i64>,
}

/// What the sender ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SenderCounters {
    /// Packets recorded as sent.
    pub(crate) sent: u64,
    /// `on_packet_sent` calls with a sequence number not after the last.
    pub(crate) send_out_of_order: u64,
    /// Packets forgotten to keep the history bounded.
    pub(crate) forgotten: u64,
    /// Feedback messages processed.
    pub(crate) feedback: u64,
    /// Statuses for packets not in the history (never sent, or forgotten).
    pub(crate) unknown: u64,
    /// Statuses for packets already reported received (or lost twice).
    pub(crate) duplicates: u64,
    /// Arrival times jumping by more than 10 s.
    pub(crate) absurd: u64,
    /// Feedback messages over the rate limit, ignored whole.
    pub(crate) flood: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ack {
    Pending,
    Lost,
    Received,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: i64,
    send_time: Instant,
    size: u32,
    kind: PacketKind,
    probe: Option<ProbeId>,
    ack: Ack,
}

/// The sending end: what went out under each transport-wide sequence
/// number, matched against feedback.
#[derive(Debug)]
pub(crate) struct SendHistory {
    unwrap: SeqUnwrapper,
    packets: VecDeque<Sent>,
    /// Send times are counted from here (the first packet).
    epoch: Option<Instant>,
    reference: SeqUnwrapper24,
    last_offset: Option<i64>,
    absurd_run: u32,
    tokens: f64,
    tokens_at: Option<Instant>,
    counters: SenderCounters,
}

/// Unwraps the 24-bit reference time like [`SeqUnwrapper`] does sequence
/// numbers.
#[derive(Debug, Clone, Copy, Default)]
struct SeqUnwrapper24 {
    last: Option<i64>,
}

impl SeqUnwrapper24 {
    fn unwrap(&mut self, value: i32) -> i64 {
        let value = i64::from(value) & 0xFF_FFFF;
        let result = match self.last {
            None => value,
            Some(last) => {
                let diff = ((value - last) & 0xFF_FFFF) << 40 >> 40;
                last + diff
            }
        };
        self.last = Some(result);
        result
    }
}

impl Default for SendHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl SendHistory {
    /// An empty history.
    pub(crate) fn new() -> Self {
        Self {
            unwrap: SeqUnwrapper::default(),
            packets: VecDeque::with_capacity(MAX_HISTORY),
            epoch: None,
            reference: SeqUnwrapper24::default(),
            last_offset: None,
            absurd_run: 0,
            tokens: FEEDBACK_BURST,
            tokens_at: None,
            counters: SenderCounters::default(),
        }
    }

    /// Records a packet sent at `now` under transport-wide sequence number
    /// `seq`. Sequence numbers must increase (gaps are fine).
    pub(crate) fn on_packet_sent(
        &mut self,
        now: Instant,
        seq: u16,
        size: usize,
        kind: PacketKind,
        probe: Option<ProbeId>,
    ) {
        let seq = self.unwrap.peek(seq);
        if self.packets.back().is_some_and(|last| seq <= last.seq) {
            self.counters.send_out_of_order += 1;
            return;
        }
        self.unwrap.unwrap(seq as u16);
        self.epoch.get_or_insert(now);
        if self.packets.len() >= MAX_HISTORY {
            self.packets.pop_front();
            self.counters.forgotten += 1;
        }
        self.packets.push_back(Sent {
            seq,
            send_time: now,
            size: u32::try_from(size).unwrap_or(u32::MAX),
            kind,
            probe,
            ack: Ack::Pending,
        });
        self.counters.sent += 1;
    }

    fn take_token(&mut self, now: Instant) -> bool {
        let elapsed = self
            .tokens_at
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
        self.tokens_at = Some(now);
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * MAX_FEEDBACK_PER_SECOND).min(FEEDBACK_BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Matches `feedback` against the history, appending one result per
    /// packet newly reported to `out` (cleared first), in sequence order.
    pub(crate) fn on_feedback(
        &mut self,
        now: Instant,
        feedback: &TransportCc<'_>,
        out: &mut Vec<PacketResult>,
    ) {
        out.clear();
        if !self.take_token(now) {
            self.counters.flood += 1;
            return;
        }
        self.counters.feedback += 1;
        let (Some(epoch), Some(_)) = (self.epoch, self.unwrap.last()) else {
            self.counters.unknown += u64::from(feedback.status_count);
            return;
        };
        let base = self.unwrap.peek(feedback.base_sequence);
        // §3.1: "reference time ... in multiples of 64ms"; deltas in 250 µs.
        let mut arrival = self.reference.unwrap(feedback.reference_time) * 64_000;
        let first_seq = self.packets.front().map_or(0, |p| p.seq);
        let mut accepted = 0u32;
        let mut absurd = 0u32;
        let mut last_accepted = 0i64;
        // Offsets are judged against the last message's, fixed for this
        // one, so a run of moderate jumps cannot walk away from it.
        let reference = self.last_offset;
        let mut offset_in_this = None;
        // A message covers at most 65535 packets; more than the history
        // holds are unknown by construction and not walked one by one.
        let walked = usize::from(feedback.status_count).min(MAX_HISTORY * 2);
        self.counters.unknown += (usize::from(feedback.status_count) - walked) as u64;
        for status in feedback.statuses().take(walked) {
            let seq = base + (i64::from(status.sequence.wrapping_sub(feedback.base_sequence)));
            if let Some(delta) = status.delta {
                arrival += i64::from(delta) * TICK_US;
            }
            let Some(i) = self.find(seq, first_seq) else {
                self.counters.unknown += 1;
                continue;
            };
            let packet = &mut self.packets[i];
            match (status.delta, packet.ack) {
                (_, Ack::Received) | (None, Ack::Lost) => {
                    self.counters.duplicates += 1;
                }
                (None, Ack::Pending) => {
                    packet.ack = Ack::Lost;
                    out.push(result(packet, None));
                }
                (Some(_), Ack::Pending | Ack::Lost) => {
                    let sent_us = packet
                        .send_time
                        .saturating_duration_since(epoch)
                        .as_micros();
                    let offset = arrival - sent_us as i64;
                    let judge = reference.or(offset_in_this).unwrap_or(offset);
                    if (offset - judge).abs() > MAX_OFFSET_JUMP_US {
                        absurd += 1;
                        continue;
                    }
                    offset_in_this.get_or_insert(offset);
                    last_accepted = offset;
                    accepted += 1;
                    packet.ack = Ack::Received;
                    out.push(result(packet, Some(arrival)));
                }
            }
        }
        self.settle_offset(accepted, absurd, last_accepted);
    }

    /// The history's index of `seq`; `first_seq` is the oldest's.
    fn find(&self, seq: i64, first_seq: i64) -> Option<usize> {
        let index = if seq >= first_seq {
            usize::try_from(seq - first_seq).ok()
        } else {
            None
        };
        // Sequence numbers are mostly consecutive: try the direct slot,
        // then search.
        index
            .filter(|&i| self.packets.get(i).is_some_and(|p| p.seq == seq))
            .or_else(|| self.packets.binary_search_by_key(&seq, |p| p.seq).ok())
    }

    /// After a message: `accepted` arrivals (the last at offset
    /// `last_accepted`) and `absurd` ones refused. The offset the next
    /// message is judged by follows the accepted ones, or after
    /// [`ABSURD_FEEDBACK_REBASE`] messages of absurd ones only, is
    /// forgotten.
    fn settle_offset(&mut self, accepted: u32, absurd: u32, last_accepted: i64) {
        self.counters.absurd += u64::from(absurd);
        if accepted > 0 {
            self.absurd_run = 0;
            self.last_offset = Some(last_accepted);
        } else if absurd > 0 {
            self.absurd_run += 1;
            if self.absurd_run >= ABSURD_FEEDBACK_REBASE {
                // The receiver's clock jumped and stays: follow it.
                self.last_offset = None;
                self.absurd_run = 0;
            }
        }
    }

    /// Packets remembered (at most [`MAX_HISTORY`]).
    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    /// What was recorded and ignored.
    pub(crate) fn counters(&self) -> SenderCounters {
        self.counters
    }
}

fn result(packet: &Sent, arrival: Option<i64>) -> PacketResult {
    PacketResult {
        seq: packet.seq,
        send_time: packet.send_time,
        size: packet.size,
        kind: packet.kind,
        probe: packet.probe,
        arrival,
    }
}
