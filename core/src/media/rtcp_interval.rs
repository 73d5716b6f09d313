//! When to send the next regular RTCP compound packet: RFC 3550 §6.2 and
//! §6.3 (the computed interval, Appendix A.7, with timer reconsideration,
//! §6.3.3 and §6.3.6).
//!
//! RFC 4585 early feedback is not here: a feedback message goes out in the
//! next regular packet (or the caller sends it at once under its own
//! limit).

use std::time::{Duration, Instant};

use crate::rng::Rng;

/// RFC 3550 A.7: "RTCP_MIN_TIME = 5."
const RTCP_MIN_TIME: Duration = Duration::from_secs(5);
/// RFC 3550 §6.2: "the fraction of the session bandwidth added for RTCP be
/// fixed at 5%".
const RTCP_FRACTION: f64 = 0.05;
/// RFC 3550 A.7: "RTCP_SENDER_BW_FRACTION = 0.25".
const RTCP_SENDER_BW_FRACTION: f64 = 0.25;
/// RFC 3550 A.7: "RTCP_RCVR_BW_FRACTION = (1-RTCP_SENDER_BW_FRACTION)".
const RTCP_RCVR_BW_FRACTION: f64 = 1.0 - RTCP_SENDER_BW_FRACTION;
/// RFC 3550 A.7: "COMPENSATION = 2.71828 - 1.5", to make up for timer
/// reconsideration converging to a value below the intended average.
const COMPENSATION: f64 = std::f64::consts::E - 1.5;
/// The shortest minimum interval: the reduced minimum of a very large
/// bandwidth would come near zero and spin the timer.
const MIN_INTERVAL_FLOOR: Duration = Duration::from_millis(1);
/// The longest interval computed (a guard for tiny bandwidths): a minute.
const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// UDP and IPv4 headers, which RFC 3550 §6.3 counts in `avg_rtcp_size`:
/// "The size includes lower-layer transport and network protocol headers
/// (e.g., UDP and IP)".
pub(crate) const IPV4_UDP_OVERHEAD: usize = 28;

/// The parameters of the interval computation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RtcpIntervalConfig {
    /// The session bandwidth in bits per second (RFC 3550 §6.2: "the
    /// session bandwidth ... the nominal data bandwidth"; SDP `b=AS`).
    pub(crate) session_bandwidth_bps: u64,
    /// Use RFC 3550 §6.2's reduced minimum: "360 divided by the session
    /// bandwidth in kilobits/second" seconds, in place of 5 s (never more
    /// than 5 s).
    pub(crate) reduced_minimum: bool,
}

impl Default for RtcpIntervalConfig {
    fn default() -> Self {
        Self {
            session_bandwidth_bps: 1_000_000,
            reduced_minimum: false,
        }
    }
}

/// The RTCP transmission schedule of one participant (RFC 3550 §6.3).
#[derive(Debug, Clone)]
pub(crate) struct RtcpScheduler {
    config: RtcpIntervalConfig,
    /// RFC 3550 §6.3 `members` (including ourselves; at least 1).
    members: u32,
    /// RFC 3550 §6.3 `senders` (including ourselves if we sent).
    senders: u32,
    /// RFC 3550 §6.3 `we_sent`.
    we_sent: bool,
    /// RFC 3550 §6.3 `avg_rtcp_size`, octets with lower-layer headers.
    avg_rtcp_size: f64,
    /// RFC 3550 §6.3 `initial`.
    initial: bool,
    /// RFC 3550 §6.3 `tp`: when the last RTCP packet was sent.
    tp: Instant,
    /// RFC 3550 §6.3 `tn`: the next scheduled transmission.
    tn: Instant,
    sent: u64,
}

