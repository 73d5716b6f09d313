//! The loss-based estimate (draft-ietf-rmcat-gcc-02 §6), from the losses
//! transport-wide feedback reports.

use std::time::{Duration, Instant};

/// §6: below 2% loss the estimate grows, above 10% it shrinks, between it
/// holds.
const LOW_LOSS: f64 = 0.02;
const HIGH_LOSS: f64 = 0.10;
/// The growth per second at low loss. The draft's is 5% per receiver
/// report ("As_hat(i) = 1.05 * As_hat(i-1)", reports about a second
/// apart); Chrome, whose numbers this stack follows, grows by 8% a second.
/// Evaluations come more often than reports, so each grows by its share
/// of the second.
const INCREASE_PER_SECOND: f64 = 1.08;
/// An evaluation covers at least this many packets and this long, so a
/// single loss in a small window does not read as 10%.
const MIN_PACKETS: u32 = 20;
const MIN_INTERVAL: Duration = Duration::from_millis(200);
/// After a decrease, the next waits this long plus a round trip, so the
/// losses the first one has not yet had time to stop do not cut again
/// (Chrome's 300 ms).
const DECREASE_INTERVAL: Duration = Duration::from_millis(300);

/// The loss-based estimate.
#[derive(Debug)]
pub(crate) struct LossBased {
    estimate: f64,
    min: f64,
    max: f64,
    received: u32,
    lost: u32,
    window_start: Option<Instant>,
    last_decrease: Option<Instant>,
    /// The loss fraction of the last evaluation.
    last_loss: f64,
}

impl LossBased {
    /// An estimate starting at `initial` bit/s, within `[min, max]`.
    pub(crate) fn new(initial: u64, min: u64, max: u64) -> Self {
        Self {
            estimate: initial as f64,
            min: min as f64,
            max: max as f64,
            received: 0,
            lost: 0,
            window_start: None,
            last_decrease: None,
            last_loss: 0.0,
        }
    }

    /// Counts packets reported received and lost.
    pub(crate) fn on_results(&mut self, now: Instant, received: u32, lost: u32) {
        self.window_start.get_or_insert(now);
        self.received = self.received.saturating_add(received);
        self.lost = self.lost.saturating_add(lost);
    }

    /// Evaluates the window if it is complete; `current` is the combined
    /// target, which a decrease starts from (the loss-based estimate may be
    /// far above it after a quiet time); `rtt` spaces decreases.
    pub(crate) fn update(&mut self, now: Instant, current: f64, rtt: Duration) -> f64 {
        let total = self.received.saturating_add(self.lost);
        let Some(start) = self.window_start else {
            return self.estimate;
        };
        if total < MIN_PACKETS || now.saturating_duration_since(start) < MIN_INTERVAL {
            return self.estimate;
        }
        let loss = f64::from(self.lost) / f64::from(total);
        self.last_loss = loss;
        if loss < LOW_LOSS {
            // §6: "As_hat(i) = 1.05 * As_hat(i-1), if p < 0.02".
            let secs = now.saturating_duration_since(start).as_secs_f64().min(1.0);
            self.estimate *= INCREASE_PER_SECOND.powf(secs);
        } else if loss > HIGH_LOSS {
            let recent = self
                .last_decrease
                .is_some_and(|at| now.saturating_duration_since(at) < DECREASE_INTERVAL + rtt);
            if !recent {
                // §6: "As_hat(i) = As_hat(i-1) * (1 - 0.5p), if p > 0.1".
                self.estimate = self.estimate.min(current) * (1.0 - 0.5 * loss);
                self.last_decrease = Some(now);
            }
        }
        self.estimate = self.estimate.clamp(self.min, self.max);
        self.received = 0;
        self.lost = 0;
        self.window_start = Some(now);
        self.estimate
    }

    /// Raises the estimate to at least `bps` (a probe showed the path
    /// carries it).
    pub(crate) fn raise_to(&mut self, bps: f64) {
        self.estimate = self.estimate.max(bps).min(self.max);
    }

    /// The estimate, bit/s.
    pub(crate) fn estimate(&self) -> f64 {
        self.estimate
    }

    /// The loss fraction of the last evaluation.
    pub(crate) fn last_loss(&self) -> f64 {
        self.last_loss
    }
}
