//! The delay-based half of Google Congestion Control, up to the over-use
//! signal (draft-ietf-rmcat-gcc-02 §5.2–5.4): packets grouped by send
//! time, the change in one-way delay between groups, its trend over a
//! window, and a detector comparing the trend with a threshold that adapts
//! to it.
//!
//! The draft's arrival-time filter is a Kalman filter; like Chrome since
//! 2017 this uses the trendline filter of Carlucci et al. (a least-squares
//! slope over the last 20 smoothed accumulated delays), which reacts to a
//! growing queue rather than to a single late group.

use std::collections::VecDeque;
use std::time::Duration;
use std::time::Instant;

/// §5.2: "a sequence of packets which are sent within a burst_time
/// interval constitute a group. ... burst_time = 5 ms".
const BURST_TIME_US: i64 = 5_000;
/// A burst merged by arrival may not span more than this (so a sender
/// that never pauses still forms groups).
const MAX_BURST_US: i64 = 100_000;
/// A change in delay this large between groups is a clock jump, not a
/// queue: start over.
const MAX_DELAY_JUMP_MS: f64 = 3_000.0;
/// The trendline window (Carlucci et al.: 20 groups).
const WINDOW: usize = 20;
/// The smoothing of the accumulated delay (0.9 of the previous value).
const SMOOTHING: f64 = 0.9;
/// The trend is scaled by the number of deltas (at most 60) and this gain
/// before it meets the threshold.
const THRESHOLD_GAIN: f64 = 4.0;
const MAX_SCALED_DELTAS: u32 = 60;
/// §5.4: "K_u = 0.01, K_d = 0.00018" (per ms), initial threshold 12.5 ms.
const K_UP: f64 = 0.01;
const K_DOWN: f64 = 0.000_18;
const INITIAL_THRESHOLD_MS: f64 = 12.5;
/// §5.4: the threshold is kept within [6, 600] ms and not moved by a
/// sample more than 15 ms beyond it ("if |m(i)| - del_var_th(i) > 15, the
/// threshold is not updated"), so a spike does not raise it for good.
const MIN_THRESHOLD_MS: f64 = 6.0;
const MAX_THRESHOLD_MS: f64 = 600.0;
const MAX_ADAPT_OFFSET_MS: f64 = 15.0;
/// The threshold's time step is capped (a long silence is not a long
/// adaptation).
const MAX_ADAPT_STEP_MS: f64 = 100.0;
/// §5.4: over-use is signalled when the trend has been above the threshold
/// for "overuse_time_th" (10 ms) and more than one update.
const OVERUSE_TIME_MS: f64 = 10.0;

/// What the detector concluded about the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Usage {
    /// The queue is stable.
    #[default]
    Normal,
    /// The queue is growing: send less.
    Over,
    /// The queue is draining.
    Under,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    first_send: Instant,
    last_send: Instant,
    first_arrival: i64,
    last_arrival: i64,
}

/// The change between two consecutive groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GroupDelta {
    /// Between their last send times, ms.
    pub(crate) send_ms: f64,
    /// Between their last arrival times, ms.
    pub(crate) arrival_ms: f64,
    /// The later group's last arrival, µs of the receiver's clock.
    pub(crate) arrival_us: i64,
}

/// Groups received packets (§5.2) and yields the delta between each
/// completed group and the one before.
#[derive(Debug, Default)]
pub(crate) struct InterArrival {
    current: Option<Group>,
    previous: Option<Group>,
    /// Groups that arrived before the group sent before them.
    pub(crate) reordered: u64,
    /// Restarts after a clock jump.
    pub(crate) resets: u64,
}

impl InterArrival {
    /// Feeds one received packet (in sequence order); returns the delta
    /// when it completes a group.
    pub(crate) fn on_packet(&mut self, send: Instant, arrival: i64) -> Option<GroupDelta> {
        let Some(current) = &mut self.current else {
            self.current = Some(Group {
                first_send: send,
                last_send: send,
                first_arrival: arrival,
                last_arrival: arrival,
            });
            return None;
        };
        if send < current.first_send {
            // Sent before the group began: a retransmission or a reordered
            // send; it says nothing about this group's delay.
            return None;
        }
        let same_send_burst = micros(send, current.first_send) <= BURST_TIME_US;
        // §5.2 pre-filtering: "a packet which has an inter-arrival time
        // less than burst_time milliseconds and an inter-group delay
        // variation d(i) less than 0 is considered being part of the
        // current group of packets".
        let inter_arrival = arrival - current.last_arrival;
        let variation = inter_arrival - micros(send, current.last_send);
        let arrival_burst = inter_arrival <= BURST_TIME_US
            && variation < 0
            && arrival - current.first_arrival < MAX_BURST_US;
        if same_send_burst || arrival_burst {
            current.last_send = current.last_send.max(send);
            current.last_arrival = current.last_arrival.max(arrival);
            return None;
        }
        let done = *current;
        *current = Group {
            first_send: send,
            last_send: send,
            first_arrival: arrival,
            last_arrival: arrival,
        };
        let previous = self.previous.replace(done)?;
        let delta = GroupDelta {
            send_ms: micros(done.last_send, previous.last_send) as f64 / 1000.0,
            arrival_ms: (done.last_arrival - previous.last_arrival) as f64 / 1000.0,
            arrival_us: done.last_arrival,
        };
        if delta.arrival_ms < 0.0 {
            self.reordered += 1;
            return None;
        }
        if (delta.arrival_ms - delta.send_ms).abs() > MAX_DELAY_JUMP_MS {
            self.resets += 1;
            self.previous = None;
            return None;
        }
        Some(delta)
    }
}

