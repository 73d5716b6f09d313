//! The acknowledged bitrate (what the receiver got, the `R_hat` of
//! draft-ietf-rmcat-gcc-02 §5.5) and the application-limited region
//! detector.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// §5.5: "R_hat(i) is the incoming bitrate measured over a T seconds time
/// window"; "0.5 <= T <= 1".
const WINDOW_US: i64 = 500_000;
/// Packets kept for the window (bounded whatever the rate: 20 000 packets
/// a second at 1200 bytes is 190 Mbit/s; above, the window shortens).
const MAX_PACKETS: usize = 10_000;
/// No rate before the window spans this much.
const MIN_SPAN_US: i64 = 100_000;

/// Bytes acknowledged over the last 500 ms of arrival time.
#[derive(Debug, Default)]
pub(crate) struct AckedBitrate {
    packets: VecDeque<(i64, u32)>,
    bytes: u64,
}

impl AckedBitrate {
    /// A packet the receiver got at `arrival` (µs of its clock).
    pub(crate) fn on_packet(&mut self, arrival: i64, size: u32) {
        if self.packets.back().is_some_and(|&(last, _)| arrival < last) {
            // Feedback is in sequence order; an earlier arrival is a
            // reordered packet, counted at the latest time seen.
            let last = self.packets.back().map_or(arrival, |p| p.0);
            return self.push(last, size);
        }
        self.push(arrival, size);
    }

    fn push(&mut self, arrival: i64, size: u32) {
        if self.packets.len() >= MAX_PACKETS {
            self.pop();
        }
        self.packets.push_back((arrival, size));
        self.bytes += u64::from(size);
        while self
            .packets
            .front()
            .is_some_and(|&(t, _)| arrival - t > WINDOW_US)
        {
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some((_, size)) = self.packets.pop_front() {
            self.bytes -= u64::from(size);
        }
    }

    /// The rate in bit/s, once the window spans 100 ms.
    pub(crate) fn rate(&self) -> Option<f64> {
        let (first, first_size) = *self.packets.front()?;
        let (last, _) = *self.packets.back()?;
        let span = last - first;
        if span < MIN_SPAN_US {
            return None;
        }
        // The first packet's bytes arrived before the window opened.
        let bytes = self.bytes - u64::from(first_size);
        Some(bytes as f64 * 8.0 * 1e6 / span as f64)
    }
}

/// The budget fills at this share of the target (Chrome: 65%).
const ALR_BANDWIDTH_SHARE: f64 = 0.65;
/// The budget holds this much time at that rate.
const ALR_WINDOW: Duration = Duration::from_millis(500);
/// Application-limited when the unspent budget is above this share of its
/// size; no longer once it is below the second.
const ALR_START_RATIO: f64 = 0.8;
const ALR_STOP_RATIO: f64 = 0.5;

/// Detects the application-limited region: the sender had less to send
/// than 65% of the target for a while, so feedback cannot show whether
/// the path carries the target.
///
/// A budget of 500 ms at 65% of the target fills with time and empties
/// with the bytes sent (media, retransmissions and data, not padding).
#[derive(Debug)]
pub(crate) struct AlrDetector {
    budget_bytes: f64,
    last: Option<Instant>,
    in_alr: bool,
    /// When the current application-limited period began.
    start: Option<Instant>,
}

impl Default for AlrDetector {
    fn default() -> Self {
        Self {
            budget_bytes: 0.0,
            last: None,
            in_alr: false,
            start: None,
        }
    }
}

impl AlrDetector {
    /// Bytes sent at `now` with `target` the current target, bit/s.
    pub(crate) fn on_sent(&mut self, now: Instant, bytes: usize, target: u64) {
        let dt = self
            .last
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at))
            .min(ALR_WINDOW);
        self.last = Some(now);
        let rate = target as f64 * ALR_BANDWIDTH_SHARE / 8.0;
        let max = rate * ALR_WINDOW.as_secs_f64();
        self.budget_bytes =
            (self.budget_bytes + rate * dt.as_secs_f64() - bytes as f64).clamp(-max, max);
        let ratio = if max > 0.0 {
            self.budget_bytes / max
        } else {
            0.0
        };
        if !self.in_alr && ratio > ALR_START_RATIO {
            self.in_alr = true;
            self.start = Some(now);
        } else if self.in_alr && ratio < ALR_STOP_RATIO {
            self.in_alr = false;
            self.start = None;
        }
    }

    /// Whether the sender is application-limited.
    pub(crate) fn in_alr(&self) -> bool {
        self.in_alr
    }

    /// When the application-limited period began.
    pub(crate) fn start(&self) -> Option<Instant> {
        self.start
    }
}
