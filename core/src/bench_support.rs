//! Entry points for the benchmarks in `core/benches/` into crate-private
//! layers (the RTP codecs and the media blocks). Not part of the API:
//! hidden from the documentation and free to change.

use std::time::Instant;

use crate::media::receive_stats::{Arrival, ReceiveStats};
use crate::rtp::{RtpHeader, RtpPacket};

/// Writes an RTP packet (no CSRC, no extension) into `buf`, returning its
/// length, or `None` when `buf` is too small.
pub fn write_rtp(
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload_type: u8,
    payload: &[u8],
    buf: &mut [u8],
) -> Option<usize> {
    RtpHeader {
        payload_type,
        sequence,
        timestamp,
        ssrc,
        ..RtpHeader::default()
    }
    .write(payload, 0, buf)
    .ok()
}

/// The receive side of one RTP stream after SRTP: parse, then the RFC 3550
/// reception statistics.
#[derive(Debug)]
pub struct RtpReceive {
    stats: ReceiveStats,
}

impl RtpReceive {
    /// Statistics for `ssrc` at `clock_rate` Hz (no probation).
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        Self {
            stats: ReceiveStats::new(ssrc, clock_rate, false),
        }
    }

    /// Parses a plaintext RTP packet and accounts it; returns its extended
    /// sequence number, or `None` if it is not RTP or not valid.
    pub fn on_packet(&mut self, now: Instant, packet: &[u8]) -> Option<u64> {
        let p = RtpPacket::parse(packet).ok()?;
        match self.stats.on_rtp(now, &p) {
            Arrival::Valid { extended, .. } => Some(extended),
            Arrival::Probation | Arrival::BadJump => None,
        }
    }

    /// Valid packets received so far.
    pub fn packets(&self) -> u64 {
        self.stats.counters().packets
    }
}
