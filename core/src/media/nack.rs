//! The receiver's generic NACK generator (RFC 4585 §6.2.1): tracks the
//! sequence numbers missing from one stream, asks for them, asks again
//! every round trip, and gives up after a bounded number of tries or once
//! they are too old to matter.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rtp::feedback::Nack;
use crate::rtp::WriteError;

/// Most missing packets tracked at once; past it the oldest is given up.
pub(crate) const MAX_MISSING: usize = 1_000;
/// A missing packet this far behind the highest sequence number is given
/// up (RFC 3550 A.1's MAX_DROPOUT: a bigger gap is a restart, not loss).
pub(crate) const MAX_SEQ_AGE: u64 = 3_000;
/// Most sequence numbers one [`NackGenerator::poll`] asks for (a stack
/// array; the rest wait for the next poll). 128 numbers take at most 128
/// PID+BLP items, 524 bytes of RTCP.
pub(crate) const MAX_PER_NACK: usize = 128;
/// The shortest time between two requests for one packet.
const MIN_RETRY_INTERVAL: Duration = Duration::from_millis(10);
/// The round-trip time assumed before one is measured.
const DEFAULT_RTT: Duration = Duration::from_millis(100);

/// The generator's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NackConfig {
    /// How long a gap waits for a reordered packet before the first request
    /// (0: ask at once, as libwebrtc does).
    pub(crate) reorder_tolerance: Duration,
    /// How many requests a packet gets before it is given up.
    pub(crate) max_requests: u8,
    /// Missing packets older than this are given up.
    pub(crate) max_age: Duration,
}

impl Default for NackConfig {
    fn default() -> Self {
        Self {
            reorder_tolerance: Duration::ZERO,
            max_requests: 10,
            max_age: Duration::from_secs(1),
        }
    }
}

/// What the generator did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NackCounters {
    /// NACK packets written.
    pub(crate) nacks_sent: u64,
    /// Sequence numbers requested (each request of each number).
    pub(crate) packets_requested: u64,
    /// Missing packets that arrived after being requested.
    pub(crate) recovered: u64,
    /// Missing packets that arrived before any request (reordering).
    pub(crate) reordered: u64,
    /// Missing packets given up: retries spent, too old, or pushed out.
    pub(crate) given_up: u64,
}

#[derive(Debug, Clone, Copy)]
struct Missing {
    extended: u64,
    first_seen: Instant,
    next_request: Instant,
    requests: u8,
}

/// The NACK state of one received stream.
#[derive(Debug, Clone)]
pub(crate) struct NackGenerator {
    config: NackConfig,
    /// Sorted by extended sequence number (gaps are appended in order).
    missing: VecDeque<Missing>,
    highest: Option<u64>,
    rtt: Duration,
    counters: NackCounters,
}

impl NackGenerator {
    /// A generator with nothing missing.
    pub(crate) fn new(config: NackConfig) -> Self {
        Self {
            config,
            missing: VecDeque::with_capacity(MAX_MISSING),
            highest: None,
            rtt: DEFAULT_RTT,
            counters: NackCounters::default(),
        }
    }

    /// The current round-trip time estimate (the retry interval follows
    /// it).
    pub(crate) fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// Counters.
    pub(crate) fn counters(&self) -> NackCounters {
        self.counters
    }

    /// How many packets are missing now.
    pub(crate) fn missing_count(&self) -> usize {
        self.missing.len()
    }

    fn retry_interval(&self) -> Duration {
        self.rtt.max(MIN_RETRY_INTERVAL)
    }

