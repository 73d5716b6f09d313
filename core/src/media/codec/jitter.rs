//! A jitter buffer for one stream (issue 16, part 3): packets in, packets
//! out in sequence order. A missing packet is waited for (a NACK and its
//! RTX retransmission take about one round trip) up to a maximum wait,
//! then skipped, so the [`Depacketizer`](super::Depacketizer) behind it
//! drops only the frame that lost it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::peer::RtpPacketReceived;

/// Packets held at most; past it the oldest gap is skipped.
pub const MAX_BUFFERED_PACKETS: usize = 2048;

/// What a [`JitterBuffer`] did (the W3C `jitterBuffer*` stats of
/// `inbound-rtp` come from these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterBufferStats {
    /// Packets released in order (W3C `jitterBufferEmittedCount`, per
    /// packet).
    pub emitted: u64,
    /// The time the released packets waited, summed (W3C
    /// `jitterBufferDelay`).
    pub delay: Duration,
    /// Sequence numbers given up on after the maximum wait.
    pub skipped: u64,
    /// Packets that came after their turn (already skipped or released),
    /// and duplicates: dropped.
    pub late: u64,
}

/// Reorders one stream's packets and waits for missing ones.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    packets: BTreeMap<u64, RtpPacketReceived>,
    /// The extended sequence number to release next.
    next: Option<u64>,
    /// The highest extended sequence number seen (for unwrapping).
    highest: Option<u64>,
    max_wait: Duration,
    stats: JitterBufferStats,
}

impl JitterBuffer {
    /// A buffer that waits at most `max_wait` for a missing packet (about
    /// the round trip plus the NACK delay; 0 releases whatever is there).
    pub fn new(max_wait: Duration) -> Self {
        Self {
            packets: BTreeMap::new(),
            next: None,
            highest: None,
            max_wait,
            stats: JitterBufferStats::default(),
        }
    }

    /// Changes the maximum wait (when the round trip changes).
    pub fn set_max_wait(&mut self, max_wait: Duration) {
        self.max_wait = max_wait;
    }

    /// What it did.
    pub fn stats(&self) -> JitterBufferStats {
        self.stats
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// The extended sequence number of `seq`: the one nearest the highest
    /// seen (RFC 3550 A.1).
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            return 1 << 32 | u64::from(seq);
        };
        let base = h & !0xffff;
        [base.wrapping_sub(1 << 16), base, base + (1 << 16)]
            .into_iter()
            .map(|b| b | u64::from(seq))
            .min_by_key(|c| c.abs_diff(h))
            .unwrap_or(base | u64::from(seq))
    }

    /// A packet of the stream arrived.
    pub fn push(&mut self, packet: RtpPacketReceived) {
        let ext = self.extend(packet.sequence_number);
        if self.next.is_some_and(|n| ext < n) || self.packets.contains_key(&ext) {
            self.stats.late += 1;
            return;
        }
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        self.next.get_or_insert(ext);
        self.packets.insert(ext, packet);
        if self.packets.len() > MAX_BUFFERED_PACKETS {
            self.skip_to_first();
        }
    }

    fn skip_to_first(&mut self) {
        if let (Some(n), Some(&first)) = (self.next, self.packets.keys().next()) {
            self.stats.skipped += first.saturating_sub(n);
            self.next = Some(first);
        }
    }

    /// The next packet in order, if it is there, or if the one missing
    /// before it was waited for long enough (then the missing ones are
    /// skipped).
    pub fn poll(&mut self, now: Instant) -> Option<RtpPacketReceived> {
        let (&first, held) = self.packets.iter().next()?;
        if Some(first) != self.next {
            // A gap: wait for it while the oldest packet behind it is
            // younger than the maximum wait.
            if now < held.arrival + self.max_wait {
                return None;
            }
            self.skip_to_first();
        }
        let p = self.packets.remove(&first)?;
        self.next = Some(first + 1);
        self.stats.emitted += 1;
        self.stats.delay += now.saturating_duration_since(p.arrival);
        Some(p)
    }

    /// When [`poll`](Self::poll) gives up on a gap, if one is waited for.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let (&first, held) = self.packets.iter().next()?;
        (Some(first) != self.next).then(|| held.arrival + self.max_wait)
    }
}
