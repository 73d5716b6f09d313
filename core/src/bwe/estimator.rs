//! [`BandwidthEstimator`]: the send side of Google Congestion Control
//! (draft-ietf-rmcat-gcc-02), fed by transport-wide feedback.

use std::time::{Duration, Instant};

use super::acked::{AckedBitrate, AlrDetector};
use super::aimd::Aimd;
use super::delay::{InterArrival, Trendline, Usage};
use super::feedback::{PacketResult, SendHistory, SenderCounters};
use super::loss::LossBased;
use super::probe::ProbeEstimator;
use super::{PacketKind, ProbeId};
use crate::rtp::twcc::TransportCc;

/// A change of the target smaller than this share is not reported by
/// [`BandwidthEstimator::poll_estimate`].
const REPORT_THRESHOLD: f64 = 0.05;
/// The round trip assumed until feedback measured one.
const DEFAULT_RTT: Duration = Duration::from_millis(200);
/// Round trips are taken as at most this (a caller's or a stalled
/// receiver's absurd value must not stall every timer built on it).
const MAX_RTT: Duration = Duration::from_secs(10);
/// A probe that carried this share of its send rate asks for the next at
/// twice its result (Chrome's exponential start-up probing).
const FURTHER_PROBE_RATIO: f64 = 0.7;
/// Exponential probing stops here, as a share of the configured maximum.
const FURTHER_PROBE_LIMIT: f64 = 1.0;
/// An application-limited sender cannot show that the path carries more
/// than it sends; Chrome probes it at twice the target every 5 s instead.
const ALR_PROBE_INTERVAL: Duration = Duration::from_secs(5);
const ALR_PROBE_SCALE: f64 = 2.0;

/// The estimator's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BweConfig {
    /// The target before anything is known. Defaults to 300 kbit/s.
    pub(crate) initial_bps: u64,
    /// The target never goes below this. Defaults to 30 kbit/s.
    pub(crate) min_bps: u64,
    /// Nor above this. Defaults to 10 Mbit/s.
    pub(crate) max_bps: u64,
}

impl Default for BweConfig {
    fn default() -> Self {
        Self {
            initial_bps: 300_000,
            min_bps: 30_000,
            max_bps: 10_000_000,
        }
    }
}

/// What the estimator ignored or noticed, for stats and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BweCounters {
    /// The send history's counters (unknown, duplicate, absurd, flood…).
    pub(crate) history: SenderCounters,
    /// Over-use signals acted on.
    pub(crate) overuses: u64,
    /// Probe results applied.
    pub(crate) probes: u64,
    /// Group deltas dropped as reordered.
    pub(crate) reordered_groups: u64,
}

/// The bandwidth estimator: the delay-based AIMD estimate and the
/// loss-based one, the lower of the two capped by the receiver's REMB.
///
/// Inputs (`on_*`) carry `now`; outputs are polled:
/// [`Self::target_bitrate`] at any time, [`Self::poll_estimate`] for
/// changes worth telling the application (at least 5%),
/// [`Self::poll_probe`] for a probe the pacer should send.
///
/// ```text
/// pacer.poll_send(now) → packet → bwe.on_packet_sent(now, seq, size, kind)
/// RTCP in → bwe.on_feedback(now, &twcc) / bwe.on_remb(bps)
/// bwe.poll_estimate() → encoders, pacer.set_target(now, bps)
/// bwe.poll_probe()    → pacer.request_probe(now, bps)
/// ```
#[derive(Debug)]
pub(crate) struct BandwidthEstimator {
    config: BweConfig,
    history: SendHistory,
    results: Vec<PacketResult>,
    inter_arrival: InterArrival,
    trendline: Trendline,
    aimd: Aimd,
    acked: AckedBitrate,
    loss: LossBased,
    probes: ProbeEstimator,
    alr: AlrDetector,
    remb: Option<u64>,
    rtt: Option<Duration>,
    target: u64,
    reported: Option<u64>,
    probe_request: Option<u64>,
    last_probe_request: Option<Instant>,
    /// Exponential probing continues while each probe succeeds.
    probing_up: bool,
    /// Clusters completed by the feedback being processed (reused; at
    /// most the clusters the probe estimator tracks).
    completed: Vec<ProbeId>,
    last_usage: Usage,
    counters: BweCounters,
}