fn micros(later: Instant, earlier: Instant) -> i64 {
    later.saturating_duration_since(earlier).as_micros() as i64
}

/// The trendline filter and the over-use detector behind it.
#[derive(Debug)]
pub(crate) struct Trendline {
    first_arrival: Option<i64>,
    accumulated_ms: f64,
    smoothed_ms: f64,
    /// (arrival ms since the first, smoothed accumulated delay ms).
    window: VecDeque<(f64, f64)>,
    deltas: u32,
    trend: f64,
    previous_trend: f64,
    threshold_ms: f64,
    last_threshold_update: Option<i64>,
    time_over_using_ms: Option<f64>,
    overuse_count: u32,
    usage: Usage,
}

impl Default for Trendline {
    fn default() -> Self {
        Self {
            first_arrival: None,
            accumulated_ms: 0.0,
            smoothed_ms: 0.0,
            window: VecDeque::with_capacity(WINDOW),
            deltas: 0,
            trend: 0.0,
            previous_trend: 0.0,
            threshold_ms: INITIAL_THRESHOLD_MS,
            last_threshold_update: None,
            time_over_using_ms: None,
            overuse_count: 0,
            usage: Usage::Normal,
        }
    }
}

impl Trendline {
    /// Feeds a group delta; returns the detector's state after it.
    pub(crate) fn update(&mut self, delta: GroupDelta) -> Usage {
        // §5.3: d(i) = t(i) - t(i-1) - (T(i) - T(i-1)), the change in
        // one-way delay between two groups.
        let variation = delta.arrival_ms - delta.send_ms;
        self.deltas = self.deltas.saturating_add(1);
        self.accumulated_ms += variation;
        self.smoothed_ms = SMOOTHING * self.smoothed_ms + (1.0 - SMOOTHING) * self.accumulated_ms;
        let first = *self.first_arrival.get_or_insert(delta.arrival_us);
        let x = (delta.arrival_us - first) as f64 / 1000.0;
        if self.window.len() == WINDOW {
            self.window.pop_front();
        }
        self.window.push_back((x, self.smoothed_ms));
        if self.window.len() == WINDOW {
            if let Some(slope) = slope(&self.window) {
                self.trend = slope;
            }
        }
        self.detect(delta.send_ms, delta.arrival_us)
    }

    fn detect(&mut self, send_delta_ms: f64, arrival_us: i64) -> Usage {
        let scaled = f64::from(self.deltas.min(MAX_SCALED_DELTAS)) * self.trend * THRESHOLD_GAIN;
        if self.deltas < 2 {
            self.usage = Usage::Normal;
        } else if scaled > self.threshold_ms {
            let over = match self.time_over_using_ms {
                // The trend crossed between this update and the last:
                // count half the interval.
                None => send_delta_ms / 2.0,
                Some(t) => t + send_delta_ms,
            };
            self.time_over_using_ms = Some(over);
            self.overuse_count += 1;
            if over > OVERUSE_TIME_MS && self.overuse_count > 1 && self.trend >= self.previous_trend
            {
                self.time_over_using_ms = Some(0.0);
                self.overuse_count = 0;
                self.usage = Usage::Over;
            }
        } else if scaled < -self.threshold_ms {
            self.time_over_using_ms = None;
            self.overuse_count = 0;
            self.usage = Usage::Under;
        } else {
            self.time_over_using_ms = None;
            self.overuse_count = 0;
            self.usage = Usage::Normal;
        }
        self.previous_trend = self.trend;
        self.adapt_threshold(scaled, arrival_us);
        self.usage
    }

    fn adapt_threshold(&mut self, scaled: f64, arrival_us: i64) {
        let last = self.last_threshold_update.replace(arrival_us);
        let Some(last) = last else {
            return;
        };
        if scaled.abs() > self.threshold_ms + MAX_ADAPT_OFFSET_MS {
            return;
        }
        // §5.4: "del_var_th(i) = del_var_th(i-1) + (t(i)-t(i-1)) * K(i) *
        // (|m(i)|-del_var_th(i-1))" with "K(i)=K_d if |m(i)| <
        // del_var_th(i-1) or K(i)=K_u otherwise".
        let k = if scaled.abs() < self.threshold_ms {
            K_DOWN
        } else {
            K_UP
        };
        let step_ms = ((arrival_us - last) as f64 / 1000.0).clamp(0.0, MAX_ADAPT_STEP_MS);
        self.threshold_ms += k * (scaled.abs() - self.threshold_ms) * step_ms;
        self.threshold_ms = self.threshold_ms.clamp(MIN_THRESHOLD_MS, MAX_THRESHOLD_MS);
    }

    /// The detector's current state.
    pub(crate) fn usage(&self) -> Usage {
        self.usage
    }

    /// The adaptive threshold, ms.
    pub(crate) fn threshold(&self) -> Duration {
        Duration::from_secs_f64(self.threshold_ms / 1000.0)
    }

    /// The last trend (slope of smoothed accumulated delay per ms).
    pub(crate) fn trend(&self) -> f64 {
        self.trend
    }
}

/// The least-squares slope of `points`, or `None` if x does not vary.
fn slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    (den != 0.0).then(|| num / den)
}
