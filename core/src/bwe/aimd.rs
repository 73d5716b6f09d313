//! The delay-based rate controller (draft-ietf-rmcat-gcc-02 §5.5): an
//! AIMD machine driven by the over-use detector's signal.

use std::time::{Duration, Instant};

use super::delay::Usage;

/// §5.5: "eta ... 1.08" per second: the multiplicative increase far from
/// convergence.
const INCREASE_PER_SECOND: f64 = 1.08;
/// §5.5: "alpha is typically chosen to be in the interval [0.8, 0.95],
/// 0.85 is the RECOMMENDED value": the decrease, applied to the acked rate.
const BETA: f64 = 0.85;
/// §5.5: "A_hat(i) < 1.5 * R_hat(i)": the estimate may not run ahead of
/// what the receiver sees by more than this (plus a little, so a very low
/// rate can still grow).
const MAX_ACKED_RATIO: f64 = 1.5;
const ACKED_HEADROOM_BPS: f64 = 10_000.0;
/// The packet size assumed for the additive increase (a full video packet).
const PACKET_BITS: f64 = 1_200.0 * 8.0;
/// The additive increase never goes slower than this.
const MIN_ADDITIVE_BPS_PER_SECOND: f64 = 4_000.0;
/// The link capacity estimate's deviation starts at this (normalised
/// variance, kbit/s), and the estimate counts as "near" within 3 of them.
const INITIAL_CAPACITY_VARIANCE: f64 = 0.4;
const CAPACITY_SMOOTHING: f64 = 0.05;

/// The controller's state (§5.5 figure: Increase, Hold, Decrease).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateState {
    /// Waiting for the queue to settle.
    Hold,
    /// Probing for more.
    Increase,
    /// Backing off (for one update, then Hold).
    Decrease,
}

/// The capacity the link showed at the last over-uses: the average acked
/// rate when the queue built, and how much it varies.
#[derive(Debug, Clone, Copy, Default)]
struct LinkCapacity {
    average_kbps: Option<f64>,
    variance: f64,
}

impl LinkCapacity {
    fn deviation_kbps(&self, average: f64) -> f64 {
        (self.variance * average).sqrt()
    }

    fn on_overuse(&mut self, acked_bps: f64) {
        let sample = acked_bps / 1000.0;
        let average = match self.average_kbps {
            None => {
                self.variance = INITIAL_CAPACITY_VARIANCE;
                sample
            }
            Some(a) => (1.0 - CAPACITY_SMOOTHING) * a + CAPACITY_SMOOTHING * sample,
        };
        let norm = average.max(1.0);
        self.variance = ((1.0 - CAPACITY_SMOOTHING) * self.variance
            + CAPACITY_SMOOTHING * (average - sample).powi(2) / norm)
            .clamp(0.4, 2.5);
        self.average_kbps = Some(average);
    }

    /// Forgets the capacity when the acked rate leaves its band upwards:
    /// the path has more than it showed.
    fn check(&mut self, acked_bps: f64) {
        if let Some(average) = self.average_kbps {
            if acked_bps / 1000.0 > average + 3.0 * self.deviation_kbps(average) {
                self.average_kbps = None;
            }
        }
    }

    fn known(&self) -> bool {
        self.average_kbps.is_some()
    }
}

/// The AIMD controller.
#[derive(Debug)]
pub(crate) struct Aimd {
    estimate: f64,
    min: f64,
    max: f64,
    state: RateState,
    last_update: Option<Instant>,
    last_decrease: Option<Instant>,
    capacity: LinkCapacity,
}

impl Aimd {
    /// A controller starting at `initial` bit/s, kept within `[min, max]`.
    pub(crate) fn new(initial: u64, min: u64, max: u64) -> Self {
        Self {
            estimate: initial as f64,
            min: min as f64,
            max: max as f64,
            state: RateState::Increase,
            last_update: None,
            last_decrease: None,
            capacity: LinkCapacity::default(),
        }
    }

    /// The estimate, bit/s.
    pub(crate) fn estimate(&self) -> f64 {
        self.estimate
    }

    /// The controller's state.
    pub(crate) fn state(&self) -> RateState {
        self.state
    }

    /// Sets the estimate outright (a probe measured the path).
    pub(crate) fn set_estimate(&mut self, now: Instant, bps: f64) {
        self.estimate = bps.clamp(self.min, self.max);
        self.last_update = Some(now);
    }

    /// One step: the detector said `usage`; the receiver acknowledged
    /// `acked` bit/s; `rtt` is the round trip; `limited` is true while the
    /// application sends less than the estimate (no increase then: the
    /// path has not shown it can carry more).
    pub(crate) fn update(
        &mut self,
        now: Instant,
        usage: Usage,
        acked: Option<f64>,
        rtt: Duration,
        limited: bool,
    ) -> f64 {
        let dt = self
            .last_update
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at))
            .min(Duration::from_secs(1));
        self.last_update = Some(now);
        // §5.5 state transitions: over-use always decreases; under-use
        // holds (the queue is draining); normal resumes increasing.
        self.state = match (usage, self.state) {
            (Usage::Over, _) => RateState::Decrease,
            (Usage::Under, _) => RateState::Hold,
            (Usage::Normal, RateState::Hold) => RateState::Increase,
            (Usage::Normal, state) => state,
        };
        if let Some(acked) = acked {
            self.capacity.check(acked);
        }
        match self.state {
            RateState::Hold => {}
            RateState::Increase if !limited => {
                let before = self.estimate;
                self.increase(dt, rtt);
                if let Some(acked) = acked {
                    // The bound stops an increase; it does not pull an
                    // estimate down (a quiet sender keeps what it had).
                    let cap = MAX_ACKED_RATIO * acked + ACKED_HEADROOM_BPS;
                    if self.estimate > cap {
                        self.estimate = before.max(cap);
                    }
                }
            }
            RateState::Increase => {}
            RateState::Decrease => {
                // One decrease per round trip: the effect of the last one
                // is not visible before.
                let interval = rtt.clamp(Duration::from_millis(10), Duration::from_millis(200));
                let recent = self
                    .last_decrease
                    .is_some_and(|at| now.saturating_duration_since(at) < interval);
                if !recent {
                    // §5.5: "A_hat(i) = alpha*R_hat(i)".
                    let base = acked.unwrap_or(self.estimate);
                    self.estimate = (BETA * base).min(self.estimate);
                    if let Some(acked) = acked {
                        self.capacity.on_overuse(acked);
                    }
                    self.last_decrease = Some(now);
                }
                self.state = RateState::Hold;
            }
        }
        self.estimate = self.estimate.clamp(self.min, self.max);
        self.estimate
    }

    fn increase(&mut self, dt: Duration, rtt: Duration) {
        let secs = dt.as_secs_f64();
        if self.capacity.known() {
            // §5.5: near convergence the increase is additive, "at most
            // half a packet per response_time interval", with
            // "response_time = 100ms + rtt".
            let response = 0.1 + rtt.as_secs_f64();
            let per_second = (0.5 * PACKET_BITS / response).max(MIN_ADDITIVE_BPS_PER_SECOND);
            self.estimate += per_second * secs;
        } else {
            self.estimate *= INCREASE_PER_SECOND.powf(secs);
        }
    }
}