    /// A packet with this extended sequence number (from
    /// [`super::receive_stats::ReceiveStats`]) arrived at `now`, directly
    /// or rebuilt from an RTX packet.
    pub(crate) fn on_packet(&mut self, now: Instant, extended: u64) {
        let Some(highest) = self.highest else {
            self.highest = Some(extended);
            return;
        };
        if extended <= highest {
            // A late packet: fills a gap if it is one.
            if let Ok(i) = self.missing.binary_search_by_key(&extended, |m| m.extended) {
                if let Some(m) = self.missing.remove(i) {
                    if m.requests > 0 {
                        self.counters.recovered += 1;
                    } else {
                        self.counters.reordered += 1;
                    }
                }
            }
            return;
        }
        self.highest = Some(extended);
        let gap = extended - highest - 1;
        if gap >= MAX_SEQ_AGE {
            // A jump this large is a restart: nothing before it is wanted.
            self.counters.given_up += self.missing.len() as u64;
            self.missing.clear();
            return;
        }
        let first_request = now + self.config.reorder_tolerance;
        for seq in highest + 1..extended {
            if self.missing.len() == MAX_MISSING {
                self.missing.pop_front();
                self.counters.given_up += 1;
            }
            self.missing.push_back(Missing {
                extended: seq,
                first_seen: now,
                next_request: first_request,
                requests: 0,
            });
        }
        self.expire(now);
    }

    /// Gives up what is too old by sequence number or by time.
    fn expire(&mut self, now: Instant) {
        let highest = self.highest.unwrap_or(0);
        while let Some(m) = self.missing.front() {
            let too_far = highest - m.extended.min(highest) > MAX_SEQ_AGE;
            let too_old = now.saturating_duration_since(m.first_seen) > self.config.max_age;
            if !(too_far || too_old) {
                break;
            }
            self.missing.pop_front();
            self.counters.given_up += 1;
        }
    }

