//! The stateful media building blocks (issue 14 items 2 and 4): per-stream
//! reception and sending statistics, the RTCP interval, NACK generation,
//! the sender's packet history with RTX, and the demultiplexing of
//! incoming RTP to a receiver.
//!
//! Each block is a small deterministic state machine over the stateless
//! codecs of [`crate::rtp`]: time comes in as `Instant`s, wall-clock time as
//! an NTP value the caller derives from the configuration's anchor,
//! randomness from the connection's [`crate::rng::Rng`]. Every collection
//! has a bound named in a constant; the steady-state paths do not allocate.
//!
//! Files: [`receive_stats`] (RFC 3550 A.1, A.3, A.8), [`send_stats`] (RFC
//! 3550 §6.4.1 sender info and RTT), [`rtcp_interval`] (RFC 3550 §6.2, §6.3,
//! A.7), [`nack`] (RFC 4585 §6.2.1 generator), [`history`] (sender history
//! and RFC 4588 RTX), [`router`] (RFC 8843 §9.2); property tests across
//! them in `proptests.rs`, the blocks composed into a sender and a receiver
//! in `tests.rs`.

// Some accessors serve the tests and the stats report to come.
#![allow(dead_code)]

pub mod codec;
pub(crate) mod history;
pub(crate) mod nack;
#[cfg(test)]
mod proptests;
pub(crate) mod receive_stats;
pub(crate) mod router;
pub(crate) mod rtcp_interval;
pub(crate) mod send_stats;

use std::time::Duration;

/// A duration in units of `1 / clock_rate` seconds (an RTP clock), rounded
/// down and wrapped to 32 bits as RTP timestamps are.
pub(crate) fn duration_to_rtp(d: Duration, clock_rate: u32) -> u32 {
    (d.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32
}

/// A duration in units of 1/65536 s (the RTCP DLSR unit, RFC 3550 §6.4.1),
/// saturated at `u32::MAX` (18 hours).
pub(crate) fn duration_to_1_65536(d: Duration) -> u32 {
    let units = d.as_nanos() * 65_536 / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A count of 1/65536 s as a duration.
pub(crate) fn duration_from_1_65536(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 1_000_000_000 / 65_536)
}

/// The middle 32 bits of a 64-bit NTP timestamp (RFC 3550 §6.4.1 LSR: "the
/// middle 32 bits out of 64 in the NTP timestamp").
pub(crate) fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

#[cfg(test)]
mod tests;