impl BandwidthEstimator {
    /// An estimator with `config`; invalid bounds are ordered (min ≤
    /// initial ≤ max) rather than refused.
    pub(crate) fn new(config: BweConfig) -> Self {
        let min = config.min_bps.max(1);
        let max = config.max_bps.max(min);
        let initial = config.initial_bps.clamp(min, max);
        let config = BweConfig {
            initial_bps: initial,
            min_bps: min,
            max_bps: max,
        };
        Self {
            config,
            history: SendHistory::new(),
            results: Vec::with_capacity(512),
            inter_arrival: InterArrival::default(),
            trendline: Trendline::default(),
            aimd: Aimd::new(initial, min, max),
            acked: AckedBitrate::default(),
            loss: LossBased::new(initial, min, max),
            probes: ProbeEstimator::default(),
            alr: AlrDetector::default(),
            remb: None,
            rtt: None,
            target: initial,
            reported: None,
            probe_request: None,
            last_probe_request: None,
            probing_up: true,
            completed: Vec::with_capacity(8),
            last_usage: Usage::Normal,
            counters: BweCounters::default(),
        }
    }

    /// A packet with transport-wide sequence number `seq`, `size` bytes on
    /// the wire, went out at `now`.
    pub(crate) fn on_packet_sent(&mut self, now: Instant, seq: u16, size: usize, kind: PacketKind) {
        self.sent(now, seq, size, kind, None);
    }

    /// A packet of probe cluster `probe` went out at `now`.
    pub(crate) fn on_probe_packet_sent(
        &mut self,
        now: Instant,
        seq: u16,
        size: usize,
        kind: PacketKind,
        probe: ProbeId,
    ) {
        self.sent(now, seq, size, kind, Some(probe));
    }

    fn sent(
        &mut self,
        now: Instant,
        seq: u16,
        size: usize,
        kind: PacketKind,
        probe: Option<ProbeId>,
    ) {
        self.history.on_packet_sent(now, seq, size, kind, probe);
        if let Some(id) = probe {
            self.probes
                .on_sent(id, now, u32::try_from(size).unwrap_or(u32::MAX));
        }
        if kind != PacketKind::Padding {
            self.alr.on_sent(now, size, self.target);
        }
    }

    /// Data-channel bytes went out at `now` (they count against
    /// application-limited detection, as media does).
    pub(crate) fn on_data_sent(&mut self, now: Instant, bytes: usize) {
        self.alr.on_sent(now, bytes, self.target);
    }

    /// The receiver's REMB (draft-alvestrand-rmcat-remb-03): a cap on the
    /// target, not an estimate of its own.
    pub(crate) fn on_remb(&mut self, bps: u64) {
        self.remb = Some(bps.max(self.config.min_bps));
        self.combine();
    }

    /// A round-trip time measured elsewhere (RTCP receiver reports);
    /// without one, feedback gives an upper bound.
    pub(crate) fn on_rtt(&mut self, rtt: Duration) {
        self.rtt = Some(rtt.min(MAX_RTT));
    }

    /// A transport-wide feedback message arrived at `now`.
    pub(crate) fn on_feedback(&mut self, now: Instant, feedback: &TransportCc<'_>) {
        let mut results = std::mem::take(&mut self.results);
        self.history.on_feedback(now, feedback, &mut results);
        self.counters.history = self.history.counters();
        if results.is_empty() {
            self.results = results;
            return;
        }
        let (mut received, mut lost) = (0u32, 0u32);
        let mut newest_send: Option<Instant> = None;
        let mut usage = self.trendline.usage();
        self.completed.clear();
        for r in &results {
            let Some(arrival) = r.arrival else {
                lost += 1;
                if let Some(id) = r.probe {
                    self.probes.on_lost(id);
                    self.note_complete(id);
                }
                continue;
            };
            received += 1;
            newest_send = newest_send.max(Some(r.send_time));
            self.acked.on_packet(arrival, r.size);
            if let Some(id) = r.probe {
                self.probes.on_received(id, arrival, r.size);
                self.note_complete(id);
            }
            if let Some(delta) = self.inter_arrival.on_packet(r.send_time, arrival) {
                usage = self.trendline.update(delta);
            }
        }
        self.counters.reordered_groups = self.inter_arrival.reordered;
        if let Some(sent) = newest_send {
            // An upper bound: the receiver held the packet up to one
            // feedback interval.
            let sample = now.saturating_duration_since(sent).min(MAX_RTT);
            if self.rtt.is_none() || sample < self.rtt.unwrap_or(DEFAULT_RTT) * 2 {
                self.rtt = Some(match self.rtt {
                    None => sample,
                    Some(rtt) => (rtt * 7 + sample) / 8,
                });
            }
        }
        self.loss.on_results(now, received, lost);
        let rtt = self.rtt.unwrap_or(DEFAULT_RTT);
        let acked = self.acked.rate();
        self.aimd.update(now, usage, acked, rtt, self.alr.in_alr());
        if usage == Usage::Over && self.last_usage != Usage::Over {
            self.counters.overuses += 1;
            self.probing_up = false;
        }
        self.last_usage = usage;
        let completed = std::mem::take(&mut self.completed);
        for &id in &completed {
            self.apply_probe(now, id, usage);
        }
        self.completed = completed;
        self.loss.update(now, self.target as f64, rtt);
        self.combine();
        self.probe_in_alr(now);
        self.results = results;
    }

