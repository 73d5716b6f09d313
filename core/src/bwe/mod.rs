//! Congestion control (issue 18): transport-wide feedback, the delay- and
//! loss-based bandwidth estimate of Google Congestion Control, and the
//! pacer that spends it.
//!
//! Every block is a deterministic state machine in the style of
//! [`crate::media`]: time comes in as `Instant`s, nothing reads a clock or
//! draws a random number, every collection has a bound named in a constant
//! and what exceeds it is dropped and counted.
//!
//! # Time domains
//!
//! Three clocks meet here. Send times are the sender's local `Instant`s.
//! Arrival times in feedback are the *receiver's* clock, carried as a
//! 24-bit reference time in 64 ms units plus 250 µs deltas
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1); the sender
//! keeps them as signed microseconds in that remote time base
//! ([`feedback::PacketResult::arrival`]) and only ever subtracts two of
//! them, so the unknown offset between the clocks cancels. Rates are bits
//! per second.
//!
//! # Files
//!
//! - [`feedback`]: the receiver's TWCC recorder and feedback builder, and
//!   the sender's send history that turns feedback into per-packet results.
//! - [`delay`]: inter-arrival grouping, the trendline filter and the
//!   over-use detector with its adaptive threshold (draft-ietf-rmcat-gcc-02
//!   §5.2–5.4).
//! - [`aimd`]: the rate controller (§5.5) and the link capacity it tracks.
//! - [`acked`]: the acknowledged bitrate and the application-limited (ALR)
//!   detector.
//! - [`loss`]: the loss-based estimate (§6).
//! - [`probe`]: the rate a probe cluster measured.
//! - [`estimator`]: [`BandwidthEstimator`], the above combined.
//! - [`pacer`]: the leaky-bucket [`Pacer`] with its probe clusters.
//!
//! `tests.rs` closes the loop over a FIFO bottleneck model in virtual time
//! (ramp-up, capacity drop and rise, random loss, two flows; set
//! `EDDY_BWE_CSV=1` for traces in `target/bwe-*.csv`) and covers the bad
//! input; `proptests.rs` feeds arbitrary input to each machine.
//!
//! The peer wires them in `peer/media_bwe.rs` (feedback, the estimate,
//! `Event::BandwidthEstimate`) and `peer/media_pacing.rs` (the pacer on
//! the send path, probes, data-channel bytes charged to the budget).

pub(crate) mod acked;
pub(crate) mod aimd;
pub(crate) mod delay;
pub(crate) mod estimator;
pub(crate) mod feedback;
pub(crate) mod loss;
pub(crate) mod pacer;
pub(crate) mod probe;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub(crate) use estimator::{BandwidthEstimator, BweConfig};
#[cfg_attr(not(test), allow(unused_imports))]
pub(crate) use feedback::{SendHistory, TwccReceiver};
pub(crate) use pacer::{PacedPacket, Pacer, PacerConfig, QueuedPacket};

/// What a sent packet carries: the pacer's priority classes and what the
/// estimator must know about a packet it gets feedback for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PacketKind {
    /// Audio: sent first, never held behind other traffic.
    Audio,
    /// A retransmission (RTX, RFC 4588).
    Retransmission,
    /// Video.
    Video,
    /// Padding (also the filler of a probe when no media is queued).
    Padding,
}

/// Identifies one probe cluster (the pacer numbers them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ProbeId(pub(crate) u32);

/// Extends 16-bit sequence numbers to 64 bits, picking for each the value
/// nearest the last one returned (a forward step of up to 2^15).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SeqUnwrapper {
    last: Option<i64>,
}

impl SeqUnwrapper {
    /// The unwrapped value of `seq`; it becomes the reference for the next.
    pub(crate) fn unwrap(&mut self, seq: u16) -> i64 {
        let value = self.peek(seq);
        self.last = Some(value);
        value
    }

    /// The unwrapped value of `seq` without moving the reference.
    pub(crate) fn peek(&self, seq: u16) -> i64 {
        match self.last {
            None => i64::from(seq),
            Some(last) => {
                let diff = seq.wrapping_sub(last as u16) as i16;
                last + i64::from(diff)
            }
        }
    }

    /// The last value returned by [`Self::unwrap`].
    pub(crate) fn last(&self) -> Option<i64> {
        self.last
    }
}
