//! The pacer: a leaky bucket in virtual time that spreads packets at 2.5
//! times the target rate, by priority, and sends probe clusters.
//!
//! # Priorities
//!
//! Audio, then retransmissions, then video, then padding. Audio is never
//! held: it leaves at once, but its bytes count against the bucket, so the
//! other classes make room for it.
//!
//! # Data channels
//!
//! SCTP decides itself when to send (its own congestion window), so data
//! is not queued here: [`Pacer::on_data_sent`] charges its bytes to the
//! bucket as they leave. Media and data together then stay near the
//! pacing rate; a burst of data delays video and retransmissions by at
//! most [`PacerConfig::max_debt`] (the debt is capped), and never audio.
//!
//! # Probes
//!
//! At start-up the pacer sends two probe clusters, at 3 and 6 times the
//! initial target (as Chrome does), and more on request
//! ([`Pacer::request_probe`]). A cluster is at least 5 packets and 15 ms
//! at its rate; it is filled with queued retransmissions and video first,
//! padding when nothing is queued, and sent at the probe rate regardless
//! of the bucket (its bytes still count against it).
//!
//! The queue holds [`PacerConfig::max_queue_packets`] at most; a packet
//! that finds it full pushes out the oldest of a lower class, or is
//! dropped if there is none (both counted). When the queued bytes would
//! not leave before the oldest has waited [`PacerConfig::max_queue_time`]
//! at the pacing rate, the rate rises to drain them by then (as Chrome's
//! pacer does): an encoder that overshoots gets latency bounded, not
//! unbounded.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{PacketKind, ProbeId};

/// The drain rate aims at least this far ahead (a queue past its limit
/// drains fast, not in one burst).
const MIN_DRAIN_TIME: Duration = Duration::from_millis(50);
/// Probe clusters waiting at most (more requests are dropped).
const MAX_PROBE_CLUSTERS: usize = 4;
/// Chrome's start-up probes: 3 and 6 times the initial rate.
const STARTUP_PROBE_FACTORS: [f64; 2] = [3.0, 6.0];
/// A cluster is at least this many packets and this long at its rate.
const PROBE_MIN_PACKETS: u32 = 5;
const PROBE_MIN_DURATION: Duration = Duration::from_millis(15);

/// The pacer's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PacerConfig {
    /// Pacing rate over target rate. Defaults to 2.5 (Chrome's factor).
    pub(crate) pacing_factor: f64,
    /// Packets queued at most. Defaults to 2048.
    pub(crate) max_queue_packets: usize,
    /// The most time of pacing the bucket may owe (data bursts, audio).
    /// Defaults to 500 ms.
    pub(crate) max_debt: Duration,
    /// The longest the queue may take to drain. Defaults to 2 s.
    pub(crate) max_queue_time: Duration,
    /// The size of a padding packet. Defaults to 1200 bytes.
    pub(crate) padding_size: usize,
    /// Whether to probe at start-up. Defaults to true.
    pub(crate) startup_probes: bool,
}

impl Default for PacerConfig {
    fn default() -> Self {
        Self {
            pacing_factor: 2.5,
            max_queue_packets: 2_048,
            max_debt: Duration::from_millis(500),
            max_queue_time: Duration::from_secs(2),
            padding_size: 1_200,
            startup_probes: true,
        }
    }
}

/// A packet handed to the pacer: the caller keeps the bytes under `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueuedPacket {
    /// The caller's handle for the packet.
    pub(crate) id: u64,
    /// Its class.
    pub(crate) kind: PacketKind,
    /// Its size on the wire, bytes.
    pub(crate) size: usize,
}

/// What to send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum PacedPacket {
    /// A queued packet.
    Media {
        /// The packet.
        packet: QueuedPacket,
        /// The probe cluster it serves, if any.
        probe: Option<ProbeId>,
    },
    /// Padding of `size` bytes to make (RTX of old packets, or padding-only
    /// packets) for a probe cluster.
    Padding {
        /// Bytes on the wire.
        size: usize,
        /// The cluster.
        probe: ProbeId,
    },
}

/// What [`Pacer::enqueue_evicting`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enqueued {
    /// It waits in the queue.
    Queued,
    /// It waits; this older packet of a lower class left to make room.
    Evicted(QueuedPacket),
    /// The queue was full: it was dropped.
    Dropped,
}

/// What the pacer dropped and sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PacerCounters {
    /// Packets dropped because the queue was full.
    pub(crate) dropped: u64,
    /// Probe requests dropped (too many waiting).
    pub(crate) probes_dropped: u64,
    /// Packets released.
    pub(crate) sent: u64,
    /// Padding bytes asked for.
    pub(crate) padding_bytes: u64,
    /// Data-channel bytes charged.
    pub(crate) data_bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Cluster {
    id: ProbeId,
    rate_bps: u64,
    min_bytes: u64,
    sent_bytes: u64,
    sent_packets: u32,
    next_send: Option<Instant>,
}