impl RtcpScheduler {
    /// A schedule starting at `now`, expecting the first compound packet to
    /// be about `initial_size` octets (RFC 3550 §6.3.2: "avg_rtcp_size is
    /// set to the probable size of the first RTCP packet that the
    /// application will later construct"). Two members (a peer connection),
    /// no sender yet.
    pub(crate) fn new(
        now: Instant,
        config: RtcpIntervalConfig,
        initial_size: usize,
        rng: &mut Rng,
    ) -> Self {
        let mut s = Self {
            config,
            members: 2,
            senders: 0,
            we_sent: false,
            avg_rtcp_size: (initial_size + IPV4_UDP_OVERHEAD) as f64,
            initial: true,
            tp: now,
            tn: now,
            sent: 0,
        };
        // RFC 3550 §6.3.2: "the calculated interval T is computed and the
        // first packet is scheduled for time tn = T".
        s.tn = now + s.interval(rng);
        s
    }

    /// Updates the session bandwidth (a new `b=AS`, an estimate).
    pub(crate) fn set_config(&mut self, config: RtcpIntervalConfig) {
        self.config = config;
    }

    /// Updates the membership: `members` including ourselves, `senders`
    /// including ourselves when `we_sent`.
    pub(crate) fn set_members(&mut self, members: u32, senders: u32, we_sent: bool) {
        self.members = members.max(1);
        self.senders = senders.min(self.members);
        self.we_sent = we_sent;
    }

    /// When the next regular RTCP packet is due.
    pub(crate) fn next_due(&self) -> Instant {
        self.tn
    }

    /// How many packets [`Self::on_sent`] accounted.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// The minimum interval (RFC 3550 §6.2), halved before the first packet
    /// (A.7: "if (initial) rtcp_min_time /= 2;").
    fn min_interval(&self) -> Duration {
        let mut min = RTCP_MIN_TIME;
        if self.config.reduced_minimum {
            // RFC 3550 §6.2: "the recommended value for a reduced minimum
            // in seconds is 360 divided by the session bandwidth in
            // kilobits/second".
            let kbps = (self.config.session_bandwidth_bps as f64 / 1000.0).max(1.0);
            min = min
                .min(Duration::from_secs_f64(360.0 / kbps))
                .max(MIN_INTERVAL_FLOOR);
        }
        if self.initial {
            min /= 2;
        }
        min
    }

    /// The deterministic interval `Td` (RFC 3550 A.7 before randomisation).
    pub(crate) fn deterministic_interval(&self) -> Duration {
        // RFC 3550 §6.2: RTCP gets 5% of the session bandwidth; in octets
        // per second as avg_rtcp_size is in octets.
        let mut rtcp_bw = self.config.session_bandwidth_bps as f64 * RTCP_FRACTION / 8.0;
        let mut n = f64::from(self.members);
        // RFC 3550 A.7: "if (senders <= members * RTCP_SENDER_BW_FRACTION)
        // { if (we_sent) { rtcp_bw *= RTCP_SENDER_BW_FRACTION; n = senders;
        // } else { rtcp_bw *= RTCP_RCVR_BW_FRACTION; n -= senders; } }"
        if f64::from(self.senders) <= f64::from(self.members) * RTCP_SENDER_BW_FRACTION {
            if self.we_sent {
                rtcp_bw *= RTCP_SENDER_BW_FRACTION;
                n = f64::from(self.senders);
            } else {
                rtcp_bw *= RTCP_RCVR_BW_FRACTION;
                n -= f64::from(self.senders);
            }
        }
        // "t = avg_rtcp_size * n / rtcp_bw; if (t < rtcp_min_time) t =
        // rtcp_min_time;"
        let t = if rtcp_bw > 0.0 {
            self.avg_rtcp_size * n / rtcp_bw
        } else {
            MAX_INTERVAL.as_secs_f64()
        };
        let t =
            Duration::try_from_secs_f64(t.min(MAX_INTERVAL.as_secs_f64())).unwrap_or(MAX_INTERVAL);
        t.max(self.min_interval())
    }