    /// When [`Self::poll`] has something to ask for next, or `None` when
    /// nothing is missing. O(missing), at most [`MAX_MISSING`]; O(1) when
    /// nothing is.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        let due = self.missing.iter().map(|m| m.next_request).min()?;
        // Expiry by age happens at poll time too.
        let expiry = self
            .missing
            .front()
            .map(|m| m.first_seen + self.config.max_age);
        Some(expiry.map_or(due, |e| due.min(e)))
    }

    /// At `now`, writes a NACK (sender `sender_ssrc`, about `media_ssrc`)
    /// for every packet due a request into `buf`, returning its length, or
    /// `None` when nothing is due. A packet past its last request is given
    /// up instead.
    pub(crate) fn poll(
        &mut self,
        now: Instant,
        sender_ssrc: u32,
        media_ssrc: u32,
        buf: &mut [u8],
    ) -> Option<Result<usize, WriteError>> {
        self.expire(now);
        let mut lost = [0u16; MAX_PER_NACK];
        let mut n = 0;
        let retry = now + self.retry_interval();
        let max_requests = self.config.max_requests;
        let mut given_up = 0;
        self.missing.retain_mut(|m| {
            if m.next_request > now || n == MAX_PER_NACK {
                return true;
            }
            if m.requests >= max_requests {
                given_up += 1;
                return false;
            }
            m.requests += 1;
            m.next_request = retry;
            // The wire carries the low 16 bits.
            lost[n] = m.extended as u16;
            n += 1;
            true
        });
        self.counters.given_up += given_up;
        if n == 0 {
            return None;
        }
        let written = Nack::write(sender_ssrc, media_ssrc, &lost[..n], buf);
        if written.is_ok() {
            self.counters.nacks_sent += 1;
            self.counters.packets_requested += n as u64;
        }
        Some(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::rtcp::RtcpPacket;
    use crate::rtp::RtcpCompound;

    fn requested(buf: &[u8]) -> Vec<u16> {
        let c = RtcpCompound::parse(buf, true).unwrap();
        match c.packets().next() {
            Some(RtcpPacket::Nack(n)) => n.sequences().collect(),
            other => panic!("not a NACK: {other:?}"),
        }
    }

    fn poll(g: &mut NackGenerator, now: Instant) -> Option<Vec<u16>> {
        let mut buf = [0u8; 1200];
        let n = g.poll(now, 1, 2, &mut buf)?.unwrap();
        Some(requested(&buf[..n]))
    }

    #[test]
    fn asks_at_once_then_every_rtt_then_gives_up() {
        let t0 = crate::testutil::epoch();
        let mut g = NackGenerator::new(NackConfig::default());
        g.set_rtt(Duration::from_millis(50));
        g.on_packet(t0, 10);
        g.on_packet(t0, 14);
        assert_eq!(g.next_timeout(), Some(t0));
        assert_eq!(poll(&mut g, t0), Some(vec![11, 12, 13]));
        assert_eq!(poll(&mut g, t0), None);
        assert_eq!(g.next_timeout(), Some(t0 + Duration::from_millis(50)));
        // 12 arrives (recovered), then the next round asks for the rest.
        g.on_packet(t0 + Duration::from_millis(30), 12);
        assert_eq!(
            poll(&mut g, t0 + Duration::from_millis(50)),
            Some(vec![11, 13])
        );
        let mut now = t0 + Duration::from_millis(50);
        for _ in 0..8 {
            now += Duration::from_millis(50);
            assert_eq!(poll(&mut g, now), Some(vec![11, 13]));
        }
        // Ten requests made: the next due time gives them up.
        now += Duration::from_millis(50);
        assert_eq!(poll(&mut g, now), None);
        assert_eq!(g.missing_count(), 0);
        assert_eq!(g.next_timeout(), None);
        let c = g.counters();
        assert_eq!(c.recovered, 1);
        assert_eq!(c.given_up, 2);
        assert_eq!(c.nacks_sent, 10);
        assert_eq!(c.packets_requested, 3 + 9 * 2);
    }

    #[test]
    fn reorder_tolerance_delays_the_first_request() {
        let t0 = crate::testutil::epoch();
        let mut g = NackGenerator::new(NackConfig {
            reorder_tolerance: Duration::from_millis(5),
            ..NackConfig::default()
        });
        g.on_packet(t0, 100);
        g.on_packet(t0, 102);
        assert_eq!(poll(&mut g, t0), None);
        g.on_packet(t0 + Duration::from_millis(2), 101);
        assert_eq!(poll(&mut g, t0 + Duration::from_millis(5)), None);
        assert_eq!(g.counters().reordered, 1);
        assert_eq!(g.counters().recovered, 0);
    }

    #[test]
    fn bounded_by_count_age_and_distance() {
        let t0 = crate::testutil::epoch();
        let mut g = NackGenerator::new(NackConfig::default());
        g.on_packet(t0, 0);
        // A gap of 2,500: only the newest 1,000 are kept.
        g.on_packet(t0, 2_501);
        assert_eq!(g.missing_count(), MAX_MISSING);
        assert_eq!(g.counters().given_up, 1_500);
        // One poll asks for at most MAX_PER_NACK, wrapping at 2^16 fine.
        let first = poll(&mut g, t0).unwrap();
        assert_eq!(first.len(), MAX_PER_NACK);
        assert_eq!(first[0], 1_501);
        // Far ahead: the old ones are more than 3,000 behind.
        g.on_packet(t0, 4_600);
        assert_eq!(g.missing_count(), MAX_MISSING);
        assert!(g.missing.front().unwrap().extended >= 4_600 - MAX_SEQ_AGE);
        // A restart-sized jump clears everything.
        g.on_packet(t0, 100_000);
        assert_eq!(g.missing_count(), 0);
        // And age: a second later the gap is given up.
        g.on_packet(t0, 100_002);
        assert_eq!(g.missing_count(), 1);
        assert!(g.next_timeout().is_some());
        assert_eq!(poll(&mut g, t0 + Duration::from_millis(1_001)), None);
        assert_eq!(g.missing_count(), 0);
    }

    #[test]
    fn sequence_numbers_wrap_on_the_wire() {
        let t0 = crate::testutil::epoch();
        let mut g = NackGenerator::new(NackConfig::default());
        g.on_packet(t0, 65_534);
        g.on_packet(t0, 65_538);
        assert_eq!(poll(&mut g, t0), Some(vec![65_535, 0, 1]));
        let mut tiny = [0u8; 8];
        // The retry is due after the default RTT.
        assert!(matches!(
            g.poll(t0 + Duration::from_millis(100), 1, 2, &mut tiny),
            Some(Err(WriteError::BufferTooSmall))
        ));
    }
}