/// The leaky-bucket pacer.
#[derive(Debug)]
pub(crate) struct Pacer {
    config: PacerConfig,
    /// One queue per [`PacketKind`], in priority order, with the time
    /// each packet was queued.
    queues: [VecDeque<(QueuedPacket, Instant)>; 4],
    queued: usize,
    /// The bytes of the queued packets, audio aside.
    queued_bytes: u64,
    target_bps: u64,
    /// Bytes sent ahead of the pacing rate.
    debt: f64,
    last: Instant,
    clusters: VecDeque<Cluster>,
    next_probe: u32,
    counters: PacerCounters,
}

fn class(kind: PacketKind) -> usize {
    match kind {
        PacketKind::Audio => 0,
        PacketKind::Retransmission => 1,
        PacketKind::Video => 2,
        PacketKind::Padding => 3,
    }
}

impl Pacer {
    /// A pacer for `target_bps`, starting at `now` (with the start-up
    /// probes, if configured). Settings out of range are replaced by their
    /// defaults (a pacing factor below 1 or not finite, a zero or
    /// over-an-hour queue time, a zero queue or padding size).
    pub(crate) fn new(config: PacerConfig, now: Instant, target_bps: u64) -> Self {
        let defaults = PacerConfig::default();
        let hour = Duration::from_secs(3_600);
        let config = PacerConfig {
            pacing_factor: if config.pacing_factor.is_finite() && config.pacing_factor >= 1.0 {
                config.pacing_factor.min(100.0)
            } else {
                defaults.pacing_factor
            },
            max_queue_packets: if config.max_queue_packets == 0 {
                defaults.max_queue_packets
            } else {
                config.max_queue_packets
            },
            max_debt: config.max_debt.min(hour),
            max_queue_time: if config.max_queue_time.is_zero() || config.max_queue_time > hour {
                defaults.max_queue_time
            } else {
                config.max_queue_time
            },
            padding_size: if config.padding_size == 0 {
                defaults.padding_size
            } else {
                config.padding_size.min(1_500)
            },
            startup_probes: config.startup_probes,
        };
        let mut pacer = Self {
            config,
            queues: Default::default(),
            queued: 0,
            queued_bytes: 0,
            target_bps: target_bps.max(1),
            debt: 0.0,
            last: now,
            clusters: VecDeque::with_capacity(MAX_PROBE_CLUSTERS),
            next_probe: 0,
            counters: PacerCounters::default(),
        };
        if config.startup_probes {
            for factor in STARTUP_PROBE_FACTORS {
                pacer.request_probe(now, (target_bps as f64 * factor) as u64);
            }
        }
        pacer
    }

    fn pacing_rate(&self) -> f64 {
        let paced = self.target_bps as f64 * self.config.pacing_factor;
        let oldest = self.queues[1..]
            .iter()
            .filter_map(|q| q.front().map(|&(_, at)| at))
            .min();
        let Some(oldest) = oldest else {
            return paced;
        };
        let deadline = oldest + self.config.max_queue_time;
        let left = deadline
            .saturating_duration_since(self.last)
            .max(MIN_DRAIN_TIME);
        paced.max(self.queued_bytes as f64 * 8.0 / left.as_secs_f64())
    }

    fn max_debt(&self) -> f64 {
        self.pacing_rate() / 8.0 * self.config.max_debt.as_secs_f64()
    }