    /// The randomised interval `T` (RFC 3550 A.7: "t = t * (drand48() +
    /// 0.5); t = t / COMPENSATION;").
    pub(crate) fn interval(&self, rng: &mut Rng) -> Duration {
        let td = self.deterministic_interval().as_secs_f64();
        Duration::try_from_secs_f64(td * (rng.unit() + 0.5) / COMPENSATION).unwrap_or(MAX_INTERVAL)
    }

    /// At `now`, whether a regular RTCP packet should go out. When `tn` is
    /// reached this reconsiders (RFC 3550 §6.3.6: "The transmission
    /// interval T is computed as described in Section 6.3.1, including the
    /// randomization factor. If tp + T is less than or equal to tc, an RTCP
    /// packet is transmitted. ... If tp + T is greater than tc, tn is set
    /// to tp + T. No RTCP packet is transmitted.") The caller sends, then
    /// calls [`Self::on_sent`].
    pub(crate) fn poll(&mut self, now: Instant, rng: &mut Rng) -> bool {
        if now < self.tn {
            return false;
        }
        let t = self.interval(rng);
        if self.tp + t <= now {
            true
        } else {
            self.tn = self.tp + t;
            false
        }
    }

    /// A compound packet of `size` octets (without lower-layer headers)
    /// was sent at `now`: updates the average size and schedules the next.
    ///
    /// RFC 3550 §6.3.6: "avg_rtcp_size = (1/16) * packet_size + (15/16) *
    /// avg_rtcp_size ... tp is set to tc ... T is calculated ... tn is set
    /// to tc + T ... initial is set to false".
    pub(crate) fn on_sent(&mut self, now: Instant, size: usize, rng: &mut Rng) {
        self.update_avg(size);
        self.sent += 1;
        self.tp = now;
        self.initial = false;
        self.tn = now + self.interval(rng);
    }

    /// A compound packet of `size` octets was received: RFC 3550 §6.3.3
    /// updates `avg_rtcp_size` with received packets as with sent ones (it
    /// is "over all RTCP packets sent and received by this participant",
    /// §6.3).
    pub(crate) fn on_received(&mut self, size: usize) {
        self.update_avg(size);
    }

    fn update_avg(&mut self, size: usize) {
        let size = (size + IPV4_UDP_OVERHEAD) as f64;
        self.avg_rtcp_size = size / 16.0 + self.avg_rtcp_size * 15.0 / 16.0;
    }