    fn probe_in_alr(&mut self, now: Instant) {
        let Some(start) = self.alr.start() else {
            return;
        };
        let since = self.last_probe_request.map_or(start, |at| at.max(start));
        if now.saturating_duration_since(since) >= ALR_PROBE_INTERVAL {
            let rate = (self.target as f64 * ALR_PROBE_SCALE) as u64;
            self.probe_request = Some(rate.min(self.config.max_bps));
            self.last_probe_request = Some(now);
        }
    }

    fn note_complete(&mut self, id: ProbeId) {
        if self.probes.complete(id) && !self.completed.contains(&id) {
            self.completed.push(id);
        }
    }

    fn apply_probe(&mut self, now: Instant, id: ProbeId, usage: Usage) {
        let Some(result) = self.probes.result(id) else {
            self.probes.finish(id);
            return;
        };
        self.probes.finish(id);
        if usage == Usage::Over {
            return;
        }
        self.counters.probes += 1;
        if result.estimate > self.aimd.estimate() {
            self.aimd.set_estimate(now, result.estimate);
            self.loss.raise_to(result.estimate);
        }
        let limit = self.config.max_bps as f64 * FURTHER_PROBE_LIMIT;
        if self.probing_up && result.estimate > FURTHER_PROBE_RATIO * result.send_rate {
            let next = (2.0 * result.estimate).min(limit);
            if next > result.send_rate * 1.1 {
                self.probe_request = Some(next as u64);
                self.last_probe_request = Some(now);
            }
        } else {
            self.probing_up = false;
        }
    }

    fn combine(&mut self) {
        let mut target = self.aimd.estimate().min(self.loss.estimate());
        if let Some(remb) = self.remb {
            target = target.min(remb as f64);
        }
        self.target = (target as u64).clamp(self.config.min_bps, self.config.max_bps);
    }

    /// The target send rate, bit/s (media, retransmissions and data
    /// together).
    pub(crate) fn target_bitrate(&self) -> u64 {
        self.target
    }

    /// The target, if it moved by at least 5% since last reported (the
    /// first call always reports).
    #[must_use]
    pub(crate) fn poll_estimate(&mut self) -> Option<u64> {
        let changed = self.reported.is_none_or(|last| {
            (self.target as f64 - last as f64).abs() >= REPORT_THRESHOLD * last as f64
        });
        if changed {
            self.reported = Some(self.target);
            Some(self.target)
        } else {
            None
        }
    }

    /// A probe rate the pacer should try, bit/s.
    #[must_use]
    pub(crate) fn poll_probe(&mut self) -> Option<u64> {
        self.probe_request.take()
    }

    /// Whether the sender is application-limited.
    pub(crate) fn in_alr(&self) -> bool {
        self.alr.in_alr()
    }

    /// The delay-based detector's state.
    pub(crate) fn usage(&self) -> Usage {
        self.trendline.usage()
    }

    /// The detector's threshold and its last trend (for traces).
    pub(crate) fn detector(&self) -> (Duration, f64) {
        (self.trendline.threshold(), self.trendline.trend())
    }

    /// The acknowledged bitrate, bit/s.
    pub(crate) fn acked_bitrate(&self) -> Option<f64> {
        self.acked.rate()
    }

    /// The delay-based estimate, bit/s.
    pub(crate) fn delay_estimate(&self) -> f64 {
        self.aimd.estimate()
    }

    /// The loss-based estimate, bit/s.
    pub(crate) fn loss_estimate(&self) -> f64 {
        self.loss.estimate()
    }

    /// Packets in the send history.
    pub(crate) fn history_len(&self) -> usize {
        self.history.len()
    }

    /// What was ignored and noticed.
    pub(crate) fn counters(&self) -> BweCounters {
        self.counters
    }
}