    fn advance(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last);
        self.last = self.last.max(now);
        self.debt = (self.debt - self.pacing_rate() / 8.0 * dt.as_secs_f64()).max(0.0);
    }

    fn charge(&mut self, bytes: usize) {
        self.debt = (self.debt + bytes as f64).min(self.max_debt());
    }

    /// A new target rate (the pacing rate follows).
    pub(crate) fn set_target(&mut self, now: Instant, bps: u64) {
        self.advance(now);
        self.target_bps = bps.max(1);
    }

    /// Queues a packet; returns false if it was dropped (queue full).
    #[cfg(test)]
    pub(crate) fn enqueue(&mut self, now: Instant, packet: QueuedPacket) -> bool {
        self.enqueue_evicting(now, packet) != Enqueued::Dropped
    }

    /// Queues a packet and says what became of it: queued, queued in the
    /// place of an older packet of a lower class (which the caller then
    /// forgets), or dropped because the queue is full of its class and
    /// higher ones.
    pub(crate) fn enqueue_evicting(&mut self, now: Instant, packet: QueuedPacket) -> Enqueued {
        self.advance(now);
        let class = class(packet.kind);
        let mut result = Enqueued::Queued;
        if self.queued >= self.config.max_queue_packets {
            // Push out the oldest of the lowest class below this one.
            let victim = (class + 1..self.queues.len())
                .rev()
                .find(|&c| !self.queues[c].is_empty());
            match victim.and_then(|c| self.queues[c].pop_front()) {
                Some((evicted, _)) => {
                    self.forget(evicted);
                    self.counters.dropped += 1;
                    result = Enqueued::Evicted(evicted);
                }
                None => {
                    self.counters.dropped += 1;
                    return Enqueued::Dropped;
                }
            }
        }
        self.queues[class].push_back((packet, now));
        self.queued += 1;
        if class > 0 {
            self.queued_bytes += packet.size as u64;
        }
        result
    }

    /// Data-channel bytes went out at `now`: they spend the budget.
    pub(crate) fn on_data_sent(&mut self, now: Instant, bytes: usize) {
        self.advance(now);
        self.charge(bytes);
        self.counters.data_bytes += bytes as u64;
    }

    /// Asks for a probe cluster at `bps`.
    pub(crate) fn request_probe(&mut self, _now: Instant, bps: u64) {
        if bps == 0 {
            return;
        }
        if self.clusters.len() >= MAX_PROBE_CLUSTERS {
            self.counters.probes_dropped += 1;
            return;
        }
        let id = ProbeId(self.next_probe);
        self.next_probe = self.next_probe.wrapping_add(1);
        let min_bytes = (bps as f64 / 8.0 * PROBE_MIN_DURATION.as_secs_f64()) as u64;
        self.clusters.push_back(Cluster {
            id,
            rate_bps: bps,
            min_bytes,
            sent_bytes: 0,
            sent_packets: 0,
            next_send: None,
        });
    }

    /// When [`Self::poll_send`] will next have something, if ever. An
    /// instant at the last input's (audio waiting, a probe due) means at
    /// once; it is never before the last input.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if !self.queues[0].is_empty() {
            return Some(self.last);
        }
        let probe = self
            .clusters
            .front()
            .map(|c| c.next_send.unwrap_or(self.last));
        let paced = (self.queued > 0).then(|| {
            let rate = self.pacing_rate() / 8.0;
            // Rounded up to the next microsecond: a debt that rounds to
            // no time at all would wake the caller at `last` for nothing.
            let wait = Duration::from_secs_f64((self.debt / rate).min(10.0));
            let micro = Duration::from_micros(1);
            if self.debt > 0.0 {
                self.last + wait + micro
            } else {
                self.last
            }
        });
        match (probe, paced) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances the clock to `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// Accounts for a packet leaving the queue.
    fn forget(&mut self, packet: QueuedPacket) {
        self.queued -= 1;
        if packet.kind != PacketKind::Audio {
            self.queued_bytes -= packet.size as u64;
        }
    }

    fn pop(&mut self, from: usize) -> Option<QueuedPacket> {
        let (packet, _) = self
            .queues
            .iter_mut()
            .skip(from)
            .find_map(VecDeque::pop_front)?;
        self.forget(packet);
        Some(packet)
    }

    /// The next packet to send at `now`, if any. Call until `None`.
    pub(crate) fn poll_send(&mut self, now: Instant) -> Option<PacedPacket> {
        self.advance(now);
        // Audio is never held.
        if let Some((packet, _)) = self.queues[0].pop_front() {
            self.forget(packet);
            return Some(self.release(packet, None));
        }
        if let Some(sent) = self.poll_probe(now) {
            return Some(sent);
        }
        if self.debt <= 0.0 {
            let packet = self.pop(1)?;
            return Some(self.release(packet, None));
        }
        None
    }

    fn poll_probe(&mut self, now: Instant) -> Option<PacedPacket> {
        let cluster = *self.clusters.front()?;
        if cluster.next_send.is_some_and(|at| at > now) {
            return None;
        }
        let sent = match self.pop(1) {
            Some(packet) => self.release(packet, Some(cluster.id)),
            None => {
                let size = self.config.padding_size;
                self.charge(size);
                self.counters.padding_bytes += size as u64;
                self.counters.sent += 1;
                PacedPacket::Padding {
                    size,
                    probe: cluster.id,
                }
            }
        };
        let size = match sent {
            PacedPacket::Media { packet, .. } => packet.size,
            PacedPacket::Padding { size, .. } => size,
        };
        let c = self.clusters.front_mut()?;
        c.sent_bytes += size as u64;
        c.sent_packets += 1;
        // The next packet leaves when this one's bytes have gone at the
        // probe rate; the clock is the schedule, not `now`, so a late poll
        // does not slow the probe.
        let start = c.next_send.unwrap_or(now);
        c.next_send = Some(start + Duration::from_secs_f64(size as f64 * 8.0 / c.rate_bps as f64));
        if c.sent_bytes >= c.min_bytes && c.sent_packets >= PROBE_MIN_PACKETS {
            self.clusters.pop_front();
        }
        Some(sent)
    }

    fn release(&mut self, packet: QueuedPacket, probe: Option<ProbeId>) -> PacedPacket {
        self.charge(packet.size);
        self.counters.sent += 1;
        PacedPacket::Media { packet, probe }
    }

    /// Packets queued.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    /// The pacing rate, bit/s.
    pub(crate) fn pacing_bps(&self) -> u64 {
        self.pacing_rate() as u64
    }

    /// What was dropped and sent.
    pub(crate) fn counters(&self) -> PacerCounters {
        self.counters
    }
}