    /// The average compound packet size, in octets with lower-layer
    /// headers.
    pub(crate) fn avg_rtcp_size(&self) -> f64 {
        self.avg_rtcp_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the scheduler for `count` packets of `size` octets and
    /// returns the mean interval between them.
    fn mean_interval(config: RtcpIntervalConfig, size: usize, count: u32, seed: u64) -> f64 {
        let mut rng = Rng::from_seed(seed);
        let t0 = crate::testutil::epoch();
        let mut s = RtcpScheduler::new(t0, config, size, &mut rng);
        let mut now = t0;
        let mut first = None;
        let mut sent = 0;
        while sent < count {
            now = now.max(s.next_due());
            if s.poll(now, &mut rng) {
                first.get_or_insert(now);
                s.on_sent(now, size, &mut rng);
                sent += 1;
            }
        }
        let first = first.unwrap_or(t0);
        (now - first).as_secs_f64() / f64::from(count - 1)
    }

    #[test]
    fn mean_interval_is_the_minimum_with_reconsideration() {
        // Small packets, ample bandwidth: the 5 s minimum rules. A single
        // T averages Td / (e - 3/2) = 4.1 s; reconsideration (a later draw
        // above the current one postpones) brings the mean back to Td:
        // what the compensation is for.
        let m = mean_interval(RtcpIntervalConfig::default(), 100, 2_000, 1);
        let expected = 5.0;
        assert!(
            (m - expected).abs() < 0.05 * expected,
            "mean {m}, expected {expected}"
        );
    }

    #[test]
    fn reduced_minimum_applies() {
        let config = RtcpIntervalConfig {
            session_bandwidth_bps: 1_000_000,
            reduced_minimum: true,
        };
        // 360 / 1000 kbit/s = 0.36 s.
        let m = mean_interval(config, 100, 2_000, 2);
        let expected = 0.36;
        assert!(
            (m - expected).abs() < 0.05 * expected,
            "mean {m}, expected {expected}"
        );
        // Below 72 kbit/s the reduced minimum would exceed 5 s: 5 s holds.
        let mut rng = Rng::from_seed(3);
        let mut s = RtcpScheduler::new(
            crate::testutil::epoch(),
            RtcpIntervalConfig {
                session_bandwidth_bps: 10_000,
                reduced_minimum: true,
            },
            10,
            &mut rng,
        );
        s.on_sent(crate::testutil::epoch(), 10, &mut rng);
        assert!(s.deterministic_interval() >= Duration::from_secs(5));
    }

    #[test]
    fn bandwidth_share_rules_when_large() {
        let config = RtcpIntervalConfig {
            session_bandwidth_bps: 64_000,
            reduced_minimum: false,
        };
        let mut rng = Rng::from_seed(4);
        let t0 = crate::testutil::epoch();
        let mut s = RtcpScheduler::new(t0, config, 1_000, &mut rng);
        s.on_sent(t0, 1_000, &mut rng);
        // Receiver of 2 members, no sender: rtcp_bw = 64000 * 0.05 / 8 *
        // 0.75 = 300 B/s, n = 2: 1028 * 2 / 300 = 6.85 s.
        let td = s.deterministic_interval().as_secs_f64();
        assert!((td - 1028.0 * 2.0 / 300.0).abs() < 0.01, "{td}");
        // We send and are the only sender of 2 (1 <= 2 * 0.25 is false):
        // no split, n = 2, rtcp_bw = 400 B/s.
        s.set_members(2, 1, true);
        let td = s.deterministic_interval().as_secs_f64();
        assert!((td - 1028.0 * 2.0 / 400.0).abs() < 0.01, "{td}");
        // A sender among 8: the senders' 25% is shared by 1 (n = 1).
        s.set_members(8, 1, true);
        let td = s.deterministic_interval().as_secs_f64();
        assert!((td - 1028.0 / 100.0).abs() < 0.01, "{td}");
    }

    #[test]
    fn first_interval_uses_half_the_minimum_and_randomises() {
        let mut rng = Rng::from_seed(5);
        let t0 = crate::testutil::epoch();
        let mut lo = f64::MAX;
        let mut hi = 0.0f64;
        for _ in 0..500 {
            let s = RtcpScheduler::new(t0, RtcpIntervalConfig::default(), 100, &mut rng);
            let t = (s.next_due() - t0).as_secs_f64();
            lo = lo.min(t);
            hi = hi.max(t);
        }
        // 2.5 s * [0.5, 1.5] / 1.21828: [1.026, 3.078].
        assert!((2.5 * 0.5 / COMPENSATION - 1e-6..1.1).contains(&lo), "{lo}");
        assert!(
            (3.0..=2.5 * 1.5 / COMPENSATION + 1e-6).contains(&hi),
            "{hi}"
        );
    }

    #[test]
    fn average_size_moves_one_sixteenth() {
        let mut rng = Rng::from_seed(6);
        let t0 = crate::testutil::epoch();
        let mut s = RtcpScheduler::new(t0, RtcpIntervalConfig::default(), 72, &mut rng);
        assert_eq!(s.avg_rtcp_size(), 100.0);
        s.on_received(1_572);
        assert_eq!(s.avg_rtcp_size(), 100.0 + 1_500.0 / 16.0);
        assert!(!s.poll(t0, &mut rng));
        let zero = RtcpIntervalConfig {
            session_bandwidth_bps: 0,
            reduced_minimum: true,
        };
        s.set_config(zero);
        assert_eq!(s.deterministic_interval(), MAX_INTERVAL);
    }
}
